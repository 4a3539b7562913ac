"""Health endpoints answer through real sidecars; the OpenAPI document is served."""

import httpx
import pytest

from tests.harness import Cluster


@pytest.mark.parametrize("app_id", ["storefront", "catalog", "orders", "checkout"])
def test_ready_checks_sidecar_and_stores(cluster: Cluster, app_id: str) -> None:
    with cluster.client(app_id) as c:
        assert c.get("/health/live").json() == {"status": "ok"}
        ready = c.get("/health/ready")
        assert ready.status_code == 200, ready.text


def test_sidecars_loaded_the_components_of_their_scopes(cluster: Cluster) -> None:
    with cluster.sidecar("orders") as dapr:
        meta = dapr.get("/v1.0/metadata").json()
    names = {c["name"] for c in meta["components"]}
    assert {"statestore", "pubsub", "secretstore"} <= names
    assert any(
        a["type"] == "OrderActor" for a in meta.get("actorRuntime", {}).get("activeActors", [])
    )
    with cluster.sidecar("storefront") as dapr:
        names = {c["name"] for c in dapr.get("/v1.0/metadata").json()["components"]}
    assert "statestore" not in names  # scoped away: the gateway keeps no state


def test_openapi_served(cluster: Cluster) -> None:
    with cluster.client("storefront") as c:
        doc = c.get("/openapi.json").json()
        assert "/api/orders" in doc["paths"]
        assert c.get("/docs").status_code == 200


@pytest.mark.parametrize("app_id", ["catalog", "orders", "payments", "cart", "fraud"])
def test_internal_apps_answer_only_their_own_sidecar(cluster: Cluster, app_id: str) -> None:
    """Every internal app refuses a call without the Dapr app API token (what daprd adds);
    through the sidecar the same call works. Health probes stay open to the platform."""
    url = cluster.apps[app_id].url
    with httpx.Client(base_url=url, timeout=10) as raw:
        for headers in ({}, {"dapr-api-token": "guessed"}):
            r = raw.get("/openapi.json", headers=headers)
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "UNAUTHORIZED"
        assert raw.get("/health/live").status_code == 200
    with cluster.invoker(app_id) as via_sidecar:
        assert via_sidecar.get("/openapi.json").status_code == 200
