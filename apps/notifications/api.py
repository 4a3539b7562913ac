"""Routes of the notifications app (reached only through Dapr service invocation) and its
subscriptions (order, payment, shipping, support and user events)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Request

from apps.contracts.errors import NotFound
from apps.contracts.events import EventEnvelope
from apps.contracts.identity import Role
from apps.contracts.notifications import NotificationPage
from apps.notifications.domain import HANDLED_EVENTS
from apps.notifications.service import NotificationService
from apps.platform.context import CONTEXT_HEADER, verify_context
from apps.platform.http import app_state
from apps.platform.params import Limit, Page
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["notifications"])

Service = Annotated[NotificationService, Depends(app_state("service"))]
UserPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]


async def vouched_owner(
    request: Request,
    user_id: UserPath,
    context: Annotated[str | None, Header(alias=CONTEXT_HEADER)] = None,
) -> str:
    """The path's user, if the gateway's signed context is that user or staff; anyone else
    sees the same 404 as a user with no history."""
    who = verify_context(context, await request.app.state.context_key.get())
    if who.user_id == user_id or who.role.at_least(Role.STAFF):
        return user_id
    raise NotFound("No notifications found")


@router.get("/users/{user_id}/notifications", response_model=NotificationPage)
async def notifications(
    owner: Annotated[str, Depends(vouched_owner)],
    service: Service,
    page: Page = 1,
    limit: Limit = 20,
) -> NotificationPage:
    """What was sent to (or held back from) the customer, newest first."""
    return await service.history(owner, page, limit)


async def _handle(request: Request, cloud_event: dict[str, Any]) -> dict[str, str]:
    service: NotificationService = request.app.state.service

    async def handler(event: EventEnvelope) -> None:
        await service.handle(event)

    return await dispatch(cloud_event, dict.fromkeys(HANDLED_EVENTS, handler))


CloudEvent = Annotated[dict[str, Any], Body(...)]


async def on_order_events(request: Request, cloud_event: CloudEvent) -> dict[str, str]:
    return await _handle(request, cloud_event)


async def on_payment_events(request: Request, cloud_event: CloudEvent) -> dict[str, str]:
    return await _handle(request, cloud_event)


async def on_shipping_events(request: Request, cloud_event: CloudEvent) -> dict[str, str]:
    return await _handle(request, cloud_event)


async def on_support_events(request: Request, cloud_event: CloudEvent) -> dict[str, str]:
    """No support event asks for an email yet (backoffice publishes none); acknowledged."""
    return await _handle(request, cloud_event)


async def on_user_events(request: Request, cloud_event: CloudEvent) -> dict[str, str]:
    return await _handle(request, cloud_event)
