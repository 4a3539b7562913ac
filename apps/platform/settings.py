"""Base settings: one pydantic-settings class per app derives from it with its own prefix."""

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.contracts.names import Component

PLACEHOLDER_MARKERS = ("change-me", "changeme", "-local", "placeholder")


class AppSettings(BaseSettings):
    """Fields every app has. Component names default to those in components/."""

    model_config = SettingsConfigDict(env_prefix="SC_", extra="ignore")

    environment: Literal["local", "test", "azure"] = "local"
    log_level: str = "INFO"
    log_json: bool = True
    trace_console: bool = Field(False, description="print this app's spans to stdout")
    state_store: str = Component.STATE
    pubsub: str = Component.PUBSUB
    # No secret store field: each secret has its own store (`Sidecar.secret`, SECRET_STORE).
    # Set by `dapr run` / the sidecar injector, shared by the SDK; no prefix.
    dapr_http_port: int = Field(3500, validation_alias=AliasChoices("DAPR_HTTP_PORT"))
    dapr_grpc_port: int = Field(50001, validation_alias=AliasChoices("DAPR_GRPC_PORT"))
    # The sidecar's API token (`--dapr-api-token`, ACA's `DAPR_API_TOKEN`): sent on every
    # call to the sidecar; the SDK's gRPC client reads the same variable. No prefix.
    dapr_api_token: SecretStr | None = Field(None, validation_alias=AliasChoices("DAPR_API_TOKEN"))
    # Timeout for calls this app makes through its sidecar (service invocation).
    invoke_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # Calls to the sidecar in flight at once (more wait their turn, within the timeout).
    sidecar_concurrency: int = Field(64, ge=1, le=1000)
    # The sidecar unreachable (or the connection pool unusable) this long: not live, so the
    # platform restarts the replica instead of leaving it to answer 503 for good.
    sidecar_dead_seconds: float = Field(30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _no_placeholder_secrets_outside_local(self) -> "AppSettings":
        if self.environment == "azure":
            for name, value in self:
                if isinstance(value, SecretStr) and any(
                    m in value.get_secret_value().lower() for m in PLACEHOLDER_MARKERS
                ):
                    raise ValueError(f"{name} holds a placeholder secret outside local mode")
        return self

    @property
    def dapr_http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"

    @property
    def sidecar_headers(self) -> dict[str, str]:
        """Headers every call to the sidecar carries (its API token, when one is set)."""
        token = self.dapr_api_token.get_secret_value() if self.dapr_api_token else ""
        return {"dapr-api-token": token} if token else {}
