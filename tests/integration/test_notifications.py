"""Notifications on the real cluster: events through real sidecars, email through daprd's
SMTP binding into a real Mailpit, read back over Mailpit's API."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.contracts.events import EventEnvelope
from apps.contracts.user_events import NewDeviceSignIn, PasswordResetRequested
from tests import factories, webhooks
from tests.harness import Cluster, eventually
from tests.tokens import TokenIssuer

pytestmark = pytest.mark.integration

Json = dict[str, Any]


def subjects(cluster: Cluster, to: str) -> list[str]:
    return [m["Subject"] for m in cluster.mails(to)]


def user_event(payload_cls: Any, user_id: str, email: str, **data: Any) -> Json:
    now = datetime.now(UTC)
    payload = payload_cls(user_id=user_id, email=email, name="Ada", at=now, **data)
    correlation_id, event_id = factories.ref("corr"), factories.ref("e")
    envelope = EventEnvelope.of(
        payload, correlation_id=correlation_id, source="identity", event_id=event_id
    )
    return envelope.model_dump(mode="json")


def reset_event(user_id: str, email: str) -> Json:
    return user_event(
        PasswordResetRequested,
        user_id,
        email,
        token=factories.ref("token-" + "x" * 20),
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )


# -- a real checkout ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def paid_order(cluster: Cluster) -> Iterator[Json]:
    """A guest buys 3 of a product through the storefront, Stripe (mock) says paid."""
    with cluster.client("storefront") as api:
        product = factories.product()
        product["variants"][0]["stock"] = 10
        assert api.post("/api/staff/products", json=product).status_code == 201
        line = {
            "product_id": product["product_id"],
            "variant_id": product["variants"][0]["variant_id"],
            "quantity": 3,
        }
        body = factories.checkout(line)
        placed = api.post(
            "/api/orders", json=body, headers={"Idempotency-Key": factories.ref("idem")}
        )
        assert placed.status_code == 202, placed.text
        order_id = placed.json()["order_id"]

        def payment() -> Json:
            with cluster.invoker("payments") as payments:
                r = payments.get(f"/payments/{order_id}")
            assert r.status_code == 200, r.text
            return dict(r.json())

        assert webhooks.send(cluster, "payment_intent.succeeded", eventually(payment)).is_success

        def done() -> Json:
            state = api.get(f"/api/staff/checkouts/{order_id}").json()
            assert state["status"] in ("completed", "failed", "terminated"), state
            return dict(state)

        state = eventually(done, timeout=90)
        assert state["status"] == "completed" and state["result"]["outcome"] == "paid", state
        webhooks.release(cluster, order_id)  # to the warehouse: the carrier takes it from here
        order = api.get(f"/api/orders/{order_id}", params={"email": body["email"]}).json()
        yield {"order": order, "email": body["email"], "totals": state["result"]["totals"]}


def usd(amount: str) -> str:
    return f"${Decimal(amount):,.2f}"


def test_order_confirmation_arrives_once_with_the_exact_totals(
    cluster: Cluster, paid_order: Json
) -> None:
    order, email, totals = paid_order["order"], paid_order["email"], paid_order["totals"]
    subject = f"Order {order['order_number']} confirmed"
    eventually(lambda: subject in subjects(cluster, email), timeout=30)
    time.sleep(2)  # a second copy (a redelivery, the sweeper) would have arrived by now
    confirmations = [m for m in cluster.mails(email) if m["Subject"] == subject]
    assert len(confirmations) == 1
    mail = confirmations[0]
    assert mail["From"]["Address"] == "no-reply@smartcommerce.example"
    # The binding sends the HTML part only (README "Notifications"); Mailpit's `Text` is its
    # own rendering of that HTML, so the amounts are read in both.
    for part in (mail["HTML"], mail["Text"]):
        for field in ("subtotal", "tax", "shipping", "total"):
            assert usd(totals[field]) in part, (field, totals[field])
        line = order["items"][0]
        assert usd(line["line_total"]) in part and usd(line["unit_price"]) in part
        assert "1 Market St" in part and "94105" in part
    assert f"<strong>{usd(totals['total'])}</strong>" in mail["HTML"]
    assert f"https://shop.example/orders/{order['order_id']}" in mail["HTML"]
    assert "unsubscribe" not in mail["HTML"].lower()


def test_shipping_milestones_are_emailed(cluster: Cluster, paid_order: Json) -> None:
    """The simulated carrier moves the paid order's parcel along its normal route (a step a
    second in tests): picked up, out for delivery and delivered each send one email."""
    number, email = paid_order["order"]["order_number"], paid_order["email"]
    wanted = [
        f"Order {number} has shipped",
        f"Order {number} is out for delivery",
        f"Order {number} was delivered",
    ]
    eventually(lambda: set(wanted) <= set(subjects(cluster, email)), timeout=90, interval=1)
    got = subjects(cluster, email)
    assert [got.count(s) for s in wanted] == [1, 1, 1]
    shipped = next(m for m in cluster.mails(email) if m["Subject"] == wanted[0])
    assert "Tracking number" in shipped["HTML"] and "Track your parcel" in shipped["HTML"]


# -- duplicates, the mail server down, the customer's list --------------------------------
def test_the_same_event_delivered_three_times_sends_one_email(cluster: Cluster) -> None:
    email = factories.email()
    event = reset_event(factories.ref("u"), email)
    cluster.publish("user-events", event, via="identity", times=3)
    eventually(lambda: subjects(cluster, email) == ["Reset your password"], timeout=30)
    time.sleep(2)
    mails = cluster.mails(email)
    assert len(mails) == 1
    token = event["data"]["token"]
    assert f"https://shop.example/reset-password?token={token}" in mails[0]["HTML"]


def my_notifications(cluster: Cluster, token: str) -> Json:
    with cluster.client("storefront") as api:
        r = api.get("/api/users/me/notifications", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_mail_server_down_loses_nothing_and_sends_once_when_back(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    user_id, email = factories.ref("u"), factories.email()
    token = issuer.token(user_id, "customer")
    cluster.stop_mail()
    try:
        cluster.publish(
            "user-events",
            user_event(NewDeviceSignIn, user_id, email, user_agent="Firefox", ip="192.0.2.7"),
            via="identity",
        )

        def retried() -> Json:
            page = my_notifications(cluster, token)
            assert page["total"] == 1, page
            item = page["items"][0]
            assert item["status"] == "pending" and item["kind"] == "new_device_sign_in", item
            return item

        eventually(retried, timeout=30)
        time.sleep(2)  # a few more failed attempts (backoff 0.5 s doubling to 2 s)
        assert my_notifications(cluster, token)["items"][0]["status"] == "pending"
    finally:
        cluster.start_mail()
    eventually(lambda: subjects(cluster, email) == ["New sign-in to your account"], timeout=30)

    def sent() -> Json:
        item = my_notifications(cluster, token)["items"][0]
        assert item["status"] == "sent" and item["sent_at"], item
        return item

    item = eventually(sent, timeout=15)
    assert item["subject"] == "New sign-in to your account" and "Firefox" in item["preview"]
    time.sleep(2)
    assert len(cluster.mails(email)) == 1


def test_a_customer_sees_only_their_own_notifications(
    cluster: Cluster, issuer: TokenIssuer
) -> None:
    owner, email = factories.ref("u"), factories.email()
    cluster.publish("user-events", reset_event(owner, email), via="identity")
    eventually(lambda: my_notifications(cluster, issuer.token(owner))["total"] == 1, timeout=30)
    page = my_notifications(cluster, issuer.token(owner))
    assert page["items"][0]["kind"] == "password_reset" and page["page"] == 1
    assert my_notifications(cluster, issuer.token(factories.ref("u")))["total"] == 0
    # Straight to the app through a sidecar without the gateway's signed context: nothing.
    with cluster.invoker("notifications") as internal:
        assert internal.get(f"/users/{owner}/notifications").status_code == 404
    with cluster.client("storefront") as api:
        assert api.get("/api/users/me/notifications").status_code == 401


def test_health_needs_the_binding_not_the_mail_server(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.apps["notifications"].url, timeout=5) as app:
        assert app.get("/health/ready").status_code == 200
