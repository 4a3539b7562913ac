"""`/api/users/me/notifications`: the emails sent to the signed-in customer (and those their
preferences held back), served by `notifications`. The user id sent on is the verified
token's, never the request's."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from apps.contracts.names import AppId
from apps.contracts.notifications import NotificationPage
from apps.platform.params import Limit, Page
from apps.platform.urls import segment
from apps.storefront.adapters import forward
from apps.storefront.auth import Customer
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api", responses=ERRORS)


@router.get("/users/me/notifications", response_model=NotificationPage, tags=["users"])
async def my_notifications(
    request: Request, customer: Customer, page: Page = 1, limit: Limit = 20
) -> Response:
    """Newest first: kind, subject, status (`sent`, `pending` while the mail server is
    unreachable, `skipped` by your preferences), when it was sent and the order it is about."""
    return await forward(
        request,
        AppId.NOTIFICATIONS,
        f"users/{segment(str(customer.user_id))}/notifications",
        params={"page": page, "limit": limit},
    )
