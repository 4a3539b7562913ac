"""Staff's promo codes through the gateway, served by `checkout` (which keeps the codes and
counts their use): list with use so far and what remains, read, create, edit (`If-Match`),
pause and resume. A paused or expired code is refused by the cart's and checkout's quotes
and by the checkout saga. The gateway checks the role; checkout checks it again from the
signed context."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response

from apps.contracts.cart import PromoCode
from apps.contracts.names import AppId
from apps.contracts.promotions import Promotion, PromotionIn, PromotionList, PromotionTermsIn
from apps.platform.params import IdempotencyKey
from apps.storefront.adapters import forward, idempotency_header
from apps.storefront.auth import Staff
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api/staff/promotions", responses=ERRORS, tags=["staff"])

CodePath = Annotated[PromoCode, Path()]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=200)]


@router.get("", response_model=PromotionList)
async def list_promotions(request: Request, staff: Staff) -> Response:
    """Every code (shipped and staff's) with its status, use so far and what remains."""
    return await forward(request, AppId.CHECKOUT, "staff/promotions")


@router.post("", status_code=201, response_model=Promotion)
async def create_promotion(
    body: PromotionIn, request: Request, staff: Staff, key: IdempotencyKey = None
) -> Response:
    """A new code, kept in capitals (409 if it exists, in any case, unless this request with
    the same `Idempotency-Key` created it: then its first answer). A percentage is at most
    100, `ends_at` after `starts_at`, the per-customer limit at most the total (422)."""
    return await forward(
        request,
        AppId.CHECKOUT,
        "staff/promotions",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.get("/{code}", response_model=Promotion)
async def get_promotion(code: CodePath, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.CHECKOUT, f"staff/promotions/{code}")


@router.put("/{code}", response_model=Promotion)
async def edit_promotion(
    code: CodePath,
    body: PromotionTermsIn,
    request: Request,
    staff: Staff,
    if_match: IfMatch = None,
) -> Response:
    """New terms; `If-Match` must name the code's current `ETag` (400 without, 409 stale).
    Pausing is left as it is (see pause and resume)."""
    return await forward(
        request,
        AppId.CHECKOUT,
        f"staff/promotions/{code}",
        method="PUT",
        body=body.model_dump(mode="json"),
        extra_headers={"If-Match": if_match} if if_match else None,
    )


@router.post("/{code}/pause", response_model=Promotion)
async def pause_promotion(code: CodePath, request: Request, staff: Staff) -> Response:
    """Refuse the code from now on (quotes and new orders) until resumed; idempotent."""
    return await forward(request, AppId.CHECKOUT, f"staff/promotions/{code}/pause", method="POST")


@router.post("/{code}/resume", response_model=Promotion)
async def resume_promotion(code: CodePath, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.CHECKOUT, f"staff/promotions/{code}/resume", method="POST")
