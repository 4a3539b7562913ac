from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class PaymentsSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore")

    stripe_api_base: str = Field(
        "http://127.0.0.1:12111", description="stripe-mock locally; https://api.stripe.com in Azure"
    )
    api_key_secret: str = Field("stripe-api-key", description="secret store entry")
    webhook_secret_name: str = Field("stripe-webhook-secret", description="secret store entry")
    webhook_tolerance_seconds: int = Field(300, ge=1, le=3600, description="older is stale")
    simulate_webhooks: bool = Field(
        False,
        description="local mode: send ourselves the webhook Stripe would send (stripe-mock "
        "sends none); never in Azure",
    )


@lru_cache(maxsize=1)
def get_settings() -> PaymentsSettings:
    return PaymentsSettings()
