"""`/api/admin/health` and `/api/admin/services*`: the operations API (seed 004 "Admin"),
served by `backoffice` (which asks every app through Dapr service invocation). Admins only;
a restart is recorded in the audit log like every admin action (admin_ops_api)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.errors import NotFound
from apps.contracts.names import AppId
from apps.contracts.operations import (
    MAX_LOG_LINES,
    HealthReport,
    LogLines,
    LogSource,
    RestartAccepted,
    ServicesReport,
)
from apps.storefront.adapters import forward
from apps.storefront.auth import Admin
from apps.storefront.openapi import ERRORS

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=ERRORS)
Name = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="An app-id: " + ", ".join(a.value for a in AppId),
    ),
]


def _known(name: str) -> str:
    if name not in set(AppId):
        raise NotFound(f"No service named {name!r}", service=name)
    return name


@router.get("/health", response_model=HealthReport)
async def health(request: Request, admin: Admin) -> Response:
    """Every app's liveness and readiness, asked at once (an app that does not answer within
    a few seconds shows as down; the others still show)."""
    return await forward(request, AppId.BACKOFFICE, "admin/ops/health")


@router.get("/services", response_model=ServicesReport)
async def services(request: Request, admin: Admin) -> Response:
    """Each app with what its Dapr sidecar reports (runtime version, components, actor types
    with active counts, subscriptions, app connection) and its outbox backlog."""
    return await forward(request, AppId.BACKOFFICE, "admin/ops/services")


@router.get("/services/{name}/logs", response_model=LogLines)
async def logs(
    name: Name,
    request: Request,
    admin: Admin,
    lines: Annotated[int, Query(ge=1, le=MAX_LOG_LINES)] = 100,
    source: Annotated[LogSource, Query(description="the app's own log or its sidecar's")] = "app",
) -> Response:
    path = f"admin/ops/services/{_known(name)}/logs"
    return await forward(request, AppId.BACKOFFICE, path, params={"lines": lines, "source": source})


@router.post("/services/{name}/restart", status_code=202, response_model=RestartAccepted)
async def restart(name: Name, request: Request, admin: Admin) -> Response:
    """Restart the app (locally its process, in place; on Azure its latest ready revision);
    it is back when `/api/admin/health` shows it up."""
    path = f"admin/ops/services/{_known(name)}/restart"
    return await forward(request, AppId.BACKOFFICE, path, method="POST")
