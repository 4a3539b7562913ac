"""Use cases of customer requests (tickets): open one about an order the caller owns, read
and answer it as its owner, work it as staff; the queryable list is a view kept from the
ticket events (`support-events`), each ticket's truth is its TicketActor.

Access: a ticket is read by its owner or by staff; anyone else gets the 404 of a ticket that
does not exist. Who the caller is comes from the gateway's signed context, never the body.
"""

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from apps.contracts.errors import Conflict, DomainError, InvalidRequest, NotFound
from apps.contracts.events import EventEnvelope
from apps.contracts.tickets import (
    AssignIn,
    AssignTicket,
    CreateTicket,
    CustomerReply,
    OpenTicketIn,
    ReplyIn,
    SetStatus,
    StaffResponse,
    StaffResponseIn,
    StatusIn,
    Ticket,
    TicketEventData,
    TicketPage,
    TicketPriority,
    TicketReply,
    TicketStatus,
    TicketSummary,
    TicketType,
)


class OrderFacts(Protocol):
    """What the tickets need of an order: that the caller may see it, and its number/email."""

    order_id: str
    order_number: str
    email: str


class Orders(Protocol):
    async def owned(
        self, order_id: str, user_id: str, email: str | None, headers: dict[str, str]
    ) -> OrderFacts | None: ...


class TicketActors(Protocol):
    async def call(self, ticket_id: str, method: str, payload: Any = None) -> TicketReply: ...


class TicketViews(Protocol):
    async def save_if_newer(
        self, ticket_id: str, build: Callable[[TicketSummary | None], TicketSummary | None]
    ) -> bool: ...

    async def find(
        self,
        user_id: str | None = None,
        statuses: list[TicketStatus] | None = None,
        priority: TicketPriority | None = None,
        type_: TicketType | None = None,
        assigned_to: str | None = None,
    ) -> list[TicketSummary]: ...


class Sequences(Protocol):
    async def next(self, name: str) -> int: ...


def ticket_id_for(user_id: str, key: str | None) -> str:
    """The same customer's retry with the same Idempotency-Key opens the same ticket."""
    if key is None:
        return f"tkt-{uuid.uuid4().hex[:24]}"
    return "tkt-" + hashlib.sha256(f"{user_id}\n{key}".encode()).hexdigest()[:24]


def summary_of(event: TicketEventData) -> TicketSummary:
    return TicketSummary.model_validate(
        event.model_dump(include=set(TicketSummary.model_fields), mode="json")
    )


def for_customer(ticket: Ticket) -> Ticket:
    """What the owner sees: no internal notes, no request bookkeeping."""
    public = [m for m in ticket.messages if not m.is_internal]
    return ticket.model_copy(update={"messages": public, "applied": []})


class TicketsService:
    def __init__(
        self,
        actors: TicketActors,
        views: TicketViews,
        orders: Orders,
        sequences: Sequences,
        default_priority: TicketPriority = TicketPriority.MEDIUM,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.actors = actors
        self.views = views
        self.orders = orders
        self.sequences = sequences
        self.default_priority = default_priority
        self.clock = clock

    # -- customer -------------------------------------------------------------------------
    async def open(
        self,
        user_id: str,
        body: OpenTicketIn,
        key: str | None,
        correlation_id: str,
        headers: dict[str, str],
    ) -> Ticket:
        order = await self.orders.owned(body.order_id, user_id, body.email, headers)
        if order is None:
            raise NotFound("Order not found", order_id=body.order_id)
        ticket_id = ticket_id_for(user_id, key)
        number = await self.sequences.next("ticket")
        cmd = CreateTicket(
            ticket_id=ticket_id,
            ticket_number=f"SC-T-{self.clock().year}-{number:06d}",
            user_id=user_id,
            email=order.email,
            order_id=order.order_id,
            order_number=order.order_number,
            type=body.type,
            subject=body.subject,
            description=body.description,
            priority=self.default_priority,
            category=body.category,
            tags=[body.type.value],
            correlation_id=correlation_id,
        )
        return _ticket(await self.actors.call(ticket_id, "create", cmd.model_dump(mode="json")))

    async def mine(self, user_id: str, page: int, limit: int) -> TicketPage:
        return _page(await self.views.find(user_id=user_id), page, limit)

    async def get_own(self, ticket_id: str, user_id: str) -> Ticket:
        ticket = await self._get(ticket_id)
        if ticket.user_id != user_id:
            raise NotFound("Ticket not found", ticket_id=ticket_id)
        return for_customer(ticket)

    async def reply(self, ticket_id: str, user_id: str, body: ReplyIn, key: str | None) -> Ticket:
        await self.get_own(ticket_id, user_id)
        cmd = CustomerReply(request_id=key or _request_id(), user_id=user_id, message=body.message)
        reply = await self.actors.call(ticket_id, "reply", cmd.model_dump(mode="json"))
        return for_customer(_ticket(reply))

    # -- staff ------------------------------------------------------------------------------
    async def staff_list(
        self,
        statuses: list[TicketStatus] | None,
        priority: TicketPriority | None,
        type_: TicketType | None,
        assigned_to: str | None,
        page: int,
        limit: int,
    ) -> TicketPage:
        found = await self.views.find(
            statuses=statuses, priority=priority, type_=type_, assigned_to=assigned_to
        )
        return _page(found, page, limit)

    async def staff_get(self, ticket_id: str) -> Ticket:
        return await self._get(ticket_id)

    async def set_status(
        self, ticket_id: str, staff_id: str, body: StatusIn, key: str | None
    ) -> Ticket:
        cmd = SetStatus(
            request_id=key or _request_id(),
            staff_id=staff_id,
            status=body.new_status,
            resolution=body.resolution,
        )
        return _ticket(await self.actors.call(ticket_id, "set_status", cmd.model_dump(mode="json")))

    async def assign(
        self, ticket_id: str, staff_id: str, body: AssignIn, key: str | None
    ) -> Ticket:
        cmd = AssignTicket(
            request_id=key or _request_id(), staff_id=staff_id, assignee=body.staff_id
        )
        return _ticket(await self.actors.call(ticket_id, "assign", cmd.model_dump(mode="json")))

    async def respond(
        self, ticket_id: str, staff_id: str, body: StaffResponseIn, key: str | None
    ) -> Ticket:
        cmd = StaffResponse(
            request_id=key or _request_id(),
            staff_id=staff_id,
            message=body.message,
            internal_note=body.internal_note,
        )
        return _ticket(await self.actors.call(ticket_id, "respond", cmd.model_dump(mode="json")))

    # -- the view ---------------------------------------------------------------------------
    async def apply(self, envelope: EventEnvelope) -> None:
        """Keep the list view: a newer version replaces an older one; redeliveries and
        out-of-order older events change nothing."""
        summary = summary_of(TicketEventData.model_validate(envelope.data))

        def build(stored: TicketSummary | None) -> TicketSummary | None:
            return summary if stored is None or stored.version < summary.version else None

        await self.views.save_if_newer(summary.ticket_id, build)

    async def _get(self, ticket_id: str) -> Ticket:
        return _ticket(await self.actors.call(ticket_id, "get"))


def _request_id() -> str:
    return f"req-{uuid.uuid4().hex}"


def _ticket(reply: TicketReply) -> Ticket:
    if reply.ok and reply.ticket is not None:
        return reply.ticket
    error = reply.error
    if error is None:
        raise DomainError("The ticket actor answered nothing")
    if error.code == "RESOURCE_NOT_FOUND":
        raise NotFound("Ticket not found", **error.details)
    if error.code == "CONFLICT":
        raise Conflict(error.message, **error.details)
    raise InvalidRequest(error.message, **error.details)


def _page(found: list[TicketSummary], page: int, limit: int) -> TicketPage:
    start = (page - 1) * limit
    return TicketPage(items=found[start : start + limit], page=page, limit=limit, total=len(found))
