"""storefront: the only app with external ingress; the public API in front of the others."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from apps.contracts.names import AppId, Component
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging
from apps.storefront.api import router
from apps.storefront.auth import TokenVerifier
from apps.storefront.cart_api import router as cart_router
from apps.storefront.checkout_api import router as checkout_router
from apps.storefront.orders_api import router as orders_router
from apps.storefront.reviews_api import router as reviews_router
from apps.storefront.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(
        AppId.STOREFRONT, settings.log_level, settings.log_json, settings.trace_console
    )
    app.state.settings = settings
    app.state.sidecar = Sidecar(settings, grpc=False)
    app.state.verifier = TokenVerifier(
        settings.effective_jwks_url,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.jwt_leeway_seconds,
    )
    try:
        yield
    finally:
        await app.state.sidecar.close()


app = FastAPI(
    title="SmartCommerce API",
    version="0.1.0",
    description="Public REST API of SmartCommerce (storefront gateway).",
    lifespan=lifespan,
)
install_common(app, internal=False)
app.include_router(health_router({Component.PUBSUB, Component.SECRETS}))
app.include_router(router)
app.include_router(cart_router)
app.include_router(orders_router)
app.include_router(checkout_router)
app.include_router(reviews_router)
