"""Ticket routes of the back office (through Dapr; the gateway's `/api/tickets*`,
`/api/users/me/tickets` and `/api/staff/tickets*` forward here) and its support-events
subscriber that keeps the list view.

The gateway checks the role; this app checks it again from the signed context (a call that
reached the app any other way is refused): staff routes need staff (403), customer routes a
signed-in caller (401), and a ticket is only its owner's (others: 404).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request

from apps.backoffice.tickets import TicketsService
from apps.contracts.errors import Unauthorized
from apps.contracts.tickets import (
    AssignIn,
    OpenTicketIn,
    ReplyIn,
    StaffResponseIn,
    StatusIn,
    Ticket,
    TicketCreated,
    TicketPage,
    TicketPriority,
    TicketResolved,
    TicketStatus,
    TicketType,
    TicketUpdated,
)
from apps.platform.context import CONTEXT_HEADER
from apps.platform.dapr import forwarded_headers
from apps.platform.http import app_state
from apps.platform.params import IdempotencyKey, Limit, Page
from apps.platform.roles import SignedCaller, StaffId
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["tickets"])

Service = Annotated[TicketsService, Depends(app_state("tickets"))]
TicketIdPath = Annotated[str, Path(pattern=r"^tkt-[A-Za-z0-9]{1,64}$")]
Context = Annotated[str | None, Header(alias=CONTEXT_HEADER)]


async def customer(who: SignedCaller) -> str:
    """The signed-in caller's user id."""
    if not who.signed_in or not who.user_id:
        raise Unauthorized("Sign in to see your requests")
    return who.user_id


#: The caller's user id, from the signed context.
Customer = Annotated[str, Depends(customer)]
Staff = StaffId


# -- customer ---------------------------------------------------------------------------------
@router.post("/tickets", status_code=201, response_model=Ticket)
async def open_ticket(
    body: OpenTicketIn,
    request: Request,
    service: Service,
    who: Customer,
    key: IdempotencyKey = None,
    context: Context = None,
) -> Ticket:
    headers = {**forwarded_headers(request.headers), CONTEXT_HEADER: context or ""}
    correlation = request.headers.get("X-Correlation-ID") or request.headers.get(
        "X-Request-ID", "tickets"
    )
    return await service.open(who, body, key, correlation[:200], headers)


@router.get("/tickets", response_model=TicketPage)
async def my_tickets(
    service: Service, who: Customer, page: Page = 1, limit: Limit = 20
) -> TicketPage:
    return await service.mine(who, page, limit)


@router.get("/tickets/{ticket_id}", response_model=Ticket)
async def my_ticket(ticket_id: TicketIdPath, service: Service, who: Customer) -> Ticket:
    return await service.get_own(ticket_id, who)


@router.post("/tickets/{ticket_id}/messages", response_model=Ticket)
async def reply(
    ticket_id: TicketIdPath,
    body: ReplyIn,
    service: Service,
    who: Customer,
    key: IdempotencyKey = None,
) -> Ticket:
    return await service.reply(ticket_id, who, body, key)


# -- staff ----------------------------------------------------------------------------------
@router.get("/staff/tickets", response_model=TicketPage)
async def staff_tickets(
    service: Service,
    who: Staff,
    status: Annotated[list[TicketStatus] | None, Query(max_length=5)] = None,
    priority: TicketPriority | None = None,
    type: TicketType | None = None,
    assigned_to: Annotated[str | None, Query(max_length=120)] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> TicketPage:
    return await service.staff_list(status, priority, type, assigned_to, page, limit)


@router.get("/staff/tickets/{ticket_id}", response_model=Ticket)
async def staff_ticket(ticket_id: TicketIdPath, service: Service, who: Staff) -> Ticket:
    return await service.staff_get(ticket_id)


@router.put("/staff/tickets/{ticket_id}/status", response_model=Ticket)
async def staff_status(
    ticket_id: TicketIdPath,
    body: StatusIn,
    service: Service,
    who: Staff,
    key: IdempotencyKey = None,
) -> Ticket:
    return await service.set_status(ticket_id, who, body, key)


@router.put("/staff/tickets/{ticket_id}/assign", response_model=Ticket)
async def staff_assign(
    ticket_id: TicketIdPath,
    body: AssignIn,
    service: Service,
    who: Staff,
    key: IdempotencyKey = None,
) -> Ticket:
    return await service.assign(ticket_id, who, body, key)


@router.post("/staff/tickets/{ticket_id}/response", response_model=Ticket)
async def staff_respond(
    ticket_id: TicketIdPath,
    body: StaffResponseIn,
    service: Service,
    who: Staff,
    key: IdempotencyKey = None,
) -> Ticket:
    return await service.respond(ticket_id, who, body, key)


# -- the list view --------------------------------------------------------------------------
async def on_support_events(
    request: Request, cloud_event: Annotated[dict[str, Any], Body()]
) -> dict[str, str]:
    service: TicketsService = request.app.state.tickets
    return await dispatch(
        cloud_event,
        {cls.EVENT_TYPE: service.apply for cls in (TicketCreated, TicketUpdated, TicketResolved)},
    )
