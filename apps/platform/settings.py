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
    secret_store: str = Component.SECRETS
    # Set by `dapr run` / the sidecar injector, shared by the SDK; no prefix.
    dapr_http_port: int = Field(3500, validation_alias=AliasChoices("DAPR_HTTP_PORT"))
    dapr_grpc_port: int = Field(50001, validation_alias=AliasChoices("DAPR_GRPC_PORT"))
    # Timeout for calls this app makes through its sidecar (service invocation).
    invoke_timeout_seconds: float = Field(10.0, gt=0, le=120)

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
