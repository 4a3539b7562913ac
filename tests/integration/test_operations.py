"""The operations API on real sidecars, through the storefront's `/api/admin/health` and
`/api/admin/services*`: every app's health, what each sidecar itself reports (compared with
a direct `GET /v1.0/metadata`), active actors, outbox backlogs, recent log lines from the
run's files, a restart in place, an app that is down, and who may ask."""

import json
import time
from pathlib import Path
from typing import Any

import httpx

from apps.contracts.identity import Principal, Role
from apps.contracts.names import AppId
from apps.platform.context import sign_context
from tests import factories
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]


def _admin(cluster: Cluster, issuer: TokenIssuer) -> httpx.Client:
    client = cluster.client("storefront", timeout=30)
    client.headers.update(issuer.headers(factories.ref("admin"), "admin"))
    return client


def _by_app(report: Json) -> dict[str, Json]:
    return {a["app_id"]: a for a in report["apps"]}


def test_health_lists_every_app_up(cluster: Cluster, issuer: TokenIssuer) -> None:
    with _admin(cluster, issuer) as api:

        def all_up() -> Json:
            r = api.get("/api/admin/health")
            assert r.status_code == 200, r.text
            report = r.json()
            assert {a["status"] for a in report["apps"]} == {"up"}, report
            return report

        report = eventually(all_up, timeout=60)
    apps = _by_app(report)
    assert set(apps) == {a.value for a in AppId}
    assert report["status"] == "ok"
    assert all(a["live"] and a["ready"] for a in apps.values())
    assert "model_version" in apps["fraud"]["details"]  # what a ready ML app adds


def test_services_show_what_the_sidecars_report(cluster: Cluster, issuer: TokenIssuer) -> None:
    product = factories.product()
    with cluster.client("storefront") as staff:
        assert staff.post("/api/staff/products", json=product).status_code == 201
    with cluster.client("storefront", timeout=30) as shopper:  # a guest cart: a CartActor
        r = shopper.post(
            "/api/cart/items", json={"product_id": product["product_id"], "quantity": 1}
        )
        assert r.status_code in (200, 201), r.text
    with cluster.sidecar("cart") as sidecar:
        direct = sidecar.get("/v1.0/metadata").json()
    with _admin(cluster, issuer) as api:
        r = api.get("/api/admin/services")
    assert r.status_code == 200, r.text
    apps = _by_app(r.json())
    assert set(apps) == {a.value for a in AppId}
    assert {a["status"] for a in apps.values()} == {"up"}, r.text
    cart = apps["cart"]["sidecar"]
    assert cart["app_id"] == direct["id"] == "cart"
    assert cart["runtime_version"] == direct["runtimeVersion"]
    assert {(c["name"], c["type"]) for c in cart["components"]} == {
        (c["name"], c["type"]) for c in direct["components"]
    }
    assert {s["topic"] for s in cart["subscriptions"]} == {
        s["topic"] for s in direct.get("subscriptions", [])
    }
    actors = {a["type"]: a["count"] for a in cart["actors"]}
    assert actors.get("CartActor", 0) >= 1, cart
    assert cart["app_connection"]["port"] == cluster.apps["cart"].app_port
    assert cart["app_connection"]["health_check_path"] == "/health/live"
    # Each app's own sidecar answered for it, with the components scoped to it.
    for app_id, info in apps.items():
        assert info["sidecar"]["app_id"] == app_id
    assert "gateway-secrets" not in {c["name"] for c in apps["fraud"]["sidecar"]["components"]}
    assert any(s["topic"] == "audit-events" for s in apps["backoffice"]["sidecar"]["subscriptions"])
    # Document outboxes: identity's users, catalog's products and stock batches.
    assert apps["identity"]["outbox"]["outboxes"] == ["users"]
    assert apps["catalog"]["outbox"]["outboxes"] == ["products", "stock-batches"]
    assert apps["catalog"]["outbox"]["pending_events"] >= 0
    assert apps["fraud"]["outbox"] is None


def test_logs_are_the_runs_recent_lines(cluster: Cluster, issuer: TokenIssuer) -> None:
    with _admin(cluster, issuer) as api:
        r = api.get("/api/admin/services/cart/logs", params={"lines": 20})
        assert r.status_code == 200, r.text
        body = r.json()
        file_lines = (cluster.logs / "cart_app.log").read_text(errors="replace").splitlines()
        assert body["app_id"] == "cart" and body["source"] == "app"
        assert body["origin"] == "cart_app.log"
        assert 0 < len(body["lines"]) <= 20
        # The lines are the file's, in order (the file may have grown since).
        start = file_lines.index(body["lines"][0])
        assert file_lines[start : start + len(body["lines"])] == body["lines"]
        daprd = api.get("/api/admin/services/orders/logs", params={"lines": 5, "source": "daprd"})
        assert daprd.status_code == 200, daprd.text
        assert daprd.json()["origin"] == "orders_daprd.log"
        assert all("app_id=orders" in line for line in daprd.json()["lines"])
        for bad in ({"lines": 0}, {"lines": 100000}, {"source": "kernel"}):
            assert api.get("/api/admin/services/cart/logs", params=bad).status_code == 400


def _starts(cluster: Cluster, app_id: str) -> int:
    return (
        (cluster.logs / f"{app_id}_app.log")
        .read_text(errors="replace")
        .count("Started server process")
    )


def test_restart_brings_the_app_back_in_place(cluster: Cluster, issuer: TokenIssuer) -> None:
    proc = cluster.apps["recommendations"]
    assert proc.app is not None
    pid, starts = proc.app.pid, _starts(cluster, "recommendations")
    with _admin(cluster, issuer) as api:
        r = api.post("/api/admin/services/recommendations/restart")
        assert r.status_code == 202, r.text
        assert r.json()["mechanism"] == "process" and r.json()["target"] == str(pid)
        eventually(lambda: _starts(cluster, "recommendations") == starts + 1, timeout=60)

        def back() -> bool:
            health = _by_app(api.get("/api/admin/health").json())["recommendations"]
            assert health["status"] == "up", health
            return True

        eventually(back, timeout=60)
        # The same process (supervisor and sidecar untouched), serving again.
        assert proc.app.poll() is None and proc.app.pid == pid
        assert proc.daprd is not None and proc.daprd.poll() is None
        with cluster.invoker("recommendations") as recommendations:
            assert recommendations.get("/health/ready").status_code == 200

        # The restart is in the audit log like every admin action.
        def audited() -> bool:
            logs = api.get("/api/admin/audit-logs", params={"limit": 100}).json()
            found = [json.dumps(e) for e in logs["items"]]
            assert any("recommendations/restart" in e for e in found), logs
            return True

        eventually(audited, timeout=30)


def test_an_app_that_is_down_shows_as_down(cluster: Cluster, issuer: TokenIssuer) -> None:
    cluster.stop_app("pricing")
    try:
        with _admin(cluster, issuer) as api:
            started = time.monotonic()
            health = api.get("/api/admin/health")
            services = api.get("/api/admin/services")
            took = time.monotonic() - started
        assert health.status_code == 200 and services.status_code == 200
        assert took < 20, took  # bounded waits, not a hung request
        assert health.json()["status"] == "degraded"
        assert _by_app(health.json())["pricing"]["status"] == "down"
        assert _by_app(services.json())["pricing"]["status"] == "down"
        assert _by_app(services.json())["orders"]["status"] == "up"
    finally:
        cluster.start_app("pricing")


def test_only_admins_and_only_known_services(cluster: Cluster, issuer: TokenIssuer) -> None:
    routes = [
        ("GET", "/api/admin/health"),
        ("GET", "/api/admin/services"),
        ("GET", "/api/admin/services/cart/logs"),
        ("POST", "/api/admin/services/cart/restart"),
    ]
    customer = issuer.headers(factories.ref("c"), "customer")
    staff = issuer.headers(factories.ref("s"), "staff")
    with cluster.client("storefront") as api:
        for method, path in routes:
            assert api.request(method, path).status_code == 401, path
            for who in (customer, staff):
                assert api.request(method, path, headers=who).status_code == 403, path
    with _admin(cluster, issuer) as api:
        for method, path in [
            ("GET", "/api/admin/services/mainframe/logs"),
            ("POST", "/api/admin/services/mainframe/restart"),
        ]:
            r = api.request(method, path)
            assert r.status_code == 404, r.text
            assert r.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    # Checked again in backoffice (signed context) and in each app (`/ops/*`: only backoffice).
    key = json.loads((ROOT / "components/local/secrets.gateway.json").read_text())[
        "gateway-context-key"
    ]
    as_staff = {"X-SC-Context": sign_context(Principal(user_id="s-1", role=Role.STAFF), key)}
    as_admin = {"X-SC-Context": sign_context(Principal(user_id="a-1", role=Role.ADMIN), key)}
    with cluster.invoker("backoffice") as backoffice:
        assert backoffice.get("admin/ops/health").status_code == 403
        assert backoffice.get("admin/ops/health", headers=as_staff).status_code == 403
    # Another app, even one writing `dapr-caller-app-id: backoffice` itself (its sidecar adds
    # the real caller id, so the app sees two and refuses).
    for app_id, via in (("cart", "storefront"), ("orders", "storefront"), ("storefront", "cart")):
        with cluster.invoker(app_id, via=via) as other:
            for path in ("ops/metadata", "ops/logs"):
                r = other.get(path, headers={**as_admin, "dapr-caller-app-id": "backoffice"})
                assert r.status_code == 403, (app_id, path, r.text)
            assert other.post("ops/restart", headers=as_admin).status_code == 403
    with cluster.invoker("orders", via="backoffice") as orders:  # backoffice, but no admin
        assert orders.get("ops/metadata").status_code == 403
        assert orders.get("ops/metadata", headers=as_staff).status_code == 403
        assert orders.get("ops/metadata", headers=as_admin).status_code == 200
    # The storefront itself answers `/ops/*` only through its sidecar.
    with httpx.Client(base_url=cluster.apps["storefront"].url) as direct:
        forged = {**as_admin, "dapr-caller-app-id": "backoffice"}
        assert direct.get("/ops/metadata", headers=forged).status_code == 403


def test_an_actor_host_restarted_in_place_serves_its_actors(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    product = factories.product()
    with cluster.client("storefront") as staff:
        assert staff.post("/api/staff/products", json=product).status_code == 201
    line = {"product_id": product["product_id"], "quantity": 1}
    with cluster.client("storefront", timeout=30) as shopper, _admin(cluster, issuer) as api:
        assert shopper.post("/api/cart/items", json=line).status_code in (200, 201)
        starts = _starts(cluster, "cart")
        r = api.post("/api/admin/services/cart/restart")
        assert r.status_code == 202, r.text
        eventually(lambda: _starts(cluster, "cart") == starts + 1, timeout=60)

        def cart_served() -> Json:
            got = shopper.get("/api/cart")
            assert got.status_code == 200, got.text
            return got.json()

        cart = eventually(cart_served, timeout=60)
        assert [i["product_id"] for i in cart["items"]] == [product["product_id"]]
        again = shopper.post("/api/cart/items", json=line)
        assert again.status_code in (200, 201), again.text
        with cluster.sidecar("cart") as sidecar:
            meta = sidecar.get("/v1.0/metadata").json()
        active = {a["type"]: a["count"] for a in meta["actorRuntime"]["activeActors"]}
        assert active.get("CartActor", 0) >= 1, meta
