"""cart: hosts CartActor (one actor per cart). Callers use the Dapr actor API directly."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

from actors.cart import logic
from actors.cart.actor import CartActor
from actors.serializer import SERIALIZERS
from actors.sidecar_http import close_pool, pool_actor_calls
from apps.cart.adapters import CartActorHost
from apps.cart.settings import get_settings
from apps.contracts.names import AppId, Component
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging
from apps.platform.state import JsonStateStore


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.CART, settings.log_level, settings.log_json, settings.trace_console)
    sidecar = Sidecar(settings)
    CartActor.host = CartActorHost(
        sidecar,
        AppId.CART,
        logic.Limits(
            max_line_quantity=settings.max_line_quantity,
            max_lines=settings.max_lines,
            guest_ttl=timedelta(seconds=settings.guest_ttl_seconds),
            user_ttl=timedelta(seconds=settings.user_ttl_seconds),
        ),
        snapshot_ttl_seconds=settings.catalog_cache_seconds,
    )
    ActorRuntime.set_actor_config(
        ActorRuntimeConfig(
            actor_idle_timeout=timedelta(seconds=settings.actor_idle_timeout_seconds)
        )
    )
    pool_actor_calls()
    await actors.register_actor(CartActor, **SERIALIZERS)
    app.state.sidecar = sidecar
    app.state.store = JsonStateStore(sidecar.http, settings.state_store)  # readiness check
    try:
        yield
    finally:
        await close_pool()
        await sidecar.close()


app = FastAPI(title="SmartCommerce cart", version="0.1.0", lifespan=lifespan)
install_common(app)
actors = DaprActor(app)
app.include_router(health_router({Component.STATE, Component.PUBSUB}, check_store=True))
