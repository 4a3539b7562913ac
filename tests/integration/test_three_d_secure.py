"""3-D Secure on the real cluster (real sidecars, Dapr Workflow, PostgreSQL, Redis,
stripe-mock): a card that needs the cardholder's authentication answers `requires_action`
with what the shopper's client needs, the saga waits for the shopper with its own, longer
timeout (not the payment timeout meant for Stripe's webhook), and settles or compensates on
the webhook that follows.

stripe-mock never answers `requires_action`, so payments runs in local mode here
(`PAYMENTS_SIMULATE_WEBHOOKS`): Stripe's authentication test cards answer as Stripe does, and
`POST /api/payments/{order_id}/authenticate` stands in for Stripe's hosted challenge (the
signed webhook Stripe sends afterwards goes through the real webhook endpoint).
"""

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests import factories, webhooks
from tests.cluster import CHECKOUT_AUTHENTICATION_TIMEOUT_SECONDS, CHECKOUT_PAYMENT_TIMEOUT_SECONDS
from tests.harness import Cluster, eventually
from tests.integration.test_checkout_saga import _add_product, _done, _line, _order, _place, _stock

Json = dict[str, Any]
AUTHENTICATION_FAILED = "We are unable to authenticate your payment method."


@pytest.fixture(scope="module")
def local_payments(cluster: Cluster) -> Iterator[None]:
    """payments in local mode for this module, then as the rest of the suite expects it."""
    cluster.stop_app("payments")
    cluster.start_app("payments", env={"PAYMENTS_SIMULATE_WEBHOOKS": "true"})
    try:
        yield
    finally:
        cluster.stop_app("payments")
        cluster.start_app("payments", env={"PAYMENTS_SIMULATE_WEBHOOKS": "false"})


def _awaiting(api: httpx.Client, order_id: str, email: str) -> Json:
    """The checkout as its shopper sees it once the saga waits for authentication."""

    def check() -> Json:
        r = api.get(f"/api/checkout/{order_id}", params={"email": email, "wait": 4})
        assert r.status_code == 200, r.text
        state = r.json()
        assert state["status"] == "running" and state["payment"] is not None, state
        return dict(state)

    return dict(eventually(check, timeout=90))


def _authenticate(api: httpx.Client, order_id: str, email: str, outcome: str) -> httpx.Response:
    return api.post(
        f"/api/payments/{order_id}/authenticate", json={"email": email, "outcome": outcome}
    )


def test_a_shopper_authenticating_outlives_the_payment_timeout_and_one_who_leaves_is_cancelled(
    cluster: Cluster, local_payments: None
) -> None:
    assert CHECKOUT_AUTHENTICATION_TIMEOUT_SECONDS > CHECKOUT_PAYMENT_TIMEOUT_SECONDS + 15
    with cluster.client("storefront") as api:
        kept, left = _add_product(api), _add_product(api)
        buyer = factories.checkout(_line(kept, 2), payment_method="pm_card_authenticationRequired")
        leaver = factories.checkout(_line(left, 3), payment_method="pm_card_threeDSecure2Required")
        first, second = _place(api, buyer), _place(api, leaver)

        state = _awaiting(api, first, buyer["email"])
        payment = state["payment"]
        assert payment["status"] == "requires_action"
        assert payment["client_secret"].startswith("pi_") and "_secret_" in payment["client_secret"]
        assert payment["next_action"]["type"] == "use_stripe_sdk"
        sdk = payment["next_action"]["use_stripe_sdk"]
        assert sdk["stripe_js"] == f"/api/payments/{first}/authenticate"
        assert _awaiting(api, second, leaver["email"])["payment"]["client_secret"]
        # Only the order's owner: another shopper's email, or none, is a 404 (as for the order).
        other = api.get(f"/api/checkout/{first}", params={"email": leaver["email"]})
        assert other.status_code == 404
        assert api.get(f"/api/checkout/{first}").status_code == 404
        assert _authenticate(api, first, leaver["email"], "succeeded").status_code == 404
        staff = api.get(f"/api/staff/checkouts/{first}").json()  # support sees that it waits
        assert staff["payment"] == {
            "status": "requires_action",
            "client_secret": None,
            "next_action": None,
        }
        assert _order(api, first, buyer["email"])["status"] == "awaiting_payment"
        assert _stock(api, kept)["reserved"] == 2 and _stock(api, left)["reserved"] == 3

        # Past the payment timeout (30 s): both still wait for their shoppers.
        created = datetime.fromisoformat(webhooks.payment_of(cluster, first)["created_at"])
        started = created.timestamp()
        time.sleep(max(0.0, started + CHECKOUT_PAYMENT_TIMEOUT_SECONDS + 10 - time.time()))
        for order_id, body in ((first, buyer), (second, leaver)):
            r = api.get(f"/api/checkout/{order_id}", params={"email": body["email"]})
            assert r.status_code == 200 and r.json()["status"] == "running", r.text
            assert r.json()["payment"]["status"] == "requires_action", r.text
            assert _order(api, order_id, body["email"])["status"] == "awaiting_payment"

        # The first shopper passes the challenge: Stripe's success webhook, the order is paid.
        passed = _authenticate(api, first, buyer["email"], "succeeded")
        assert passed.status_code == 200, passed.text
        assert passed.json()["status"] == "succeeded" and passed.json()["client_secret"] is None
        result = _done(api, first)
        assert result["outcome"] == "paid", result
        assert _order(api, first, buyer["email"])["status"] == "paid"
        level = _stock(api, kept)
        assert (level["on_hand"], level["reserved"]) == (8, 0)
        settled = api.get(f"/api/checkout/{first}", params={"email": buyer["email"]}).json()
        assert settled["payment"] is None  # nothing left to do for the client

        # The second never does: cancelled when the authentication timeout ends, compensated.
        result = _done(api, second, timeout=120)
        ended = time.time()
        assert result["outcome"] == "cancelled", result
        assert "3-D Secure" in result["reason"]["message"]
        second_payment = webhooks.payment_of(cluster, second)
        waited = ended - datetime.fromisoformat(second_payment["created_at"]).timestamp()
        assert waited >= CHECKOUT_AUTHENTICATION_TIMEOUT_SECONDS - 2, waited
        order = _order(api, second, leaver["email"])
        assert order["status"] == "cancelled"
        assert order["cancel_reason"] == result["reason"]["message"]
        level = _stock(api, left)
        assert (level["on_hand"], level["reserved"], level["available"]) == (10, 0, 10)
        assert second_payment["status"] == "canceled"
        late = _authenticate(api, second, leaver["email"], "succeeded")
        assert late.status_code == 409, late.text
        assert _order(api, second, leaver["email"])["status"] == "cancelled"


def test_a_failed_authentication_fails_the_payment_and_compensates(
    cluster: Cluster, local_payments: None
) -> None:
    with cluster.client("storefront") as api:
        product = _add_product(api)
        body = factories.checkout(
            _line(product, 4), payment_method="pm_card_authenticationRequired"
        )
        order_id = _place(api, body)
        secret = _awaiting(api, order_id, body["email"])["payment"]["client_secret"]
        # The owner's create-intent answer carries the same secret; staff's never does.
        mine = api.post(
            "/api/payments/create-intent", json={"order_id": order_id, "email": body["email"]}
        )
        assert mine.status_code == 200 and mine.json()["client_secret"] == secret, mine.text
        assert mine.json()["status"] == "requires_action"
        staff = api.get(f"/api/staff/payments/{order_id}")
        assert staff.status_code == 200 and staff.json()["client_secret"] is None

        failed = _authenticate(api, order_id, body["email"], "failed")
        assert failed.status_code == 200, failed.text
        assert failed.json()["status"] == "failed"
        result = _done(api, order_id)
        assert result["outcome"] == "payment_failed", result
        assert result["reason"]["message"].startswith(AUTHENTICATION_FAILED)
        order = _order(api, order_id, body["email"])
        assert order["status"] == "payment_failed"
        assert order["cancel_reason"].startswith(AUTHENTICATION_FAILED)
        level = _stock(api, product)
        assert (level["on_hand"], level["reserved"], level["available"]) == (10, 0, 10)
        payment = webhooks.payment_of(cluster, order_id)
        assert payment["status"] == "failed" and payment["refunded_amount"] == "0.00"
        assert _authenticate(api, order_id, body["email"], "succeeded").status_code == 409
