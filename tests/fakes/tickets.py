"""Fakes of the tickets area's ports: the actor runs the real rules in memory, the views
keep the newest version like the store's compare-and-set."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from actors.ticket import logic
from apps.contracts.tickets import (
    AssignTicket,
    CreateTicket,
    CustomerReply,
    SetStatus,
    StaffResponse,
    Ticket,
    TicketError,
    TicketEventData,
    TicketPriority,
    TicketReply,
    TicketStatus,
    TicketSummary,
    TicketType,
)


@dataclass
class FakeOrder:
    order_id: str
    order_number: str
    email: str
    user_id: str | None = None


class FakeOrders:
    """Orders' owner rule: the caller's user id, or the guest order's email."""

    def __init__(self, *orders: FakeOrder) -> None:
        self.orders = {o.order_id: o for o in orders}

    async def owned(
        self, order_id: str, user_id: str, email: str | None, headers: dict[str, str]
    ) -> FakeOrder | None:
        order = self.orders.get(order_id)
        if order is None or not (order.user_id == user_id or (email and order.email == email)):
            return None
        return order


class FakeTicketActors:
    def __init__(self, policy: logic.SlaPolicy, now: datetime | None = None) -> None:
        self.policy = policy
        self.now = now or datetime.now(UTC)
        self.tickets: dict[str, Ticket] = {}
        self.events: list[TicketEventData] = []

    async def call(self, ticket_id: str, method: str, payload: Any = None) -> TicketReply:
        ticket = self.tickets.get(ticket_id)
        if method == "create":
            if ticket is None:
                created = logic.create(CreateTicket.model_validate(payload), self.policy, self.now)
                ticket = self.tickets[ticket_id] = created.ticket
                self.events += created.events
            return TicketReply(ok=True, ticket=ticket)
        if ticket is None:
            return TicketReply(
                ok=False, error=TicketError(code="RESOURCE_NOT_FOUND", message="Ticket not found")
            )
        rules: dict[str, Callable[[], logic.Decision]] = {
            "get": lambda: logic.Unchanged(ticket),
            "reply": lambda: logic.reply(
                ticket, CustomerReply.model_validate(payload), self.policy, self.now
            ),
            "respond": lambda: logic.respond(
                ticket, StaffResponse.model_validate(payload), self.now
            ),
            "set_status": lambda: logic.set_status(
                ticket, SetStatus.model_validate(payload), self.policy, self.now
            ),
            "assign": lambda: logic.assign(ticket, AssignTicket.model_validate(payload), self.now),
        }
        decision = rules[method]()
        if isinstance(decision, logic.Rejected):
            return TicketReply(ok=False, ticket=ticket, error=decision.error)
        if isinstance(decision, logic.Applied):
            self.tickets[ticket_id] = decision.ticket
            self.events += decision.events
        return TicketReply(ok=True, ticket=self.tickets[ticket_id])


class FakeTicketViews:
    def __init__(self) -> None:
        self.views: dict[str, TicketSummary] = {}

    async def save_if_newer(
        self, ticket_id: str, build: Callable[[TicketSummary | None], TicketSummary | None]
    ) -> bool:
        view = build(self.views.get(ticket_id))
        if view is None:
            return False
        self.views[ticket_id] = view
        return True

    async def find(
        self,
        user_id: str | None = None,
        statuses: list[TicketStatus] | None = None,
        priority: TicketPriority | None = None,
        type_: TicketType | None = None,
        assigned_to: str | None = None,
    ) -> list[TicketSummary]:
        found = [
            v
            for v in self.views.values()
            if (user_id is None or v.user_id == user_id)
            and (not statuses or v.status in statuses)
            and (priority is None or v.priority == priority)
            and (type_ is None or v.type == type_)
            and (assigned_to is None or v.assigned_to == assigned_to)
        ]
        return sorted(found, key=lambda v: (v.created_at, v.ticket_id), reverse=True)


class FakeSequences:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    async def next(self, name: str) -> int:
        self.values[name] = self.values.get(name, 0) + 1
        return self.values[name]
