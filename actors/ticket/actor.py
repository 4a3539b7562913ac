"""TicketActor: keeps the ticket, its outbox and its SLA reminder; rules live in logic.py.

A change saves the ticket and its events in one actor-state transaction, then publishes
(actors/outbox.py); event ids are `{ticket_id}:{version}`, so consumers deduplicate a
re-publish. The `sla` reminder is a Dapr actor reminder (kept by the scheduler, so it fires
after an app restart too), due at the next open deadline; each breach escalates once.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import structlog
from dapr.actor import Remindable
from pydantic import BaseModel, ValidationError

from actors.outbox import OUTBOX_REMINDER, OutboxActor
from actors.ticket import logic
from actors.ticket.interface import TicketActorInterface
from apps.contracts.events import EventEnvelope
from apps.contracts.tickets import (
    AssignTicket,
    CreateTicket,
    CustomerReply,
    SetStatus,
    StaffResponse,
    Ticket,
    TicketError,
    TicketReply,
)

log = structlog.stdlib.get_logger("TicketActor")

TICKET_KEY = "ticket"
SLA_REMINDER = "sla"
#: The SLA reminder also repeats this often, so a firing lost in between is made good.
SLA_RECHECK = timedelta(minutes=10)


class TicketActorHost(Protocol):
    """What the hosting app provides: configuration and a publisher."""

    source_app_id: str
    sla: logic.SlaPolicy
    #: Where SLA breaches are emailed (None: only the event).
    staff_email: str | None

    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


def _error(code: str, message: str, **details: Any) -> dict[str, Any]:
    reply = TicketReply(ok=False, error=TicketError(code=code, message=message, details=details))
    return reply.model_dump(mode="json")


class TicketActor(OutboxActor, TicketActorInterface, Remindable):
    """Registered under its class name, which is `ActorType.TICKET`."""

    host: ClassVar[TicketActorHost | None] = None

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            cmd = CreateTicket.model_validate(data)
        except ValidationError as exc:
            return _error("INVALID_REQUEST", "Invalid create payload", errors=_errors(exc))
        if cmd.ticket_id != self.id.id:
            return _error("INVALID_REQUEST", "ticket_id must equal the actor id")
        existing = await self._load()
        if existing is not None:
            return TicketReply(ok=True, ticket=existing).model_dump(mode="json")
        decision = logic.create(cmd, self._host().sla, _now())
        # Reminder first: one firing on no ticket does nothing; a ticket without it would
        # never be escalated.
        await self._schedule(decision.ticket)
        await self._commit(decision)
        return TicketReply(ok=True, ticket=decision.ticket).model_dump(mode="json")

    async def get(self) -> dict[str, Any]:
        ticket = await self._load()
        if ticket is None:
            return _not_found(self.id.id)
        return TicketReply(ok=True, ticket=ticket).model_dump(mode="json")

    async def reply(self, data: dict[str, Any]) -> dict[str, Any]:
        policy = self._host().sla
        return await self._step(
            data, CustomerReply, lambda t, c, now: logic.reply(t, c, policy, now)
        )

    async def respond(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self._step(data, StaffResponse, logic.respond)

    async def set_status(self, data: dict[str, Any]) -> dict[str, Any]:
        policy = self._host().sla
        return await self._step(
            data, SetStatus, lambda t, c, now: logic.set_status(t, c, policy, now)
        )

    async def assign(self, data: dict[str, Any]) -> dict[str, Any]:
        return await self._step(data, AssignTicket, logic.assign)

    async def receive_reminder(
        self,
        name: str,
        state: bytes,
        due_time: timedelta,
        period: timedelta,
        ttl: timedelta | None = None,
    ) -> None:
        if name == SLA_REMINDER:
            ticket = await self._load()
            if ticket is None:
                await self._try_unregister(SLA_REMINDER)
                return
            decision = logic.check_sla(ticket, _now(), self._host().staff_email)
            if isinstance(decision, logic.Applied):
                await self._commit(decision)
                log.info("SLA breached; escalated", ticket_id=ticket.ticket_id)
                ticket = decision.ticket
            await self._schedule(ticket)
        elif name == OUTBOX_REMINDER:
            await self._retry_outbox(self._host())

    # -- internals ---------------------------------------------------------------------
    async def _step(
        self, data: dict[str, Any], model: type[BaseModel], rule: Any
    ) -> dict[str, Any]:
        try:
            cmd = model.model_validate(data)
        except ValidationError as exc:
            return _error("INVALID_REQUEST", "Invalid payload", errors=_errors(exc))
        ticket = await self._load()
        if ticket is None:
            return _not_found(self.id.id)
        decision = rule(ticket, cmd, _now())
        if isinstance(decision, logic.Rejected):
            return TicketReply(ok=False, ticket=ticket, error=decision.error).model_dump(
                mode="json"
            )
        if isinstance(decision, logic.Applied):
            if logic.next_deadline(decision.ticket) != logic.next_deadline(ticket):
                await self._schedule(decision.ticket)
            await self._commit(decision)
        return TicketReply(ok=True, ticket=decision.ticket).model_dump(mode="json")

    async def _schedule(self, ticket: Ticket) -> None:
        """The SLA reminder at the next open deadline, or none when nothing is left."""
        deadline = logic.next_deadline(ticket)
        if deadline is None:
            await self._try_unregister(SLA_REMINDER)
            return
        due = max(deadline - _now(), timedelta(milliseconds=1))
        await self.register_reminder(SLA_REMINDER, b"sla", due, SLA_RECHECK)

    async def _commit(self, decision: logic.Applied) -> None:
        host = self._host()
        envelopes = [
            EventEnvelope.of(
                event,
                correlation_id=decision.ticket.correlation_id,
                source=host.source_app_id,
                event_id=logic.event_id(event),
                occurred_at=event.updated_at,
            )
            for event in decision.events
        ]
        await self._save({TICKET_KEY: decision.ticket.model_dump(mode="json")}, envelopes)
        if envelopes:
            await self._flush_outbox(host)

    async def _load(self) -> Ticket | None:
        found, raw = await self._state_manager.try_get_state(TICKET_KEY)
        return Ticket.model_validate(raw) if found else None

    def _host(self) -> TicketActorHost:
        if TicketActor.host is None:
            raise RuntimeError("TicketActor.host is not set: the hosting app wires it at start")
        return TicketActor.host


def _errors(exc: ValidationError) -> list[Any]:
    return list(exc.errors(include_url=False, include_context=False, include_input=False))


def _not_found(ticket_id: str) -> dict[str, Any]:
    return _error("RESOURCE_NOT_FOUND", "Ticket not found", ticket_id=ticket_id)


def _now() -> datetime:
    return datetime.now(UTC)
