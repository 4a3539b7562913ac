"""The operations API's ports, implemented.

Locally (and in the test cluster) everything goes through Dapr service invocation to the
app's own `/ops/*` routes (apps/platform/ops.py): it reads its run's log files and
restarts its own process. On Azure Container Apps (`BACKOFFICE_OPS_PLATFORM=azure`) logs
come from the environment's Log Analytics workspace (`azure-monitor-query`) and a restart
restarts the app's latest ready revision through the Container Apps management API, both
with the app's managed identity. Health and sidecar metadata use invocation everywhere.
"""

from datetime import timedelta
from typing import Any

from apps.backoffice.operations import Answer
from apps.backoffice.operations_settings import OperationsSettings
from apps.contracts.errors import DomainError, ErrorCode, NotFound
from apps.contracts.events import utcnow
from apps.contracts.names import AppId
from apps.contracts.operations import LogLines, LogSource, OpsRestart, RestartAccepted
from apps.platform.dapr import Sidecar


class InvokedApp:
    """An app's endpoints through this app's sidecar, with the admin's signed context and
    the request's ids (`headers`)."""

    def __init__(self, sidecar: Sidecar, headers: dict[str, str], timeout: float) -> None:
        self.sidecar = sidecar
        self.headers = headers
        self.timeout = timeout

    async def call(self, app_id: str, path: str, method: str = "GET", **params: Any) -> Answer:
        result = await self.sidecar.invoke(
            app_id,
            path,
            method=method,
            params=params or None,
            headers=self.headers,
            timeout=self.timeout,
        )
        return Answer(result.status, result.body)


def _raise_for(app_id: AppId, answer: Answer) -> Any:
    """The body of a 2xx; otherwise the app's error (404 stays 404, a down app is 503)."""
    if answer.ok:
        return answer.body
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    message = str(error.get("message") or f"{app_id} answered {answer.status}")
    if answer.status == 404:
        raise NotFound(message, app_id=app_id.value)
    raise DomainError(message, code=ErrorCode.SERVICE_UNAVAILABLE, app_id=app_id.value)


class InvokedLogs:
    """Each app's log files, read by the app itself (`/ops/logs`)."""

    def __init__(self, apps: InvokedApp) -> None:
        self.apps = apps

    async def lines(self, app_id: AppId, source: LogSource, lines: int) -> LogLines:
        answer = await self.apps.call(app_id, "ops/logs", lines=lines, source=source)
        body = _raise_for(app_id, answer)
        return LogLines(app_id=app_id, source=source, origin=body["origin"], lines=body["lines"])


class InvokedRestart:
    """The app restarts its own process (`/ops/restart`): same pid, same sidecar."""

    def __init__(self, apps: InvokedApp) -> None:
        self.apps = apps

    async def restart(self, app_id: AppId) -> RestartAccepted:
        answer = await self.apps.call(app_id, "ops/restart", method="POST")
        done = OpsRestart.model_validate(_raise_for(app_id, answer))
        return RestartAccepted(
            app_id=app_id, mechanism="process", target=str(done.pid), requested_at=done.requested_at
        )


# -- Azure Container Apps -----------------------------------------------------------------
ARM_SCOPE = "https://management.azure.com/.default"


def kql_for(app_id: AppId, source: LogSource, lines: int) -> str:
    """The Log Analytics query for an app's last `lines` console lines (its own container,
    named after the app in bicep/modules/apps.bicep, or the `daprd` sidecar's), from the
    resource-specific table the environment's diagnostic settings write (no workspace key)."""
    container = app_id.value if source == "app" else "daprd"
    return (
        "ContainerAppConsoleLogs"
        f" | where ContainerAppName == '{app_id.value}' and ContainerName == '{container}'"
        f" | top {int(lines)} by TimeGenerated desc"
        " | project TimeGenerated, Log"
    )


def oldest_first(rows: list[list[Any]]) -> list[str]:
    """Rows of (time, line), newest first as the query returns them, as lines oldest first."""
    return [str(row[1]) for row in reversed(rows)]


def _credential(settings: OperationsSettings) -> Any:
    from azure.identity.aio import ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=settings.ops_identity_client_id or None)


class LogAnalyticsLogs:
    def __init__(self, settings: OperationsSettings) -> None:
        self.settings = settings

    async def lines(self, app_id: AppId, source: LogSource, lines: int) -> LogLines:
        from azure.monitor.query import LogsQueryStatus
        from azure.monitor.query.aio import LogsQueryClient

        async with _credential(self.settings) as credential, LogsQueryClient(credential) as q:
            result: Any = await q.query_workspace(
                self.settings.ops_log_workspace_id,
                kql_for(app_id, source, lines),
                timespan=timedelta(hours=self.settings.ops_log_lookback_hours),
            )
        if result.status != LogsQueryStatus.SUCCESS:
            raise DomainError(
                "Log Analytics answered only in part; try again",
                code=ErrorCode.SERVICE_UNAVAILABLE,
            )
        rows = [list(r) for r in result.tables[0].rows] if result.tables else []
        return LogLines(
            app_id=app_id, source=source, origin="log-analytics", lines=oldest_first(rows)
        )


class ContainerAppsRestart:
    """Restarts the app's latest ready revision (Container Apps management API)."""

    def __init__(self, settings: OperationsSettings) -> None:
        self.settings = settings

    def _app_url(self, app_id: AppId) -> str:
        s = self.settings
        return (
            f"{s.ops_arm_endpoint}/subscriptions/{s.ops_subscription_id}"
            f"/resourceGroups/{s.ops_resource_group}"
            f"/providers/Microsoft.App/containerApps/{app_id.value}"
        )

    async def restart(self, app_id: AppId) -> RestartAccepted:
        import httpx

        async with _credential(self.settings) as credential:
            token = (await credential.get_token(ARM_SCOPE)).token
        version = {"api-version": self.settings.ops_container_apps_api_version}
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(timeout=30, headers=headers) as arm:
            app = await arm.get(self._app_url(app_id), params=version)
            if app.status_code == 404:
                raise NotFound(f"No container app named {app_id.value}", app_id=app_id.value)
            app.raise_for_status()
            revision = app.json()["properties"]["latestReadyRevisionName"]
            url = f"{self._app_url(app_id)}/revisions/{revision}/restart"
            done = await arm.post(url, params=version)
            if done.status_code >= 300:
                raise DomainError(
                    f"Container Apps refused the restart ({done.status_code})",
                    code=ErrorCode.SERVICE_UNAVAILABLE,
                    app_id=app_id.value,
                )
        return RestartAccepted(
            app_id=app_id,
            mechanism="container-apps-revision",
            target=revision,
            requested_at=utcnow(),
        )
