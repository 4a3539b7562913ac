"""The payments app on real sidecars against stripe-mock: PaymentIntents once per order,
signed webhooks applied once (unsigned, wrongly signed and stale ones refused through the
storefront, changing nothing), refunds, and payment-events."""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apps.payments.adapters import sign
from tests import factories
from tests.harness import Cluster, eventually
from tests.webhooks import SECRET
from tests.webhooks import send as _webhook


def _create(cluster: Cluster, amount: str = "120.00") -> dict[str, Any]:
    body = {
        "order_id": factories.ref("o"),
        "amount": amount,
        "currency": "USD",
        "payment_method": "pm_card_visa",
        "email": factories.email(),
    }
    with cluster.invoker("payments") as payments:
        first = payments.post("/payments", json=body)
        assert first.status_code == 201, first.text
        again = payments.post("/payments", json=body)
        assert again.status_code == 200
        assert again.json()["payment_intent_id"] == first.json()["payment_intent_id"]
    return first.json()


def _get(cluster: Cluster, order_id: str) -> dict[str, Any]:
    with cluster.invoker("payments") as payments:
        return payments.get(f"/payments/{order_id}").json()


def test_intent_once_per_order_then_the_webhook_settles_it_once(cluster: Cluster) -> None:
    payment = _create(cluster)
    assert payment["status"] == "processing"  # stripe-mock: the result comes by webhook
    assert payment["payment_intent_id"].startswith("pi_")
    evt = f"evt_{uuid.uuid4().hex}"
    for _ in range(2):  # Stripe redelivers
        resp = _webhook(cluster, "payment_intent.succeeded", payment, evt)
        assert resp.status_code == 200, resp.text
    settled = _get(cluster, payment["order_id"])
    assert settled["status"] == "succeeded" and settled["version"] == 2
    assert eventually(lambda: payment["order_id"] in cluster.stream("payment-events"))


def test_unsigned_wrongly_signed_and_stale_webhooks_change_nothing(cluster: Cluster) -> None:
    payment = _create(cluster)
    event = {
        "id": "evt_forged",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment["payment_intent_id"], "object": "payment_intent"}},
    }
    payload = json.dumps(event).encode()
    forged = {
        "none": {},
        "wrong secret": {"Stripe-Signature": sign(payload, "whsec_someone_else")},
        "stale": {"Stripe-Signature": sign(payload, SECRET, int(time.time()) - 3600)},
    }
    with cluster.client("storefront") as api:
        for why, headers in forged.items():
            resp = api.post("/api/payments/webhook", content=payload, headers=headers)
            assert resp.status_code == 400, why
            assert resp.json()["error"]["code"] == "INVALID_REQUEST"
    assert _get(cluster, payment["order_id"])["status"] == "processing"


def test_failed_payment_then_refunds(cluster: Cluster) -> None:
    failed = _create(cluster)
    resp = _webhook(
        cluster,
        "payment_intent.payment_failed",
        failed,
        last_payment_error={"message": "Your card was declined."},
    )
    assert resp.status_code == 200
    record = _get(cluster, failed["order_id"])
    assert (record["status"], record["failure_reason"]) == ("failed", "Your card was declined.")
    with cluster.invoker("payments") as payments:
        nothing = payments.post(f"/payments/{failed['order_id']}/refund", json={"key": "k-0"})
        assert nothing.status_code == 409

    paid = _create(cluster, "100.00")
    _webhook(cluster, "payment_intent.succeeded", paid)
    with cluster.invoker("payments") as payments:
        url = f"/payments/{paid['order_id']}/refund"
        part = payments.post(url, json={"key": "k-1", "amount": "30.00"})
        assert part.status_code == 200, part.text
        assert (part.json()["status"], part.json()["refunded_amount"]) == (
            "partially_refunded",
            "30.00",
        )
        too_much = payments.post(url, json={"key": "k-2", "amount": "80.00"})
        assert too_much.status_code == 422
        with ThreadPoolExecutor(8) as pool:  # eight racing requests for the rest, one key each
            racing = list(pool.map(lambda i: payments.post(url, json={"key": f"r-{i}"}), range(8)))
        assert sorted(r.status_code for r in racing).count(200) == 1, [r.text for r in racing]
        rest = payments.post(url, json={"key": "k-1", "amount": "30.00"})
        assert rest.json()["status"] == "refunded" and rest.json()["refunded_amount"] == "100.00"


def test_bad_payment_requests(cluster: Cluster) -> None:
    with cluster.invoker("payments") as payments:
        card_number = {
            "order_id": "o-x",
            "amount": "10.00",
            "payment_method": "4242424242424242",
            "email": "a@example.com",
        }
        assert payments.post("/payments", json=card_number).status_code == 400
        assert payments.get("/payments/o-none").status_code == 404


def test_local_mode_answers_as_stripe_does(cluster: Cluster) -> None:
    """stripe-mock answers every confirmation alike and sends no webhooks: with
    PAYMENTS_SIMULATE_WEBHOOKS a card that pays is `succeeded` at confirmation (as Stripe
    confirms `pm_card_visa`), a declining card is declined by the webhook the app signs and
    sends itself through the real webhook endpoint, and one that needs 3-D Secure waits."""
    cluster.start_app(
        "payments-local", app_id="payments", env={"PAYMENTS_SIMULATE_WEBHOOKS": "true"}
    )
    try:
        body = {
            "order_id": factories.ref("o"),
            "amount": "45.00",
            "payment_method": "pm_card_visa",
            "email": factories.email(),
        }
        with cluster.client("payments-local") as app:
            created = app.post("/payments", json=body)
            assert created.status_code == 201, created.text
            assert created.json()["status"] == "succeeded", created.text
        settled = eventually(
            lambda: (p := _get(cluster, body["order_id"]))["status"] == "succeeded" and p,
            timeout=20,
        )
        assert settled["version"] == 2
        # Stripe's declining test card declines; one that needs authentication waits for the
        # cardholder (3-D Secure: tests/integration/test_three_d_secure.py).
        declined = {
            **body,
            "order_id": factories.ref("o"),
            "payment_method": "pm_card_chargeDeclined",
        }
        waiting = {
            **body,
            "order_id": factories.ref("o"),
            "payment_method": "pm_card_authenticationRequired",
        }
        with cluster.client("payments-local") as app:
            assert app.post("/payments", json=declined).status_code == 201
            assert app.post("/payments", json=waiting).status_code == 201
        failed = eventually(
            lambda: (p := _get(cluster, declined["order_id"]))["status"] == "failed" and p,
            timeout=20,
        )
        assert failed["failure_reason"] == "Your card was declined."
        assert _get(cluster, waiting["order_id"])["status"] == "requires_action"
    finally:
        cluster.stop_app("payments-local")
        del cluster.apps["payments-local"]
