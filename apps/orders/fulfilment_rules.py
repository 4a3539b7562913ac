"""Pure rules between an order and its shipments: what to ship, and what the shipments'
progress does to the order (no Dapr, no clock, no I/O)."""

from collections import Counter
from collections.abc import Sequence

from actors.shipment.logic import LEFT_WAREHOUSE
from apps.contracts.orders import (
    Order,
    OrderLine,
    OrderStatus,
    ParcelEvent,
    ParcelTracking,
    Tracking,
    TransitionRequest,
)
from apps.contracts.returns import ReturnLine
from apps.contracts.shipping import (
    CreateShipment,
    ServiceLevel,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)


def first_shipment_id(order_id: str) -> str:
    """The shipment a paid order gets automatically (deterministic: scheduling twice finds it)."""
    return f"shp-{order_id}-1"


def first_shipment(order: Order, service_level: ServiceLevel) -> CreateShipment | None:
    """Everything the order bought, in one shipment to its address (None without one)."""
    if order.shipping_address is None:
        return None
    return CreateShipment(
        shipment_id=first_shipment_id(order.order_id),
        order_id=order.order_id,
        order_number=order.order_number,
        user_id=order.user_id,
        email=order.email,
        service_level=service_level,
        destination=order.shipping_address,
        lines=shipment_lines(order.items),
        correlation_id=order.correlation_id,
    )


def shipment_lines(lines: Sequence[OrderLine | ReturnLine]) -> list[ShipmentLine]:
    """What travels: product, variant, SKU, name and units of order or return lines."""
    return [
        ShipmentLine(
            product_id=li.product_id,
            variant_id=li.variant_id,
            sku=li.sku,
            name=li.name,
            quantity=li.quantity,
        )
        for li in lines
    ]


def _outbound(shipments: list[Shipment]) -> list[Shipment]:
    return [s for s in shipments if s.kind == "outbound" and s.status != ShipmentStatus.CANCELLED]


def covers(order: Order, shipments: list[Shipment]) -> bool:
    """Every unit the order bought is in one of these shipments (partial shipments add up)."""
    shipped: Counter[tuple[str, str]] = Counter()
    for s in shipments:
        for line in s.lines:
            shipped[(line.product_id, line.variant_id)] += line.quantity
    return all(shipped[(i.product_id, i.variant_id)] >= i.quantity for i in order.items)


def progress(order: Order, shipments: list[Shipment]) -> TransitionRequest | None:
    """The next step the order takes from its outbound shipments: `shipped` once every unit
    has left the warehouse, `delivered` once every shipment is delivered. Call again after
    applying it (a late event may carry the order two steps)."""
    outbound = _outbound(shipments)
    if not outbound or not covers(order, outbound):
        return None
    if order.status == OrderStatus.FULFILLING and all(s.status in LEFT_WAREHOUSE for s in outbound):
        carriers = ", ".join(sorted({s.carrier for s in outbound}))
        return TransitionRequest(
            to=OrderStatus.SHIPPED,
            reason=f"Handed to {carriers}",
            transition_id="shipped",
            actor="fulfilment",
        )
    if order.status == OrderStatus.SHIPPED and all(
        s.status == ShipmentStatus.DELIVERED for s in outbound
    ):
        return TransitionRequest(
            to=OrderStatus.DELIVERED,
            reason="Delivered",
            transition_id="delivered",
            actor="fulfilment",
        )
    return None


def with_shipments(tracking: Tracking, shipments: list[Shipment]) -> Tracking:
    """The order's tracking with each outbound shipment's carrier, number, ETA and scans."""
    outbound = sorted(_outbound(shipments), key=lambda s: s.created_at)
    travelling = [
        s.estimated_delivery
        for s in outbound
        if s.estimated_delivery is not None and s.status != ShipmentStatus.DELIVERED
    ]
    return tracking.model_copy(
        update={
            "estimated_delivery": max(travelling, default=None),
            "shipments": [
                ParcelTracking(
                    shipment_id=s.shipment_id,
                    carrier=s.carrier,
                    tracking_number=s.tracking_number,
                    tracking_url=s.tracking_url,
                    status=s.status.value,
                    estimated_delivery=s.estimated_delivery,
                    delivered_at=s.actual_delivery,
                    current_location=s.current_location,
                    events=[
                        ParcelEvent(
                            status=e.status.value,
                            location=e.location,
                            timestamp=e.timestamp,
                            description=e.description,
                        )
                        for e in s.events
                    ],
                )
                for s in outbound
            ],
        }
    )
