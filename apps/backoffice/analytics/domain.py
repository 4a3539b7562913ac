"""The sales read model's rules: what an event contributes to an order's record, and how two
records of one order combine.

Delivery is at-least-once and out of order, so records combine by a join that does not care
about order or repetition: the snapshot (status, totals, lines) of the highest order version
seen, the earliest moment the order was seen paid, the largest refunded running total seen.
Applying any sequence of the same events, with repeats, in any order gives one record: the
read model equals a recomputation from the events. Amounts are integer cents.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.contracts.orders import OrderEventData, OrderStatus
from apps.contracts.payments import PaymentEventData

ORDER_KIND = "analytics-order"
BATCH_KIND = "analytics-activity"
UNCATEGORIZED = "uncategorized"

#: An order in any of these had been paid (a sale), whatever happened after.
PAID_STATUSES = frozenset(
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
#: The fields that come from the order's latest version.
SNAPSHOT = (
    "status",
    "customer",
    "created_at",
    "total",
    "subtotal",
    "tax",
    "shipping",
    "discount",
    "currency",
    "lines",
)

Record = dict[str, Any]


def order_key(order_id: str) -> str:
    return f"{ORDER_KIND}-{order_id}"


def batch_key(batch_id: str) -> str:
    return f"{BATCH_KIND}-{batch_id}"


def cents(amount: Decimal) -> int:
    scaled = amount * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(scaled)


def _iso(at: datetime) -> str:
    return at.isoformat()


def from_order_event(
    data: OrderEventData, event_type: str, categories: Mapping[str, str]
) -> Record:
    """The record one order event alone makes (`categories`: product id -> category)."""
    paid = event_type == "OrderPlaced" or data.status in PAID_STATUSES
    totals = data.totals
    return {
        "kind": ORDER_KIND,
        "order_id": data.order_id,
        "version": data.version,
        "status": data.status.value,
        # A guest is known by the order's email: their next order is not a new customer.
        "customer": f"u:{data.user_id}" if data.user_id else f"e:{data.email.lower()}",
        "created_at": _iso(data.created_at) if data.created_at else None,
        "paid_at": _iso(data.at) if paid else None,
        "total": cents(totals.total),
        "subtotal": cents(totals.subtotal),
        "tax": cents(totals.tax),
        "shipping": cents(totals.shipping),
        "discount": cents(totals.discount),
        "currency": totals.currency,
        "refunded": cents(data.refunded_amount),
        "lines": [
            {
                "product_id": line.product_id,
                "name": line.name,
                "category": categories.get(line.product_id, UNCATEGORIZED),
                "quantity": line.quantity,
                "line_total": cents(line.line_total),
            }
            for line in data.items
        ],
    }


def from_payment_event(data: PaymentEventData) -> Record:
    """A payment event adds the refunded running total only (the order events say the rest;
    version 0 holds no snapshot)."""
    return {
        "kind": ORDER_KIND,
        "order_id": data.order_id,
        "version": 0,
        "paid_at": None,
        "refunded": cents(data.refunded_amount),
    }


def _earliest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if datetime.fromisoformat(a) <= datetime.fromisoformat(b) else b


def combine(current: Record | None, incoming: Record) -> Record:
    """The join of two records of one order (commutative, associative, idempotent)."""
    if current is None:
        return dict(incoming)
    newer, older = (
        (incoming, current) if incoming["version"] > current["version"] else (current, incoming)
    )
    out = {k: v for k, v in older.items() if k not in SNAPSHOT}
    out.update(newer)
    out["version"] = newer["version"]
    out["paid_at"] = _earliest(current.get("paid_at"), incoming.get("paid_at"))
    out["refunded"] = max(current.get("refunded", 0), incoming.get("refunded", 0))
    return out


def apply(current: Record | None, incoming: Record) -> Record | None:
    """The record after `incoming`, or None when it changes nothing (a repeat, an older
    version with nothing new): no write."""
    merged = combine(current, incoming)
    return None if merged == current else merged


def is_sale(record: Record) -> bool:
    """Counted in sales: seen paid, and its snapshot known."""
    return record.get("paid_at") is not None and "total" in record
