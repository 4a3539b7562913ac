from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class CatalogSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    index_refresh_seconds: float = Field(
        30, gt=0, le=3600, description="reload of the read model (writes of other replicas)"
    )
    outbox_sweep_seconds: float = Field(
        30, gt=0, le=3600, description="how often leftovers of a crashed publish are sent"
    )
    outbox_grace_seconds: float = Field(
        10, ge=0, le=3600, description="age before a pending event counts as left over"
    )
    reservation_ttl_seconds: int = Field(
        45 * 60,
        ge=1,
        le=7 * 24 * 3600,
        description="holds lapse after this unless committed (longer than the payment timeout)",
    )


@lru_cache(maxsize=1)
def get_settings() -> CatalogSettings:
    return CatalogSettings()
