from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class CartSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="CART_", extra="ignore")

    guest_ttl_seconds: int = Field(
        14 * 24 * 3600, ge=1, description="an idle guest cart is deleted after this"
    )
    user_ttl_seconds: int = Field(
        90 * 24 * 3600, ge=1, description="an idle signed-in user's cart is deleted after this"
    )
    max_line_quantity: int = Field(99, ge=1, le=1000)
    max_lines: int = Field(50, ge=1, le=200)
    catalog_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=300,
        description="how long this instance reuses catalog's price/stock view of a variant; "
        "cart checks are advisory (checkout re-prices and reserves), 0 = always ask",
    )
    actor_idle_timeout_seconds: int = Field(
        15 * 60, ge=10, description="an unused cart actor is deactivated (its state stays)"
    )


@lru_cache(maxsize=1)
def get_settings() -> CartSettings:
    return CartSettings()
