"""Carriers behind a port, and the simulated carrier used locally and in tests.

A real carrier (FedEx, UPS, DHL…) implements `Carrier` with its API: book a label, answer
the tracking history of a tracking number, open a case, void a label. ShipmentActor polls
`track` on a reminder and applies the scans it has not seen, so a carrier that pushes
webhooks instead would only call the same actor method.

`SimulatedCarrier` is stateless: a shipment's history is a function of its tracking number,
when it was booked and the clock, one step every `step` (configurable: minutes for a demo,
a second in tests). Exceptions (a delay, a failed delivery attempt, a return to sender)
happen to a configurable share of shipments, chosen by the tracking number, or to all of
them when a scenario is forced.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from actors.shipment.logic import DESCRIPTIONS, Booking, place_of
from apps.contracts.orders import Address
from apps.contracts.shipping import (
    CarrierTracking,
    CreateShipment,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)

S = ShipmentStatus


class Carrier(Protocol):
    name: str

    async def book(self, cmd: CreateShipment, now: datetime) -> Booking: ...

    async def track(self, shipment: Shipment, now: datetime) -> CarrierTracking: ...

    async def contact(self, shipment: Shipment, description: str, now: datetime) -> str: ...

    async def cancel(self, shipment: Shipment) -> None: ...


class Scenario(StrEnum):
    NORMAL = "normal"
    DELAYED = "delayed"
    FAILED_ATTEMPT = "failed_attempt"
    RETURNED = "returned_to_sender"


#: (step, status, where): `where` is the origin, a hub on the way, or the destination.
PLANS: dict[Scenario, list[tuple[int, ShipmentStatus, str]]] = {
    Scenario.NORMAL: [
        (1, S.PICKED_UP, "origin"),
        (2, S.IN_TRANSIT, "hub"),
        (3, S.OUT_FOR_DELIVERY, "destination"),
        (4, S.DELIVERED, "destination"),
    ],
    Scenario.DELAYED: [
        (1, S.PICKED_UP, "origin"),
        (2, S.IN_TRANSIT, "hub"),
        (3, S.DELAYED, "hub"),
        (5, S.IN_TRANSIT, "hub"),
        (6, S.OUT_FOR_DELIVERY, "destination"),
        (7, S.DELIVERED, "destination"),
    ],
    Scenario.FAILED_ATTEMPT: [
        (1, S.PICKED_UP, "origin"),
        (2, S.IN_TRANSIT, "hub"),
        (3, S.OUT_FOR_DELIVERY, "destination"),
        (4, S.DELIVERY_FAILED, "destination"),
        (5, S.OUT_FOR_DELIVERY, "destination"),
        (6, S.DELIVERED, "destination"),
    ],
    Scenario.RETURNED: [
        (1, S.PICKED_UP, "origin"),
        (2, S.IN_TRANSIT, "hub"),
        (3, S.OUT_FOR_DELIVERY, "destination"),
        (4, S.DELIVERY_FAILED, "destination"),
        (5, S.OUT_FOR_DELIVERY, "destination"),
        (6, S.DELIVERY_FAILED, "destination"),
        (7, S.RETURNED_TO_SENDER, "origin"),
    ],
}
EXCEPTIONS = (Scenario.DELAYED, Scenario.FAILED_ATTEMPT, Scenario.RETURNED)


@dataclass
class SimulatedCarrier:
    #: Changed live by the runtime setting `orders.carrier_step_seconds` (a shipment's
    #: history is computed from it on every poll, so travelling parcels follow the new pace).
    step: timedelta
    origin: Address
    tracking_url: str = "http://localhost:8080/track/{tracking_number}"
    exception_rate: float = 0.0
    scenario: Scenario | None = None
    name: str = "SimPost"

    def tracking_number(self, shipment_id: str) -> str:
        """Deterministic: booking the same shipment twice gives the same label."""
        return "SIM" + hashlib.sha256(shipment_id.encode()).hexdigest()[:12].upper()

    def scenario_of(self, tracking_number: str) -> Scenario:
        if self.scenario is not None:
            return self.scenario
        digest = hashlib.sha256(tracking_number.encode()).digest()
        draw = int.from_bytes(digest[:4]) / 2**32
        if draw >= self.exception_rate:
            return Scenario.NORMAL
        return EXCEPTIONS[digest[4] % len(EXCEPTIONS)]

    def eta(self, tracking_number: str, booked_at: datetime) -> datetime | None:
        last_step, last_status, _ = PLANS[self.scenario_of(tracking_number)][-1]
        if last_status != S.DELIVERED:
            return None
        return booked_at + self.step * last_step

    async def book(self, cmd: CreateShipment, now: datetime) -> Booking:
        number = self.tracking_number(cmd.shipment_id)
        return Booking(
            carrier=self.name,
            tracking_number=number,
            tracking_url=self.tracking_url.format(tracking_number=number),
            estimated_delivery=self.eta(number, now),
            origin=cmd.origin or self.origin,
            weight_kg=round(0.5 * sum(line.quantity for line in cmd.lines), 2),
        )

    def history(self, shipment: Shipment, now: datetime) -> list[TrackingEvent]:
        """The scans of this shipment up to `now`."""
        number = shipment.tracking_number
        places = {
            "origin": place_of(shipment.origin),
            "hub": f"{shipment.destination.state or shipment.destination.country} sorting hub",
            "destination": place_of(shipment.destination),
        }
        return [
            TrackingEvent(
                event_id=f"{number}:{step}",
                status=status,
                location=places[where],
                timestamp=shipment.created_at + self.step * step,
                description=DESCRIPTIONS[status],
            )
            for step, status, where in PLANS[self.scenario_of(number)]
            if shipment.created_at + self.step * step <= now
        ]

    async def track(self, shipment: Shipment, now: datetime) -> CarrierTracking:
        events = self.history(shipment, now)
        return CarrierTracking(
            carrier=self.name,
            tracking_number=shipment.tracking_number,
            status=events[-1].status if events else S.LABEL_CREATED,
            estimated_delivery=self.eta(shipment.tracking_number, shipment.created_at),
            events=events,
        )

    async def contact(self, shipment: Shipment, description: str, now: datetime) -> str:
        digest = hashlib.sha256(f"{shipment.tracking_number}|{description}|{now}".encode())
        return f"{shipment.tracking_number}-CASE-{digest.hexdigest()[:6].upper()}"

    async def cancel(self, shipment: Shipment) -> None:
        """Voiding a label costs nothing here: the shipment's actor stops polling it."""
