"""recommendations: related products and "for you" (invoked through Dapr; catalog asks it for
`/api/products/{id}/related`); kept current by signed-in shoppers' paid orders.

The model is loaded once at start; a missing model stops the app with a message saying how
to train it.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request

from apps.contracts.names import AppId, Component, Topic
from apps.contracts.recommendations import Recommendations
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import app_state, install_common
from apps.platform.logging import configure_logging
from apps.platform.models import limit_native_threads
from apps.platform.state import JsonStateStore
from apps.platform.subscriptions import dispatch, subscribe
from apps.recommendations.adapters import StateLivePurchases
from apps.recommendations.model import RecoModel
from apps.recommendations.service import RecommendationService
from apps.recommendations.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(
        AppId.RECOMMENDATIONS, settings.log_level, settings.log_json, settings.trace_console
    )
    model = RecoModel.load(settings.model_dir)  # ModelError: refuse to start
    limit_native_threads(settings.native_threads)
    sidecar = Sidecar(settings, grpc=False)
    store = JsonStateStore(sidecar.http, settings.state_store)
    app.state.sidecar = sidecar
    app.state.store = store
    app.state.service = RecommendationService(model, StateLivePurchases(store))
    try:
        yield
    finally:
        await sidecar.close()


router = APIRouter(tags=["recommendations"])
Service = Annotated[RecommendationService, Depends(app_state("service"))]
Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Limit = Annotated[int, Query(ge=1, le=50)]


@router.get("/related/{product_id}", response_model=Recommendations)
async def related(product_id: Id, service: Service, limit: Limit = 10) -> Recommendations:
    """Products bought and viewed by the same shoppers and alike in content; a product the
    model has not seen gets the best sellers."""
    return service.related(product_id, limit)


@router.get("/for-you/{user_id}", response_model=Recommendations)
async def for_you(user_id: Id, service: Service, limit: Limit = 10) -> Recommendations:
    """For a shopper, from their history and purchases since; best sellers for a newcomer."""
    return await service.for_user(user_id, limit)


async def on_order_events(
    request: Request, cloud_event: dict[str, Any] = Body(...)
) -> dict[str, str]:
    """order-events: remember what signed-in shoppers bought (each event once)."""
    service: RecommendationService = request.app.state.service
    return await dispatch(cloud_event, {"OrderPaid": service.on_order_paid})


def _model_version(state: Any) -> dict[str, str]:
    return {"model_version": state.service.model.version}


app = FastAPI(title="SmartCommerce recommendations", version="0.1.0", lifespan=lifespan)
install_common(app, invalid_input_status=422)
app.include_router(
    health_router({Component.STATE, Component.PUBSUB}, check_store=True, details=_model_version)
)
app.include_router(router)
subscribe(app, Topic.ORDER_EVENTS, "/events/order-events", on_order_events, Component.PUBSUB)
