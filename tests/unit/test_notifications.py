"""Notifications: event -> kind, preferences, backoff and the outbox's claims (pure), the
templates with exact localised amounts, and the service over in-memory ports."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from apps.contracts.events import EventEnvelope
from apps.contracts.identity import ContactDetails, Notifications
from apps.contracts.notifications import NotificationKind as K
from apps.contracts.notifications import NotificationStatus as S
from apps.contracts.orders import Order, OrderCancelled, OrderCompleted, OrderPlaced
from apps.contracts.payments import PaymentFailed
from apps.contracts.shipping import ShipmentStatusUpdated
from apps.contracts.user_events import PasswordResetRequested
from apps.notifications import domain
from apps.notifications.domain import Audience, Recipient, RetryPolicy
from apps.notifications.render import render
from apps.notifications.service import Links, NotificationService
from tests.fakes.notifications import Contacts, DeadLetters, MemoryOutbox, Orders, RecordingMailer

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
ADDRESS = {
    "name": "Zoë Müller",
    "line1": "Hauptstraße 1",
    "line2": "",
    "city": "Berlin",
    "state": "",
    "postal_code": "10115",
    "country": "DE",
    "phone": "",
}
LINES = [
    {
        "product_id": "p-1",
        "variant_id": "v-1",
        "sku": "DESK-OAK",
        "name": "Oak desk & lamp",
        "quantity": 2,
        "unit_price": "1234.50",
        "line_total": "2469.00",
    },
    {
        "product_id": "p-2",
        "variant_id": "v-2",
        "sku": "PEN-1",
        "name": "Pen",
        "quantity": 3,
        "unit_price": "0.10",
        "line_total": "0.30",
    },
]
TOTALS = {
    "subtotal": "2469.30",
    "tax": "197.54",
    "shipping": "4.99",
    "discount": "0.00",
    "total": "2671.83",
    "currency": "EUR",
}


def order_event(cls: Any = OrderPlaced, user_id: str | None = "u-1", **data: Any) -> EventEnvelope:
    payload = cls.model_validate(
        {
            "order_id": "o-1",
            "order_number": "SC-2026-000123",
            "email": "zoe@example.com",
            "user_id": user_id,
            "status": "paid",
            "previous_status": "awaiting_payment",
            "totals": TOTALS,
            "items": LINES,
            "version": 4,
            "at": NOW.isoformat(),
            **data,
        }
    )
    return EventEnvelope.of(payload, correlation_id="c-1", source="checkout", event_id="e-1")


def order() -> Order:
    return Order.model_validate(
        {
            "order_id": "o-1",
            "order_number": "SC-2026-000123",
            "email": "zoe@example.com",
            "user_id": "u-1",
            "status": "paid",
            "items": LINES,
            "totals": TOTALS,
            "shipping_address": ADDRESS,
            "history": [],
            "created_at": NOW.isoformat(),
            "updated_at": NOW.isoformat(),
            "correlation_id": "c-1",
            "version": 4,
        }
    )


def contact(**prefs: bool) -> ContactDetails:
    return ContactDetails(
        user_id="u-1",
        email="zoe.account@example.com",
        name="Zoë",
        language="de-DE",
        currency="EUR",
        email_verified=True,
        notifications=Notifications(**prefs),
    )


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


POLICY = RetryPolicy(base_seconds=10, max_seconds=60, max_attempts=3, lease_seconds=30)


def service(
    contacts: dict[str, ContactDetails] | None = None,
) -> tuple[NotificationService, MemoryOutbox, RecordingMailer, DeadLetters, Clock]:
    outbox, mailer, dead, clock = MemoryOutbox(), RecordingMailer(), DeadLetters(), Clock()
    svc = NotificationService(
        outbox=outbox,
        mailer=mailer,
        contacts=Contacts({"u-1": contact()} if contacts is None else contacts),
        orders=Orders({"o-1": order()}),
        dead_letters=dead,
        links=Links("https://shop.example/"),
        policy=POLICY,
        clock=clock,
    )
    return svc, outbox, mailer, dead, clock


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# -- which event is which email ----------
@pytest.mark.parametrize(
    ("event_type", "data", "kind"),
    [
        ("OrderPlaced", {}, K.ORDER_CONFIRMATION),
        ("OrderPaid", {}, None),  # the saga's OrderPlaced is the confirmation
        ("OrderCancelled", {"previous_status": "paid"}, K.ORDER_CANCELLED),
        ("OrderCancelled", {"previous_status": "awaiting_payment"}, None),
        ("OrderCompleted", {}, K.REVIEW_REQUEST),
        ("PaymentFailed", {"status": "failed"}, K.PAYMENT_FAILED),
        ("PaymentFailed", {"status": "canceled"}, None),
        ("RefundProcessed", {}, K.REFUND_ISSUED),
        ("ShipmentScheduled", {"status": "label_created"}, None),
        ("ShipmentStatusUpdated", {"status": "picked_up"}, K.SHIPPED),
        ("ShipmentStatusUpdated", {"status": "in_transit"}, None),
        ("ShipmentStatusUpdated", {"status": "out_for_delivery"}, K.OUT_FOR_DELIVERY),
        ("ShipmentStatusUpdated", {"status": "delayed"}, K.SHIPMENT_DELAYED),
        ("ShipmentStatusUpdated", {"status": "delivery_failed"}, K.DELIVERY_FAILED),
        ("ShipmentStatusUpdated", {"status": "returned_to_sender"}, K.RETURNED_TO_SENDER),
        ("ShipmentStatusUpdated", {"status": "picked_up", "kind": "return"}, None),
        ("DeliveryCompleted", {}, K.DELIVERED),
        ("CustomerNotificationRequested", {}, K.SHIPMENT_UPDATE),
        ("EmailVerificationRequested", {}, K.VERIFY_EMAIL),
        ("PasswordResetRequested", {}, K.PASSWORD_RESET),
        ("NewDeviceSignIn", {}, K.NEW_DEVICE_SIGN_IN),
        ("UserCreated", {}, None),
    ],
)
def test_event_to_kind(event_type: str, data: dict[str, Any], kind: K | None) -> None:
    assert domain.kind_for(event_type, data) == kind
    if kind is not None:
        assert event_type in domain.HANDLED_EVENTS


def test_every_kind_has_a_spec_and_templates() -> None:
    from apps.notifications.render import TEMPLATES

    assert set(domain.KINDS) == set(K)
    for spec in domain.KINDS.values():
        assert (TEMPLATES / f"{spec.template}.html").exists()
        assert (TEMPLATES / f"{spec.template}.txt").exists()


# -- preferences ----------
def account(**prefs: bool) -> Recipient:
    return Recipient(email="a@example.com", guest=False, **prefs)


@pytest.mark.parametrize(
    ("audience", "to", "send"),
    [
        (Audience.SECURITY, account(email_orders=False), True),
        (Audience.TRANSACTIONAL, account(email_orders=False), True),
        (Audience.TRANSACTIONAL, Recipient(email="g@example.com"), True),
        (Audience.ORDER_UPDATES, account(email_orders=True), True),
        (Audience.ORDER_UPDATES, account(email_orders=False), False),
        (Audience.ORDER_UPDATES, Recipient(email="g@example.com"), True),  # guest
        (Audience.MARKETING, Recipient(email="g@example.com"), False),
        (Audience.MARKETING, account(email_marketing=False, email_verified=True), False),
        (Audience.MARKETING, account(email_marketing=True, email_verified=False), False),
        (Audience.MARKETING, account(email_marketing=True, email_verified=True), True),
        (Audience.SECURITY, Recipient(email='"a;b"@example.com', guest=False), False),
    ],
)
def test_preferences(audience: Audience, to: Recipient, send: bool) -> None:
    decision = domain.decide(audience, to)
    assert decision.send is send
    assert bool(decision.reason) is not send


# -- backoff and claims ----------
def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=30, max_seconds=3600)
    delays = [domain.retry_delay(n, policy).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert domain.retry_delay(10_000, policy).total_seconds() == 3600


# -- templates ----------
def confirmation_context(currency: str = "EUR") -> dict[str, Any]:
    totals = {k: (Decimal(v) if k != "currency" else currency) for k, v in TOTALS.items()}
    items = [
        {**line, **{k: Decimal(line[k]) for k in ("unit_price", "line_total")}} for line in LINES
    ]
    return {
        "name": "Zoë <script>",
        "order_number": "SC-2026-000123",
        "items": items,
        "totals": totals,
        "currency": currency,
        "address": ADDRESS,
        "reason": "",
        "refund_amount": None,
        "base_url": "https://shop.example",
        "order_url": "https://shop.example/orders/o-1",
        "cart_url": "https://shop.example/cart",
    }


def test_confirmation_amounts_in_german() -> None:
    out = render(K.ORDER_CONFIRMATION, confirmation_context(), "de-DE")
    assert out.subject == "Order SC-2026-000123 confirmed"
    for text in (out.text, out.html):
        assert "1.234,50\xa0€" in text  # unit price
        assert "2.469,00\xa0€" in text  # line total
        assert "0,10\xa0€" in text and "0,30\xa0€" in text
        assert "4,99\xa0€" in text and "197,54\xa0€" in text
        assert "2.671,83\xa0€" in text  # total
        assert "Hauptstraße 1" in text and "10115 Berlin" in text
    assert "Total: 2.671,83\xa0€" in out.text
    assert '<html lang="de">' in out.html


def test_confirmation_amounts_in_us_english_and_html_is_escaped() -> None:
    out = render(K.ORDER_CONFIRMATION, confirmation_context("USD"), "en")
    assert "Total: $2,671.83" in out.text
    assert "$1,234.50" in out.html
    assert "<script>" not in out.html and "Zoë &lt;script&gt;" in out.html
    assert "Oak desk &amp; lamp" in out.html and "Oak desk & lamp" in out.text
    assert "unsubscribe" not in out.html.lower()  # transactional: no unsubscribe


def test_unknown_language_falls_back_to_english() -> None:
    out = render(K.ORDER_CONFIRMATION, confirmation_context("USD"), "xx-YY")
    assert "Total: $2,671.83" in out.text


def test_marketing_carries_an_unsubscribe_link() -> None:
    context = {
        **confirmation_context(),
        "unsubscribe_url": "https://shop.example/account/preferences?unsubscribe=email_marketing",
    }
    out = render(K.REVIEW_REQUEST, context, "en")
    assert "unsubscribe=email_marketing" in out.html and "unsubscribe=email_marketing" in out.text
    assert "https://shop.example/products/p-1#reviews" in out.text


def test_subject_is_one_line() -> None:
    context = {**confirmation_context(), "order_number": "SC-1\r\nBcc: x@example.com"}
    assert "\n" not in render(K.ORDER_CONFIRMATION, context, "en").subject


# -- the service over in-memory ports ----------
def test_confirmation_is_stored_then_sent_once_with_the_address() -> None:
    svc, outbox, mailer, _, _ = service()
    assert run(svc.handle(order_event())) is S.SENT
    assert run(svc.handle(order_event())) is None  # redelivered: nothing more
    assert len(mailer.sent) == 1
    to, subject, html, _ = mailer.sent[0]
    assert to == "zoe.account@example.com"  # the account's current address
    assert subject == "Order SC-2026-000123 confirmed"
    assert "2.671,83\xa0€" in html and "Hauptstraße 1" in html
    ((record, _),) = outbox.docs.values()
    assert record.status is S.SENT and record.attempts == 1 and record.sent_at == NOW
    assert record.notification_id == "notification:e-1:order_confirmation"


def test_guest_gets_it_at_the_order_email() -> None:
    svc, _, mailer, _, _ = service(contacts={})
    assert run(svc.handle(order_event(user_id=None))) is S.SENT
    assert mailer.sent[0][0] == "zoe@example.com"
    assert "$" not in mailer.sent[0][2] and "€2,671.83" in mailer.sent[0][2]  # English


def shipment_event(status: str = "picked_up") -> EventEnvelope:
    payload = ShipmentStatusUpdated.model_validate(
        {
            "shipment_id": "shp-1",
            "order_id": "o-1",
            "order_number": "SC-2026-000123",
            "user_id": "u-1",
            "email": "zoe@example.com",
            "carrier": "SimPost",
            "tracking_number": "SP123",
            "tracking_url": "https://track.example/SP123",
            "status": status,
            "lines": [{k: v for k, v in LINES[0].items() if k not in ("unit_price", "line_total")}],
            "version": 2,
            "at": NOW.isoformat(),
            "estimated_delivery": (NOW + timedelta(days=2)).isoformat(),
        }
    )
    return EventEnvelope.of(payload, correlation_id="c-1", source="orders", event_id="e-ship")


def test_shipping_updates_honour_email_orders() -> None:
    svc, outbox, mailer, _, _ = service(contacts={"u-1": contact(email_orders=False)})
    assert run(svc.handle(shipment_event())) is S.SKIPPED
    assert mailer.sent == []
    ((record, _),) = outbox.docs.values()
    assert "email_orders" in record.skip_reason
    # ... while the confirmation still goes
    assert run(svc.handle(order_event())) is S.SENT


def test_shipped_email_links_the_tracking_page() -> None:
    svc, _, mailer, _, _ = service()
    assert run(svc.handle(shipment_event())) is S.SENT
    _, subject, html, _ = mailer.sent[0]
    assert subject == "Order SC-2026-000123 has shipped"
    assert 'href="https://track.example/SP123"' in html and "16. März 2026" in html


def test_marketing_needs_opt_in() -> None:
    svc, _, mailer, _, _ = service()
    completed = order_event(OrderCompleted, status="completed", previous_status="delivered")
    assert run(svc.handle(completed)) is S.SKIPPED
    svc, _, mailer, _, _ = service(contacts={"u-1": contact(email_marketing=True)})
    assert run(svc.handle(completed)) is S.SENT
    assert "unsubscribe=email_marketing" in mailer.sent[0][2]


def test_cancelled_paid_order_mentions_the_refund() -> None:
    svc, _, mailer, _, _ = service()
    cancelled = order_event(OrderCancelled, status="cancelled", previous_status="paid")
    assert run(svc.handle(cancelled)) is S.SENT
    assert "will be refunded (2.671,83\xa0€)" in mailer.sent[0][2]


def test_payment_failed_is_addressed_from_the_order() -> None:
    svc, _, mailer, _, _ = service(contacts={})
    payload = PaymentFailed(
        order_id="o-1",
        payment_intent_id="pi_1",
        status="failed",
        amount=Decimal("2671.83"),
        currency="EUR",
        reason="card_declined",
    )
    event = EventEnvelope.of(payload, correlation_id="c", source="payments", event_id="e-pf")
    assert run(svc.handle(event)) is S.SENT
    to, _, html, priority = mailer.sent[0]
    assert to == "zoe@example.com" and priority == 2
    assert "€2,671.83" in html and "card_declined" in html


def test_password_reset_links_the_token_and_always_goes() -> None:
    svc, _, mailer, _, _ = service(contacts={"u-1": contact(email_orders=False)})
    payload = PasswordResetRequested(
        user_id="u-1",
        email="zoe@example.com",
        name="Zoë",
        language="fr",
        at=NOW,
        token="t" * 40,
        expires_at=NOW + timedelta(hours=1),
    )
    event = EventEnvelope.of(payload, correlation_id="c", source="identity", event_id="e-pr")
    assert run(svc.handle(event)) is S.SENT
    to, subject, html, priority = mailer.sent[0]
    assert (to, subject, priority) == ("zoe@example.com", "Reset your password", 1)
    assert f"https://shop.example/reset-password?token={'t' * 40}" in html


def test_mail_server_down_retries_with_backoff_then_sends_once() -> None:
    svc, outbox, mailer, _, clock = service()
    mailer.down = True
    assert run(svc.handle(order_event())) is S.PENDING
    ((record, _),) = outbox.docs.values()
    assert record.attempts == 1 and record.next_attempt_at == NOW + timedelta(seconds=10)
    assert "mail server down" in record.last_error
    assert run(svc.sweep()) == {}  # not due yet
    mailer.down = False
    clock.now += timedelta(seconds=10)
    assert run(svc.sweep()) == {"sent": 1}
    assert run(svc.sweep()) == {}
    assert len(mailer.sent) == 1


def test_dead_lettered_after_the_last_attempt() -> None:
    svc, outbox, mailer, dead, clock = service()
    mailer.down = True
    run(svc.handle(order_event()))
    for _ in range(POLICY.max_attempts):
        clock.now += timedelta(seconds=POLICY.max_seconds)
        run(svc.sweep())
    ((record, _),) = outbox.docs.values()
    assert record.status is S.DEAD_LETTERED and record.attempts == POLICY.max_attempts
    assert [r.notification_id for r in dead.published] == [record.notification_id]
    mailer.down = False
    clock.now += timedelta(hours=1)
    assert run(svc.sweep()) == {} and mailer.sent == []


def test_one_claim_wins() -> None:
    """Two senders read the same pending record; the second's claim (stale ETag) loses."""
    svc, outbox, mailer, _, _ = service()
    mailer.down = True
    run(svc.handle(order_event()))
    mailer.down = False
    key = next(iter(outbox.docs))
    record, etag = outbox.docs[key]
    record = record.model_copy(update={"next_attempt_at": NOW})
    outbox.docs[key] = (record, etag)
    first = domain.claimed(record, NOW, POLICY)
    assert run(outbox.replace(key, first, etag)) is True
    assert run(outbox.replace(key, domain.claimed(record, NOW, POLICY), etag)) is False
    # the claim holds until its lease runs out: nobody else sends it meanwhile
    assert run(svc.deliver(key)) is None and mailer.sent == []


def test_an_expired_claim_is_taken_over() -> None:
    svc, outbox, mailer, _, clock = service()
    mailer.down = True
    run(svc.handle(order_event()))
    key = next(iter(outbox.docs))
    record, etag = outbox.docs[key]
    crashed = domain.claimed(record.model_copy(update={"next_attempt_at": NOW}), NOW, POLICY)
    outbox.docs[key] = (crashed, etag + "x")
    mailer.down = False
    assert run(svc.deliver(key)) is None  # leased
    clock.now += timedelta(seconds=POLICY.lease_seconds)
    assert run(svc.deliver(key)) is S.SENT and len(mailer.sent) == 1


def test_history_is_newest_first_and_paged() -> None:
    svc, _, _, _, clock = service()
    for i in range(3):
        clock.now = NOW + timedelta(minutes=i)
        event = order_event()
        run(svc.handle(event.model_copy(update={"event_id": f"e-{i}"})))
    page = run(svc.history("u-1", page=1, limit=2))
    assert page.total == 3 and [n.notification_id.split(":")[1] for n in page.items] == [
        "e-2",
        "e-1",
    ]
    assert page.items[0].status is S.SENT and page.items[0].order_id == "o-1"
    assert page.items[0].preview.startswith("Hi Zoë, Thank you for your order.")
    assert run(svc.history("u-2", page=1, limit=2)).total == 0


@pytest.mark.parametrize(
    ("kind", "status", "says"),
    [
        (K.RETURN_REQUESTED, "requested", "We received your request"),
        (K.RETURN_APPROVED, "approved", "we refund <strong>$18.12</strong>"),
        (K.RETURN_REJECTED, "rejected", "Reason: worn &amp; washed"),
        (K.RETURN_RECEIVED, "received", "We are refunding <strong>$18.12</strong>"),
    ],
)
def test_return_emails_say_where_the_return_is_and_the_exact_refund(
    kind: K, status: str, says: str
) -> None:
    context = {
        "name": "Zoë",
        "order_number": "SC-2026-000123",
        "return_id": "ret-o-1-1",
        "status": status,
        "lines": [{"name": "Mug", "sku": "SKU-A", "quantity": 2}],
        "refund_amount": Decimal("13.12"),
        "shipping_refund": Decimal("5.00"),
        "refund_total": Decimal("18.12"),
        "currency": "USD",
        "reason": "worn & washed" if status == "rejected" else "",
        "base_url": "https://shop.example",
        "order_url": "https://shop.example/orders/o-1",
        "cart_url": "https://shop.example/cart",
    }
    out = render(kind, context, "en")
    assert "SC-2026-000123" in out.subject and "\n" not in out.subject
    assert says in out.html
    assert "2 x Mug (SKU-A)" in out.text and "ret-o-1-1" in out.text
    assert domain.kind_for(f"Return{status.capitalize()}", {}) is kind
