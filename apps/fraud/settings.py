from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]


class FraudSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUD_", extra="ignore")

    model_dir: Path = Field(ROOT / "models" / "fraud", description="written by ./taskw train")
    review_threshold: float = Field(
        0.30, gt=0, lt=1, description="probability from which an order is held for review"
    )
    reject_threshold: float = Field(
        0.80, gt=0, lt=1, description="probability from which an order is rejected"
    )
    top_features: int = Field(5, ge=0, le=17)
    native_threads: int = Field(1, ge=1, le=64, description="OpenMP/BLAS threads per process")

    @model_validator(mode="after")
    def _ordered(self) -> "FraudSettings":
        if self.review_threshold >= self.reject_threshold:
            raise ValueError("FRAUD_REVIEW_THRESHOLD must be below FRAUD_REJECT_THRESHOLD")
        return self


@lru_cache(maxsize=1)
def get_settings() -> FraudSettings:
    return FraudSettings()
