"""checkout: runs the checkout saga (Dapr Workflow, or the durabletask engine by
configuration: apps/checkout/engine.py) and reports its progress."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from apps.checkout import activities
from apps.checkout.adapters import (
    DaprSagaEngine,
    PromoUsage,
    SidecarCheckoutPorts,
    SidecarCompensator,
    SidecarReaders,
    StateRedemptionStore,
    StateSagaIndex,
    WorkerWatch,
)
from apps.checkout.api import on_payment_events, router
from apps.checkout.engine import build_saga_runtime
from apps.checkout.operations import SagaOperations, watch_stuck
from apps.checkout.ops_api import router as ops_router
from apps.checkout.promotions import PromotionBook
from apps.checkout.promotions_api import router as promotions_router
from apps.checkout.promotions_store import StoredPromotions
from apps.checkout.rates import Rates
from apps.checkout.service import CheckoutService
from apps.checkout.settings import get_settings
from apps.contracts.events import utcnow
from apps.contracts.names import AppId, Component, Topic
from apps.platform.context import ContextKey
from apps.platform.dapr import Sidecar, SyncInvoker
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import subscribe


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.CHECKOUT, settings.log_level, settings.log_json, settings.trace_console)
    sidecar = Sidecar(settings, grpc=False)
    rates = Rates.load()
    promotions = StoredPromotions(
        JsonStateStore(sidecar.http, settings.state_store), PromotionBook.load()
    )
    saga = build_saga_runtime(settings)  # CHECKOUT_SAGA_ENGINE: dapr or durabletask
    engine = saga.engine
    readers = SidecarReaders(sidecar)
    saga_index = StateSagaIndex(JsonStateStore(sidecar.http, settings.state_store))
    service = CheckoutService(
        engine,
        readers,
        StateRedemptionStore(JsonStateStore(sidecar.http, settings.state_store)),
        promotions,
        rates,
        settings.payment_timeout_seconds,
        settings.review_timeout_seconds,
        settings.authentication_timeout_seconds,
        readers,
        recorder=saga_index,
    )
    loop = asyncio.get_running_loop()
    invoker = SyncInvoker(sidecar, loop)
    engine.bind_loop(loop)
    promotions.bind_loop(loop)
    promos = PromoUsage(service, loop)
    activities.bind(
        activities.SagaDeps(
            SidecarCheckoutPorts(invoker, settings.pubsub, promos),
            promotions,
            rates,
            step_done=engine.step_done,
        )
    )
    app.state.worker_watch = saga.start()
    app.state.sidecar = sidecar
    app.state.context_key = ContextKey(sidecar)
    app.state.engine = engine
    app.state.service = service
    app.state.saga_ops = SagaOperations(
        engine, saga_index, SidecarCompensator(), utcnow, settings.stuck_after_seconds
    )
    app.state.promotions = promotions
    watcher = asyncio.create_task(watch_stuck(app.state.saga_ops, settings.stuck_check_seconds))
    try:
        yield
    finally:
        watcher.cancel()
        saga.stop()
        activities.bind(None)
        await saga.aclose()
        await sidecar.close()


app = FastAPI(title="SmartCommerce checkout", version="0.1.0", lifespan=lifespan)
install_common(app)


def _worker_ready(state: Any) -> str | None:
    watch: WorkerWatch | None = getattr(state, "worker_watch", None)
    return watch.ready_problem(state) if watch else "workflow worker not started"


def _worker_live(state: Any) -> str | None:
    watch: WorkerWatch | None = getattr(state, "worker_watch", None)
    engine: DaprSagaEngine | None = getattr(state, "engine", None)
    return (watch.live_problem(state) if watch else None) or (
        engine.live_problem(state) if engine else None
    )


app.include_router(
    health_router(
        {Component.STATE, Component.PUBSUB, Component.GATEWAY_SECRETS},
        checks=[_worker_ready],
        live_checks=[_worker_live],
    )
)
app.include_router(router)
app.include_router(ops_router)  # /ops/sagas*: admin operations on sagas
app.include_router(promotions_router)  # staff's promo codes
subscribe(app, Topic.PAYMENT_EVENTS, "/events/payment-events", on_payment_events, Component.PUBSUB)
