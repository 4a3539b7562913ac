"""pricing: margin-maximising price suggestions within guardrails, explained (invoked
through Dapr; staff reach it through backoffice later)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI

from apps.contracts.names import AppId
from apps.contracts.pricing import SuggestRequest, SuggestResponse
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import app_state, install_common
from apps.platform.logging import configure_logging
from apps.pricing.service import PricingModel, PricingService
from apps.pricing.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.PRICING, settings.log_level, settings.log_json, settings.trace_console)
    app.state.service = PricingService(PricingModel.load(settings.model_dir))
    app.state.sidecar = Sidecar(settings, grpc=False)
    try:
        yield
    finally:
        await app.state.sidecar.close()


router = APIRouter(tags=["pricing"])
Service = Annotated[PricingService, Depends(app_state("service"))]


@router.post("/suggest", response_model=SuggestResponse)
async def suggest_price(req: SuggestRequest, service: Service) -> SuggestResponse:
    """The price that maximises expected daily margin within the guardrails (never below
    cost, at least `min_margin`, at most `max_change` away), with the elasticity behind it,
    the expected units and margin at both prices, and a sentence explaining it."""
    return service.suggest(req)


def _model_version(state: Any) -> dict[str, str]:
    return {"model_version": state.service.model.version}


app = FastAPI(title="SmartCommerce pricing", version="0.1.0", lifespan=lifespan)
install_common(app, invalid_input_status=422)
app.include_router(health_router(set(), details=_model_version))
app.include_router(router)
