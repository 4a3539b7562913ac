from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsSettings(BaseSettings):
    """`BACKOFFICE_ANALYTICS_*`: how stale a replica's copy of the read model may get before
    it reloads it in the background (what other replicas wrote shows within this), and the
    currency reports name when the period has no sales."""

    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_ANALYTICS_", extra="ignore")

    refresh_seconds: float = Field(default=30.0, gt=0, le=3600)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


@lru_cache(maxsize=1)
def get_analytics_settings() -> AnalyticsSettings:
    return AnalyticsSettings()
