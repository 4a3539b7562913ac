from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class OrdersSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore")

    payment_timeout_seconds: int = Field(
        30 * 60,
        ge=1,
        le=7 * 24 * 3600,
        description="Unpaid orders are cancelled (and their stock released) after this",
    )
    actor_idle_timeout_seconds: int = Field(15 * 60, ge=10)


@lru_cache(maxsize=1)
def get_settings() -> OrdersSettings:
    return OrdersSettings()
