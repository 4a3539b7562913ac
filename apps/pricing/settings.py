from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]


class PricingSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="PRICING_", extra="ignore")

    model_dir: Path = Field(ROOT / "models" / "pricing", description="written by ./taskw train")


@lru_cache(maxsize=1)
def get_settings() -> PricingSettings:
    return PricingSettings()
