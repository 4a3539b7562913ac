"""identity: accounts, sign-in (password, Microsoft Entra ID, TOTP two-factor), RS256
access tokens with a rotating JWKS, rotating refresh tokens with reuse detection, email
verification and password reset, the account's own data, rewards from paid orders, admin
with an audit log, and account events on `user-events` through an outbox."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from apps.contracts.names import AppId, Component, Secret, Topic
from apps.identity.adapters import EntraTokens, SidecarOrders
from apps.identity.api import on_order_events, router
from apps.identity.security_api import router as security_router
from apps.identity.service import IdentityService, user_key
from apps.identity.settings import get_settings
from apps.platform.context import CONTEXT_SECRET
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import install_common
from apps.platform.logging import configure_logging
from apps.platform.ops import Ops, OutboxGauge
from apps.platform.outbox import InlineOutbox
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import subscribe

ADMIN_PASSWORD_SECRET = Secret.IDENTITY_ADMIN_PASSWORD  # in identity-secrets: identity only


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.IDENTITY, settings.log_level, settings.log_json, settings.trace_console)
    sidecar = Sidecar(settings)
    app.state.context_key = await sidecar.secret(CONTEXT_SECRET)
    # identitystore: a state store only identity's sidecar loads (keys, hashes, sign-ins).
    store = JsonStateStore(sidecar.http, settings.state_store)
    entra = (
        EntraTokens(settings.entra_issuer, settings.entra_audience, settings.entra_jwks_url)
        if settings.entra_issuer and settings.entra_audience and settings.entra_jwks_url
        else None
    )
    app.state.sidecar = sidecar
    app.state.store = store
    outbox = InlineOutbox(store, sidecar)
    pending = {"AND": [{"EQ": {"kind": "user"}}, {"EQ": {"outbox_state": "pending"}}]}
    app.state.ops = Ops([OutboxGauge("users", pending, "profile.user_id")])
    app.state.service = IdentityService(
        store, settings, SidecarOrders(sidecar, app.state.context_key), entra, outbox
    )
    await app.state.service.key_ring()  # the first key exists before the first sign-in
    await app.state.service.bootstrap_admin(
        settings.bootstrap_admin_email, await sidecar.secret(ADMIN_PASSWORD_SECRET)
    )
    # Account events a crash or a broker outage left in an outbox go out within a sweep.
    sweeper = asyncio.create_task(
        outbox.sweep_forever(
            settings.outbox_sweep_seconds,
            pending,
            "profile.user_id",
            lambda doc: user_key(doc["profile"]["user_id"]),
            timedelta(seconds=settings.outbox_grace_seconds),
        )
    )
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await sidecar.close()


app = FastAPI(title="SmartCommerce identity", version="0.1.0", lifespan=lifespan)
install_common(app, invalid_input_status=422)
app.include_router(
    health_router(
        {
            Component.IDENTITY_STATE,
            Component.PUBSUB,
            Component.SECRETS,
            Component.GATEWAY_SECRETS,
            Component.IDENTITY_SECRETS,
        },
        check_store=True,
    )
)
app.include_router(router)
app.include_router(security_router)
subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, Component.PUBSUB)
