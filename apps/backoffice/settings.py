from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from apps.platform.settings import AppSettings


class BackofficeSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_", extra="ignore")


@lru_cache(maxsize=1)
def get_settings() -> BackofficeSettings:
    return BackofficeSettings()
