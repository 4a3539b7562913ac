"""The ticket state machine, pure: which change is legal, which event it emits, and when the
SLA targets are breached.

No Dapr, no clocks (the caller passes `now`), no I/O. A change returns `Applied` (the new
ticket and its event), `Unchanged` (the same request id was applied already: a retry) or
`Rejected`.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apps.contracts.tickets import (
    AssignTicket,
    AuthorType,
    CreateTicket,
    CustomerReply,
    SetStatus,
    Sla,
    SlaBreach,
    SlaTarget,
    StaffResponse,
    Ticket,
    TicketChange,
    TicketCreated,
    TicketError,
    TicketEventData,
    TicketMessage,
    TicketPriority,
    TicketResolved,
    TicketStatus,
    TicketUpdated,
)

S = TicketStatus
P = TicketPriority

#: Legal status changes. A resolved ticket is reopened (to `open` by staff, to
#: `pending_staff` by a customer's reply) or closed; a closed ticket stays closed.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.OPEN: frozenset({S.PENDING_CUSTOMER, S.PENDING_STAFF, S.RESOLVED, S.CLOSED}),
    S.PENDING_CUSTOMER: frozenset({S.PENDING_STAFF, S.RESOLVED, S.CLOSED}),
    S.PENDING_STAFF: frozenset({S.PENDING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.CLOSED, S.OPEN, S.PENDING_STAFF}),
    S.CLOSED: frozenset(),
}
DONE = frozenset({S.RESOLVED, S.CLOSED})
#: One step up per breach, never past urgent.
ESCALATE: dict[TicketPriority, TicketPriority] = {
    P.LOW: P.MEDIUM,
    P.MEDIUM: P.HIGH,
    P.HIGH: P.URGENT,
    P.URGENT: P.URGENT,
}
APPLIED_KEPT = 100


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per priority: the first staff answer and the resolution."""

    first_response: dict[TicketPriority, timedelta]
    resolution: dict[TicketPriority, timedelta]


@dataclass(frozen=True)
class Applied:
    ticket: Ticket
    events: list[TicketEventData] = field(default_factory=list)


@dataclass(frozen=True)
class Unchanged:
    ticket: Ticket


@dataclass(frozen=True)
class Rejected:
    error: TicketError


Decision = Applied | Unchanged | Rejected


def create(cmd: CreateTicket, policy: SlaPolicy, now: datetime) -> Applied:
    first = TicketMessage(
        message_id=f"{cmd.ticket_id}:m1",
        author_id=cmd.user_id,
        author_type=AuthorType.CUSTOMER,
        message=cmd.description,
        created_at=now,
    )
    ticket = Ticket(
        id=cmd.ticket_id,
        ticket_id=cmd.ticket_id,
        ticket_number=cmd.ticket_number,
        user_id=cmd.user_id,
        email=cmd.email,
        order_id=cmd.order_id,
        order_number=cmd.order_number,
        type=cmd.type,
        subject=cmd.subject,
        description=cmd.description,
        status=S.OPEN,
        priority=cmd.priority,
        category=cmd.category,
        messages=[first],
        tags=cmd.tags,
        created_at=now,
        updated_at=now,
        sla=Sla(
            first_response_due=now + policy.first_response[cmd.priority],
            resolution_due=now + policy.resolution[cmd.priority],
        ),
        correlation_id=cmd.correlation_id,
        version=1,
    )
    return Applied(ticket, [event(TicketCreated, ticket, None, TicketChange.CREATED, first)])


def can_transition(current: TicketStatus, to: TicketStatus) -> bool:
    return to in TRANSITIONS[current]


def reply(ticket: Ticket, cmd: CustomerReply, policy: SlaPolicy, now: datetime) -> Decision:
    """The customer writes: waiting for staff again (a resolved ticket is reopened)."""
    if cmd.request_id in ticket.applied:
        return Unchanged(ticket)
    if ticket.status is S.CLOSED:
        return _conflict(ticket, "A closed request cannot be answered; open a new one")
    msg = _message(ticket, cmd.user_id, AuthorType.CUSTOMER, cmd.message, False, now)
    to = ticket.status if ticket.status is S.OPEN else S.PENDING_STAFF
    updated = _next(ticket, cmd.request_id, now, status=to, messages=[*ticket.messages, msg])
    if ticket.status is S.RESOLVED:
        updated = _reopened(updated, policy, now)
    return Applied(
        updated,
        [event(TicketUpdated, updated, ticket.status, TicketChange.CUSTOMER_REPLIED, msg)],
    )


def respond(ticket: Ticket, cmd: StaffResponse, now: datetime) -> Decision:
    """Staff answer (waiting for the customer; the first answer meets the first-response
    target) or leave an internal note (nothing changes for the customer)."""
    if cmd.request_id in ticket.applied:
        return Unchanged(ticket)
    if ticket.status is S.CLOSED:
        return _conflict(ticket, "A closed request cannot be answered")
    msg = _message(ticket, cmd.staff_id, AuthorType.STAFF, cmd.message, cmd.internal_note, now)
    if cmd.internal_note:
        updated = _next(ticket, cmd.request_id, now, messages=[*ticket.messages, msg])
        return Applied(
            updated, [event(TicketUpdated, updated, ticket.status, TicketChange.INTERNAL_NOTE)]
        )
    to = ticket.status if ticket.status is S.RESOLVED else S.PENDING_CUSTOMER
    updated = _next(
        ticket,
        cmd.request_id,
        now,
        status=to,
        messages=[*ticket.messages, msg],
        first_response_at=ticket.first_response_at or now,
        assigned_to=ticket.assigned_to or cmd.staff_id,
    )
    return Applied(
        updated,
        [event(TicketUpdated, updated, ticket.status, TicketChange.STAFF_RESPONDED, msg)],
    )


def set_status(ticket: Ticket, cmd: SetStatus, policy: SlaPolicy, now: datetime) -> Decision:
    if cmd.request_id in ticket.applied:
        return Unchanged(ticket)
    if cmd.status == ticket.status:
        return Applied(_next(ticket, cmd.request_id, now, bump=False))
    if not can_transition(ticket.status, cmd.status):
        return _conflict(
            ticket,
            f"A request in status '{ticket.status}' cannot move to '{cmd.status}'",
            allowed=sorted(TRANSITIONS[ticket.status]),
        )
    changes: dict[str, Any] = {"status": cmd.status}
    if cmd.status is S.RESOLVED:
        changes["resolved_at"] = now
        changes["resolution"] = cmd.resolution or ticket.resolution
    updated = _next(ticket, cmd.request_id, now, **changes)
    if ticket.status is S.RESOLVED and cmd.status not in DONE:
        updated = _reopened(updated, policy, now)
    cls = TicketResolved if cmd.status is S.RESOLVED else TicketUpdated
    return Applied(updated, [event(cls, updated, ticket.status, TicketChange.STATUS_CHANGED)])


def assign(ticket: Ticket, cmd: AssignTicket, now: datetime) -> Decision:
    if cmd.request_id in ticket.applied:
        return Unchanged(ticket)
    if ticket.status is S.CLOSED:
        return _conflict(ticket, "A closed request cannot be assigned")
    if ticket.assigned_to == cmd.assignee:
        return Applied(_next(ticket, cmd.request_id, now, bump=False))
    updated = _next(ticket, cmd.request_id, now, assigned_to=cmd.assignee)
    return Applied(updated, [event(TicketUpdated, updated, ticket.status, TicketChange.ASSIGNED)])


# -- SLA ---------------------------------------------------------------------------------------
def _breached(ticket: Ticket, target: SlaTarget, due: datetime) -> bool:
    return any(b.target is target and b.due_at == due for b in ticket.sla.breaches)


def open_deadlines(ticket: Ticket) -> list[tuple[SlaTarget, datetime]]:
    """Targets not met yet and not yet breached (each deadline is breached at most once)."""
    found: list[tuple[SlaTarget, datetime]] = []
    if ticket.status is S.CLOSED:
        return found
    due = ticket.sla.first_response_due
    if ticket.first_response_at is None and not _breached(ticket, SlaTarget.FIRST_RESPONSE, due):
        found.append((SlaTarget.FIRST_RESPONSE, due))
    due = ticket.sla.resolution_due
    if ticket.status not in DONE and not _breached(ticket, SlaTarget.RESOLUTION, due):
        found.append((SlaTarget.RESOLUTION, due))
    return found


def next_deadline(ticket: Ticket) -> datetime | None:
    """When the SLA reminder should fire next (None: nothing left to watch)."""
    deadlines = [due for _, due in open_deadlines(ticket)]
    return min(deadlines) if deadlines else None


def check_sla(ticket: Ticket, now: datetime, staff_email: str | None) -> Decision:
    """What the SLA reminder does: each deadline passed and not met is a breach, once:
    the priority goes one step up and staff are told (an event per breach)."""
    due_now = [(target, due) for target, due in open_deadlines(ticket) if due <= now]
    if not due_now:
        return Unchanged(ticket)
    events: list[TicketEventData] = []
    current = ticket
    for target, due in sorted(due_now, key=lambda td: td[1]):
        after = ESCALATE[current.priority]
        breach = SlaBreach(
            target=target,
            due_at=due,
            at=now,
            priority_before=current.priority,
            priority_after=after,
        )
        current = _next(
            current,
            None,
            now,
            priority=after,
            sla=current.sla.model_copy(update={"breaches": [*current.sla.breaches, breach]}),
        )
        events.append(
            event(
                TicketUpdated,
                current,
                current.status,
                TicketChange.SLA_BREACHED,
                breach=breach,
                staff_email=staff_email,
            )
        )
    return Applied(current, events)


def _reopened(ticket: Ticket, policy: SlaPolicy, now: datetime) -> Ticket:
    """A reopened request gets a new resolution deadline (from its priority now)."""
    sla = ticket.sla.model_copy(update={"resolution_due": now + policy.resolution[ticket.priority]})
    return ticket.model_copy(update={"sla": sla, "resolved_at": None})


# -- helpers -------------------------------------------------------------------------------------
def _message(
    ticket: Ticket, author: str, kind: AuthorType, text: str, internal: bool, now: datetime
) -> TicketMessage:
    return TicketMessage(
        message_id=f"{ticket.ticket_id}:m{len(ticket.messages) + 1}",
        author_id=author,
        author_type=kind,
        message=text,
        is_internal=internal,
        created_at=now,
    )


def _next(
    ticket: Ticket, request_id: str | None, now: datetime, bump: bool = True, **changes: object
) -> Ticket:
    applied = ticket.applied if request_id is None else [*ticket.applied, request_id]
    update: dict[str, object] = {**changes, "applied": applied[-APPLIED_KEPT:]}
    if bump:
        update["version"] = ticket.version + 1
        update["updated_at"] = now
    return ticket.model_copy(update=update)


def _conflict(ticket: Ticket, message: str, **details: object) -> Rejected:
    return Rejected(
        TicketError(
            code="CONFLICT", message=message, details={"status": ticket.status.value, **details}
        )
    )


def event_id(event: TicketEventData) -> str:
    """Deterministic per committed version (each event is its own version): a re-published
    event has the same id."""
    return f"{event.ticket_id}:{event.version}"


def event(
    cls: type[TicketEventData],
    ticket: Ticket,
    previous: TicketStatus | None,
    change: TicketChange,
    message: TicketMessage | None = None,
    breach: SlaBreach | None = None,
    staff_email: str | None = None,
) -> TicketEventData:
    return cls(
        ticket_id=ticket.ticket_id,
        ticket_number=ticket.ticket_number,
        user_id=ticket.user_id,
        email=ticket.email,
        order_id=ticket.order_id,
        order_number=ticket.order_number,
        type=ticket.type,
        subject=ticket.subject,
        status=ticket.status,
        previous_status=previous,
        priority=ticket.priority,
        assigned_to=ticket.assigned_to,
        change=change,
        message=message.message if message is not None and not message.is_internal else "",
        resolution=ticket.resolution,
        breach=breach,
        staff_email=staff_email,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        message_count=sum(1 for m in ticket.messages if not m.is_internal),
        version=ticket.version,
    )
