"""The order state machine, pure: what transition is legal and which event it emits.

No Dapr, no clocks (the caller passes `now`), no I/O: every rule is unit-tested in
milliseconds, and the actor only loads, saves, publishes and schedules.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.contracts.orders import (
    ActorError,
    CreateOrder,
    HistoryEntry,
    Order,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderEventData,
    OrderPaid,
    OrderStatus,
    OrderStatusChanged,
    TransitionRequest,
)

S = OrderStatus

#: Legal transitions. Cancelling is possible until the order ships (payments refunds a paid
#: order it sees cancelled); after that only returns and refunds: a shipment the carrier
#: returned to the sender is refunded from `shipped`, returns after delivery or completion.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.AWAITING_PAYMENT, S.CANCELLED, S.PAYMENT_FAILED}),
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.PAYMENT_FAILED, S.CANCELLED}),
    S.PAID: frozenset({S.FULFILLING, S.CANCELLED, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.FULFILLING: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.COMPLETED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.CANCELLED: frozenset(),
    S.PAYMENT_FAILED: frozenset(),
    S.REFUNDED: frozenset(),
}

#: States in which an unpaid order is cancelled by the payment-timeout reminder.
UNPAID = frozenset({S.PENDING, S.AWAITING_PAYMENT})
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

_EVENT_FOR: dict[OrderStatus, type[OrderEventData]] = {
    S.PAID: OrderPaid,
    S.CANCELLED: OrderCancelled,
    S.COMPLETED: OrderCompleted,
}

PAYMENT_TIMEOUT_TRANSITION_ID = "payment-timeout"
AUTO_COMPLETE_TRANSITION_ID = "auto-complete"
#: Releasing a paid order to the warehouse: the hold's reminder and staff share this id, so
#: whichever comes second is a no-op.
RELEASE_TRANSITION_ID = "release-to-warehouse"


@dataclass(frozen=True)
class Applied:
    order: Order
    event: OrderEventData


@dataclass(frozen=True)
class Unchanged:
    """The same transition (by `transition_id`) was already applied: a retry."""

    order: Order


@dataclass(frozen=True)
class Rejected:
    error: ActorError


Decision = Applied | Unchanged | Rejected


def create(cmd: CreateOrder, now: datetime) -> Applied:
    order = Order(
        order_id=cmd.order_id,
        order_number=cmd.order_number,
        email=cmd.email,
        user_id=cmd.user_id,
        status=S.PENDING,
        items=cmd.items,
        totals=cmd.totals,
        shipping_address=cmd.shipping_address,
        billing_address=cmd.billing_address,
        history=[
            HistoryEntry(
                transition_id="create",
                from_status=None,
                to_status=S.PENDING,
                at=now,
                reason="order created",
            )
        ],
        created_at=now,
        updated_at=now,
        correlation_id=cmd.correlation_id,
        version=1,
    )
    return Applied(order, _event(OrderCreated, order, None, "order created", now))


def can_transition(current: OrderStatus, to: OrderStatus) -> bool:
    return to in TRANSITIONS[current]


def transition(order: Order, req: TransitionRequest, now: datetime) -> Decision:
    if any(h.transition_id == req.transition_id for h in order.history):
        return Unchanged(order)
    if not can_transition(order.status, req.to):
        return Rejected(
            ActorError(
                code="CONFLICT",
                message=f"An order in status '{order.status}' cannot move to '{req.to}'",
                current_status=order.status,
                details={"allowed": sorted(TRANSITIONS[order.status])},
            )
        )
    refunded = order.refunded_amount
    if req.to in (S.REFUNDED, S.PARTIALLY_REFUNDED):
        outcome = _refund(order, req)
        if isinstance(outcome, Rejected):
            return outcome
        refunded = outcome
    updated = order.model_copy(
        update={
            "status": req.to,
            "updated_at": now,
            "version": order.version + 1,
            "refunded_amount": refunded,
            "paid_at": now if req.to == S.PAID else order.paid_at,
            "cancel_reason": req.reason
            if req.to in (S.CANCELLED, S.PAYMENT_FAILED)
            else order.cancel_reason,
            "history": [
                *order.history,
                HistoryEntry(
                    transition_id=req.transition_id,
                    from_status=order.status,
                    to_status=req.to,
                    at=now,
                    reason=req.reason,
                    actor=req.actor,
                ),
            ],
        }
    )
    event_type = _EVENT_FOR.get(req.to, OrderStatusChanged)
    return Applied(updated, _event(event_type, updated, order.status, req.reason, now))


def _refund(order: Order, req: TransitionRequest) -> Decimal | Rejected:
    total = order.totals.total
    already = order.refunded_amount
    if req.to == S.REFUNDED:
        return total
    amount = req.refund_amount
    if amount is None or amount <= 0 or already + amount >= total:
        return Rejected(
            ActorError(
                code="INVALID_REQUEST",
                message="A partial refund needs 0 < refund_amount < the amount not yet refunded",
                current_status=order.status,
                details={"total": str(total), "refunded": str(already)},
            )
        )
    return already + amount


def payment_timeout(order: Order) -> TransitionRequest | None:
    """What the payment-timeout reminder does: cancel an order still unpaid, else nothing."""
    if order.status not in UNPAID:
        return None
    return TransitionRequest(
        to=S.CANCELLED,
        reason="Payment was not completed in time",
        transition_id=PAYMENT_TIMEOUT_TRANSITION_ID,
        actor="payment-timeout",
    )


def release(order: Order, by: str = "system") -> TransitionRequest | None:
    """A paid order goes to the warehouse (`fulfilling`) once its hold has passed (or staff
    release it early); any other status stays (cancelled in the hold, already released)."""
    if order.status != S.PAID:
        return None
    return TransitionRequest(
        to=S.FULFILLING,
        reason="Released to the warehouse",
        transition_id=RELEASE_TRANSITION_ID,
        actor=by,
    )


def auto_complete(order: Order) -> TransitionRequest | None:
    """What the completion reminder does once the return window after delivery has passed:
    a delivered order becomes completed; any other status stays."""
    if order.status != S.DELIVERED:
        return None
    return TransitionRequest(
        to=S.COMPLETED,
        reason="Return window closed",
        transition_id=AUTO_COMPLETE_TRANSITION_ID,
        actor="system",
    )


def event_id(order: Order) -> str:
    """Deterministic per committed version: a re-published event has the same id."""
    return f"{order.order_id}:{order.version}"


def _event(
    cls: type[OrderEventData],
    order: Order,
    previous: OrderStatus | None,
    reason: str,
    now: datetime,
) -> OrderEventData:
    return cls(
        order_id=order.order_id,
        order_number=order.order_number,
        email=order.email,
        user_id=order.user_id,
        status=order.status,
        previous_status=previous,
        reason=reason,
        totals=order.totals,
        items=order.items,
        version=order.version,
        at=now,
        created_at=order.created_at,
        refunded_amount=order.refunded_amount,
    )
