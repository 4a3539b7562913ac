from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
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
    stuck_check_seconds: float = Field(
        60,
        ge=1,
        le=3600,
        description="how often checkout looks for stuck sagas and logs each new one "
        "(`saga stuck`, what the operators' alert counts)",
    )
    review_timeout_seconds: int = Field(
        24 * 3600,
        ge=1,
        le=3 * 24 * 3600,
        description="how long an order held for fraud review waits for staff (then rejected)",
    )
    # The saga engine (README "Saga engines"): Dapr Workflow through the SDK, or the generic
    # durabletask client and worker on any durabletask backend: this app's sidecar (no
    # endpoint), or Azure's Durable Task Scheduler (its endpoint and task hub; an Entra token
    # from DefaultAzureCredential, AZURE_CLIENT_ID naming the user-assigned identity).
    saga_engine: Literal["dapr", "durabletask"] = "dapr"
    durabletask_endpoint: str | None = Field(
        None,
        max_length=500,
        description="the durabletask backend's gRPC address (host:port, or https://... for "
        "TLS); unset: this app's sidecar",
    )
    durabletask_taskhub: str | None = Field(
        None,
        max_length=200,
        description="the scheduler's task hub; set: the backend is a Durable Task Scheduler "
        "(`taskhub` header and an Entra token on every call)",
    )
    durabletask_secure: bool = Field(
        False, description="TLS to the durabletask backend (an https:// endpoint is TLS anyway)"
    )

    @model_validator(mode="after")
    def _scheduler_needs_an_endpoint(self) -> "CheckoutSettings":
        if self.durabletask_taskhub and not self.durabletask_endpoint:
            raise ValueError("CHECKOUT_DURABLETASK_TASKHUB needs CHECKOUT_DURABLETASK_ENDPOINT")
        return self


@lru_cache(maxsize=1)
def get_settings() -> CheckoutSettings:
    return CheckoutSettings()
