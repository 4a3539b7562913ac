"""The web app's settings (prefix WEB_)."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.contracts.names import AppId
from apps.platform.settings import AppSettings


class WebSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    storefront_app_id: str = Field(AppId.STOREFRONT, description="the API this app is a client of")
    cookie_secure: bool = Field(
        True,
        description="session cookie sent over HTTPS only (browsers treat http://localhost as "
        "secure, so this stays on locally too)",
    )
    session_days: int = Field(30, ge=1, le=365, description="how long a signed-in visit lasts")
    locale: str = Field("en_US", description="locale prices and dates are written in")
    timezone: str = Field("UTC", description="time zone dates are shown in")
    api_timeout_seconds: float = Field(15.0, gt=0, le=120)
    public_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="how long public catalog reads are shared between visitors (0: never); "
        "a catalog change shows on pages within this plus the storefront's own cache",
    )
    public_stale_seconds: float = Field(
        30.0,
        ge=0,
        le=300,
        description="after that, how long an answer is still shown while a newer one is "
        "fetched in the background (stale-while-revalidate; 0: never)",
    )
    page_size: int = Field(24, ge=1, le=100, description="products per listing page")
    stripe_publishable_key: str = Field(
        "pk_test_smartcommerce_local",
        description="Stripe.js key for the 3-D Secure step (local: stripe-mock answers it)",
    )


@lru_cache
def get_settings() -> WebSettings:
    return WebSettings()
