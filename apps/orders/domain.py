"""Pure rules of the orders app (the state machine itself is actors/order/logic.py)."""

from datetime import datetime, timedelta
from decimal import Decimal

from actors.order.logic import can_transition
from apps.contracts.email import is_owner
from apps.contracts.money import quantize
from apps.contracts.orders import (
    CustomerHistory,
    Order,
    OrderEventData,
    OrderStatus,
    OrderSummary,
    Tracking,
    TrackingEntry,
    TransitionRequest,
)

ORDER_NUMBER_PREFIX = "SC"


def format_order_number(year: int, sequence: int) -> str:
    """Human-friendly and unique: SC-2026-000123 (six digits, more when needed)."""
    if sequence < 1:
        raise ValueError("sequence starts at 1")
    return f"{ORDER_NUMBER_PREFIX}-{year:04d}-{sequence:06d}"


def order_number_for(now: datetime, sequence: int) -> str:
    return format_order_number(now.year, sequence)


# -- the order projection (listings) and the shopper's views -------------------------------
STATUS_TEXT: dict[OrderStatus, str] = {
    OrderStatus.PENDING: "Order received",
    OrderStatus.AWAITING_PAYMENT: "Waiting for payment",
    OrderStatus.PAID: "Payment received",
    OrderStatus.FULFILLING: "Being prepared",
    OrderStatus.SHIPPED: "Shipped",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.PAYMENT_FAILED: "Payment failed",
    OrderStatus.REFUNDED: "Refunded",
    OrderStatus.PARTIALLY_REFUNDED: "Partially refunded",
}

#: A shopper may cancel until the order ships.
CUSTOMER_CANCELLABLE = frozenset(s for s in OrderStatus if can_transition(s, OrderStatus.CANCELLED))


def summary_of(order: Order | OrderEventData, created_at: datetime | None = None) -> OrderSummary:
    """The listed view of an order, from the actor's state or from one of its events."""
    if isinstance(order, Order):
        created, updated = order.created_at, order.updated_at
    else:
        created, updated = created_at or order.at, order.at
    return OrderSummary(
        order_id=order.order_id,
        order_number=order.order_number,
        user_id=order.user_id,
        email=order.email,
        status=order.status,
        totals=order.totals,
        items=order.items,
        item_count=sum(i.quantity for i in order.items),
        created_at=created,
        updated_at=updated,
        version=order.version,
        refunded_amount=order.refunded_amount,
    )


def summary_from_event(data: OrderEventData, stored: OrderSummary | None) -> OrderSummary:
    """Events before this field existed lack `created_at`: keep the stored one then."""
    return summary_of(data, data.created_at or (stored.created_at if stored else None))


def is_newer(incoming: OrderSummary, stored: OrderSummary | None) -> bool:
    """Events may arrive twice or out of order: only a higher version replaces."""
    return stored is None or incoming.version > stored.version


def tracking_of(order: Order) -> Tracking:
    return Tracking(
        order_id=order.order_id,
        order_number=order.order_number,
        status=order.status,
        cancellable=order.status in CUSTOMER_CANCELLABLE,
        timeline=[
            TrackingEntry(
                status=h.to_status,
                at=h.at,
                description=STATUS_TEXT[h.to_status] + (f": {h.reason}" if h.reason else ""),
            )
            for h in order.history
        ],
    )


def customer_cancel(order: Order, reason: str, by: str) -> TransitionRequest:
    """One cancellation per order: a retried cancel is the same transition."""
    return TransitionRequest(
        to=OrderStatus.CANCELLED,
        reason=reason or "Cancelled at the customer's request",
        transition_id="cancel-by-customer",
        actor=by,
    )


def refund_transition(
    order: Order, refunded_total: Decimal, event_id: str
) -> TransitionRequest | None:
    """What a refund reported by payments (`RefundProcessed`: the total refunded so far)
    does to the order: refunded or partially refunded by the new amount; nothing for an order
    that cannot take it (e.g. cancelled: its refund stays on the payment) or an old report."""
    more = refunded_total - order.refunded_amount
    if more <= 0:
        return None
    full = refunded_total >= order.totals.total
    to = OrderStatus.REFUNDED if full else OrderStatus.PARTIALLY_REFUNDED
    if not can_transition(order.status, to):
        return None
    return TransitionRequest(
        to=to,
        reason="refund issued",
        transition_id=f"refund:{event_id}",
        actor="payments",
        refund_amount=None if full else more,
    )


def can_see(order: Order, user_id: str | None, email: str | None) -> bool:
    """The order's owner (signed in) or whoever knows its email; anyone else gets 404."""
    return is_owner(order.user_id, order.email, user_id, email)


#: Orders that were paid at some point: what an account's average order is made of.
WERE_PAID = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
        OrderStatus.REFUNDED,
        OrderStatus.PARTIALLY_REFUNDED,
    }
)


def customer_history(
    user_id: str, orders: list[OrderSummary], exclude: str | None, now: datetime
) -> CustomerHistory:
    """A customer's earlier orders as fraud scoring sees them: every order placed counts
    towards the 24 h / 7 d windows (failed attempts too: bursts are the signal); the
    average is over orders that were paid."""
    earlier = [o for o in orders if o.order_id != exclude and o.created_at <= now]
    paid = [o.totals.total for o in earlier if o.status in WERE_PAID]
    return CustomerHistory(
        user_id=user_id,
        order_count=len(earlier),
        orders_last_24h=sum(1 for o in earlier if now - o.created_at <= timedelta(hours=24)),
        orders_last_7d=sum(1 for o in earlier if now - o.created_at <= timedelta(days=7)),
        avg_order_amount=quantize(sum(paid, Decimal("0")) / len(paid)) if paid else Decimal("0"),
        first_order_at=min((o.created_at for o in earlier), default=None),
    )
