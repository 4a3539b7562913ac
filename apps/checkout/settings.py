from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class CheckoutSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKOUT_", extra="ignore")

    # The SDK's default worker pool is cpu+4 threads; set it explicitly (issue 6).
    workflow_max_activities: int = Field(32, ge=1, le=1000)
    workflow_max_orchestrations: int = Field(32, ge=1, le=1000)
    workflow_threads: int = Field(32, ge=1, le=1000)
    payment_timeout_seconds: int | None = Field(
        None, ge=1, description="passed to the order; the orders app's default if unset"
    )


@lru_cache(maxsize=1)
def get_settings() -> CheckoutSettings:
    return CheckoutSettings()
