"""forecast: per-SKU demand forecasts, intervals and reorder points (invoked through Dapr);
kept current by the shop's paid orders (order-events).

The model is loaded once at start; a missing model or one trained on another feature
schema stops the app with a message saying how to train it.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Request

from apps.contracts.forecast import ForecastRequest, ForecastResponse
from apps.contracts.names import AppId, Component, Topic
from apps.forecast.adapters import StateLiveSales
from apps.forecast.model import ForecastModel
from apps.forecast.service import ForecastService
from apps.forecast.settings import get_settings
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import app_state, install_common
from apps.platform.logging import configure_logging
from apps.platform.models import limit_native_threads
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import dispatch, subscribe


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.FORECAST, settings.log_level, settings.log_json, settings.trace_console)
    model, histories = ForecastModel.load(settings.model_dir)  # ModelError: refuse to start
    limit_native_threads(settings.native_threads)
    sidecar = Sidecar(settings, grpc=False)
    store = JsonStateStore(sidecar.http, settings.state_store)
    app.state.sidecar = sidecar
    app.state.store = store
    app.state.service = ForecastService(model, histories, StateLiveSales(store))
    try:
        yield
    finally:
        await sidecar.close()


router = APIRouter(tags=["forecast"])
Service = Annotated[ForecastService, Depends(app_state("service"))]


@router.post("/forecast", response_model=ForecastResponse)
async def forecast(req: ForecastRequest, service: Service) -> ForecastResponse:
    """Expected units per day with an 80 % interval, demand over the lead time, the safety
    stock for the service level and the reorder point."""
    return await service.forecast(req)


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """order-events: count paid units per SKU and day (redeliveries counted once)."""
    service: ForecastService = request.app.state.service
    return await dispatch(cloud_event, {"OrderPaid": service.on_order_paid})


def _model_version(state: Any) -> dict[str, str]:
    return {"model_version": state.service.model.version}


app = FastAPI(title="SmartCommerce forecast", version="0.1.0", lifespan=lifespan)
install_common(app, invalid_input_status=422)
app.include_router(
    health_router({Component.STATE, Component.PUBSUB}, check_store=True, details=_model_version)
)
app.include_router(router)
subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, Component.PUBSUB)
