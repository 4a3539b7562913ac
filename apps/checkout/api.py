"""Routes of the checkout app (reached only through Dapr service invocation)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response

from apps.checkout.service import CheckoutService, Owner
from apps.contracts.cart import PromoCode, PromoQuote, PromoQuoteRequest
from apps.contracts.catalog import Id
from apps.contracts.checkout import (
    AddressInput,
    AddressValidation,
    CheckoutAccepted,
    CheckoutQuote,
    CheckoutState,
    FraudReview,
    PaymentResult,
    PromoRedemption,
    QuoteCheckout,
    StartCheckout,
)
from apps.contracts.errors import Forbidden
from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.payments import PaymentEventData, PaymentStatus
from apps.platform.context import CONTEXT_HEADER, OwnerEmail, UserId, verify_context
from apps.platform.http import app_state
from apps.platform.subscriptions import dispatch

router = APIRouter(tags=["checkout"])

Service = Annotated[CheckoutService, Depends(app_state("service"))]
#: A long poll ends well within the 5 s the sidecars give an invocation of checkout.
MAX_WAIT_SECONDS = 4.0
WaitSeconds = Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)]


@router.post("/checkouts", status_code=202, response_model=CheckoutAccepted)
async def start_checkout(
    body: StartCheckout,
    service: Service,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    context: Annotated[str | None, Header(alias=CONTEXT_HEADER)] = None,
) -> CheckoutAccepted:
    """Start the saga; the same Idempotency-Key answers the same order and starts nothing.
    An order in a user's name needs the gateway's signed context of that user."""
    if body.user_id is not None:
        who = verify_context(context, await request.app.state.context_key.get())
        if who.user_id != body.user_id:
            raise Forbidden("Orders are placed in the signed-in user's name only")
    order_id, started = await service.start(
        body.order,
        idempotency_key,
        request.state.correlation_id,
        await request.app.state.context_key.get(),
        body.user_id,
        body.cart_id,
    )
    response.headers["Location"] = f"/api/orders/{order_id}"
    if not started:
        response.headers["Idempotent-Replayed"] = "true"
    return CheckoutAccepted(
        order_id=order_id,
        status_url=f"/api/orders/{order_id}",
        checkout_url=f"/api/checkout/{order_id}",
    )


@router.post("/checkouts/quote", response_model=CheckoutQuote)
async def quote_checkout(body: QuoteCheckout, service: Service) -> CheckoutQuote:
    """Price a checkout now: totals, shipping options and every problem (`valid`)."""
    return await service.quote(body.details, body.cart_id)


@router.get("/checkouts/{order_id}", response_model=CheckoutState)
async def checkout_status(
    order_id: str,
    service: Service,
    email: OwnerEmail = None,
    user_id: UserId = None,
    wait_seconds: WaitSeconds = 0,
) -> CheckoutState:
    """With `email` or `user_id` (even empty), only the order's owner sees it (404 to anyone
    else); neither: an internal caller (staff through the gateway). `wait_seconds`: a saga
    under way is answered when it ends or when that time is up, whichever comes first."""
    owner = None if user_id is None and email is None else Owner(user_id, email)
    return await service.status(order_id, owner, wait_seconds)


@router.post("/checkouts/{order_id}/review", response_model=CheckoutState)
async def review_checkout(order_id: str, body: FraudReview, service: Service) -> CheckoutState:
    """Staff's decision on an order fraud scoring held for review (409 if none waits)."""
    return await service.fraud_review(order_id, body)


@router.post("/addresses/validate", response_model=AddressValidation)
async def validate_address(body: AddressInput, service: Service) -> AddressValidation:
    return service.validate_address(body)


@router.post("/promotions/quote", response_model=PromoQuote)
async def quote_promotion(req: PromoQuoteRequest, service: Service) -> PromoQuote:
    """What a promo code gives on a subtotal now (422 for an unknown code); with `email`,
    the code's usage limits are checked for that customer too."""
    return await service.quote_promo(req, utcnow())


@router.post("/promotions/redemptions", status_code=204)
async def redeem_promotion(req: PromoRedemption, service: Service) -> Response:
    """Count an order against the code's limits (the saga's step; idempotent by order)."""
    await service.redeem(req)
    return Response(status_code=204)


@router.delete("/promotions/redemptions/{code}/{order_id}", status_code=204)
async def release_promotion(code: PromoCode, order_id: Id, service: Service) -> Response:
    await service.release(code, order_id)
    return Response(status_code=204)


async def on_payment_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """payment-events: a payment's result becomes its saga's `payment_result` event (a
    duplicate is harmless: the saga consumes one; a saga that ended ignores it). A result
    the confirmation answered itself is not: the saga's `request_payment` has it already,
    and an event raised into a saga that never waits for it still costs it a round."""
    service: CheckoutService = request.app.state.service

    async def handle(envelope: EventEnvelope) -> None:
        data = PaymentEventData.model_validate(envelope.data)
        if data.at_confirmation or data.status not in (
            PaymentStatus.SUCCEEDED,
            PaymentStatus.FAILED,
        ):
            return
        await service.payment_result(
            data.order_id,
            PaymentResult(
                status=data.status, payment_intent_id=data.payment_intent_id, reason=data.reason
            ),
        )

    return await dispatch(cloud_event, {"PaymentProcessed": handle, "PaymentFailed": handle})
