"""Merchandising routes of the back office (the gateway's `/api/staff/merchandising/*` and
`/api/staff/fraud/reviews` forward here) and its event routes: inventory-events keep the
low-stock alerts; order-events (shared with sales analytics: one route per topic) keep the
fraud review queue.

The gateway checks the role; this app checks it again from the signed context."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from apps.backoffice.analytics.api import ORDER_EVENTS
from apps.backoffice.analytics.api import on_order_events as analytics_order_events
from apps.backoffice.merchandising import Decision
from apps.backoffice.merchandising_service import MerchandisingService, RestockQuery
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
from apps.platform.http import app_state
from apps.platform.params import IdempotencyKey, Limit, Page, SmallLimit
from apps.platform.roles import StaffId
from apps.platform.subscriptions import DROP, RETRY, dispatch

router = APIRouter(tags=["merchandising"])

Service = Annotated[MerchandisingService, Depends(app_state("merchandising"))]
SuggestionId = Annotated[str, Path(pattern=SUGGESTION_ID_PATTERN)]


Staff = StaffId


@router.get("/staff/merchandising/restock", response_model=RestockPage)
async def restock(
    service: Service,
    who: Staff,
    alerts_only: bool = False,
    product_id: Annotated[Id | None, Query()] = None,
    sku: Annotated[Sku | None, Query(description="SKUs starting with this")] = None,
    horizon_days: Annotated[int, Query(ge=1, le=28)] = 14,
    lead_time_days: Annotated[int, Query(ge=1, le=28)] = 7,
    service_level: Annotated[float, Query(ge=0.5, le=0.999)] = 0.95,
    page: Page = 1,
    limit: SmallLimit = 20,
) -> RestockPage:
    query = RestockQuery(alerts_only, product_id, sku, horizon_days, lead_time_days, service_level)
    return await service.restock(query, page, limit)


@router.post("/staff/merchandising/prices", status_code=201, response_model=PriceSuggestion)
async def suggest_price(
    body: PriceSuggestionIn, service: Service, who: Staff, key: IdempotencyKey = None
) -> PriceSuggestion:
    return await service.suggest(body, who, key)


@router.get("/staff/merchandising/prices", response_model=PriceSuggestionPage)
async def price_suggestions(
    service: Service,
    who: Staff,
    status: SuggestionStatus | None = None,
    product_id: Annotated[Id | None, Query()] = None,
    sku: Annotated[Sku | None, Query()] = None,
    page: Page = 1,
    limit: Limit = 50,
) -> PriceSuggestionPage:
    return await service.suggestions(status, product_id, sku, page, limit)


@router.get("/staff/merchandising/prices/{suggestion_id}", response_model=PriceSuggestion)
async def price_suggestion(
    suggestion_id: SuggestionId, service: Service, who: Staff
) -> PriceSuggestion:
    return await service.get_suggestion(suggestion_id)


@router.post("/staff/merchandising/prices/{suggestion_id}/apply", response_model=PriceSuggestion)
async def apply_price(
    suggestion_id: SuggestionId,
    service: Service,
    who: Staff,
    body: PriceDecisionIn | None = None,
    key: IdempotencyKey = None,
) -> PriceSuggestion:
    note = body.note if body else ""
    return await service.decide(suggestion_id, Decision.APPLY, who, note, key)


@router.post("/staff/merchandising/prices/{suggestion_id}/dismiss", response_model=PriceSuggestion)
async def dismiss_price(
    suggestion_id: SuggestionId,
    service: Service,
    who: Staff,
    body: PriceDecisionIn | None = None,
    key: IdempotencyKey = None,
) -> PriceSuggestion:
    note = body.note if body else ""
    return await service.decide(suggestion_id, Decision.DISMISS, who, note, key)


@router.get("/staff/fraud/reviews", response_model=FraudReviewPage)
async def fraud_reviews(
    service: Service,
    who: Staff,
    state: ReviewState | None = None,
    page: Page = 1,
    limit: Limit = 50,
) -> FraudReviewPage:
    return await service.reviews(state, page, limit)


# -- events -------------------------------------------------------------------------------
async def on_inventory_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """inventory-events: stock levels and low-stock alerts per SKU."""
    service: MerchandisingService = request.app.state.merchandising
    return await dispatch(
        cloud_event,
        {"StockLevelChanged": service.on_stock_level, "LowStock": service.on_low_stock},
    )


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """order-events for both readers of the topic here: sales analytics and the fraud
    review queue (each applies an event once, so a retry of either is safe)."""
    service: MerchandisingService = request.app.state.merchandising
    answers = [
        await analytics_order_events(request, cloud_event),
        await dispatch(
            cloud_event,
            {
                "FraudReviewRequested": service.on_review_requested,
                **dict.fromkeys(ORDER_EVENTS, service.on_order_event),
            },
        ),
    ]
    for worst in (RETRY, DROP):
        if worst in answers:
            return worst
    return answers[0]
