"""Tickets use cases over fakes of their ports: only an order's owner opens a request about
it, only the ticket's owner reads it (others: the 404 of a missing ticket), internal notes
stay with staff, the list view keeps the newest version, and the emails the events ask for."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from actors.ticket import logic
from apps.backoffice.tickets import TicketsService, ticket_id_for
from apps.contracts.errors import Conflict, NotFound
from apps.contracts.events import EventEnvelope
from apps.contracts.notifications import NotificationKind
from apps.contracts.tickets import (
    AssignIn,
    OpenTicketIn,
    ReplyIn,
    StaffResponseIn,
    StatusIn,
    TicketPriority,
    TicketStatus,
)
from apps.notifications.domain import RetryPolicy
from apps.notifications.render import render
from apps.notifications.service import Links, NotificationService
from tests.fakes.notifications import Contacts, DeadLetters, MemoryOutbox, Orders, RecordingMailer
from tests.fakes.tickets import (
    FakeOrder,
    FakeOrders,
    FakeSequences,
    FakeTicketActors,
    FakeTicketViews,
)

P = TicketPriority
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
POLICY = logic.SlaPolicy(first_response={p: 4 * H for p in P}, resolution={p: 24 * H for p in P})
GUEST_ORDER = FakeOrder("ord-g", "SC-2026-000007", "guest@example.com")
OWN_ORDER = FakeOrder("ord-u", "SC-2026-000008", "u1@example.com", user_id="u-1")


def setup() -> tuple[TicketsService, FakeTicketActors, FakeTicketViews]:
    actors, views = FakeTicketActors(POLICY, NOW), FakeTicketViews()
    svc = TicketsService(
        actors, views, FakeOrders(GUEST_ORDER, OWN_ORDER), FakeSequences(), clock=lambda: NOW
    )
    return svc, actors, views


def body(order_id: str = "ord-u", email: str | None = None) -> OpenTicketIn:
    return OpenTicketIn(order_id=order_id, email=email, subject="Dent", description="A dent")


async def project(svc: TicketsService, actors: FakeTicketActors) -> None:
    for event in actors.events:
        envelope = EventEnvelope.of(
            event, correlation_id="c", source="backoffice", event_id=logic.event_id(event)
        )
        await svc.apply(envelope)


def test_open_about_own_order_or_guest_order_with_its_email() -> None:
    svc, _, _ = setup()
    own = asyncio.run(svc.open("u-1", body(), "key-00000001", "c", {}))
    assert own.order_number == "SC-2026-000008" and own.email == "u1@example.com"
    assert own.ticket_number == "SC-T-2026-000001" and own.status is TicketStatus.OPEN
    guest = asyncio.run(svc.open("u-2", body("ord-g", "guest@example.com"), None, "c", {}))
    assert guest.user_id == "u-2" and guest.email == "guest@example.com"
    with pytest.raises(NotFound):
        asyncio.run(svc.open("u-2", body("ord-u"), None, "c", {}))
    with pytest.raises(NotFound):
        asyncio.run(svc.open("u-2", body("ord-g", "other@example.com"), None, "c", {}))


def test_the_same_idempotency_key_opens_one_ticket() -> None:
    svc, actors, _ = setup()
    first = asyncio.run(svc.open("u-1", body(), "key-00000001", "c", {}))
    again = asyncio.run(svc.open("u-1", body(), "key-00000001", "c", {}))
    assert first.ticket_id == again.ticket_id == ticket_id_for("u-1", "key-00000001")
    assert len(actors.tickets) == 1 and len(actors.events) == 1
    assert ticket_id_for("u-2", "key-00000001") != first.ticket_id


def test_only_the_owner_reads_and_replies_and_sees_no_internal_notes() -> None:
    svc, _, _ = setup()
    ticket = asyncio.run(svc.open("u-1", body(), None, "c", {}))
    note = StaffResponseIn(message="check fraud first", internal_note=True)
    asyncio.run(svc.respond(ticket.ticket_id, "s-1", note, None))
    asyncio.run(svc.respond(ticket.ticket_id, "s-1", StaffResponseIn(message="Sorry!"), None))
    mine = asyncio.run(svc.get_own(ticket.ticket_id, "u-1"))
    assert [m.message for m in mine.messages] == ["A dent", "Sorry!"]
    assert mine.status is TicketStatus.PENDING_CUSTOMER
    assert len(asyncio.run(svc.staff_get(ticket.ticket_id)).messages) == 3
    with pytest.raises(NotFound):
        asyncio.run(svc.get_own(ticket.ticket_id, "u-2"))
    with pytest.raises(NotFound):
        asyncio.run(svc.reply(ticket.ticket_id, "u-2", ReplyIn(message="hi"), None))
    replied = asyncio.run(svc.reply(ticket.ticket_id, "u-1", ReplyIn(message="ok"), None))
    assert replied.status is TicketStatus.PENDING_STAFF


def test_staff_status_assign_and_an_illegal_change_is_a_conflict() -> None:
    svc, _, _ = setup()
    ticket = asyncio.run(svc.open("u-1", body(), None, "c", {}))
    tid = ticket.ticket_id
    assert asyncio.run(svc.assign(tid, "s-1", AssignIn(staff_id="s-2"), None)).assigned_to == "s-2"
    closed = asyncio.run(svc.set_status(tid, "s-1", StatusIn(new_status=TicketStatus.CLOSED), None))
    assert closed.status is TicketStatus.CLOSED
    with pytest.raises(Conflict):
        asyncio.run(svc.set_status(tid, "s-1", StatusIn(new_status=TicketStatus.OPEN), None))
    with pytest.raises(NotFound):
        asyncio.run(svc.staff_get("tkt-missing"))


def test_the_list_view_keeps_the_newest_version_and_filters() -> None:
    svc, actors, views = setup()
    a = asyncio.run(svc.open("u-1", body(), None, "c", {}))
    b = asyncio.run(svc.open("u-2", body("ord-g", "guest@example.com"), None, "c", {}))
    asyncio.run(svc.assign(a.ticket_id, "s-1", AssignIn(staff_id="s-9"), None))
    asyncio.run(project(svc, actors))
    asyncio.run(project(svc, actors))  # redelivered, in order and out of order: no change
    asyncio.run(svc.apply(EventEnvelope.of(actors.events[0], correlation_id="c", source="b")))
    assert views.views[a.ticket_id].version == 2
    assert views.views[a.ticket_id].assigned_to == "s-9"
    assert [t.ticket_id for t in asyncio.run(svc.mine("u-2", 1, 20)).items] == [b.ticket_id]
    page = asyncio.run(svc.staff_list(None, None, None, "s-9", 1, 20))
    assert page.total == 1 and page.items[0].ticket_id == a.ticket_id
    assert asyncio.run(svc.staff_list([TicketStatus.OPEN], P.MEDIUM, None, None, 1, 1)).total == 2


def test_staff_answer_resolution_and_breach_emails() -> None:
    svc, actors, _ = setup()
    ticket = asyncio.run(svc.open("u-1", body(), None, "c", {}))
    breach = logic.check_sla(actors.tickets[ticket.ticket_id], NOW + 5 * H, "staff@example.com")
    assert isinstance(breach, logic.Applied)
    actors.tickets[ticket.ticket_id] = breach.ticket
    actors.events += breach.events
    asyncio.run(svc.respond(ticket.ticket_id, "s-1", StaffResponseIn(message="Refunding"), None))
    resolved = StatusIn(new_status=TicketStatus.RESOLVED, resolution="Refunded in full")
    asyncio.run(svc.set_status(ticket.ticket_id, "s-1", resolved, None))
    mailer = RecordingMailer()
    notifier = NotificationService(
        outbox=MemoryOutbox(),
        mailer=mailer,
        contacts=Contacts({}),
        orders=Orders({}),
        dead_letters=DeadLetters(),
        links=Links("https://shop.example/"),
        policy=RetryPolicy(),
    )
    for event in actors.events:
        envelope = EventEnvelope.of(
            event, correlation_id="c", source="backoffice", event_id=logic.event_id(event)
        )
        asyncio.run(notifier.handle(envelope))
    sent = [(to, subject) for to, subject, _, _ in mailer.sent]
    assert sent == [
        ("staff@example.com", "SLA breached (first response): SC-T-2026-000001 now high"),
        ("u1@example.com", "Re: Dent [SC-T-2026-000001]"),
        ("u1@example.com", "Resolved: Dent [SC-T-2026-000001]"),
    ]
    assert "Refunding" in mailer.sent[1][2] and "Refunded in full" in mailer.sent[2][2]


def test_ticket_templates_render_in_text_too() -> None:
    context = {
        "name": "",
        "ticket_number": "SC-T-2026-000001",
        "subject": "Dent <b>",
        "order_number": "SC-2026-000008",
        "status": "pending_customer",
        "priority": "high",
        "message": "We <b>will</b> refund",
        "resolution": "",
        "target": "first response",
        "due_at": NOW,
        "ticket_url": "https://shop.example/account/requests/tkt-1",
        "order_url": "https://shop.example/orders/ord-u",
        "base_url": "https://shop.example",
        "cart_url": "https://shop.example/cart",
    }
    reply = render(NotificationKind.TICKET_REPLY, context, "en")
    assert "We &lt;b&gt;will&lt;/b&gt; refund" in reply.html
    assert "We <b>will</b> refund" in reply.text
    breach = render(NotificationKind.TICKET_SLA_BREACHED, context, "en")
    assert "first response" in breach.text and "high" in breach.subject
