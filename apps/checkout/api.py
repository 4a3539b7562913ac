"""Routes of the checkout app (reached only through Dapr service invocation)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from apps.checkout.promotions import PromotionBook
from apps.checkout.service import CheckoutService
from apps.contracts.cart import PromoQuote, PromoQuoteRequest
from apps.contracts.checkout import CheckoutAccepted, CheckoutState, OrderRequest
from apps.contracts.events import utcnow
from apps.platform.http import app_state

router = APIRouter(tags=["checkout"])


Service = Annotated[CheckoutService, Depends(app_state("service"))]
Promotions = Annotated[PromotionBook, Depends(app_state("promotions"))]


@router.post("/checkouts", status_code=202, response_model=CheckoutAccepted)
async def start_checkout(
    body: OrderRequest,
    service: Service,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> CheckoutAccepted:
    """Start the saga; the same Idempotency-Key answers the same order and starts nothing."""
    order_id, started = await service.start(body, idempotency_key, request.state.correlation_id)
    response.headers["Location"] = f"/api/orders/{order_id}"
    if not started:
        response.headers["Idempotent-Replayed"] = "true"
    return CheckoutAccepted(
        order_id=order_id,
        status_url=f"/api/orders/{order_id}",
        checkout_url=f"/api/checkout/{order_id}",
    )


@router.get("/checkouts/{order_id}", response_model=CheckoutState)
async def checkout_status(order_id: str, service: Service) -> CheckoutState:
    return await service.status(order_id)


@router.post("/promotions/quote", response_model=PromoQuote)
async def quote_promotion(req: PromoQuoteRequest, promotions: Promotions) -> PromoQuote:
    """What a promo code gives on a subtotal now (422 for an unknown code)."""
    return promotions.quote(req, utcnow())
