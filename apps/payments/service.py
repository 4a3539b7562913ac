"""Payments use cases: Stripe PaymentIntents, refunds and webhooks; Dapr and Stripe stay
behind the protocols below.

Each change is saved with the events it causes (an outbox in the payment's own document,
one compare-and-set), then published and cleared; a retried call or webhook publishes what a
crash left behind. Event ids are deterministic (`{payment_intent_id}:{version}`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from apps.contracts.errors import Conflict, DomainError, ErrorCode, NotFound, UnprocessableError
from apps.contracts.events import EventEnvelope, topic_of
from apps.contracts.orders import OrderEventData, OrderStatus
from apps.contracts.payments import (
    CancelRequest,
    CreatePayment,
    Payment,
    PaymentStatus,
    RefundRequest,
)
from apps.payments import domain

log = structlog.stdlib.get_logger("payments")


class StripeDeclined(Exception):
    """Stripe refused the payment (a card error): the payment fails, nothing is charged."""


@dataclass(frozen=True)
class Confirmation:
    """Stripe's answer to creating and confirming a PaymentIntent. `client_secret` and
    `next_action` matter when it is `requires_action` (3-D Secure): the shopper's client
    finishes the payment with them."""

    intent_id: str
    status: str
    client_secret: str = field(default="", repr=False)
    next_action: dict[str, Any] | None = None


class StripeGateway(Protocol):
    async def create_and_confirm(
        self, cmd: CreatePayment, idempotency_key: str
    ) -> Confirmation: ...  # StripeDeclined when the card is refused

    async def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> int: ...

    async def cancel(self, intent_id: str, idempotency_key: str) -> str: ...  # Stripe status

    async def status(self, intent_id: str) -> str: ...  # the intent's status now


class PaymentStore(Protocol):
    async def load(self, order_id: str) -> tuple[Payment, list[EventEnvelope]] | None: ...

    async def change(
        self,
        order_id: str,
        decide: Callable[
            [tuple[Payment, list[EventEnvelope]] | None],
            tuple[Payment, list[EventEnvelope]] | None,
        ],
    ) -> bool: ...

    async def order_of(self, intent_id: str) -> str | None: ...

    async def link(self, intent_id: str, order_id: str) -> None: ...


class Publisher(Protocol):
    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


class OrderFacts(Protocol):
    async def status(self, order_id: str) -> str | None:
        """The order's status as the orders app records it (None: no such order)."""
        ...


class WebhookRelay(Protocol):
    """Local mode only: stripe-mock sends no webhooks, so the app sends itself the signed
    event Stripe would send (through its real webhook endpoint)."""

    async def settle(self, payment: Payment) -> None: ...

    async def authenticate(self, payment: Payment, passed: bool) -> None:
        """Send the webhook Stripe sends once the cardholder passed (or failed) 3-D Secure."""
        ...


#: A cancelled order in these states had been paid: its payment is refunded.
REFUND_ON_CANCEL = frozenset({OrderStatus.PAID, OrderStatus.FULFILLING})


def _now() -> datetime:
    return datetime.now(UTC)


class PaymentsService:
    def __init__(
        self,
        stripe: StripeGateway,
        store: PaymentStore,
        publisher: Publisher,
        source: str,
        relay: WebhookRelay | None = None,
        orders: OrderFacts | None = None,
    ) -> None:
        self.stripe = stripe
        self.store = store
        self.publisher = publisher
        self.source = source
        self.relay = relay
        self.orders = orders

    async def create(self, cmd: CreatePayment, correlation_id: str) -> tuple[Payment, bool]:
        """Create and confirm the order's PaymentIntent once; a retry answers the same
        payment (and publishes whatever a crash left unpublished)."""
        found = await self.store.load(cmd.order_id)
        if found is not None:
            await self._flush(cmd.order_id)
            await self._relay_if_waiting(found[0])  # a crash may have come before it
            return found[0], False
        now = _now()
        confirmed: Confirmation | None = None
        try:
            confirmed = await self.stripe.create_and_confirm(cmd, f"{cmd.order_id}:intent")
            intent_id, reason = confirmed.intent_id, ""
            status = domain.status_of_intent(confirmed.status)
        except StripeDeclined as exc:
            intent_id, status, reason = f"declined:{cmd.order_id}", PaymentStatus.FAILED, str(exc)
        await self.store.link(intent_id, cmd.order_id)
        created = Payment(
            order_id=cmd.order_id,
            payment_intent_id=intent_id,
            status=PaymentStatus.PROCESSING,
            amount=cmd.amount,
            currency=cmd.currency,
            payment_method=cmd.payment_method,
            created_at=now,
            updated_at=now,
        )
        if status == PaymentStatus.REQUIRES_ACTION and confirmed is not None:
            # Waiting for the cardholder: nothing happened yet that payment-events would say.
            waiting = domain.awaiting_authentication(
                created, confirmed.client_secret, confirmed.next_action
            )
            change = domain.Change(waiting, None)
        else:
            change = domain.apply_status(created, status, reason, now, at_confirmation=True)
        events = self._envelopes(change, correlation_id)

        def decide(
            current: tuple[Payment, list[EventEnvelope]] | None,
        ) -> tuple[Payment, list[EventEnvelope]] | None:
            return None if current is not None else (change.payment, events)

        await self.store.change(cmd.order_id, decide)
        await self._flush(cmd.order_id)
        payment = (await self.store.load(cmd.order_id) or (change.payment, []))[0]
        await self._relay_if_waiting(payment)
        return payment, True

    async def get(self, order_id: str) -> Payment:
        found = await self.store.load(order_id)
        if found is None:
            raise NotFound("No payment for this order", order_id=order_id)
        return found[0]

    async def sync(self, order_id: str, correlation_id: str) -> Payment:
        """Ask Stripe for the intent's status now (after the shopper confirmed it, e.g. with
        Stripe.js): a final status is applied at once, as its webhook would; a webhook that
        follows changes nothing."""
        payment = await self.get(order_id)
        if payment.status not in domain.WAITING:
            await self._flush(order_id)  # what a failed publish of that change left behind
            return payment
        status = domain.status_of_intent(await self.stripe.status(payment.payment_intent_id))
        if status in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED):
            await self._apply(
                order_id, lambda p: domain.apply_status(p, status, "", _now()), correlation_id
            )
        return await self.get(order_id)

    async def cancel(self, order_id: str, req: CancelRequest, correlation_id: str) -> Payment:
        """Cancel a payment still waiting for its result (checkout gave up on it). A payment
        that succeeded meanwhile stays succeeded (the caller keeps the order); an ended one
        is answered as it is. Idempotent: a retry (the saga's, after a 503 because the event
        could not be published) publishes what the first call saved."""
        payment = await self.get(order_id)
        if payment.status not in domain.WAITING:
            await self._flush(order_id)
            return payment
        stripe_status = await self.stripe.cancel(payment.payment_intent_id, f"{order_id}:cancel")
        status = domain.status_of_intent(stripe_status)
        if status in domain.WAITING:  # Stripe would not cancel it (yet)
            raise DomainError(
                "The payment could not be cancelled yet", code=ErrorCode.SERVICE_UNAVAILABLE
            )
        await self._apply(
            order_id, lambda p: domain.apply_status(p, status, req.reason, _now()), correlation_id
        )
        return await self.get(order_id)

    async def authenticate(self, order_id: str, passed: bool) -> Payment:
        """Local mode only: the stand-in for Stripe's hosted 3-D Secure challenge. The relay
        sends the signed webhook Stripe sends once the cardholder passed it
        (`payment_intent.succeeded`) or failed it (`payment_intent.payment_failed`), through
        the real webhook endpoint. With real Stripe (no relay) there is nothing to stand in
        for: 404. A payment not waiting for authentication: 409."""
        if self.relay is None:
            raise NotFound(
                "Authentication is done with Stripe (Stripe.js); this stand-in exists in "
                "local mode only",
                order_id=order_id,
            )
        payment = await self.get(order_id)
        if payment.status != PaymentStatus.REQUIRES_ACTION:
            raise Conflict(
                "This payment is not waiting for authentication", status=payment.status.value
            )
        await self.relay.authenticate(payment, passed)
        return await self.get(order_id)

    async def refund(self, order_id: str, req: RefundRequest, correlation_id: str) -> Payment:
        """Refund once per `req.key`: recorded as pending first (so racing requests cannot
        refund more than was paid), then asked of Stripe with an idempotency key made from
        the same key (a retry after a crash gets Stripe's first answer), then settled. The
        same key again answers the payment as it is; with another request, 422."""
        await self._apply(order_id, lambda p: domain.reserve_refund(p, req, _now()), correlation_id)
        payment = await self.get(order_id)
        record = domain.find_refund(payment, req.key)
        if record is None or record.status == "succeeded":
            return payment
        if record.status == "failed":
            raise UnprocessableError(
                "This refund was refused by the payment provider", reason=record.failure
            )
        failure: str | None = None
        try:
            await self.stripe.refund(
                payment.payment_intent_id,
                domain.to_minor(record.amount),
                f"{order_id}:refund:{req.key}",
            )
        except DomainError as exc:
            if exc.code == ErrorCode.SERVICE_UNAVAILABLE:
                raise  # not answered: stays pending, a retry with the same key finishes it
            failure = exc.message
        await self._apply(
            order_id, lambda p: domain.settle_refund(p, req.key, failure, _now()), correlation_id
        )
        if failure:
            raise UnprocessableError(
                "This refund was refused by the payment provider", reason=failure
            )
        return await self.get(order_id)

    async def on_order_event(self, event: EventEnvelope) -> None:
        """OrderCancelled of an order that was paid: give the money back (once: a second
        delivery finds nothing left to refund)."""
        data = OrderEventData.model_validate(event.data)
        if data.previous_status not in REFUND_ON_CANCEL:
            return
        # Money moves on facts: the orders app must record the order as cancelled (an event
        # alone, forged or misrouted, refunds nothing; orders being away retries it later).
        if self.orders is not None and await self.orders.status(data.order_id) != "cancelled":
            log.warning("cancel event not confirmed by orders; no refund", order_id=data.order_id)
            return
        try:
            await self.refund(
                data.order_id,
                RefundRequest(key="order-cancelled", reason="order cancelled"),
                event.event_id,
            )
        except (Conflict, NotFound):
            log.info("nothing to refund for the cancelled order", order_id=data.order_id)

    async def on_webhook(self, event: dict[str, Any]) -> str:
        """Apply a verified Stripe event once; answers what was done (for the log)."""
        kind = str(event.get("type", ""))
        obj = (event.get("data") or {}).get("object") or {}
        intent_id = obj.get("payment_intent") if kind.startswith("charge.") else obj.get("id")
        order_id = (obj.get("metadata") or {}).get("order_id") or (
            await self.store.order_of(str(intent_id)) if intent_id else None
        )
        if not order_id or await self.store.load(order_id) is None:
            return "ignored: no payment for it"
        stripe_event = str(event.get("id", ""))
        correlation = f"stripe:{stripe_event}"
        now = _now()
        if kind == "payment_intent.succeeded":
            decide = lambda p: domain.apply_status(  # noqa: E731
                p, PaymentStatus.SUCCEEDED, "", now, stripe_event
            )
        elif kind == "payment_intent.payment_failed":
            error = obj.get("last_payment_error") or {}
            reason = str(error.get("message") or "The payment was declined")
            decide = lambda p: domain.apply_status(  # noqa: E731
                p, PaymentStatus.FAILED, reason, now, stripe_event
            )
        elif kind == "charge.refunded":
            total = domain.from_minor(int(obj.get("amount_refunded") or 0))
            decide = lambda p: domain.apply_refund(p, total, now, stripe_event)  # noqa: E731
        else:
            return f"ignored: {kind}"
        await self._apply(order_id, decide, correlation)
        return f"applied: {kind}"

    # -- internals ---------------------------------------------------------------------
    async def _relay_if_waiting(self, payment: Payment) -> None:
        """Local mode: have the success webhook sent (applying it twice changes nothing)."""
        if self.relay is not None and payment.status == PaymentStatus.PROCESSING:
            await self.relay.settle(payment)

    async def _apply(
        self, order_id: str, decide: Callable[[Payment], domain.Change], correlation_id: str
    ) -> None:
        def step(
            current: tuple[Payment, list[EventEnvelope]] | None,
        ) -> tuple[Payment, list[EventEnvelope]] | None:
            if current is None:
                return None
            payment, outbox = current
            change = decide(payment)
            if change.payment == payment:
                return None
            return change.payment, [*outbox, *self._envelopes(change, correlation_id)]

        await self.store.change(order_id, step)
        await self._flush(order_id)

    def _envelopes(self, change: domain.Change, correlation_id: str) -> list[EventEnvelope]:
        if change.event is None:
            return []
        return [
            EventEnvelope.of(
                change.event,
                correlation_id=correlation_id,
                source=self.source,
                event_id=domain.event_id(change.payment),
                occurred_at=change.payment.updated_at,
            )
        ]

    async def _flush(self, order_id: str) -> None:
        """Publish the saved events, then drop them from the outbox."""
        found = await self.store.load(order_id)
        if found is None or not found[1]:
            return
        published: set[str] = set()
        for envelope in found[1]:
            try:
                await self.publisher.publish(topic_of(envelope), envelope)
            except Exception as exc:  # kept in the outbox; the next call or retry sends it
                log.warning("publish failed", event_id=envelope.event_id, error=str(exc))
                raise DomainError(
                    "Payment saved; its event could not be published yet",
                    code=ErrorCode.SERVICE_UNAVAILABLE,
                ) from exc
            published.add(envelope.event_id)

        def clear(
            current: tuple[Payment, list[EventEnvelope]] | None,
        ) -> tuple[Payment, list[EventEnvelope]] | None:
            if current is None:
                return None
            rest = [e for e in current[1] if e.event_id not in published]
            return (current[0], rest) if len(rest) != len(current[1]) else None

        await self.store.change(order_id, clear)
