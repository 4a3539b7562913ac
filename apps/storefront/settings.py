from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.contracts.names import AppId
from apps.platform.settings import AppSettings

JWKS_PATH = ".well-known/jwks.json"


class StorefrontSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="STOREFRONT_", extra="ignore")

    jwks_url: str | None = Field(
        None,
        description="JWKS of the token issuer; the identity app's (through Dapr) if unset. "
        "In Azure: the Entra ID tenant's JWKS URL",
    )
    jwt_issuer: str = Field("smartcommerce-identity", min_length=1)
    jwt_audience: str = Field("smartcommerce-api", min_length=1)
    jwt_leeway_seconds: int = Field(30, ge=0, le=300)
    guest_session_days: int = Field(14, ge=1, le=365, description="guest cart cookie lifetime")

    @property
    def effective_jwks_url(self) -> str:
        return self.jwks_url or (
            f"{self.dapr_http_endpoint}/v1.0/invoke/{AppId.IDENTITY}/method/{JWKS_PATH}"
        )


@lru_cache(maxsize=1)
def get_settings() -> StorefrontSettings:
    return StorefrontSettings()
