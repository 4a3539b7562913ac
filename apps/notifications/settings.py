from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.contracts.names import Component
from apps.notifications.domain import RetryPolicy
from apps.platform.settings import AppSettings


class NotificationsSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    email_binding: str = Component.EMAIL
    # Azure: a MailFrom address of a domain linked to the Communication Services resource.
    email_from: str = Field(
        "SmartCommerce <no-reply@smartcommerce.example>", min_length=3, max_length=200
    )
    #: Where links in email point (the shop's public address: the web app).
    public_base_url: str = Field("http://localhost:8080", pattern=r"^https?://[^\s]+$")
    #: How often the sweeper looks for mail due a retry (or left claimed by a dead replica).
    sweep_seconds: float = Field(15.0, gt=0, le=3600)
    retry_base_seconds: float = Field(30.0, gt=0)
    retry_max_seconds: float = Field(3600.0, gt=0)
    #: Attempts before a message is dead-lettered (20 at the defaults: ~14 hours of retries).
    max_attempts: int = Field(20, ge=1, le=1000)
    #: How long a claimed message is one replica's; past it another may send it.
    lease_seconds: float = Field(60.0, gt=0)
    #: One SMTP conversation through the binding (daprd dials with a 10 s timeout).
    send_timeout_seconds: float = Field(30.0, gt=0, le=300)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            base_seconds=self.retry_base_seconds,
            max_seconds=self.retry_max_seconds,
            max_attempts=self.max_attempts,
            lease_seconds=max(self.lease_seconds, self.send_timeout_seconds),
        )


@lru_cache(maxsize=1)
def get_settings() -> NotificationsSettings:
    return NotificationsSettings()
