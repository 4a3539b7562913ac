"""Payment rules (pure) and the webhook signature scheme (no Dapr, no Stripe)."""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.contracts.errors import Conflict, InvalidRequest, UnprocessableError
from apps.contracts.payments import Payment, PaymentStatus, RefundRequest
from apps.payments import domain
from apps.payments.adapters import sign, verify_webhook

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
S = PaymentStatus


def payment(status: PaymentStatus = S.PROCESSING) -> Payment:
    return Payment(
        order_id="o-1",
        payment_intent_id="pi_1",
        status=status,
        amount=Decimal("100.00"),
        currency="USD",
        created_at=NOW,
        updated_at=NOW,
    )


def test_confirm_status_is_final_only_when_stripe_says_so() -> None:
    assert domain.status_of_intent("succeeded") == S.SUCCEEDED
    assert domain.status_of_intent("canceled") == S.CANCELED
    assert domain.status_of_intent("requires_action") == S.REQUIRES_ACTION  # 3-D Secure
    for waiting in ("processing", "requires_payment_method"):
        assert domain.status_of_intent(waiting) == S.PROCESSING


def test_a_cancelled_payment_stays_cancelled() -> None:
    cancelled = domain.apply_status(payment(), S.CANCELED, "timed out", NOW)
    assert cancelled.payment.status == S.CANCELED and cancelled.event is not None
    assert cancelled.event.status == S.CANCELED and domain.refundable(cancelled.payment) == 0
    late = domain.apply_status(cancelled.payment, S.SUCCEEDED, "", NOW, "evt_late")
    assert late.payment.status == S.CANCELED and late.event is None
    assert "evt_late" in late.payment.stripe_events


def test_webhooks_apply_once_and_never_unsettle_a_success() -> None:
    ok = domain.apply_status(payment(), S.SUCCEEDED, "", NOW, "evt_1")
    assert ok.payment.status == S.SUCCEEDED and ok.payment.version == 2
    assert ok.event is not None and ok.event.EVENT_TYPE == "PaymentProcessed"
    again = domain.apply_status(ok.payment, S.SUCCEEDED, "", NOW, "evt_1")
    assert again.payment == ok.payment and again.event is None
    late_failure = domain.apply_status(ok.payment, S.FAILED, "declined", NOW, "evt_2")
    assert late_failure.payment.status == S.SUCCEEDED and late_failure.event is None
    assert "evt_2" in late_failure.payment.stripe_events


def test_an_event_says_whether_the_confirmation_itself_answered() -> None:
    """Checkout's saga has a confirmation's own answer from `request_payment`; only a
    result that came later (a webhook) is raised into it."""
    at_once = domain.apply_status(payment(), S.SUCCEEDED, "", NOW, at_confirmation=True)
    assert at_once.event is not None and at_once.event.at_confirmation
    later = domain.apply_status(payment(), S.SUCCEEDED, "", NOW, "evt_1")
    assert later.event is not None and not later.event.at_confirmation
    declined = domain.apply_status(payment(), S.FAILED, "declined", NOW, at_confirmation=True)
    assert declined.event is not None and declined.event.at_confirmation


def test_failure_then_a_later_success() -> None:
    failed = domain.apply_status(payment(), S.FAILED, "Your card was declined.", NOW, "evt_1")
    assert failed.payment.failure_reason == "Your card was declined."
    assert failed.event is not None and failed.event.EVENT_TYPE == "PaymentFailed"
    retried = domain.apply_status(failed.payment, S.SUCCEEDED, "", NOW, "evt_2")
    assert retried.payment.status == S.SUCCEEDED


def test_refunds_add_up_to_full() -> None:
    paid = domain.apply_status(payment(), S.SUCCEEDED, "", NOW).payment
    assert domain.refundable(paid) == Decimal("100.00")
    part = domain.apply_refund(paid, Decimal("30.00"), NOW)
    assert part.payment.status == S.PARTIALLY_REFUNDED and domain.refundable(part.payment) == 70
    assert domain.apply_refund(part.payment, Decimal("30.00"), NOW).event is None  # not more
    full = domain.apply_refund(part.payment, Decimal("100.00"), NOW, "evt_r")
    assert full.payment.status == S.REFUNDED and domain.refundable(full.payment) == 0
    assert domain.refundable(payment()) == 0  # nothing to refund before it succeeds


def test_minor_units() -> None:
    assert domain.to_minor(Decimal("12.34")) == 1234
    assert domain.from_minor(1234) == Decimal("12.34")


def test_signature_round_trip_and_rejections() -> None:
    body = json.dumps({"id": "evt_1", "object": "event", "type": "x", "data": {"object": {}}})
    payload = body.encode()
    event = verify_webhook(payload, sign(payload, "whsec_a"), "whsec_a", 300)
    assert event["id"] == "evt_1"
    with pytest.raises(InvalidRequest):
        verify_webhook(payload, None, "whsec_a", 300)
    with pytest.raises(InvalidRequest):
        verify_webhook(payload, sign(payload, "whsec_other"), "whsec_a", 300)
    with pytest.raises(InvalidRequest):
        verify_webhook(payload + b" ", sign(payload, "whsec_a"), "whsec_a", 300)
    stale = sign(payload, "whsec_a", int(time.time()) - 3600)
    with pytest.raises(InvalidRequest):
        verify_webhook(payload, stale, "whsec_a", 300)
    future = sign(payload, "whsec_a", int(time.time()) + 3600)  # correctly signed, an hour on
    with pytest.raises(InvalidRequest):
        verify_webhook(payload, future, "whsec_a", 300)
    skew = sign(payload, "whsec_a", int(time.time()) + 60)  # a clock a minute fast is fine
    assert verify_webhook(payload, skew, "whsec_a", 300)["id"] == "evt_1"


def test_local_mode_reproduces_stripes_test_payment_methods() -> None:
    from apps.payments.adapters import local_outcome

    assert local_outcome("pm_card_visa") == "payment_intent.succeeded"
    assert local_outcome("pm_card_chargeDeclined") == "payment_intent.payment_failed"
    assert local_outcome("pm_card_authenticationRequired") is None


def _paid() -> Payment:
    return domain.apply_status(payment(), S.SUCCEEDED, "", NOW).payment


def test_a_refund_is_made_once_per_key_and_never_beyond_the_payment() -> None:
    paid = _paid()
    ask = RefundRequest(key="click-1", amount=Decimal("30.00"), reason="damaged")
    reserved = domain.reserve_refund(paid, ask, NOW).payment
    assert domain.refundable(reserved) == Decimal("70.00")  # the pending 30 is spoken for
    assert domain.reserve_refund(reserved, ask, NOW).payment == reserved  # a second click
    other = RefundRequest(key="click-1", amount=Decimal("40.00"), reason="damaged")
    with pytest.raises(UnprocessableError, match="another refund"):
        domain.reserve_refund(reserved, other, NOW)
    rest = RefundRequest(key="click-2", reason="damaged")
    both = domain.reserve_refund(reserved, rest, NOW).payment
    assert domain.find_refund(both, "click-2").amount == Decimal("70.00")  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        domain.reserve_refund(both, RefundRequest(key="click-3"), NOW)
    done = domain.settle_refund(both, "click-1", None, NOW)
    assert done.payment.refunded_amount == Decimal("30.00") and done.event is not None
    assert domain.settle_refund(done.payment, "click-1", None, NOW).event is None  # once
    failed = domain.settle_refund(done.payment, "click-2", "charge already refunded", NOW)
    assert domain.refundable(failed.payment) == Decimal("70.00")  # refusable again
    assert failed.payment.status == S.PARTIALLY_REFUNDED


def test_a_webhook_total_and_a_refund_answer_are_not_counted_twice() -> None:
    reserved = domain.reserve_refund(_paid(), RefundRequest(key="k", amount=Decimal("25.00")), NOW)
    webhook = domain.apply_refund(reserved.payment, Decimal("25.00"), NOW, "evt_refund")
    settled = domain.settle_refund(webhook.payment, "k", None, NOW)
    assert settled.payment.refunded_amount == Decimal("25.00")
