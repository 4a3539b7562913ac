"""catalog: products and (later) categories, search and stock, through Dapr."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from apps.catalog.adapters import (
    BatchRelay,
    DaprCategoryRepository,
    DaprIndexSource,
    DaprInventoryRepository,
    DaprProductRepository,
    DaprReviewRepository,
    DaprSeedRepository,
    OutboxRelay,
    OutboxSweeper,
)
from apps.catalog.api import (
    admin_router,
    category_router,
    inventory_router,
    on_order_events,
    review_router,
    router,
)
from apps.catalog.broadcast_api import subscribe_read_model
from apps.catalog.browse import BrowseService
from apps.catalog.browse_api import browse_router
from apps.catalog.service import (
    CatalogService,
    CategoryService,
    InventoryService,
    ReviewService,
    SeedService,
)
from apps.catalog.settings import get_settings
from apps.contracts.names import AppId, Component, Topic
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging, get_logger
from apps.platform.ops import Ops, OutboxGauge
from apps.platform.order_facts import SidecarOrderFacts
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import subscribe

log = get_logger("catalog")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.CATALOG, settings.log_level, settings.log_json, settings.trace_console)
    sidecar = Sidecar(settings)
    store = JsonStateStore(sidecar.http, settings.state_store)
    app.state.sidecar = sidecar
    app.state.store = store
    inventory_repo = DaprInventoryRepository(store)
    browse = BrowseService(DaprIndexSource(store))
    app.state.browse = browse
    category_repo = DaprCategoryRepository(store, BatchRelay(store, sidecar))
    app.state.service = CatalogService(
        DaprProductRepository(store),
        OutboxRelay(store, sidecar),
        inventory_repo,
        category_repo,
        browse,
    )
    app.state.seeder = SeedService(DaprSeedRepository(store))
    app.state.reviews = ReviewService(DaprReviewRepository(store), browse)
    app.state.categories = CategoryService(category_repo, browse)
    app.state.inventory = InventoryService(
        inventory_repo,
        BatchRelay(store, sidecar),
        timedelta(seconds=settings.reservation_ttl_seconds),
        browse,
        SidecarOrderFacts(sidecar),
    )
    try:
        log.info("read model loaded", products=await browse.reload())
    except Exception as exc:  # not ready until the refresher loads it (see /health/ready)
        log.warning("read model not loaded yet", error=str(exc))
    pending = {"AND": [{"EQ": {"kind": "product"}}, {"EQ": {"outbox_state": "pending"}}]}
    app.state.ops = Ops(
        [
            OutboxGauge("products", pending, "product.product_id"),
            OutboxGauge("stock-batches", {"EQ": {"kind": "outbox"}}, "key", entries="events"),
        ]
    )
    sweeper = OutboxSweeper(
        store,
        BatchRelay(store, sidecar),
        OutboxRelay(store, sidecar),
        timedelta(seconds=settings.outbox_grace_seconds),
    )
    tasks = [
        asyncio.create_task(browse.refresh_forever(settings.index_refresh_seconds)),
        asyncio.create_task(sweeper.run_forever(settings.outbox_sweep_seconds)),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await sidecar.close()


app = FastAPI(title="SmartCommerce catalog", version="0.1.0", lifespan=lifespan)
install_common(app)


def _read_model_loaded(state: Any) -> str | None:
    browse = getattr(state, "browse", None)
    return None if browse is not None and browse.loaded_at else "read model not loaded"


app.include_router(
    health_router(
        {Component.STATE, Component.PUBSUB, Component.PUBSUB_BROADCAST},
        check_store=True,
        checks=[_read_model_loaded],
    )
)
app.include_router(browse_router)
app.include_router(router)
app.include_router(inventory_router)
app.include_router(admin_router)
app.include_router(category_router)
app.include_router(review_router)
subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, Component.PUBSUB)
subscribe_read_model(app)
