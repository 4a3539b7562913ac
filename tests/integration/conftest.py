"""Session cluster: real PostgreSQL, Redis, placement, scheduler and every app in dapr.yaml
with its own daprd. Torn down even when tests fail; logs kept when they do."""

import os
from collections.abc import Iterator

import pytest

from scripts import seed as seed_script
from tests.harness import Cluster

#: Short timeouts so reminder and sweeper tests finish in seconds (production: minutes).
APP_ENV = {
    "orders": {"ORDERS_PAYMENT_TIMEOUT_SECONDS": "3600"},
    "catalog": {"CATALOG_OUTBOX_SWEEP_SECONDS": "1", "CATALOG_OUTBOX_GRACE_SECONDS": "2"},
}


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = Cluster.create()
    print(f"\n[harness] cluster work dir: {c.workdir}")
    try:
        c.start_infrastructure()
        for app_id in c.app_specs():
            c.start_app(app_id, env=APP_ENV.get(app_id), wait=False)
        for app_id in c.app_specs():
            c.wait_ready(app_id)
        # The category tree products are filed under (seed's 56 categories, no products).
        seed_script.main(["--products", "0", "--sidecar", c.apps["catalog"].dapr_url])
        yield c
    finally:
        try:
            c.stop()
        finally:
            failed = request.session.testsfailed > 0
            if failed or os.environ.get("SC_KEEP_TEST_LOGS") == "1":
                print(f"\n[harness] logs kept in {c.logs}")
            else:
                c.remove()
