from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class CatalogSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")


@lru_cache(maxsize=1)
def get_settings() -> CatalogSettings:
    return CatalogSettings()
