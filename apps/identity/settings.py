from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.contracts.names import Component
from apps.platform.settings import AppSettings


class IdentitySettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    # Everything identity keeps (signing keys, password hashes, refresh tokens) lives in a
    # store no other app's sidecar loads, not in the shared statestore.
    state_store: str = Component.IDENTITY_STATE
    issuer: str = Field("smartcommerce-identity", min_length=1)
    audience: str = Field("smartcommerce-api", min_length=1)
    access_token_seconds: int = Field(15 * 60, ge=30, le=24 * 3600)
    refresh_token_days: int = Field(30, ge=1, le=365)
    key_rotation_days: int = Field(
        30, ge=1, le=365, description="a new signing key after this; the previous one is kept"
    )
    key_activation_seconds: int = Field(
        60,
        ge=0,
        le=3600,
        description="a new key is published this long before it signs (gateways fetch it)",
    )
    keys_kept: int = Field(2, ge=2, le=10, description="signing keys published in the JWKS")
    key_cache_seconds: float = Field(30, ge=0, le=3600, description="replicas reload the keys")
    # Microsoft Entra ID (external identity): tokens exchanged at POST /auth/entra.
    entra_issuer: str | None = Field(
        None, description="e.g. https://login.microsoftonline.com/<tenant>/v2.0"
    )
    entra_audience: str | None = Field(None, description="e.g. api://smartcommerce")
    entra_jwks_url: str | None = Field(None, description="the tenant's discovery/v2.0/keys")
    entra_role_map: dict[str, str] = Field(
        default_factory=lambda: {"SmartCommerce.Admin": "admin", "SmartCommerce.Staff": "staff"},
        description="Entra app roles -> ours (anyone else is a customer)",
    )
    bootstrap_admin_email: str = Field(
        "admin@smartcommerce.example",
        description="created as admin on first start (password: secret identity-admin-password)",
    )
    rewards_points_per_unit: int = Field(1, ge=0, le=100, description="points per 1.00 paid")
    # Account recovery and two-factor sign-in (README "Account recovery and two-factor").
    email_verification_ttl_seconds: int = Field(
        48 * 3600, ge=1, le=30 * 86400, description="an email verification link works this long"
    )
    password_reset_ttl_seconds: int = Field(
        30 * 60, ge=1, le=86400, description="a password reset link works this long"
    )
    mfa_challenge_seconds: int = Field(
        300, ge=30, le=3600, description="time for the second step of a sign-in"
    )
    totp_issuer: str = Field("SmartCommerce", min_length=1, max_length=60)
    # The outbox of account events: published after each write; a sweep publishes what a
    # crash or a broker outage left once it is older than the grace.
    outbox_sweep_seconds: float = Field(30, gt=0, le=3600)
    outbox_grace_seconds: float = Field(10, ge=0, le=3600)


@lru_cache(maxsize=1)
def get_settings() -> IdentitySettings:
    return IdentitySettings()
