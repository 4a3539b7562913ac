"""storefront: the only app with external ingress; the public API in front of the others."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from apps.contracts.names import AppId, Component
from apps.platform.context import CONTEXT_SECRET, ContextKey
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import BodyLimitMiddleware, install_common
from apps.platform.logging import configure_logging
from apps.platform.runtime_config import runtime_config_router
from apps.platform.state import JsonStateStore
from apps.storefront.account_security_api import router as account_security_router
from apps.storefront.admin_ops_api import install_audit_trail
from apps.storefront.admin_ops_api import router as admin_ops_router
from apps.storefront.admin_sagas_api import router as admin_sagas_router
from apps.storefront.admin_services_api import router as admin_services_router
from apps.storefront.analytics_api import router as analytics_router
from apps.storefront.api import router
from apps.storefront.auth import SessionCheck, TokenVerifier
from apps.storefront.banners_api import router as banners_router
from apps.storefront.cart_api import router as cart_router
from apps.storefront.checkout_api import router as checkout_router
from apps.storefront.config_api import router as config_router
from apps.storefront.config_api import start_runtime_settings
from apps.storefront.gateway import (
    RateLimiter,
    SecurityHeadersMiddleware,
    client_ip,
    refuse_bad_targets_and_nul,
)
from apps.storefront.identity_api import router as identity_router
from apps.storefront.live_api import router as live_router
from apps.storefront.live_api import start_live, subscribe_live
from apps.storefront.merchandising_api import router as merchandising_router
from apps.storefront.notifications_api import router as notifications_router
from apps.storefront.openapi import install_openapi
from apps.storefront.orders_api import router as orders_router
from apps.storefront.promotions_api import router as promotions_router
from apps.storefront.read_cache import ReadCache
from apps.storefront.returns_api import router as returns_router
from apps.storefront.reviews_api import router as reviews_router
from apps.storefront.settings import StorefrontSettings, get_settings
from apps.storefront.shipments_api import router as shipments_router
from apps.storefront.tickets_api import router as tickets_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(
        AppId.STOREFRONT, settings.log_level, settings.log_json, settings.trace_console
    )
    app.state.settings = settings
    app.state.sidecar = Sidecar(settings, grpc=False)
    app.state.context_key = ContextKey(app.state.sidecar, CONTEXT_SECRET)
    app.state.verifier = TokenVerifier(
        settings.jwks_sources,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_leeway_seconds,
    )
    app.state.read_cache = ReadCache(settings.catalog_cache_seconds)
    app.state.sessions = SessionCheck(app.state.sidecar, settings.token_status_seconds)
    app.state.limiter = RateLimiter(JsonStateStore(app.state.sidecar.http, Component.RATELIMIT))
    live = start_live(app, settings)
    flusher = asyncio.create_task(app.state.limiter.run())
    runtime_config = start_runtime_settings(app, settings)  # rate limits, live
    try:
        yield
    finally:
        live.shutdown()
        flusher.cancel()
        await runtime_config.stop()
        await app.state.sidecar.close()


async def limit_by_address(request: Request) -> None:
    """Every /api request counts against its client address (shared by all replicas)."""
    if not request.url.path.startswith("/api/"):
        return  # Dapr's own calls (`/dapr/subscribe`, `/events/...`) are not counted
    settings: StorefrontSettings = request.app.state.settings
    if settings.rate_limit_enabled:
        ip = client_ip(request, settings.trust_forwarded)
        request.app.state.limiter.hit_batched(
            f"ip:{ip}", settings.rate_limit_ip_per_minute, "requests from your address"
        )


app = FastAPI(
    title="SmartCommerce API",
    version="0.1.0",
    description="Public REST API of SmartCommerce (storefront gateway). Errors always have "
    "the shape `{error: {code, message, details, timestamp, request_id}}`.",
    lifespan=lifespan,
    dependencies=[Depends(limit_by_address), Depends(refuse_bad_targets_and_nul)],
)
install_common(app, internal=False)
install_openapi(app)
_boot = get_settings()
app.add_middleware(SecurityHeadersMiddleware)
app.add_middleware(BodyLimitMiddleware, max_bytes=_boot.max_body_bytes)
app.add_middleware(
    CORSMiddleware,
    allow_origins=_boot.cors_origins,
    allow_credentials=True,
    allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    allow_headers=[
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "If-Match",
        "X-Session-Id",
        "X-Request-Id",
        "Last-Event-ID",
    ],
    expose_headers=[
        "ETag",
        "Location",
        "Retry-After",
        "X-Request-Id",
        "X-Session-Id",
        "Idempotent-Replayed",
    ],
    max_age=600,
)
app.include_router(
    health_router(
        {
            Component.PUBSUB,
            Component.PUBSUB_BROADCAST,
            Component.SECRETS,
            Component.GATEWAY_SECRETS,
            Component.RATELIMIT,
        }
    )
)
app.include_router(router)
app.include_router(cart_router)
app.include_router(orders_router)
app.include_router(live_router)
app.include_router(shipments_router)
app.include_router(returns_router)
app.include_router(checkout_router)
app.include_router(identity_router)
app.include_router(account_security_router)
app.include_router(reviews_router)
app.include_router(notifications_router)
app.include_router(tickets_router)
app.include_router(banners_router)
app.include_router(promotions_router)
app.include_router(analytics_router)
app.include_router(merchandising_router)
app.include_router(admin_ops_router)
app.include_router(admin_sagas_router)
app.include_router(admin_services_router)
app.include_router(config_router)
app.include_router(runtime_config_router())  # the sidecar's pushes of runtime settings
install_audit_trail(app)  # every staff/admin action, to the audit log
# Every replica's own subscription to order and shipping events (pubsub-broadcast): the
# live streams it holds (apps/storefront/live_api.py).
subscribe_live(app)
