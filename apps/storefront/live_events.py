"""Live order updates, what a browser is sent: the view of an order or shipping event it
may see (no email, lines or totals: only what moved) and the Server-Sent Events framing.
Pure, like the hub that fans these out (apps/storefront/live.py)."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from apps.contracts.events import EventEnvelope
from apps.contracts.orders import (
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderEventData,
    OrderPaid,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
)
from apps.contracts.shipping import (
    CustomerNotificationRequested,
    DeliveryCompleted,
    ShipmentEventData,
    ShipmentScheduled,
    ShipmentStatusUpdated,
)

#: After these nothing moves on its own: what may follow (completion when the return window
#: closes, a return, a refund) is days away and started by the customer, so a stream ends.
END_STATUSES = frozenset(
    {
        OrderStatus.DELIVERED,
        OrderStatus.COMPLETED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.PAYMENT_FAILED,
    }
)
ORDER_EVENTS: dict[str, type[OrderEventData]] = {
    t.EVENT_TYPE: t
    for t in (
        OrderCreated,
        OrderStatusChanged,
        OrderPaid,
        OrderCancelled,
        OrderPlaced,
        OrderCompleted,
    )
}
SHIPMENT_EVENTS: dict[str, type[ShipmentEventData]] = {
    t.EVENT_TYPE: t for t in (ShipmentScheduled, ShipmentStatusUpdated, DeliveryCompleted)
}
#: A staff request to notify the customer is not progress: it only keeps its shipment's
#: version sequence whole.
SILENT_SHIPMENT_EVENTS = {CustomerNotificationRequested.EVENT_TYPE: CustomerNotificationRequested}
ORDER_KEY = "order"
KEEPALIVE = b": keep-alive\n\n"


@dataclass(frozen=True)
class LiveEvent:
    """One event as a browser receives it: `kind` is the SSE event name, `key` the sequence
    its `version` belongs to (the order, or one shipment)."""

    event_id: str
    kind: Literal["order", "shipment"]
    order_id: str
    key: str
    version: int
    occurred_at: datetime
    data: dict[str, Any]
    #: Counted in its sequence (so no one waits for it) but not sent to the browser.
    silent: bool = False

    @property
    def ends(self) -> bool:
        return self.kind == "order" and self.data["status"] in END_STATUSES


def live_event(envelope: EventEnvelope) -> LiveEvent | None:
    """The browser's view of an order or shipping event (no email, lines or totals: only
    what moved), or None for an event type that is not about progress. Raises
    ValidationError on a malformed payload."""
    if (order_type := ORDER_EVENTS.get(envelope.event_type)) is not None:
        order = order_type.model_validate(envelope.data)
        data = order.model_dump(
            mode="json",
            include={"order_id", "order_number", "status", "previous_status", "reason"},
        )
        return LiveEvent(
            envelope.event_id,
            "order",
            order.order_id,
            ORDER_KEY,
            order.version,
            envelope.occurred_at,
            {"type": envelope.event_type, **data, "version": order.version, "at": _iso(order.at)},
        )
    silent = envelope.event_type in SILENT_SHIPMENT_EVENTS
    shipment_type = SHIPMENT_EVENTS.get(envelope.event_type) or SILENT_SHIPMENT_EVENTS.get(
        envelope.event_type
    )
    if shipment_type is not None:
        shipment = shipment_type.model_validate(envelope.data)
        data = shipment.model_dump(
            mode="json",
            include={
                "order_id",
                "shipment_id",
                "kind",
                "carrier",
                "tracking_number",
                "tracking_url",
                "status",
                "previous_status",
                "location",
                "description",
                "estimated_delivery",
            },
        )
        return LiveEvent(
            envelope.event_id,
            "shipment",
            shipment.order_id,
            shipment.shipment_id,
            shipment.version,
            envelope.occurred_at,
            {
                "type": envelope.event_type,
                **data,
                "version": shipment.version,
                "at": _iso(shipment.at),
            },
            silent,
        )
    return None


def _iso(at: datetime) -> str:
    return at.isoformat()


def frame(name: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """One SSE frame. JSON on one `data:` line (json.dumps escapes newlines); an id that
    could break the framing (CR, LF, NUL) is left out rather than sent."""
    head = ""
    if event_id and not any(c in event_id for c in "\r\n\0"):
        head = f"id: {event_id}\n"
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"{head}event: {name}\ndata: {body}\n\n".encode()


def event_frame(event: LiveEvent) -> bytes:
    return frame(event.kind, event.data, event.event_id)
