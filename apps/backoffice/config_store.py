"""Where the admin API writes runtime settings, behind a port: the Dapr Configuration API
reads and subscribes but cannot write, so backoffice writes the store the configuration
component reads.

- `PostgresConfigWriter` (local, tests): the `sc_configuration` table of
  configuration.postgresql; its trigger NOTIFYs the subscribed sidecars. One transaction
  per change: the row is locked, the value before read, the new one written.
- `AppConfigurationWriter` (Azure): the App Configuration store of configuration.azure.appconfig
  (azure-appconfiguration SDK, DefaultAzureCredential: the app's managed identity with
  "App Configuration Data Owner"); after each change it bumps the sentinel key the
  component polls, so subscribers re-read.

Reading is not here: the admin API reads the current values through its own sidecar.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from apps.contracts.names import Secret
from apps.contracts.runtime_config import CONFIG_TABLE, SENTINEL_KEY
from apps.platform.dapr import Sidecar


@dataclass(frozen=True)
class Written:
    before: str | None  # the stored text before (None: not set)
    version: str | None  # the store's version of what is stored now (None: removed)


class ConfigWriter(Protocol):
    async def put(self, key: str, text: str, by: str, at: datetime) -> Written: ...

    async def delete(self, key: str) -> Written: ...


class PostgresConfigWriter:
    def __init__(self, sidecar: Sidecar, table: str = CONFIG_TABLE) -> None:
        self.sidecar = sidecar
        self.table = table

    async def _connect(self) -> Any:
        import psycopg  # local adapter only

        conninfo = await self.sidecar.secret(Secret.POSTGRES_CONNECTION_STRING)
        return await psycopg.AsyncConnection.connect(conninfo)

    async def put(self, key: str, text: str, by: str, at: datetime) -> Written:
        meta = json.dumps({"updated_by": by, "updated_at": at.isoformat()})
        async with await self._connect() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT value FROM {self.table} WHERE key = %s FOR UPDATE", (key,)
            )
            row = await cur.fetchone()
            cur = await conn.execute(
                f"INSERT INTO {self.table} (key, value, metadata) VALUES (%s, %s, %s::jsonb) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
                f"version = nextval('{self.table}_version')::text, metadata = EXCLUDED.metadata "
                "RETURNING version",
                (key, text, meta),
            )
            written = await cur.fetchone()
        return Written(row[0] if row else None, written[0] if written else None)

    async def delete(self, key: str) -> Written:
        async with await self._connect() as conn, conn.transaction():
            cur = await conn.execute(
                f"DELETE FROM {self.table} WHERE key = %s RETURNING value", (key,)
            )
            row = await cur.fetchone()
        return Written(row[0] if row else None, None)


class AppConfigurationWriter:
    def __init__(self, endpoint: str) -> None:
        if not endpoint:
            raise ValueError("BACKOFFICE_APPCONFIG_ENDPOINT is required for the appconfig writer")
        self.endpoint = endpoint

    def _client(self) -> Any:
        from azure.appconfiguration.aio import AzureAppConfigurationClient
        from azure.identity.aio import DefaultAzureCredential

        return AzureAppConfigurationClient(self.endpoint, DefaultAzureCredential())

    async def _before(self, client: Any, key: str) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            setting = await client.get_configuration_setting(key=key)
        except ResourceNotFoundError:
            return None
        return str(setting.value) if setting.value is not None else None

    async def _bump_sentinel(self, client: Any) -> None:
        from azure.appconfiguration import ConfigurationSetting

        await client.set_configuration_setting(
            ConfigurationSetting(key=SENTINEL_KEY, value=uuid.uuid4().hex)
        )

    async def put(self, key: str, text: str, by: str, at: datetime) -> Written:
        from azure.appconfiguration import ConfigurationSetting

        async with self._client() as client:
            before = await self._before(client, key)
            saved = await client.set_configuration_setting(
                ConfigurationSetting(
                    key=key,
                    value=text,
                    content_type="application/json",
                    tags={"updated_by": by, "updated_at": at.isoformat()},
                )
            )
            await self._bump_sentinel(client)
        return Written(before, saved.etag)

    async def delete(self, key: str) -> Written:
        async with self._client() as client:
            before = await self._before(client, key)
            if before is not None:
                await client.delete_configuration_setting(key=key)
                await self._bump_sentinel(client)
        return Written(before, None)
