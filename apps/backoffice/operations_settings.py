"""Settings of the operations API (env prefix `BACKOFFICE_`, like the app's own): how long
each app may take to answer, and where logs and restarts go on Azure."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperationsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_", extra="ignore")

    #: local: logs and restarts through each app's `/ops/*` (its run's files, its process);
    #: azure: Log Analytics and the Container Apps management API (managed identity).
    ops_platform: Literal["local", "azure"] = "local"
    #: Longest wait for one app's answer; an app slower than this shows as down.
    ops_timeout_seconds: float = Field(3.0, gt=0, le=30)
    ops_subscription_id: str = ""
    ops_resource_group: str = ""
    #: The Log Analytics workspace's id (its customerId) the environment sends logs to.
    ops_log_workspace_id: str = ""
    ops_log_lookback_hours: float = Field(24.0, gt=0, le=24 * 30)
    #: Client id of the user-assigned managed identity (empty: the system-assigned one).
    ops_identity_client_id: str = ""
    ops_arm_endpoint: str = "https://management.azure.com"
    ops_container_apps_api_version: str = "2024-03-01"

    @model_validator(mode="after")
    def _azure_needs_targets(self) -> "OperationsSettings":
        if self.ops_platform == "azure":
            missing = [
                name
                for name in ("ops_subscription_id", "ops_resource_group", "ops_log_workspace_id")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"BACKOFFICE_OPS_PLATFORM=azure needs {', '.join(missing)}")
        return self


@lru_cache(maxsize=1)
def get_operations_settings() -> OperationsSettings:
    return OperationsSettings()
