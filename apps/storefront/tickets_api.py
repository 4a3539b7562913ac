"""Customer requests (tickets) through the gateway, served by `backoffice`.

Customers open a request about one of their orders (a guest order: with its email), list
theirs, read one and reply (`/api/tickets*`, `/api/users/me/tickets`); staff work them
(seed 004's `/api/staff/tickets*`). The gateway checks the role here and the back office
checks it again from the signed context; someone else's ticket is a 404.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.names import AppId
from apps.contracts.tickets import (
    AssignIn,
    OpenTicketIn,
    ReplyIn,
    StaffResponseIn,
    StatusIn,
    Ticket,
    TicketPage,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from apps.platform.params import IdempotencyKey, Limit, Page
from apps.storefront.adapters import forward, idempotency_header
from apps.storefront.auth import Customer, Staff
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api", responses=ERRORS)

TicketId = Annotated[str, Path(pattern=r"^tkt-[A-Za-z0-9]{1,64}$")]


@router.post("/tickets", status_code=201, response_model=Ticket, tags=["tickets"])
async def open_ticket(
    body: OpenTicketIn, request: Request, customer: Customer, key: IdempotencyKey = None
) -> Response:
    """Open a request about one of your orders (404 if the order is not yours). The same
    `Idempotency-Key` opens it once."""
    return await forward(
        request,
        AppId.BACKOFFICE,
        "tickets",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.get("/users/me/tickets", response_model=TicketPage, tags=["tickets"])
async def my_tickets(
    request: Request, customer: Customer, page: Page = 1, limit: Limit = 20
) -> Response:
    """Your requests, newest first."""
    return await forward(
        request, AppId.BACKOFFICE, "tickets", params={"page": page, "limit": limit}
    )


@router.get("/tickets/{ticket_id}", response_model=Ticket, tags=["tickets"])
async def my_ticket(ticket_id: TicketId, request: Request, customer: Customer) -> Response:
    """One of your requests with its conversation (staff's internal notes are not shown)."""
    return await forward(request, AppId.BACKOFFICE, f"tickets/{ticket_id}")


@router.post("/tickets/{ticket_id}/messages", response_model=Ticket, tags=["tickets"])
async def reply(
    ticket_id: TicketId,
    body: ReplyIn,
    request: Request,
    customer: Customer,
    key: IdempotencyKey = None,
) -> Response:
    """Answer staff (a resolved request is reopened; a closed one is a 409)."""
    return await forward(
        request,
        AppId.BACKOFFICE,
        f"tickets/{ticket_id}/messages",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.get("/staff/tickets", response_model=TicketPage, tags=["staff"])
async def staff_tickets(
    request: Request,
    staff: Staff,
    status: Annotated[list[TicketStatus] | None, Query(max_length=5)] = None,
    priority: TicketPriority | None = None,
    type: TicketType | None = None,
    assigned_to: Annotated[str | None, Query(max_length=120)] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    """All requests, newest first; by status (one or more), priority, type, assignee."""
    params: dict[str, Any] = {"page": page, "limit": limit}
    if status:
        params["status"] = [s.value for s in status]
    if priority:
        params["priority"] = priority.value
    if type:
        params["type"] = type.value
    if assigned_to:
        params["assigned_to"] = assigned_to
    return await forward(request, AppId.BACKOFFICE, "staff/tickets", params=params)


@router.get("/staff/tickets/{ticket_id}", response_model=Ticket, tags=["staff"])
async def staff_ticket(ticket_id: TicketId, request: Request, staff: Staff) -> Response:
    """The request with every message, internal notes included, and its SLA."""
    return await forward(request, AppId.BACKOFFICE, f"staff/tickets/{ticket_id}")


@router.put("/staff/tickets/{ticket_id}/status", response_model=Ticket, tags=["staff"])
async def staff_status(
    ticket_id: TicketId,
    body: StatusIn,
    request: Request,
    staff: Staff,
    key: IdempotencyKey = None,
) -> Response:
    """Move the request (409 for a change the state machine does not allow)."""
    return await forward(
        request,
        AppId.BACKOFFICE,
        f"staff/tickets/{ticket_id}/status",
        method="PUT",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.put("/staff/tickets/{ticket_id}/assign", response_model=Ticket, tags=["staff"])
async def staff_assign(
    ticket_id: TicketId,
    body: AssignIn,
    request: Request,
    staff: Staff,
    key: IdempotencyKey = None,
) -> Response:
    return await forward(
        request,
        AppId.BACKOFFICE,
        f"staff/tickets/{ticket_id}/assign",
        method="PUT",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.post("/staff/tickets/{ticket_id}/response", response_model=Ticket, tags=["staff"])
async def staff_respond(
    ticket_id: TicketId,
    body: StaffResponseIn,
    request: Request,
    staff: Staff,
    key: IdempotencyKey = None,
) -> Response:
    """Answer the customer (emailed to them) or leave an `internal_note` (not shown)."""
    return await forward(
        request,
        AppId.BACKOFFICE,
        f"staff/tickets/{ticket_id}/response",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )
