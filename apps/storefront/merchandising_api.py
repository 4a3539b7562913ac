"""Merchandising through the gateway (staff), served by `backoffice`: the restock list
(stock, low-stock alerts, forecast demand and a reorder quantity per SKU), price suggestions
staff apply or dismiss, and the fraud review queue (decisions stay on
`POST /api/staff/checkouts/{order_id}/review`). The gateway checks the role here and the
back office again from the signed context; every write lands in the audit log (an apply's
answer carries the previous and the applied price)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.catalog import Id, Sku
from apps.contracts.merchandising import (
    SUGGESTION_ID_PATTERN,
    FraudReviewPage,
    PriceDecisionIn,
    PriceSuggestion,
    PriceSuggestionIn,
    PriceSuggestionPage,
    RestockPage,
    ReviewState,
    SuggestionStatus,
)
from apps.contracts.names import AppId
from apps.platform.params import IdempotencyKey, Limit, Page, SmallLimit
from apps.storefront.adapters import forward, idempotency_header
from apps.storefront.auth import Staff
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api/staff", responses=ERRORS, tags=["staff"])

SuggestionId = Annotated[str, Path(pattern=SUGGESTION_ID_PATTERN)]


def _params(**values: object) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


@router.get("/merchandising/restock", response_model=RestockPage)
async def restock(
    request: Request,
    staff: Staff,
    alerts_only: bool = False,
    product_id: Annotated[Id | None, Query()] = None,
    sku: Annotated[Sku | None, Query(description="SKUs starting with this")] = None,
    horizon_days: Annotated[int, Query(ge=1, le=28)] = 14,
    lead_time_days: Annotated[int, Query(ge=1, le=28)] = 7,
    service_level: Annotated[float, Query(ge=0.5, le=0.999)] = 0.95,
    page: Page = 1,
    limit: SmallLimit = 20,
) -> Response:
    """SKUs with their stock, the low-stock alert if any (alerts first), the forecast for
    the horizon and a suggested reorder quantity."""
    params = _params(
        alerts_only=alerts_only,
        product_id=product_id,
        sku=sku,
        horizon_days=horizon_days,
        lead_time_days=lead_time_days,
        service_level=service_level,
        page=page,
        limit=limit,
    )
    return await forward(request, AppId.BACKOFFICE, "staff/merchandising/restock", params=params)


@router.post("/merchandising/prices", status_code=201, response_model=PriceSuggestion)
async def suggest_price(
    body: PriceSuggestionIn, request: Request, staff: Staff, key: IdempotencyKey = None
) -> Response:
    """Ask the pricing model for a SKU's price; kept pending for review. The same
    `Idempotency-Key` asks once."""
    return await forward(
        request,
        AppId.BACKOFFICE,
        "staff/merchandising/prices",
        method="POST",
        body=body.model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )


@router.get("/merchandising/prices", response_model=PriceSuggestionPage)
async def price_suggestions(
    request: Request,
    staff: Staff,
    status: SuggestionStatus | None = None,
    product_id: Annotated[Id | None, Query()] = None,
    sku: Annotated[Sku | None, Query()] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    """Suggestions with the current and suggested price and the model's reasons; pending
    first, newest first."""
    params = _params(status=status, product_id=product_id, sku=sku, page=page, limit=limit)
    return await forward(request, AppId.BACKOFFICE, "staff/merchandising/prices", params=params)


@router.get("/merchandising/prices/{suggestion_id}", response_model=PriceSuggestion)
async def price_suggestion(suggestion_id: SuggestionId, request: Request, staff: Staff) -> Response:
    return await forward(request, AppId.BACKOFFICE, f"staff/merchandising/prices/{suggestion_id}")


async def _decide(
    request: Request,
    suggestion_id: str,
    decision: str,
    body: PriceDecisionIn | None,
    key: str | None,
) -> Response:
    response = await forward(
        request,
        AppId.BACKOFFICE,
        f"staff/merchandising/prices/{suggestion_id}/{decision}",
        method="POST",
        body=(body or PriceDecisionIn()).model_dump(mode="json"),
        extra_headers=idempotency_header(key),
    )
    if decision == "apply" and response.status_code == 200:
        request.app.state.read_cache.clear()  # this replica shows the new price at once
    return response


@router.post("/merchandising/prices/{suggestion_id}/apply", response_model=PriceSuggestion)
async def apply_price(
    suggestion_id: SuggestionId,
    request: Request,
    staff: Staff,
    body: PriceDecisionIn | None = None,
    key: IdempotencyKey = None,
) -> Response:
    """Set the catalog price to the suggestion, only if the product is unchanged since it
    was suggested (409 otherwise, nothing changes). Decided once: a second decision is a
    409 (the same `Idempotency-Key` again answers the first result)."""
    return await _decide(request, suggestion_id, "apply", body, key)


@router.post("/merchandising/prices/{suggestion_id}/dismiss", response_model=PriceSuggestion)
async def dismiss_price(
    suggestion_id: SuggestionId,
    request: Request,
    staff: Staff,
    body: PriceDecisionIn | None = None,
    key: IdempotencyKey = None,
) -> Response:
    """Dismiss a pending suggestion (409 if it was decided already)."""
    return await _decide(request, suggestion_id, "dismiss", body, key)


@router.get("/fraud/reviews", response_model=FraudReviewPage)
async def fraud_reviews(
    request: Request,
    staff: Staff,
    state: ReviewState | None = None,
    page: Page = 1,
    limit: Limit = 50,
) -> Response:
    """Orders fraud scoring held for review with the model's score and drivers: pending
    first (longest held first), then decided ones."""
    params = _params(state=state, page=page, limit=limit)
    return await forward(request, AppId.BACKOFFICE, "staff/fraud/reviews", params=params)
