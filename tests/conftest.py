import pytest

#: The session cluster's fixtures (one cluster for tests/integration and tests/security).
pytest_plugins = ["tests.cluster"]

#: Folders whose tests run against the harness's real sidecars and stores.
CLUSTER_FOLDERS = ("/tests/integration/", "/tests/security/", "/tests/browser/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/integration, tests/security, tests/browser and tests/e2e carry their
    marker."""
    for item in items:
        path = str(item.path)
        if any(folder in path for folder in CLUSTER_FOLDERS):
            item.add_marker(pytest.mark.integration)
        elif "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
