from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class BackofficeSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_", extra="ignore")

    # Runtime settings (`/admin/config`): where the admin API writes them. The apps read
    # them through the Dapr Configuration API (component runtime-config), which cannot write.
    config_writer: Literal["postgresql", "appconfig"] = Field(
        "postgresql",
        description="postgresql: the table configuration.postgresql reads (local); appconfig: "
        "Azure App Configuration (BACKOFFICE_APPCONFIG_ENDPOINT, managed identity)",
    )
    appconfig_endpoint: str = Field("", description="https://<store>.azconfig.io")
    restock_levels_ttl_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="how long the restock list reuses the catalog's levels of every SKU",
    )


@lru_cache(maxsize=1)
def get_settings() -> BackofficeSettings:
    return BackofficeSettings()
