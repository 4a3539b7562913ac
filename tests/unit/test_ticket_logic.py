"""The ticket state machine: legal and illegal status changes, who moves it where, retries,
the events, SLA deadlines per priority and a breach escalating once."""

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from actors.ticket import logic
from apps.contracts.notifications import NotificationKind
from apps.contracts.tickets import (
    AssignTicket,
    CreateTicket,
    CustomerReply,
    SetStatus,
    SlaTarget,
    StaffResponse,
    Ticket,
    TicketChange,
    TicketCreated,
    TicketPriority,
    TicketResolved,
    TicketStatus,
    TicketUpdated,
)
from apps.notifications.domain import kind_for

S = TicketStatus
P = TicketPriority
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = logic.SlaPolicy(
    first_response={P.LOW: 24 * H, P.MEDIUM: 8 * H, P.HIGH: 4 * H, P.URGENT: 1 * H},
    resolution={P.LOW: 120 * H, P.MEDIUM: 72 * H, P.HIGH: 24 * H, P.URGENT: 8 * H},
)
LEGAL = {
    (S.OPEN, S.PENDING_CUSTOMER),
    (S.OPEN, S.PENDING_STAFF),
    (S.OPEN, S.RESOLVED),
    (S.OPEN, S.CLOSED),
    (S.PENDING_CUSTOMER, S.PENDING_STAFF),
    (S.PENDING_CUSTOMER, S.RESOLVED),
    (S.PENDING_CUSTOMER, S.CLOSED),
    (S.PENDING_STAFF, S.PENDING_CUSTOMER),
    (S.PENDING_STAFF, S.RESOLVED),
    (S.PENDING_STAFF, S.CLOSED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.OPEN),
    (S.RESOLVED, S.PENDING_STAFF),
}


def opened(priority: P = P.MEDIUM, at: datetime = NOW) -> Ticket:
    cmd = CreateTicket(
        ticket_id="tkt-1",
        ticket_number="SC-T-2026-000001",
        user_id="u-1",
        email="a@example.com",
        order_id="ord-1",
        order_number="SC-2026-000001",
        subject="Dented box",
        description="It arrived dented",
        priority=priority,
        correlation_id="c-1",
    )
    return logic.create(cmd, POLICY, at).ticket


def applied(decision: logic.Decision) -> logic.Applied:
    assert isinstance(decision, logic.Applied), decision
    return decision


def status(ticket: Ticket, to: S, rid: str = "req-status-1") -> logic.Decision:
    return logic.set_status(
        ticket, SetStatus(request_id=rid, staff_id="s-1", status=to), POLICY, NOW
    )


def in_status(current: S) -> Ticket:
    return opened().model_copy(update={"status": current})


def test_create_opens_with_the_first_message_and_deadlines_from_its_priority() -> None:
    result = logic.create(
        CreateTicket(
            ticket_id="tkt-1",
            ticket_number="SC-T-2026-000001",
            user_id="u-1",
            email="a@example.com",
            order_id="ord-1",
            subject="s",
            description="d",
            priority=P.HIGH,
            correlation_id="c",
        ),
        POLICY,
        NOW,
    )
    ticket = result.ticket
    assert ticket.status is S.OPEN and ticket.version == 1
    assert [m.message for m in ticket.messages] == ["d"]
    assert ticket.sla.first_response_due == NOW + 4 * H
    assert ticket.sla.resolution_due == NOW + 24 * H
    (event,) = result.events
    assert isinstance(event, TicketCreated) and event.change is TicketChange.CREATED
    assert logic.event_id(event) == "tkt-1:1"


@pytest.mark.parametrize(("current", "to"), list(product(S, S)))
def test_every_status_change(current: S, to: S) -> None:
    decision = status(in_status(current), to)
    if current == to:
        assert applied(decision).events == []
    elif (current, to) in LEGAL:
        result = applied(decision)
        assert result.ticket.status is to
        (event,) = result.events
        assert event.previous_status is current
        assert isinstance(event, TicketResolved if to is S.RESOLVED else TicketUpdated)
    else:
        assert isinstance(decision, logic.Rejected)
        assert decision.error.code == "CONFLICT"


def test_staff_answer_waits_for_the_customer_and_meets_first_response() -> None:
    cmd = StaffResponse(request_id="req-resp-1", staff_id="s-1", message="We are on it")
    result = applied(logic.respond(opened(), cmd, NOW + H))
    assert result.ticket.status is S.PENDING_CUSTOMER
    assert result.ticket.first_response_at == NOW + H
    assert result.ticket.assigned_to == "s-1"
    (event,) = result.events
    assert event.change is TicketChange.STAFF_RESPONDED and event.message == "We are on it"
    assert (
        kind_for(event.EVENT_TYPE, event.model_dump(mode="json")) is NotificationKind.TICKET_REPLY
    )


def test_an_internal_note_changes_nothing_the_customer_sees() -> None:
    cmd = StaffResponse(request_id="req-note-1", staff_id="s-1", message="VIP", internal_note=True)
    result = applied(logic.respond(opened(), cmd, NOW))
    assert result.ticket.status is S.OPEN and result.ticket.first_response_at is None
    assert result.ticket.messages[-1].is_internal
    (event,) = result.events
    assert event.message == "" and event.message_count == 1
    assert kind_for(event.EVENT_TYPE, event.model_dump(mode="json")) is None


def test_customer_reply_waits_for_staff_and_reopens_a_resolved_ticket() -> None:
    answered = applied(
        logic.respond(
            opened(), StaffResponse(request_id="req-resp-2", staff_id="s", message="m"), NOW
        )
    ).ticket
    cmd = CustomerReply(request_id="req-cust-1", user_id="u-1", message="still broken")
    assert applied(logic.reply(answered, cmd, POLICY, NOW)).ticket.status is S.PENDING_STAFF
    resolved = applied(status(answered, S.RESOLVED)).ticket
    assert resolved.resolved_at == NOW
    later = NOW + 100 * H
    reopened = applied(logic.reply(resolved, cmd, POLICY, later)).ticket
    assert reopened.status is S.PENDING_STAFF and reopened.resolved_at is None
    assert reopened.sla.resolution_due == later + 72 * H
    closed = applied(status(resolved, S.CLOSED, "req-close-1")).ticket
    assert isinstance(logic.reply(closed, cmd, POLICY, NOW), logic.Rejected)


def test_a_retried_command_applies_once() -> None:
    cmd = CustomerReply(request_id="req-same-1", user_id="u-1", message="hello")
    once = applied(logic.reply(opened(), cmd, POLICY, NOW)).ticket
    again = logic.reply(once, cmd, POLICY, NOW)
    assert isinstance(again, logic.Unchanged) and again.ticket == once
    assign = AssignTicket(request_id="req-assign-1", staff_id="s-1", assignee="s-2")
    assigned = applied(logic.assign(once, assign, NOW)).ticket
    assert assigned.assigned_to == "s-2"
    assert isinstance(logic.assign(assigned, assign, NOW), logic.Unchanged)


def test_deadlines_follow_what_is_still_open() -> None:
    ticket = opened(P.URGENT)
    assert logic.next_deadline(ticket) == NOW + 1 * H
    answered = ticket.model_copy(update={"first_response_at": NOW})
    assert logic.next_deadline(answered) == NOW + 8 * H
    resolved = answered.model_copy(update={"status": S.RESOLVED})
    assert logic.next_deadline(resolved) is None


def test_nothing_is_breached_before_its_deadline() -> None:
    ticket = opened(P.LOW)
    assert isinstance(
        logic.check_sla(ticket, NOW + 24 * H - timedelta(seconds=1), None), logic.Unchanged
    )


def test_a_breach_escalates_once_and_tells_staff() -> None:
    ticket = opened(P.LOW)
    at = NOW + 24 * H
    result = applied(logic.check_sla(ticket, at, "support@example.com"))
    assert result.ticket.priority is P.MEDIUM
    (event,) = result.events
    assert event.change is TicketChange.SLA_BREACHED and event.staff_email == "support@example.com"
    assert event.breach is not None and event.breach.target is SlaTarget.FIRST_RESPONSE
    assert event.breach.priority_before is P.LOW and event.breach.priority_after is P.MEDIUM
    data = event.model_dump(mode="json")
    assert kind_for(event.EVENT_TYPE, data) is NotificationKind.TICKET_SLA_BREACHED
    # The reminder firing again (a retry, a restart) finds it breached: nothing more.
    assert isinstance(
        logic.check_sla(result.ticket, at + H, "support@example.com"), logic.Unchanged
    )
    assert logic.next_deadline(result.ticket) == NOW + 120 * H


def test_both_targets_passed_are_two_breaches_two_steps_two_events() -> None:
    ticket = opened(P.MEDIUM)
    result = applied(logic.check_sla(ticket, NOW + 200 * H, None))
    assert result.ticket.priority is P.URGENT
    assert [e.breach.target for e in result.events if e.breach] == [
        SlaTarget.FIRST_RESPONSE,
        SlaTarget.RESOLUTION,
    ]
    assert len({logic.event_id(e) for e in result.events}) == 2
    assert logic.next_deadline(result.ticket) is None


def test_urgent_stays_urgent_and_a_met_target_is_not_breached() -> None:
    ticket = opened(P.URGENT).model_copy(update={"first_response_at": NOW})
    result = applied(logic.check_sla(ticket, NOW + 8 * H, None))
    (event,) = result.events
    assert event.breach is not None and event.breach.target is SlaTarget.RESOLUTION
    assert result.ticket.priority is P.URGENT
