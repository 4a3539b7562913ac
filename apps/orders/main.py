"""orders: hosts OrderActor and serves order commands and look-ups through Dapr."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from dapr.actor.runtime.config import ActorRuntimeConfig
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

from actors.order.actor import OrderActor
from actors.serializer import SERIALIZERS
from actors.shipment.actor import ShipmentActor
from actors.sidecar_http import close_pool, pool_actor_calls
from apps.contracts.names import AppId, Component, Topic
from apps.contracts.runtime_config import ConfigKey, keys_of
from apps.orders.adapters import (
    DaprOrderActors,
    DaprRefunds,
    DaprShipmentActors,
    DaprStock,
    OrderActorHost,
    ShipmentActorHost,
    StateOrderViews,
    StateReturnViews,
    StateSequences,
    StateShipmentViews,
)
from apps.orders.api import on_order_events, on_payment_events, router
from apps.orders.carrier import SimulatedCarrier
from apps.orders.fulfilment import FulfilmentService
from apps.orders.returns import ReturnsService
from apps.orders.returns_api import on_support_events
from apps.orders.returns_api import router as returns_router
from apps.orders.service import OrdersService
from apps.orders.settings import get_settings
from apps.orders.shipping_api import on_shipping_events
from apps.orders.shipping_api import router as shipping_router
from apps.platform.context import ContextKey
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging
from apps.platform.runtime_config import RuntimeConfig, runtime_config_router
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import subscribe


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.ORDERS, settings.log_level, settings.log_json, settings.trace_console)
    sidecar = Sidecar(settings)
    store = JsonStateStore(sidecar.http, settings.state_store)
    OrderActor.host = OrderActorHost(
        sidecar,
        AppId.ORDERS,
        timedelta(seconds=settings.payment_timeout_seconds),
        timedelta(days=settings.return_window_days),
        settings.refund_shipping_on_full_return,
        timedelta(seconds=settings.fulfilment_hold_seconds),
    )
    carrier = SimulatedCarrier(
        step=timedelta(seconds=settings.carrier_step_seconds),
        origin=settings.warehouse,
        tracking_url=settings.carrier_tracking_url,
        exception_rate=settings.carrier_exception_rate,
        scenario=settings.carrier_scenario,
    )
    poll = settings.carrier_poll_seconds or settings.carrier_step_seconds
    shipment_host = ShipmentActorHost(sidecar, AppId.ORDERS, carrier, timedelta(seconds=poll))
    ShipmentActor.host = shipment_host
    ActorRuntime.set_actor_config(
        ActorRuntimeConfig(
            actor_idle_timeout=timedelta(seconds=settings.actor_idle_timeout_seconds)
        )
    )
    pool_actor_calls()
    await actors.register_actor(OrderActor, **SERIALIZERS)
    await actors.register_actor(ShipmentActor, **SERIALIZERS)
    app.state.sidecar = sidecar
    app.state.context_key = ContextKey(sidecar)
    app.state.store = store
    order_actors = DaprOrderActors(sidecar)
    app.state.service = OrdersService(order_actors, StateSequences(store), StateOrderViews(store))
    shipment_actors = DaprShipmentActors(sidecar)
    app.state.returns = ReturnsService(
        order_actors,
        shipment_actors,
        StateReturnViews(store),
        DaprStock(sidecar),
        DaprRefunds(sidecar),
        settings.warehouse,
    )
    app.state.fulfilment = FulfilmentService(
        order_actors,
        shipment_actors,
        StateShipmentViews(store),
        carrier,
        sidecar,
        AppId.ORDERS,
        app.state.returns,
    )

    def apply(key: ConfigKey, value: float | None) -> None:
        """`orders.carrier_step_seconds`, live (None: ORDERS_CARRIER_STEP_SECONDS). New
        shipments poll at the new pace unless ORDERS_CARRIER_POLL_SECONDS fixes it."""
        step = value if value is not None else settings.carrier_step_seconds
        carrier.step = timedelta(seconds=step)
        if settings.carrier_poll_seconds is None:
            shipment_host.poll_every = timedelta(seconds=step)

    app.state.runtime_config = RuntimeConfig(sidecar.http, keys_of(AppId.ORDERS), apply)
    app.state.runtime_config.start()
    try:
        yield
    finally:
        await app.state.runtime_config.stop()
        await close_pool()
        await sidecar.close()


app = FastAPI(title="SmartCommerce orders", version="0.1.0", lifespan=lifespan)
install_common(app)
actors = DaprActor(app)
app.include_router(
    health_router({Component.STATE, Component.PUBSUB, Component.GATEWAY_SECRETS}, check_store=True)
)
app.include_router(router)
app.include_router(shipping_router)
app.include_router(returns_router)
app.include_router(runtime_config_router())
subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, Component.PUBSUB)
subscribe(app, Topic.PAYMENT_EVENTS, "/events/payment-events", on_payment_events, Component.PUBSUB)
subscribe(
    app, Topic.SHIPPING_EVENTS, "/events/shipping-events", on_shipping_events, Component.PUBSUB
)
subscribe(app, Topic.SUPPORT_EVENTS, "/events/support-events", on_support_events, Component.PUBSUB)
