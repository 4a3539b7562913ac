from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.contracts.names import AppId
from apps.platform.settings import AppSettings

JWKS_PATH = ".well-known/jwks.json"


class StorefrontSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="STOREFRONT_", extra="ignore")

    jwks_url: str | None = Field(
        None, description="JWKS of the token issuer; the identity app's (through Dapr) if unset"
    )
    extra_jwks_urls: list[str] = Field(
        default_factory=list,
        description="more JWKS trusted for the same issuer and audience (tests' own key set)",
    )
    jwt_issuer: str = Field("smartcommerce-identity", min_length=1)
    jwt_audience: str = Field("smartcommerce-api", min_length=1)
    jwt_leeway_seconds: int = Field(30, ge=0, le=300)
    catalog_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="how long the gateway serves a public catalog read from memory (0: "
        "never); a catalog change made elsewhere shows within this bound",
    )
    token_status_seconds: float = Field(
        5.0,
        ge=0,
        le=60,
        description="how long the identity app's answer on a session (signed out, role "
        "changed, account deleted) is reused: a revoked access token stops working within it",
    )
    guest_session_days: int = Field(14, ge=1, le=365, description="guest cart cookie lifetime")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000"],
        description="browser origins allowed to call the API (JSON list)",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, le=50 * 1_048_576)
    trust_forwarded: bool = Field(
        False, description="take the client address from X-Forwarded-For (behind the ingress)"
    )
    rate_limit_enabled: bool = True
    rate_limit_ip_per_minute: int = Field(600, ge=1, description="any /api request, per address")
    rate_limit_user_per_minute: int = Field(1200, ge=1, description="per signed-in user")
    rate_limit_auth_ip_per_minute: int = Field(
        30, ge=1, description="sign-in, sign-up, refresh per address"
    )
    rate_limit_auth_email_per_minute: int = Field(
        10, ge=1, description="sign-in and sign-up attempts per email"
    )

    live_max_streams: int = Field(
        2000, ge=1, description="live order streams (`/api/orders/{id}/events`) per replica"
    )
    live_max_streams_per_user: int = Field(
        5, ge=1, description="live streams per customer (a guest: per order email)"
    )
    live_max_seconds: float = Field(
        1800,
        ge=1,
        le=86_400,
        description="a live stream ends after this and the browser reconnects (in Azure keep "
        "it under the ingress's 240 s request timeout)",
    )
    live_keepalive_seconds: float = Field(15, gt=0, le=120)
    live_queue_size: int = Field(
        32, ge=2, le=1000, description="events queued per stream before it must re-sync"
    )

    @property
    def jwks_sources(self) -> list[tuple[str, dict[str, str]]]:
        """The JWKS URLs the gateway trusts, each with the headers its fetch sends: the
        identity app's keys through the sidecar (with the sidecar's API token) unless
        `jwks_url` names another, then any extra ones as they are."""
        own = (
            (self.jwks_url, {})
            if self.jwks_url
            else (
                f"{self.dapr_http_endpoint}/v1.0/invoke/{AppId.IDENTITY}/method/{JWKS_PATH}",
                self.sidecar_headers,
            )
        )
        return [own, *((url, {}) for url in self.extra_jwks_urls)]


@lru_cache(maxsize=1)
def get_settings() -> StorefrontSettings:
    return StorefrontSettings()
