"""notifications: emails customers about their orders, shipments and account, through the
`email` output binding (README "Notifications")."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI

from apps.contracts.names import AppId, Component, Topic
from apps.notifications.adapters import (
    BindingMailer,
    DeadLetterTopic,
    IdentityContacts,
    OrderLookup,
    StateOutbox,
)
from apps.notifications.api import (
    on_order_events,
    on_payment_events,
    on_shipping_events,
    on_support_events,
    on_user_events,
    router,
)
from apps.notifications.service import Links, NotificationService
from apps.notifications.settings import get_settings
from apps.platform.context import ContextKey
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import subscribe

log = structlog.stdlib.get_logger("notifications.sweeper")


async def sweeper(service: NotificationService, every: float) -> None:
    """Retries what is due and takes over claims whose replica died: every replica runs
    one; the ETag claim lets only one of them send each message."""
    while True:
        await asyncio.sleep(every)
        try:
            counts = await service.sweep()
        except Exception:
            log.exception("sweep failed; trying again next round", every_seconds=every)
            continue
        if counts:
            log.info("sweep", **counts)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(
        AppId.NOTIFICATIONS, settings.log_level, settings.log_json, settings.trace_console
    )
    sidecar = Sidecar(settings)
    store = JsonStateStore(sidecar.http, settings.state_store)
    app.state.sidecar = sidecar
    app.state.store = store
    app.state.context_key = ContextKey(sidecar)
    app.state.service = NotificationService(
        outbox=StateOutbox(store),
        mailer=BindingMailer(
            sidecar, settings.email_binding, settings.email_from, settings.send_timeout_seconds
        ),
        contacts=IdentityContacts(sidecar),
        orders=OrderLookup(sidecar),
        dead_letters=DeadLetterTopic(sidecar),
        links=Links(settings.public_base_url),
        policy=settings.retry_policy,
    )
    app.state.sweeper = asyncio.create_task(sweeper(app.state.service, settings.sweep_seconds))
    try:
        yield
    finally:
        app.state.sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.state.sweeper
        await sidecar.close()


def sweeper_stopped(state: Any) -> str | None:
    task = getattr(state, "sweeper", None)
    return "the outbox sweeper stopped" if task is not None and task.done() else None


app = FastAPI(title="SmartCommerce notifications", version="0.1.0", lifespan=lifespan)
install_common(app)
app.include_router(
    health_router(
        {Component.STATE, Component.PUBSUB, Component.EMAIL, Component.GATEWAY_SECRETS},
        check_store=True,
        live_checks=[sweeper_stopped],
    )
)
app.include_router(router)
PUBSUB = Component.PUBSUB
subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, PUBSUB)
subscribe(app, Topic.PAYMENT_EVENTS, "/events/payment-events", on_payment_events, PUBSUB)
subscribe(app, Topic.SHIPPING_EVENTS, "/events/shipping-events", on_shipping_events, PUBSUB)
subscribe(app, Topic.SUPPORT_EVENTS, "/events/support-events", on_support_events, PUBSUB)
subscribe(app, Topic.USER_EVENTS, "/events/user-events", on_user_events, PUBSUB)
