"""Runtime settings on real sidecars: an admin's PUT through the gateway reaches the app that
applies it within seconds, through the Dapr Configuration API (configuration.postgresql
and its NOTIFY trigger) — the behaviour changes, no restart; removing it brings back the
app's configured default. Bad keys and values are a 422 that changes nothing; customers and
staff are refused at the gateway and again in the backoffice; the audit log has the change.

Each test puts back what it changed (the session cluster is shared)."""

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.contracts.identity import Principal, Role
from apps.platform.context import CONTEXT_HEADER, sign_context
from tests import factories, webhooks
from tests.cluster import FRAUD_TEST_BANDS, STOREFRONT_LIMITS
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer
from tests.unit.test_fraud import context

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]
#: How long a change may take to reach its app (measured: well under a second).
REACH_SECONDS = 10.0


@pytest.fixture
def admin(issuer: TokenIssuer) -> dict[str, str]:
    return issuer.headers(factories.ref("admin"), "admin")


@pytest.fixture
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    with cluster.client("storefront") as client:
        yield client


def _put(api: httpx.Client, admin: dict[str, str], key: str, value: Any) -> Json:
    r = api.put(f"/api/admin/config/{key}", json={"value": value}, headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


@contextmanager
def setting(api: httpx.Client, admin: dict[str, str], key: str, value: Any) -> Iterator[Json]:
    """`key` set to `value` for the block, removed after it (the app's default again)."""
    try:
        yield _put(api, admin, key, value)
    finally:
        r = api.delete(f"/api/admin/config/{key}", headers=admin)
        assert r.status_code == 200, r.text


def _reached(check: Callable[[], None]) -> float:
    """Seconds until `check` stops failing (AssertionError), polled every 50 ms."""

    def passes() -> bool:
        check()
        return True

    started = time.monotonic()
    eventually(passes, timeout=REACH_SECONDS, interval=0.05)
    return time.monotonic() - started


def _config(api: httpx.Client, admin: dict[str, str]) -> dict[str, Json]:
    r = api.get("/api/admin/config", headers=admin)
    assert r.status_code == 200, r.text
    return {item["key"]: item for item in r.json()["items"]}


def test_fraud_bands_change_live_and_go_back_to_the_default(
    cluster: Cluster, api: httpx.Client, admin: dict[str, str]
) -> None:
    with cluster.invoker("fraud") as fraud:
        score = fraud.post("/score", json=context()).json()
        probability = score["probability"]
        # The test cluster's own bands (FRAUD_*_THRESHOLD) approve this order.
        assert probability < float(FRAUD_TEST_BANDS["FRAUD_REVIEW_THRESHOLD"])
        assert score["decision"] == "approve"
        review = round(probability / 2, 6)
        assert review > 0

        def decision_is(expected: str) -> Callable[[], None]:
            def check() -> None:
                got = fraud.post("/score", json=context()).json()["decision"]
                assert got == expected, got

            return check

        with setting(api, admin, "fraud.bands", {"review": review, "reject": 0.99}) as change:
            assert change["version"] and change["after"] == json.dumps(
                {"reject": 0.99, "review": review}, separators=(",", ":"), sort_keys=True
            )
            took = _reached(decision_is("review"))
            print(f"\n[runtime-config] fraud.bands reached fraud in {took:.3f} s")
            listed = _config(api, admin)["fraud.bands"]
            assert listed["source"] == "store" and listed["version"] == change["version"]
            assert listed["value"] == {"review": review, "reject": 0.99}
            assert listed["applied_by"] == "fraud" and listed["default"]["review"] == 0.3
        # Removed: fraud's own configured bands again.
        _reached(decision_is("approve"))
        assert _config(api, admin)["fraud.bands"]["source"] == "default"


def _sign_in_codes(api: httpx.Client, attempts: int) -> list[int]:
    """Wrong-password sign-ins for a fresh email (the per-account limit counts them)."""
    email = factories.email()
    return [
        api.post("/api/auth/login", json={"email": email, "password": "Wrong-guess-1x"}).status_code
        for _ in range(attempts)
    ]


def test_a_sign_in_rate_limit_change_reaches_the_gateway(
    api: httpx.Client, admin: dict[str, str]
) -> None:
    configured = int(STOREFRONT_LIMITS["STOREFRONT_RATE_LIMIT_AUTH_EMAIL_PER_MINUTE"])
    assert configured >= 3 and _sign_in_codes(api, 3) == [401, 401, 401]

    def limited_after_two() -> None:
        codes = _sign_in_codes(api, 3)
        assert codes == [401, 401, 429], codes

    with setting(api, admin, "storefront.rate_limit.auth_email_per_minute", 2):
        took = _reached(limited_after_two)
        print(f"\n[runtime-config] auth_email_per_minute reached storefront in {took:.3f} s")

    def configured_again() -> None:
        assert _sign_in_codes(api, 3) == [401, 401, 401]

    _reached(configured_again)


def test_the_carrier_step_changes_live_for_a_travelling_parcel(
    cluster: Cluster, api: httpx.Client, admin: dict[str, str]
) -> None:
    """The test cluster's carrier scans once a second. Slowed to an hour a step, a new parcel
    stays at its label; back to the configured step, the carrier reports it delivered."""

    def tracking(shipment_id: str) -> Json:
        r = api.get(f"/api/staff/shipments/{shipment_id}/carrier-tracking")
        assert r.status_code == 200, r.text
        return dict(r.json())

    with setting(api, admin, "orders.carrier_step_seconds", 3600):

        def slow() -> None:  # a parcel of this order is still at its label after a while
            assert tracking(shipment_id)["status"] == "label_created"

        order_id, _, _ = webhooks.paid_order(cluster, api)

        def booked() -> str:
            listed = api.get("/api/staff/shipments", params={"order_id": order_id}).json()
            assert listed["total"] == 1
            return str(listed["items"][0]["shipment_id"])

        shipment_id = eventually(booked, timeout=60)
        # Booked with the slow carrier: delivery four steps (hours) away, and after three
        # test-cluster steps the parcel has not moved.
        eta = datetime.fromisoformat(tracking(shipment_id)["estimated_delivery"])
        assert eta > datetime.now(UTC) + timedelta(hours=3)
        time.sleep(3)
        slow()
    # The setting removed: the configured one-second step again, for this parcel too.

    def delivered() -> None:
        assert tracking(shipment_id)["status"] == "delivered"

    took = _reached(delivered)
    print(f"\n[runtime-config] carrier step reset reached orders in {took:.3f} s")


def test_bad_keys_and_values_are_422_and_change_nothing(
    api: httpx.Client, admin: dict[str, str]
) -> None:
    before = _config(api, admin)
    assert len(before) == 7
    bad = [
        ("no.such.setting", 5),
        ("fraud.bands", {"review": 0.9, "reject": 0.2}),
        ("fraud.bands", {"review": 0.3}),
        ("storefront.rate_limit.ip_per_minute", "lots"),
        ("storefront.rate_limit.ip_per_minute", 0),
        ("storefront.rate_limit.enabled", "no"),
        ("orders.carrier_step_seconds", -1),
        ("orders.carrier_step_seconds", None),
    ]
    for key, value in bad:
        r = api.put(f"/api/admin/config/{key}", json={"value": value}, headers=admin)
        assert r.status_code == 422, (key, value, r.text)
        error = r.json()["error"]
        assert error["code"] == "UNPROCESSABLE_ENTITY" and key in error["message"]
    unknown = api.delete("/api/admin/config/no.such.setting", headers=admin)
    assert unknown.status_code == 422
    assert "fraud.bands" in unknown.json()["error"]["details"]["known"]
    missing_value = api.put("/api/admin/config/fraud.bands", json={}, headers=admin)
    assert missing_value.status_code in (400, 422)
    assert _config(api, admin) == before


CONFIG_ROUTES = [
    ("GET", "/api/admin/config", None),
    ("GET", "/api/admin/config/fraud.bands", None),
    ("PUT", "/api/admin/config/orders.carrier_step_seconds", {"value": 5}),
    ("DELETE", "/api/admin/config/orders.carrier_step_seconds", None),
]


def test_only_admins_reach_the_config_routes(
    cluster: Cluster, api: httpx.Client, issuer: TokenIssuer, admin: dict[str, str]
) -> None:
    before = _config(api, admin)
    customer = issuer.headers(factories.ref("c"), "customer")
    staff = issuer.headers(factories.ref("s"), "staff")
    for method, path, body in CONFIG_ROUTES:
        assert api.request(method, path, json=body).status_code == 401, path
        for who in (customer, staff):
            assert api.request(method, path, json=body, headers=who).status_code == 403, path
    # The backoffice checks again: no context, or a staff one, is refused there too.
    key = json.loads((ROOT / "components/local/secrets.gateway.json").read_text())[
        "gateway-context-key"
    ]
    as_staff = sign_context(Principal(user_id="s-1", role=Role.STAFF), key)
    with cluster.invoker("backoffice") as backoffice:
        for method, path, body in CONFIG_ROUTES:
            inner = path.removeprefix("/api/")
            assert backoffice.request(method, inner, json=body).status_code == 403, inner
            r = backoffice.request(method, inner, json=body, headers={CONTEXT_HEADER: as_staff})
            assert r.status_code == 403, (inner, r.text)
    assert _config(api, admin) == before


def test_the_audit_log_records_a_change_with_its_key_and_values(
    api: httpx.Client, issuer: TokenIssuer
) -> None:
    admin_id = factories.ref("admin")
    admin = issuer.headers(admin_id, "admin")
    key = "storefront.rate_limit.user_per_minute"
    with setting(api, admin, key, 999_999) as change:
        assert change["before"] is None and change["after"] == "999999"

    def logged() -> list[Json]:
        r = api.get(
            "/api/admin/audit-logs",
            params={"actor": admin_id, "entity_type": "config"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        items = list(r.json()["items"])
        assert {e["action"] for e in items} == {"config.updated", "config.deleted"}, items
        return items

    entries = {e["action"]: e for e in eventually(logged, timeout=30)}
    put = entries["config.updated"]
    assert put["entity_id"] == key and put["status"] == 200
    assert put["changes"]["requested"]["value"] == 999_999
    assert put["changes"]["result"]["before"] is None
    assert put["changes"]["result"]["after"] == "999999"
    reset = entries["config.deleted"]
    assert reset["entity_id"] == key and reset["changes"]["result"]["before"] == "999999"
