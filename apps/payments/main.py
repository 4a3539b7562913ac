"""payments: Stripe PaymentIntents and refunds for orders, the Stripe webhook (signature
checked, each event once), payment records and payment-events."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import stripe
from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response

from apps.contracts.names import AppId, Component, Topic
from apps.contracts.payments import CancelRequest, CreatePayment, Payment, RefundRequest
from apps.payments.adapters import (
    SIGNATURE_HEADER,
    LocalWebhookRelay,
    StatePaymentStore,
    StripeSdkGateway,
    verify_webhook,
)
from apps.payments.service import PaymentsService
from apps.payments.settings import get_settings
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import app_state, install_common
from apps.platform.logging import configure_logging
from apps.platform.order_facts import SidecarOrderFacts
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import dispatch, subscribe


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.PAYMENTS, settings.log_level, settings.log_json, settings.trace_console)
    sidecar = Sidecar(settings)
    # payments-secrets: the Stripe keys, in a store only payments' sidecar loads.
    api_key = await sidecar.secret(settings.api_key_secret, Component.PAYMENTS_SECRETS)
    app.state.webhook_secret = await sidecar.secret(
        settings.webhook_secret_name, Component.PAYMENTS_SECRETS
    )
    client = stripe.StripeClient(
        api_key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=stripe.HTTPXClient(),
        max_network_retries=2,
    )
    store = JsonStateStore(sidecar.http, settings.state_store)
    relay = (
        LocalWebhookRelay(sidecar, app.state.webhook_secret) if settings.simulate_webhooks else None
    )
    app.state.sidecar = sidecar
    app.state.store = store
    app.state.settings = settings
    app.state.service = PaymentsService(
        StripeSdkGateway(client),
        StatePaymentStore(store),
        sidecar,
        AppId.PAYMENTS,
        relay,
        SidecarOrderFacts(sidecar),
    )
    try:
        yield
    finally:
        await sidecar.close()


router = APIRouter(tags=["payments"])
Service = Annotated[PaymentsService, Depends(app_state("service"))]


@router.post("/payments", status_code=201, response_model=Payment)
async def create_payment(
    cmd: CreatePayment, service: Service, request: Request, response: Response
) -> Payment:
    """Create and confirm the order's PaymentIntent (once per order: a retry answers 200 with
    the same payment). `succeeded` is final; `processing` waits for Stripe's webhook."""
    payment, created = await service.create(cmd, str(request.state.correlation_id))
    if not created:
        response.status_code = 200
    return payment


@router.get("/payments/{order_id}", response_model=Payment)
async def get_payment(order_id: str, service: Service) -> Payment:
    return await service.get(order_id)


@router.post("/payments/{order_id}/sync", response_model=Payment)
async def sync(order_id: str, service: Service, request: Request) -> Payment:
    """Apply the intent's status at Stripe now if it is final (`succeeded`, `canceled`)."""
    return await service.sync(order_id, str(request.state.correlation_id))


@router.post("/payments/{order_id}/cancel", response_model=Payment)
async def cancel(
    order_id: str, service: Service, request: Request, body: CancelRequest | None = None
) -> Payment:
    """Cancel a payment still waiting for its result; a succeeded or ended payment is
    answered unchanged (checkout keeps an order whose money came in)."""
    return await service.cancel(
        order_id, body or CancelRequest(), str(request.state.correlation_id)
    )


@router.post("/payments/{order_id}/refund", response_model=Payment)
async def refund(
    order_id: str, service: Service, request: Request, body: RefundRequest | None = None
) -> Payment:
    """Refund all that is left, or `amount` of it (409 when nothing is refundable)."""
    return await service.refund(
        order_id, body or RefundRequest(), str(request.state.correlation_id)
    )


@router.post("/webhook")
async def webhook(request: Request, service: Service) -> dict[str, Any]:
    """Stripe's webhook: the signature is checked first (400 and nothing changes when it is
    missing, wrong or stale); each event id is applied once."""
    settings = request.app.state.settings
    event = verify_webhook(
        await request.body(),
        request.headers.get(SIGNATURE_HEADER),
        request.app.state.webhook_secret,
        settings.webhook_tolerance_seconds,
    )
    outcome = await service.on_webhook(event)
    return {"received": True, "outcome": outcome}


app = FastAPI(title="SmartCommerce payments", version="0.1.0", lifespan=lifespan)
install_common(app)
app.include_router(
    health_router(
        {Component.STATE, Component.PUBSUB, Component.SECRETS, Component.PAYMENTS_SECRETS},
        check_store=True,
    )
)
app.include_router(router)


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """order-events: a paid order that is cancelled is refunded."""
    service: PaymentsService = request.app.state.service
    return await dispatch(cloud_event, {"OrderCancelled": service.on_order_event})


subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, Component.PUBSUB)
