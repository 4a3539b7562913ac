"""fraud: real-time fraud score for a checkout (invoked through Dapr by checkout).

The model is loaded once at start; a missing model or one trained on another feature
schema stops the app with a message saying how to train it.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI

from apps.contracts.fraud import FraudContext, FraudScore
from apps.contracts.names import AppId
from apps.contracts.runtime_config import ConfigKey, FraudBands, keys_of
from apps.fraud.model import FraudModel
from apps.fraud.service import FraudScorer
from apps.fraud.settings import get_settings
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import app_state, install_common
from apps.platform.logging import configure_logging
from apps.platform.models import limit_native_threads
from apps.platform.runtime_config import RuntimeConfig, runtime_config_router


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.FRAUD, settings.log_level, settings.log_json, settings.trace_console)
    model = FraudModel.load(settings.model_dir)  # ModelError: refuse to start
    limit_native_threads(settings.native_threads)
    app.state.scorer = FraudScorer(
        model, settings.review_threshold, settings.reject_threshold, settings.top_features
    )
    app.state.sidecar = Sidecar(settings, grpc=False)
    configured = FraudBands(review=settings.review_threshold, reject=settings.reject_threshold)

    def apply(key: ConfigKey, value: FraudBands | None) -> None:
        """`fraud.bands` from the configuration store, live (None: FRAUD_*_THRESHOLD)."""
        app.state.scorer.set_bands(value or configured)

    app.state.runtime_config = RuntimeConfig(app.state.sidecar.http, keys_of(AppId.FRAUD), apply)
    app.state.runtime_config.start()
    try:
        yield
    finally:
        await app.state.runtime_config.stop()
        await app.state.sidecar.close()


router = APIRouter(tags=["fraud"])
Scorer = Annotated[FraudScorer, Depends(app_state("scorer"))]


@router.post("/score", response_model=FraudScore)
async def score(ctx: FraudContext, scorer: Scorer) -> FraudScore:
    """Probability of fraud, the decision band (thresholds from configuration), the model
    version and the features that raise the score most."""
    return scorer.score(ctx)


def _model_version(state: Any) -> dict[str, str]:
    return {"model_version": state.scorer.model.version}


app = FastAPI(title="SmartCommerce fraud", version="0.1.0", lifespan=lifespan)
install_common(app, invalid_input_status=422)
app.include_router(health_router(set(), details=_model_version))
app.include_router(router)
app.include_router(runtime_config_router())
