"""The operations API's routes (reached through the storefront's `/api/admin/health` and
`/api/admin/services*`; the admin role checked again here from the signed context, which is
passed on to the apps asked, so those that hold the key check it too)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from apps.backoffice.audit_api import Admin
from apps.backoffice.operations import OperationsService
from apps.backoffice.operations_adapters import (
    ContainerAppsRestart,
    InvokedApp,
    InvokedLogs,
    InvokedRestart,
    LogAnalyticsLogs,
)
from apps.backoffice.operations_settings import get_operations_settings
from apps.contracts.events import utcnow
from apps.contracts.operations import (
    MAX_LOG_LINES,
    HealthReport,
    LogLines,
    LogSource,
    RestartAccepted,
    ServicesReport,
)
from apps.platform.context import CONTEXT_HEADER
from apps.platform.dapr import forwarded_headers

router = APIRouter(prefix="/admin/ops", tags=["admin"])
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9-]*$")]


def _service(request: Request) -> OperationsService:
    settings = get_operations_settings()
    headers = {
        **forwarded_headers(request.headers),
        CONTEXT_HEADER: request.headers.get(CONTEXT_HEADER, ""),
    }
    apps = InvokedApp(request.app.state.sidecar, headers, settings.ops_timeout_seconds)
    if settings.ops_platform == "azure":
        logs: InvokedLogs | LogAnalyticsLogs = LogAnalyticsLogs(settings)
        restarter: InvokedRestart | ContainerAppsRestart = ContainerAppsRestart(settings)
    else:
        logs, restarter = InvokedLogs(apps), InvokedRestart(apps)
    return OperationsService(apps, logs, restarter, settings.ops_timeout_seconds, utcnow)


@router.get("/health", response_model=HealthReport)
async def health(request: Request, admin: Admin) -> HealthReport:
    return await _service(request).health()


@router.get("/services", response_model=ServicesReport)
async def services(request: Request, admin: Admin) -> ServicesReport:
    return await _service(request).services()


@router.get("/services/{name}/logs", response_model=LogLines)
async def logs(
    name: Name,
    request: Request,
    admin: Admin,
    lines: Annotated[int, Query(ge=1, le=MAX_LOG_LINES)] = 100,
    source: Annotated[LogSource, Query()] = "app",
) -> LogLines:
    return await _service(request).recent_logs(name, source, lines)


@router.post("/services/{name}/restart", status_code=202, response_model=RestartAccepted)
async def restart(name: Name, request: Request, admin: Admin) -> RestartAccepted:
    return await _service(request).restart(name)
