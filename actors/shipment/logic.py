"""The shipment state machine, pure: what a carrier scan or a staff update may change, and
which shipping events it emits.

No Dapr, no clocks, no I/O (the caller passes `now` and the carrier's answer).
"""

from dataclasses import dataclass
from datetime import datetime

from apps.contracts.orders import Address
from apps.contracts.shipping import (
    CreateShipment,
    DeliveryCompleted,
    Package,
    Shipment,
    ShipmentError,
    ShipmentEventData,
    ShipmentScheduled,
    ShipmentStatus,
    ShipmentStatusUpdated,
    StatusUpdate,
    TrackingEvent,
)

S = ShipmentStatus

#: What a shipment may become next. A carrier's scans follow it too: a scan that would step
#: backwards (an old scan seen late) is recorded in the history but leaves the status.
TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.LABEL_CREATED: frozenset({S.PICKED_UP, S.CANCELLED, S.DELAYED}),
    S.PICKED_UP: frozenset({S.IN_TRANSIT, S.DELAYED, S.OUT_FOR_DELIVERY, S.DELIVERED}),
    S.IN_TRANSIT: frozenset(
        {S.IN_TRANSIT, S.DELAYED, S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNED_TO_SENDER}
    ),
    S.DELAYED: frozenset(
        {S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNED_TO_SENDER}
    ),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.DELIVERY_FAILED, S.DELAYED}),
    S.DELIVERY_FAILED: frozenset(
        {S.OUT_FOR_DELIVERY, S.IN_TRANSIT, S.RETURNED_TO_SENDER, S.DELIVERED}
    ),
    S.DELIVERED: frozenset(),
    S.RETURNED_TO_SENDER: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
#: The goods have left the warehouse: the order counts as shipped from here on.
LEFT_WAREHOUSE = frozenset(set(S) - {S.LABEL_CREATED, S.CANCELLED})

DESCRIPTIONS: dict[ShipmentStatus, str] = {
    S.LABEL_CREATED: "Shipping label created",
    S.PICKED_UP: "Package picked up by carrier",
    S.IN_TRANSIT: "Package in transit",
    S.OUT_FOR_DELIVERY: "Out for delivery",
    S.DELIVERED: "Delivered",
    S.DELAYED: "Delayed",
    S.DELIVERY_FAILED: "Delivery attempt failed",
    S.RETURNED_TO_SENDER: "Returned to sender",
    S.CANCELLED: "Shipment cancelled",
}


@dataclass(frozen=True)
class Booking:
    """What the carrier answers when a shipment is booked."""

    carrier: str
    tracking_number: str
    tracking_url: str
    estimated_delivery: datetime | None
    origin: Address
    weight_kg: float


@dataclass(frozen=True)
class Changed:
    shipment: Shipment
    events: list[ShipmentEventData]


@dataclass(frozen=True)
class Same:
    shipment: Shipment


@dataclass(frozen=True)
class Refused:
    error: ShipmentError


Decision = Changed | Same | Refused


def create(cmd: CreateShipment, booking: Booking, now: datetime) -> Changed:
    first = TrackingEvent(
        event_id=f"{booking.tracking_number}:label",
        status=S.LABEL_CREATED,
        location=place_of(booking.origin),
        timestamp=now,
        description=DESCRIPTIONS[S.LABEL_CREATED],
        source="system",
    )
    shipment = Shipment(
        shipment_id=cmd.shipment_id,
        order_id=cmd.order_id,
        order_number=cmd.order_number,
        user_id=cmd.user_id,
        email=cmd.email,
        carrier=booking.carrier,
        service_level=cmd.service_level,
        tracking_number=booking.tracking_number,
        tracking_url=booking.tracking_url,
        status=S.LABEL_CREATED,
        origin=booking.origin,
        destination=cmd.destination,
        estimated_delivery=booking.estimated_delivery,
        packages=[Package(package_id="1", weight_kg=booking.weight_kg, lines=cmd.lines)],
        lines=cmd.lines,
        events=[first],
        current_location=first.location,
        kind=cmd.kind,
        created_at=now,
        updated_at=now,
        version=1,
    )
    return Changed(shipment, [_event(ShipmentScheduled, shipment, None, first, 1)])


def apply_scans(
    shipment: Shipment, scans: list[TrackingEvent], eta: datetime | None, now: datetime
) -> Decision:
    """The carrier's history as of now: new scans (by event id) are appended in time order;
    each legal step moves the status and emits `ShipmentStatusUpdated` (and
    `DeliveryCompleted` on delivery). Nothing changes once the shipment is terminal."""
    if shipment.status in TERMINAL:
        return Same(shipment)
    seen = {e.event_id for e in shipment.events}
    new = sorted((s for s in scans if s.event_id not in seen), key=lambda s: s.timestamp)
    if not new and eta == shipment.estimated_delivery:
        return Same(shipment)
    current = shipment
    events: list[ShipmentEventData] = []
    for scan in new:
        current, emitted = _step(current, scan, now)
        events.extend(emitted)
        if current.status in TERMINAL:
            break
    if eta is not None and current.status not in TERMINAL:
        current = current.model_copy(update={"estimated_delivery": eta})
    if current == shipment:
        return Same(shipment)
    return Changed(current.model_copy(update={"version": shipment.version + 1}), events)


def staff_update(
    shipment: Shipment, update: StatusUpdate, event_id: str, now: datetime
) -> Decision:
    """A status set by staff (a phone call with the carrier, a scan the carrier missed):
    the same transition rules as a carrier's scans; refused with the allowed next statuses."""
    if any(e.event_id == event_id for e in shipment.events):
        return Same(shipment)
    if update.status not in TRANSITIONS[shipment.status]:
        return Refused(
            ShipmentError(
                code="CONFLICT",
                message=f"A shipment in status '{shipment.status}' cannot move to "
                f"'{update.status}'",
                current_status=shipment.status,
                details={"allowed": sorted(TRANSITIONS[shipment.status])},
            )
        )
    scan = TrackingEvent(
        event_id=event_id,
        status=update.status,
        location=update.location,
        timestamp=now,
        description=update.notes or DESCRIPTIONS[update.status],
        source="staff",
    )
    current, events = _step(shipment, scan, now)
    return Changed(current.model_copy(update={"version": shipment.version + 1}), events)


def _step(
    shipment: Shipment, scan: TrackingEvent, now: datetime
) -> tuple[Shipment, list[ShipmentEventData]]:
    history = [*shipment.events, scan]
    if scan.status not in TRANSITIONS[shipment.status]:
        # Late or out-of-order scan: kept in the history, the status stays.
        return shipment.model_copy(update={"events": history, "updated_at": now}), []
    moved = shipment.model_copy(
        update={
            "status": scan.status,
            "events": history,
            "current_location": scan.location or shipment.current_location,
            "updated_at": now,
            "actual_delivery": scan.timestamp
            if scan.status == S.DELIVERED
            else shipment.actual_delivery,
        }
    )
    version = shipment.version + 1  # the version the whole change is committed as
    emitted: list[ShipmentEventData] = [
        _event(ShipmentStatusUpdated, moved, shipment.status, scan, version)
    ]
    if scan.status == S.DELIVERED:
        emitted.append(_event(DeliveryCompleted, moved, shipment.status, scan, version))
    return moved, emitted


def _event(
    cls: type[ShipmentEventData],
    shipment: Shipment,
    previous: ShipmentStatus | None,
    scan: TrackingEvent,
    version: int,
) -> ShipmentEventData:
    return cls(
        shipment_id=shipment.shipment_id,
        order_id=shipment.order_id,
        order_number=shipment.order_number,
        user_id=shipment.user_id,
        email=shipment.email,
        kind=shipment.kind,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
        status=shipment.status,
        previous_status=previous,
        location=scan.location,
        description=scan.description,
        estimated_delivery=shipment.estimated_delivery,
        lines=shipment.lines,
        version=version,
        at=scan.timestamp,
    )


def event_id(shipment: Shipment, event: ShipmentEventData, index: int) -> str:
    """Deterministic per committed version and position: a re-publish has the same id."""
    return f"{shipment.shipment_id}:{shipment.version}:{index}:{event.EVENT_TYPE}"


def place_of(address: Address) -> str:
    return ", ".join(p for p in (address.city, address.state or address.country) if p)
