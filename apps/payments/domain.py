"""Payment rules, pure: what a Stripe status or webhook event does to a payment record, and
the event each change publishes. Money crosses to Stripe in minor units."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.contracts.errors import Conflict, UnprocessableError
from apps.contracts.money import quantize
from apps.contracts.payments import (
    Payment,
    PaymentEventData,
    PaymentFailed,
    PaymentProcessed,
    PaymentStatus,
    RefundProcessed,
    RefundRecord,
    RefundRequest,
)

S = PaymentStatus
STRIPE_EVENTS_KEPT = 50


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def from_minor(amount: int) -> Decimal:
    return quantize(Decimal(amount) / 100)


def status_of_intent(stripe_status: str) -> PaymentStatus:
    """A PaymentIntent's status after confirmation: `succeeded` is final, `canceled` failed;
    `requires_action` waits for the cardholder (3-D Secure), anything else (processing, ...)
    waits for the webhook."""
    if stripe_status == "succeeded":
        return S.SUCCEEDED
    if stripe_status == "canceled":
        return S.CANCELED
    if stripe_status == "requires_action":
        return S.REQUIRES_ACTION
    return S.PROCESSING


#: A payment whose result is still to come (by webhook, or a cancellation).
WAITING = frozenset({S.PROCESSING, S.REQUIRES_ACTION})


#: The client secret and next action are kept only while the shopper must act on them.
_NO_ACTION: dict[str, None] = {"client_secret": None, "next_action": None}


def awaiting_authentication(
    payment: Payment, client_secret: str, next_action: dict[str, Any] | None
) -> Payment:
    """A payment Stripe holds for the cardholder's authentication, with what the shopper's
    client needs to finish it."""
    return payment.model_copy(
        update={
            "status": S.REQUIRES_ACTION,
            "client_secret": client_secret or None,
            "next_action": next_action,
        }
    )


@dataclass(frozen=True)
class Change:
    payment: Payment
    event: PaymentEventData | None


def apply_status(
    payment: Payment,
    status: PaymentStatus,
    reason: str,
    now: datetime,
    stripe_event: str = "",
    at_confirmation: bool = False,
) -> Change:
    """Move a payment to `status` (from the confirm answer, `at_confirmation`, or a
    webhook). A webhook applied before changes nothing; a succeeded payment never becomes
    failed (a late failure of an earlier attempt); a failed one may still succeed (a later
    attempt)."""
    if stripe_event and stripe_event in payment.stripe_events:
        return Change(payment, None)
    seen = [*payment.stripe_events, stripe_event][-STRIPE_EVENTS_KEPT:] if stripe_event else None
    settled = payment.status in (S.SUCCEEDED, S.REFUNDED, S.PARTIALLY_REFUNDED)
    final = payment.status == S.CANCELED  # Stripe cannot collect a canceled intent
    if status == payment.status or (status in (S.FAILED, S.CANCELED) and settled) or final:
        unchanged = payment.model_copy(update={"stripe_events": seen}) if seen else payment
        return Change(unchanged, None)
    updated = payment.model_copy(
        update={
            "status": status,
            "failure_reason": reason
            if status in (S.FAILED, S.CANCELED)
            else payment.failure_reason,
            "stripe_events": seen or payment.stripe_events,
            "updated_at": now,
            "version": payment.version + 1,
            **({} if status == S.REQUIRES_ACTION else _NO_ACTION),
        }
    )
    kind = {S.SUCCEEDED: PaymentProcessed, S.FAILED: PaymentFailed, S.CANCELED: PaymentFailed}.get(
        status
    )
    return Change(updated, _event(kind, updated, reason, at_confirmation) if kind else None)


def apply_refund(
    payment: Payment, refunded_total: Decimal, now: datetime, stripe_event: str = ""
) -> Change:
    """Record the total refunded so far (from a refund answer or `charge.refunded`)."""
    if stripe_event and stripe_event in payment.stripe_events:
        return Change(payment, None)
    if refunded_total <= payment.refunded_amount:  # totals only grow (answers and webhooks)
        return Change(payment, None)
    status = S.REFUNDED if refunded_total >= payment.amount else S.PARTIALLY_REFUNDED
    updated = payment.model_copy(
        update={
            "status": status,
            "refunded_amount": refunded_total,
            "stripe_events": [*payment.stripe_events, stripe_event][-STRIPE_EVENTS_KEPT:]
            if stripe_event
            else payment.stripe_events,
            "updated_at": now,
            "version": payment.version + 1,
        }
    )
    return Change(updated, _event(RefundProcessed, updated, "refund"))


def refundable(payment: Payment) -> Decimal:
    """What may still be refunded: the payment less what is refunded or being refunded."""
    if payment.status not in (S.SUCCEEDED, S.PARTIALLY_REFUNDED):
        return Decimal("0.00")
    pending = sum((r.amount for r in payment.refunds if r.status == "pending"), Decimal("0"))
    return quantize(max(Decimal("0"), payment.amount - payment.refunded_amount - pending))


def find_refund(payment: Payment, key: str) -> RefundRecord | None:
    return next((r for r in payment.refunds if r.key == key), None)


def reserve_refund(payment: Payment, req: RefundRequest, now: datetime) -> Change:
    """Record a pending refund for `req.key` (no change if the key is known). Refuses a
    key reused for another request (422), nothing left (409), a wrong amount (422)."""
    known = find_refund(payment, req.key)
    if known is not None:
        if known.request != req.fingerprint():
            raise UnprocessableError(
                "This Idempotency-Key was used for another refund of this order",
                key=req.key,
                first=known.request,
            )
        return Change(payment, None)
    left = refundable(payment)
    if left <= 0:
        raise Conflict(
            "Nothing to refund on this payment",
            status=payment.status.value,
            refunded=str(payment.refunded_amount),
        )
    amount = req.amount if req.amount is not None else left
    if amount <= 0 or amount > left:
        raise UnprocessableError(
            "A refund must be more than 0 and at most what is left", refundable=str(left)
        )
    record = RefundRecord(
        key=req.key, amount=amount, reason=req.reason, request=req.fingerprint(), at=now
    )
    updated = payment.model_copy(update={"refunds": [*payment.refunds, record], "updated_at": now})
    return Change(updated, None)


def settle_refund(payment: Payment, key: str, failure: str | None, now: datetime) -> Change:
    """Stripe's answer to the refund of `key`: succeeded (counted in `refunded_amount`) or
    failed (its amount is refundable again). Applied once."""
    known = find_refund(payment, key)
    if known is None or known.status != "pending":
        return Change(payment, None)
    settled = known.model_copy(
        update={"status": "failed" if failure else "succeeded", "failure": failure or ""}
    )
    records = [settled if r.key == key else r for r in payment.refunds]
    payment = payment.model_copy(update={"refunds": records, "updated_at": now})
    if failure:
        return Change(payment, None)
    done = sum((r.amount for r in records if r.status == "succeeded"), Decimal("0"))
    change = apply_refund(payment, quantize(done), now)
    return change if change.payment.version != payment.version else Change(payment, None)


def event_id(payment: Payment) -> str:
    """Deterministic per version: a re-published event has the same id."""
    return f"{payment.payment_intent_id}:{payment.version}"


def _event(
    kind: type[PaymentEventData], payment: Payment, reason: str, at_confirmation: bool = False
) -> PaymentEventData:
    return kind(
        order_id=payment.order_id,
        payment_intent_id=payment.payment_intent_id,
        status=payment.status,
        amount=payment.amount,
        currency=payment.currency,
        refunded_amount=payment.refunded_amount,
        reason=reason,
        at_confirmation=at_confirmation,
    )
