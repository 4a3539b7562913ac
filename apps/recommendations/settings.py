from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]


class RecommendationsSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="RECOMMENDATIONS_", extra="ignore")

    model_dir: Path = Field(
        ROOT / "models" / "recommendations", description="written by ./taskw train"
    )
    native_threads: int = Field(1, ge=1, le=64, description="OpenMP/BLAS threads per process")


@lru_cache(maxsize=1)
def get_settings() -> RecommendationsSettings:
    return RecommendationsSettings()
