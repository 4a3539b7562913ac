"""ShipmentActor: one shipment's state, its outbox and its carrier-poll reminder; rules live
in logic.py, the carrier behind the host's `Carrier` port.

A change and its shipping events are saved in one actor-state transaction, then published
(actors/outbox.py). While the shipment travels, the `carrier-poll` reminder asks the carrier
for the scans and applies the new ones; it is removed once the shipment is delivered,
returned or cancelled.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import structlog
from dapr.actor import Remindable
from pydantic import ValidationError

from actors.outbox import OUTBOX_REMINDER, OutboxActor
from actors.shipment import logic
from actors.shipment.interface import ShipmentActorInterface
from apps.contracts.events import EventEnvelope
from apps.contracts.shipping import (
    CarrierIssue,
    CreateShipment,
    OpenCarrierCase,
    Shipment,
    ShipmentError,
    ShipmentReply,
    ShipmentStatus,
    UpdateShipmentStatus,
)

log = structlog.stdlib.get_logger("ShipmentActor")

SHIPMENT_KEY = "shipment"
POLL_REMINDER = "carrier-poll"


class ShipmentActorHost(Protocol):
    """What the hosting app provides: the carrier, how often to ask it, a publisher."""

    source_app_id: str
    poll_every: timedelta

    @property
    def carrier(self) -> Any: ...  # apps.orders.carrier.Carrier

    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


def _reply(shipment: Shipment | None = None, error: ShipmentError | None = None) -> dict[str, Any]:
    return ShipmentReply(ok=error is None, shipment=shipment, error=error).model_dump(mode="json")


def _invalid(message: str, **details: Any) -> dict[str, Any]:
    return _reply(error=ShipmentError(code="INVALID_REQUEST", message=message, details=details))


class ShipmentActor(OutboxActor, ShipmentActorInterface, Remindable):
    """Registered under its class name, `ActorType.SHIPMENT`."""

    host: ClassVar[ShipmentActorHost | None] = None

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            cmd = CreateShipment.model_validate(data)
        except ValidationError as exc:
            return _invalid("Invalid create payload", errors=exc.errors(include_url=False))
        if cmd.shipment_id != self.id.id:
            return _invalid("shipment_id must equal the actor id", actor_id=self.id.id)
        existing = await self._load()
        if existing is not None:
            return _reply(existing)
        host = self._host()
        now = _now()  # booked at, before the first poll is due: it sees a scan due by then
        booking = await host.carrier.book(cmd, now)
        # Reminder first: one firing on no shipment does nothing.
        await self.register_reminder(POLL_REMINDER, b"poll", host.poll_every, host.poll_every)
        decision = logic.create(cmd, booking, now)
        await self._commit(decision)
        return _reply(decision.shipment)

    async def update_status(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            req = UpdateShipmentStatus.model_validate(data)
        except ValidationError as exc:
            return _invalid("Invalid status update", errors=exc.errors(include_url=False))
        shipment = await self._load()
        if shipment is None:
            return _not_found(self.id.id)
        return await self._decide(logic.staff_update(shipment, req.update, req.event_id, _now()))

    async def poll(self) -> dict[str, Any]:
        """Ask the carrier now (the reminder does this on its own schedule)."""
        shipment = await self._load()
        if shipment is None:
            return _not_found(self.id.id)
        return await self._poll(shipment)

    async def contact(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            req = OpenCarrierCase.model_validate(data)
        except ValidationError as exc:
            return _invalid("Invalid carrier contact", errors=exc.errors(include_url=False))
        shipment = await self._load()
        if shipment is None:
            return _not_found(self.id.id)
        now = _now()
        reference = await self._host().carrier.contact(shipment, req.request.issue_description, now)
        issue = CarrierIssue(
            issue_id=f"{shipment.shipment_id}:case:{len(shipment.issues) + 1}",
            description=req.request.issue_description,
            carrier_reference=reference,
            opened_at=now,
            opened_by=req.by,
        )
        updated = shipment.model_copy(
            update={
                "issues": [*shipment.issues, issue],
                "updated_at": now,
                "version": shipment.version + 1,
            }
        )
        await self._commit(logic.Changed(updated, []))
        return _reply(updated)

    async def get(self) -> dict[str, Any]:
        shipment = await self._load()
        return _reply(shipment) if shipment is not None else _not_found(self.id.id)

    async def receive_reminder(
        self,
        name: str,
        state: bytes,
        due_time: timedelta,
        period: timedelta,
        ttl: timedelta | None = None,
    ) -> None:
        if name == POLL_REMINDER:
            shipment = await self._load()
            if shipment is None:
                return
            await self._poll(shipment)
        elif name == OUTBOX_REMINDER:
            await self._retry_outbox(self._host())

    # -- internals ---------------------------------------------------------------------
    async def _poll(self, shipment: Shipment) -> dict[str, Any]:
        if shipment.status in logic.TERMINAL:
            await self._try_unregister(POLL_REMINDER)
            return _reply(shipment)
        now = _now()
        tracking = await self._host().carrier.track(shipment, now)
        return await self._decide(
            logic.apply_scans(shipment, tracking.events, tracking.estimated_delivery, now)
        )

    async def _decide(self, decision: logic.Decision) -> dict[str, Any]:
        if isinstance(decision, logic.Refused):
            return _reply(await self._load(), decision.error)
        if isinstance(decision, logic.Changed):
            await self._commit(decision)
            if decision.shipment.status in logic.TERMINAL:
                if decision.shipment.status == ShipmentStatus.CANCELLED:
                    await self._host().carrier.cancel(decision.shipment)
                await self._try_unregister(POLL_REMINDER)
        return _reply(decision.shipment)

    async def _commit(self, decision: logic.Changed) -> None:
        host = self._host()
        shipment = decision.shipment
        envelopes = [
            EventEnvelope.of(
                event,
                correlation_id=shipment.order_id,
                source=host.source_app_id,
                event_id=logic.event_id(shipment, event, i),
                occurred_at=event.at,
            )
            for i, event in enumerate(decision.events)
        ]
        await self._save({SHIPMENT_KEY: shipment.model_dump(mode="json")}, envelopes)
        await self._flush_outbox(host)

    async def _load(self) -> Shipment | None:
        found, raw = await self._state_manager.try_get_state(SHIPMENT_KEY)
        return Shipment.model_validate(raw) if found else None

    def _host(self) -> ShipmentActorHost:
        if ShipmentActor.host is None:
            raise RuntimeError("ShipmentActor.host is not set: the hosting app wires it")
        return ShipmentActor.host


def _not_found(shipment_id: str) -> dict[str, Any]:
    return _reply(
        error=ShipmentError(
            code="RESOURCE_NOT_FOUND",
            message="Shipment not found",
            details={"shipment_id": shipment_id},
        )
    )


def _now() -> datetime:
    return datetime.now(UTC)
