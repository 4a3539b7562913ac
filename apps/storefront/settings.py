from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class StorefrontSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="STOREFRONT_", extra="ignore")


@lru_cache(maxsize=1)
def get_settings() -> StorefrontSettings:
    return StorefrontSettings()
