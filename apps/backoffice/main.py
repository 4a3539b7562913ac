"""backoffice: what staff and admins work with (SPEC "Apps": analytics, tickets, audit log,
admin), reached through the storefront's `/api/staff/*` and `/api/admin/*` routes with the
gateway's signed context. Each area adds its router and subscriptions here."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

from actors.sidecar_http import close_pool
from apps.backoffice.analytics.adapters import DaprCatalog, StateSalesRecords
from apps.backoffice.analytics.api import on_payment_events
from apps.backoffice.analytics.api import router as analytics_router
from apps.backoffice.analytics.service import AnalyticsService
from apps.backoffice.analytics.settings import get_analytics_settings
from apps.backoffice.audit_api import on_audit_events
from apps.backoffice.audit_api import router as audit_router
from apps.backoffice.banners_api import BannerStore
from apps.backoffice.banners_api import router as banners_router
from apps.backoffice.config_api import router as config_router
from apps.backoffice.dead_letters_api import router as dead_letters_router
from apps.backoffice.dead_letters_api import subscribe_dead_letters
from apps.backoffice.merchandising_api import on_inventory_events, on_order_events
from apps.backoffice.merchandising_api import router as merchandising_router
from apps.backoffice.merchandising_service import CatalogLevels, MerchandisingService
from apps.backoffice.operations_api import router as operations_router
from apps.backoffice.settings import get_settings
from apps.backoffice.tickets_adapters import start_tickets
from apps.backoffice.tickets_api import on_support_events
from apps.backoffice.tickets_api import router as tickets_router
from apps.contracts.names import AppId, Component, Topic
from apps.platform.context import ContextKey
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import subscribe


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(
        AppId.BACKOFFICE, settings.log_level, settings.log_json, settings.trace_console
    )
    sidecar = Sidecar(settings)
    app.state.sidecar = sidecar
    app.state.store = JsonStateStore(sidecar.http, settings.state_store)
    app.state.context_key = ContextKey(sidecar)
    app.state.banners = BannerStore(app.state.store)
    await start_tickets(app, sidecar, app.state.store, actors)
    analytics = get_analytics_settings()
    app.state.analytics = AnalyticsService(
        StateSalesRecords(app.state.store),
        DaprCatalog(sidecar),
        analytics.refresh_seconds,
        analytics.currency,
    )
    app.state.analytics.warm_up()
    app.state.merchandising = MerchandisingService(
        app.state.store, sidecar, CatalogLevels(sidecar, settings.restock_levels_ttl_seconds)
    )
    try:
        yield
    finally:
        await close_pool()
        await sidecar.close()


app = FastAPI(title="SmartCommerce backoffice", version="0.1.0", lifespan=lifespan)
install_common(app)
app.include_router(
    health_router({Component.STATE, Component.PUBSUB, Component.GATEWAY_SECRETS}, check_store=True)
)
# Administration: the audit log (fed through audit-events) and the dead letters it keeps.
app.include_router(audit_router)
# Runtime settings: the admin API over the runtime-config store (Dapr Configuration API).
app.include_router(config_router)
app.include_router(dead_letters_router)
subscribe(app, Topic.AUDIT_EVENTS, "/events/audit-events", on_audit_events, Component.PUBSUB)
subscribe_dead_letters(app)
# Operations: every app's health, sidecar metadata, outbox backlog, logs and restart.
app.include_router(operations_router)
# Sales analytics: the read model fed by order and payment events, and staff reports.
# order-events also keep merchandising's fraud review queue (one route per topic).
app.include_router(analytics_router)
subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, Component.PUBSUB)
subscribe(app, Topic.PAYMENT_EVENTS, "/events/payment-events", on_payment_events, Component.PUBSUB)
# Customer requests: TicketActor, the customer and staff routes, the list view.
actors = DaprActor(app)
app.include_router(tickets_router)
subscribe(app, Topic.SUPPORT_EVENTS, "/events/support-events", on_support_events, Component.PUBSUB)
# Banners: the storefront's scheduled banners, managed by staff.
app.include_router(banners_router)
# Merchandising: restock list (low-stock alerts from inventory-events, forecast), price
# suggestions (pricing, applied through catalog), the fraud review queue.
app.include_router(merchandising_router)
subscribe(
    app, Topic.INVENTORY_EVENTS, "/events/inventory-events", on_inventory_events, Component.PUBSUB
)
