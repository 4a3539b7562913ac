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
    payment_timeout_seconds: int = Field(
        15 * 60,
        ge=1,
        le=24 * 3600,
        description="how long the saga waits for the payment result before cancelling",
    )
    authentication_timeout_seconds: int = Field(
        10 * 60,
        ge=1,
        le=24 * 3600,
        description="how long the saga waits for a shopper to pass 3-D Secure (Stripe answered "
        "`requires_action`) before cancelling; a person is at it, so longer than the payment "
        "timeout, which waits for Stripe's webhook",
    )
    worker_stall_seconds: float = Field(
        60,
        ge=5,
        le=3600,
        description="workflow worker disconnected this long: /health/live fails (restart)",
    )
    stuck_after_seconds: float | None = Field(
        None,
        ge=1,
        le=7 * 24 * 3600,
        description="a saga in flight idle this long is listed as stuck; unset: its own "
        "longest wait (payment or authentication timeout) plus a minute",
    )
    review_timeout_seconds: int = Field(
        24 * 3600,
        ge=1,
        le=3 * 24 * 3600,
        description="how long an order held for fraud review waits for staff (then rejected)",
    )


@lru_cache(maxsize=1)
def get_settings() -> CheckoutSettings:
    return CheckoutSettings()
