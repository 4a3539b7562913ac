"""payments: Stripe PaymentIntents and refunds for orders, the Stripe webhook (signature
checked, each event once), payment records and payment-events."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import stripe
from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Response

from apps.contracts.names import AppId, Component, Topic
from apps.contracts.payments import (
    CancelRequest,
    CreatePayment,
    LocalAuthentication,
    Payment,
    RefundRequest,
)
from apps.payments.adapters import (
    SIGNATURE_HEADER,
    LocalStripe,
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
    gateway = StripeSdkGateway(client)
    app.state.sidecar = sidecar
    app.state.store = store
    app.state.settings = settings
    app.state.service = PaymentsService(
        # Local mode: Stripe's 3-D Secure test methods answer `requires_action`, as Stripe does.
        LocalStripe(gateway) if settings.simulate_webhooks else gateway,
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


def _without_secret(payment: Payment) -> Payment:
    """The payment as answered to callers that are not known to be its shopper: the client
    secret (it completes the payment in a browser) only where asked for explicitly."""
    return payment.model_copy(update={"client_secret": None})


@router.post("/payments", status_code=201, response_model=Payment)
async def create_payment(
    cmd: CreatePayment, service: Service, request: Request, response: Response
) -> Payment:
    """Create and confirm the order's PaymentIntent (once per order: a retry answers 200 with
    the same payment). `succeeded` is final; `processing` waits for Stripe's webhook."""
    payment, created = await service.create(cmd, str(request.state.correlation_id))
    if not created:
        response.status_code = 200
    return _without_secret(payment)


@router.get("/payments/{order_id}", response_model=Payment)
async def get_payment(
    order_id: str,
    service: Service,
    include_client_secret: Annotated[
        bool,
        Query(description="callers that checked the shopper owns the order (gateway, checkout)"),
    ] = False,
) -> Payment:
    """The payment; its `client_secret` (while it `requires_action`) only when asked for."""
    payment = await service.get(order_id)
    return payment if include_client_secret else _without_secret(payment)


@router.post("/payments/{order_id}/sync", response_model=Payment)
async def sync(order_id: str, service: Service, request: Request) -> Payment:
    """Apply the intent's status at Stripe now if it is final (`succeeded`, `canceled`)."""
    return _without_secret(await service.sync(order_id, str(request.state.correlation_id)))


@router.post("/payments/{order_id}/authenticate", response_model=Payment)
async def authenticate(
    order_id: str, service: Service, body: LocalAuthentication | None = None
) -> Payment:
    """Local mode only, a stand-in for Stripe's hosted 3-D Secure challenge: the cardholder
    passes (or fails) it and the webhook Stripe would send is sent. 404 with real Stripe;
    409 when the payment is not waiting for authentication."""
    passed = (body or LocalAuthentication()).outcome == "succeeded"
    return _without_secret(await service.authenticate(order_id, passed))


@router.post("/payments/{order_id}/cancel", response_model=Payment)
async def cancel(
    order_id: str, service: Service, request: Request, body: CancelRequest | None = None
) -> Payment:
    """Cancel a payment still waiting for its result; a succeeded or ended payment is
    answered unchanged (checkout keeps an order whose money came in)."""
    return _without_secret(
        await service.cancel(order_id, body or CancelRequest(), str(request.state.correlation_id))
    )


@router.post("/payments/{order_id}/refund", response_model=Payment)
async def refund(
    order_id: str, service: Service, request: Request, body: RefundRequest | None = None
) -> Payment:
    """Refund all that is left, or `amount` of it (409 when nothing is refundable)."""
    return _without_secret(
        await service.refund(order_id, body or RefundRequest(), str(request.state.correlation_id))
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
