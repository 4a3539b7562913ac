"""Operations on checkout sagas on real sidecars (Dapr Workflow), PostgreSQL and stripe-mock:
a saga whose payment never comes is listed as stuck past its threshold
(CHECKOUT_STUCK_AFTER_SECONDS here, well inside its payment timeout), terminated by an
admin with its compensation run (stock released, order cancelled, PaymentIntent
cancelled), then purged; raising the payment event by hand completes a waiting saga;
customers and staff are refused at the gateway and again in checkout."""

import json
from pathlib import Path
from typing import Any

import httpx

from apps.contracts.identity import Principal, Role
from apps.platform.context import sign_context
from tests import factories, webhooks
from tests.cluster import CHECKOUT_PAYMENT_TIMEOUT_SECONDS, CHECKOUT_STUCK_AFTER_SECONDS
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]
SAGAS = "/api/admin/sagas"


def _product(api: httpx.Client, stock: int = 10) -> Json:
    product = factories.product()
    product["variants"][0]["stock"] = stock
    r = api.post("/api/staff/products", json=product)
    assert r.status_code == 201, r.text
    return product


def _line(product: Json, quantity: int) -> Json:
    return {
        "product_id": product["product_id"],
        "variant_id": product["variants"][0]["variant_id"],
        "quantity": quantity,
    }


def _place(api: httpx.Client, body: Json) -> str:
    r = api.post("/api/orders", json=body, headers={"Idempotency-Key": factories.ref("idem")})
    assert r.status_code == 202, r.text
    return str(r.json()["order_id"])


def _stock(api: httpx.Client, product: Json) -> Json:
    r = api.get(f"/api/products/{product['product_id']}/inventory")
    assert r.status_code == 200, r.text
    return dict(r.json()["variants"][0])


def _order(api: httpx.Client, order_id: str, email: str) -> Json:
    r = api.get(f"/api/orders/{order_id}", params={"email": email})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _listed(api: httpx.Client, admin: dict[str, str], **params: Any) -> list[Json]:
    r = api.get(SAGAS, params={"limit": 100, **params}, headers=admin)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] >= len(page["items"])
    return list(page["items"])


def test_a_saga_stuck_waiting_for_payment_is_terminated_compensated_and_purged(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    assert CHECKOUT_STUCK_AFTER_SECONDS < CHECKOUT_PAYMENT_TIMEOUT_SECONDS / 3
    admin = issuer.headers(factories.ref("adm"), "admin")
    with cluster.client("storefront") as api:
        product = _product(api)
        body = factories.checkout(_line(product, 2), promo_code="WELCOME10")
        order_id = _place(api, body)
        payment = webhooks.payment_of(cluster, order_id)
        assert payment["status"] == "processing"  # and no webhook will ever come
        assert _stock(api, product)["reserved"] == 2

        def stuck() -> Json:
            found = [s for s in _listed(api, admin, stuck="true") if s["saga_id"] == order_id]
            assert found, "not listed as stuck yet"
            return found[0]

        listed = eventually(stuck, timeout=CHECKOUT_PAYMENT_TIMEOUT_SECONDS / 2)
        assert listed["status"] == "running" and listed["waiting_for"] == "payment"
        assert listed["idle_seconds"] > listed["stuck_after_seconds"]
        assert listed["stuck_after_seconds"] == CHECKOUT_STUCK_AFTER_SECONDS
        running = [s["saga_id"] for s in _listed(api, admin, status="running")]
        assert order_id in running
        assert order_id not in [s["saga_id"] for s in _listed(api, admin, status="completed")]

        detail = api.get(f"{SAGAS}/{order_id}", headers=admin)
        assert detail.status_code == 200, detail.text
        saga = detail.json()
        assert saga["status"] == "running" and saga["result"] is None
        assert saga["input"]["order_id"] == order_id
        if saga["history"] is None:  # Dapr < 1.17: no history API
            assert "GetInstanceHistory" in saga["history_note"]
        else:
            names = [e["name"] for e in saga["history"] if e["kind"] == "taskScheduled"]
            assert "request_payment" in names, names

        # A running saga is not purged.
        refused = api.post(f"{SAGAS}/{order_id}/purge", headers=admin)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "CONFLICT"

        r = api.post(
            f"{SAGAS}/{order_id}/terminate", json={"reason": "stuck in payment"}, headers=admin
        )
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["status"] == "terminated"
        assert (done["order_status"], done["payment_status"]) == ("cancelled", "canceled")
        # The saga's own failure path ran: stock released, order cancelled with the reason.
        level = _stock(api, product)
        assert (level["on_hand"], level["reserved"], level["available"]) == (10, 0, 10)
        order = _order(api, order_id, body["email"])
        assert order["status"] == "cancelled"
        assert "stuck in payment" in order["cancel_reason"]
        with cluster.invoker("payments") as payments:
            assert payments.get(f"/payments/{order_id}").json()["status"] == "canceled"

        # The shopper's checkout status reads the terminated saga as cancelled.
        state = api.get(f"/api/staff/checkouts/{order_id}").json()
        assert state["status"] == "terminated", state
        assert state["result"]["outcome"] == "cancelled", state

        again = api.post(f"{SAGAS}/{order_id}/terminate", headers=admin)
        assert again.status_code == 409, again.text
        ended = api.get(f"{SAGAS}/{order_id}", headers=admin).json()
        assert ended["status"] == "terminated" and ended["compensated_by"]
        assert not ended["stuck"]
        terminated = [s["saga_id"] for s in _listed(api, admin, status="terminated")]
        assert order_id in terminated
        assert order_id not in [s["saga_id"] for s in _listed(api, admin, stuck="true")]

        # The saga's own timer is gone with it: nothing changes when it would have fired.
        r = api.post(f"{SAGAS}/{order_id}/purge", headers=admin)
        assert r.status_code == 200, r.text
        assert api.get(f"{SAGAS}/{order_id}", headers=admin).status_code == 404
        assert order_id not in [s["saga_id"] for s in _listed(api, admin)]
        assert api.post(f"{SAGAS}/{order_id}/purge", headers=admin).status_code == 404
        assert _order(api, order_id, body["email"])["status"] == "cancelled"


def test_raising_the_payment_event_completes_a_waiting_saga(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    admin = issuer.headers(factories.ref("adm"), "admin")
    with cluster.client("storefront") as api:
        product = _product(api)
        body = factories.checkout(_line(product, 1))
        order_id = _place(api, body)
        payment = webhooks.payment_of(cluster, order_id)
        url = f"{SAGAS}/{order_id}/events/payment"
        for bad in ({"status": "processing"}, {"status": "succeeded", "extra": 1}, {}):
            r = api.post(url, json=bad, headers=admin)
            assert r.status_code in (400, 422), r.text
            assert "error" in r.json()
        assert api.get(f"{SAGAS}/{order_id}", headers=admin).json()["status"] == "running"

        event = {"status": "succeeded", "payment_intent_id": payment["payment_intent_id"]}
        r = api.post(url, json=event, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["event"] == "payment_result"

        def finished() -> Json:
            state = api.get(f"{SAGAS}/{order_id}", headers=admin).json()
            assert state["status"] == "completed", state
            return dict(state)

        saga = eventually(finished, timeout=60)
        assert saga["outcome"] == "paid"
        steps = [s["step"] for s in saga["steps"]]
        assert steps[0] == "place_order" and steps[-1] == "settle", steps
        assert _order(api, order_id, body["email"])["status"] in ("paid", "fulfilling")
        assert _stock(api, product)["on_hand"] == 9

        late = api.post(url, json=event, headers=admin)
        assert late.status_code == 409, late.text
        assert api.post(f"{SAGAS}/{order_id}/terminate", headers=admin).status_code == 409
        assert api.post(f"{SAGAS}/{order_id}/rerun", headers=admin).status_code == 409
        unknown = api.get(f"{SAGAS}/{factories.ref('nope')}", headers=admin)
        assert unknown.status_code == 404, unknown.text
        assert unknown.json()["error"]["code"] == "RESOURCE_NOT_FOUND"


def test_a_failed_saga_reruns_from_its_failed_step_and_gets_its_payment(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    """Payments down for longer than the payment step's ~2 minutes of retries: the saga
    fails there; once payments is back an admin reruns it (Dapr 1.16's
    RerunWorkflowFromEvent, from the first step: the steps done repeat as no-ops) and the
    payment's webhook reaches the rerun instance."""
    admin = issuer.headers(factories.ref("adm"), "admin")
    with cluster.client("storefront") as api:
        product = _product(api)
        body = factories.checkout(_line(product, 1))
        cluster.stop_app("payments", crash=True)
        try:
            order_id = _place(api, body)

            def failed() -> Json:
                state = api.get(f"{SAGAS}/{order_id}", headers=admin).json()
                assert state["status"] == "failed", state["status"]
                return dict(state)

            saga = eventually(failed, timeout=300, interval=2)
        finally:
            cluster.start_app("payments")
        assert "Activity task #" in saga["failure"], saga["failure"]
        assert order_id in [s["saga_id"] for s in _listed(api, admin, status="failed")]

        r = api.post(f"{SAGAS}/{order_id}/rerun", headers=admin)
        assert r.status_code == 200, r.text
        rerun = r.json()
        new_id = rerun["new_saga_id"]
        assert (new_id, rerun["from_event_id"]) == (f"{order_id}-rerun-1", 1)
        payment = webhooks.payment_of(cluster, order_id, timeout=90)
        sent = webhooks.send(cluster, "payment_intent.succeeded", payment)
        assert sent.status_code == 200, sent.text

        def paid() -> Json:
            state = api.get(f"{SAGAS}/{new_id}", headers=admin).json()
            assert state["status"] == "completed", state
            return dict(state)

        assert eventually(paid, timeout=90)["outcome"] == "paid"
        assert _order(api, order_id, body["email"])["status"] in ("paid", "fulfilling")
        level = _stock(api, product)
        assert (level["on_hand"], level["reserved"]) == (9, 0)
        assert new_id in [s["saga_id"] for s in _listed(api, admin, status="completed")]


ROUTES = [
    ("GET", SAGAS),
    ("GET", f"{SAGAS}/o-1"),
    ("POST", f"{SAGAS}/o-1/terminate"),
    ("POST", f"{SAGAS}/o-1/purge"),
    ("POST", f"{SAGAS}/o-1/events/payment"),
    ("POST", f"{SAGAS}/o-1/rerun"),
]


def test_only_admins_operate_sagas(cluster: Cluster, issuer: TokenIssuer) -> None:
    customer = issuer.headers(factories.ref("c"), "customer")
    staff = issuer.headers(factories.ref("s"), "staff")
    with cluster.client("storefront") as api:
        for method, path in ROUTES:
            assert api.request(method, path).status_code == 401, path
            for who in (customer, staff):
                assert api.request(method, path, headers=who).status_code == 403, path
        spec = api.get("/openapi.json").json()["paths"]
        assert {f"{SAGAS}", f"{SAGAS}/{{saga_id}}/terminate"} <= set(spec)
    # Checkout checks again: no context, or a staff one, is refused there too.
    key = json.loads((ROOT / "components/local/secrets.gateway.json").read_text())[
        "gateway-context-key"
    ]
    as_staff = sign_context(Principal(user_id="s-1", role=Role.STAFF), key)
    with cluster.invoker("checkout") as checkout:
        for method, path in ROUTES:
            internal = path.replace("/api/admin/sagas", "/ops/sagas")
            assert checkout.request(method, internal).status_code == 403, path
            r = checkout.request(method, internal, headers={"X-SC-Context": as_staff})
            assert r.status_code == 403, path
