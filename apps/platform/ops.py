"""`/ops/*`: what every app tells the operations API (backoffice) about itself, through
Dapr service invocation: its sidecar's own metadata, its outbox backlog, the end of its
logs, and a restart of its process.

Only backoffice may call these: the request must come through this app's sidecar (the app
API token, which the sidecar adds; checked here as well, since the storefront is reachable
without it) from the `backoffice` app (`dapr-caller-app-id`, which the calling sidecar
sets), and apps that hold the gateway-context key also require an admin's signed context.

Logs: the files the run writes each app's output to (the test harness:
`<run>/logs/<app>_{app,daprd}.log`; `dapr run -f dapr.yaml`:
`.dapr/logs/<app>_{app,daprd}_<time>.log`). The app finds its own from where its standard
output goes. On Azure, backoffice reads Log Analytics instead (these routes see no files).

Restart: the app answers, then shuts down as uvicorn does on SIGTERM (lifespan shutdown,
connections drained) and executes itself again with the same command line. The process id
stays, so its supervisor (`dapr run`, the harness, a container) and its sidecar stay too.
"""

import asyncio
import atexit
import hmac
import os
import re
import signal
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request

from apps.contracts.errors import Conflict, Forbidden, NotFound
from apps.contracts.events import utcnow
from apps.contracts.identity import Role
from apps.contracts.names import AppId
from apps.contracts.operations import MAX_LOG_LINES, LogSource, OpsRestart, OutboxBacklog
from apps.platform.context import APP_TOKEN_HEADER, CONTEXT_HEADER, verify_context

log = structlog.stdlib.get_logger("platform.ops")

CALLER_HEADER = "dapr-caller-app-id"  # set by the calling sidecar, not by the caller
OPS_CALLER = AppId.BACKOFFICE
#: Most bytes read from the end of a log file for one answer.
MAX_LOG_BYTES = 2 * 1024 * 1024
#: How long the app waits after answering a restart before it shuts down.
RESTART_DELAY_SECONDS = 0.3


def calling_app(request: Request) -> str | None:
    """The app id the calling sidecar vouches for (None: no sidecar named one, as when a
    sidecar invokes its own app). The calling sidecar adds its app id after whatever the
    caller sent itself, so two values mean a caller tried to name someone else: refused."""
    callers = request.headers.getlist(CALLER_HEADER)
    if len(callers) > 1:
        raise Forbidden("The caller named itself: refused")
    return callers[0] if callers else None


async def ops_caller(
    request: Request,
    token: Annotated[str | None, Header(alias=APP_TOKEN_HEADER)] = None,
    context: Annotated[str | None, Header(alias=CONTEXT_HEADER)] = None,
) -> None:
    expected = os.environ.get("APP_API_TOKEN")
    if not expected:
        raise Forbidden("Operations need the Dapr app API token (APP_API_TOKEN)")
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("Only this app's sidecar may ask for operations")
    # A sidecar invoking its own app names no caller: backoffice asking about itself (a
    # call only backoffice, holding its sidecar's API token, can make).
    caller = calling_app(request)
    if caller != OPS_CALLER and not (caller is None and _app_id(request) == OPS_CALLER):
        raise Forbidden("Only the operations API may ask for operations")
    key = getattr(request.app.state, "context_key", None)  # a ContextKey, or (identity) the key
    if key is not None:
        who = verify_context(context, key if isinstance(key, str) else await key.get())
        if not who.role.at_least(Role.ADMIN):
            raise Forbidden("This needs the admin role", required=Role.ADMIN.value)


# -- outbox backlog -------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboxGauge:
    """One kind of outbox document: how to find the pending ones in the state store
    (`JsonStateStore.scan`) and which field holds their `{"topic", "event"}` entries."""

    name: str
    filter: dict[str, Any]
    order_by: str
    entries: str = "outbox"


def backlog(found: dict[str, list[dict[str, Any]]], gauges: list[OutboxGauge]) -> OutboxBacklog:
    """The backlog of the pending documents `found` for each gauge (by name)."""
    documents = events = 0
    oldest: datetime | None = None
    for gauge in gauges:
        for doc in found.get(gauge.name, []):
            entries = doc.get(gauge.entries) or []
            if not entries:
                continue
            documents += 1
            events += len(entries)
            for entry in entries:
                at = datetime.fromisoformat(entry["event"]["occurred_at"])
                oldest = at if oldest is None or at < oldest else oldest
    return OutboxBacklog(
        pending_documents=documents,
        pending_events=events,
        oldest_pending_at=oldest,
        outboxes=[g.name for g in gauges],
    )


# -- logs ----------------------------------------------------------------------------------
def stdout_file() -> Path | None:
    """The regular file this process's standard output is written to, if any."""
    try:
        target = Path(os.readlink("/proc/self/fd/1"))
    except OSError:
        return None
    return target if target.is_file() else None


def find_log(
    app_id: str, source: LogSource, stdout: Path | None, run_dirs: list[Path]
) -> Path | None:
    """The newest log file of `app_id`'s `source`: beside this process's standard output
    when that is a file named after the app (`<app>_app.log`, `<app>_app_<time>.log`), else
    in `run_dirs` (e.g. `.dapr/logs`)."""
    pattern = re.compile(rf"^{re.escape(app_id)}_{source}(_[0-9]+)?\.log$")
    dirs = list(run_dirs)
    if stdout is not None and re.match(rf"^{re.escape(app_id)}_app(_[0-9]+)?\.log$", stdout.name):
        if source == "app":
            return stdout
        dirs.insert(0, stdout.parent)
    for directory in dirs:
        if not directory.is_dir():
            continue
        found = [p for p in directory.iterdir() if pattern.match(p.name) and p.is_file()]
        if found:
            return max(found, key=lambda p: (p.stat().st_mtime, p.name))
    return None


def tail(path: Path, lines: int, max_bytes: int = MAX_LOG_BYTES) -> list[str]:
    """The last `lines` lines of `path` (oldest first), reading at most `max_bytes` from its
    end; a partial first line of that window is dropped."""
    if lines <= 0:
        return []
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        start = max(0, size - max_bytes)
        f.seek(start)
        data = f.read()
    text = data.decode("utf-8", errors="replace")
    rows = text.splitlines()
    if start > 0 and rows:
        rows = rows[1:]
    return rows[-lines:]


# -- restart -------------------------------------------------------------------------------
def uvicorn_server() -> Any | None:
    """The uvicorn server running this app: the owner of the SIGTERM handler it installs
    while serving (None when the process is not run by uvicorn's own loop)."""
    handler = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return server if hasattr(server, "should_exit") else None


def _execute_again() -> None:
    log.info("restarting: executing again", argv=sys.orig_argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)


async def _shut_down_and_restart(server: Any) -> None:
    await asyncio.sleep(RESTART_DELAY_SECONDS)
    atexit.register(_execute_again)
    server.should_exit = True  # uvicorn's graceful shutdown, as on SIGTERM


# -- routes --------------------------------------------------------------------------------
@dataclass
class Ops:
    """What an app registers in `app.state.ops` (optional): its outbox gauges."""

    gauges: list[OutboxGauge] = field(default_factory=list)


def ops_router() -> APIRouter:
    router = APIRouter(prefix="/ops", include_in_schema=False, dependencies=[Depends(ops_caller)])

    @router.get("/metadata")
    async def metadata(request: Request) -> Any:
        """This app's sidecar's `GET /v1.0/metadata`, as the sidecar answers it."""
        sidecar = request.app.state.sidecar
        resp = await sidecar.http.get("/v1.0/metadata", timeout=5.0)
        resp.raise_for_status()
        return resp.json()

    @router.get("/outbox", response_model=OutboxBacklog | None)
    async def outbox(request: Request) -> OutboxBacklog | None:
        ops: Ops | None = getattr(request.app.state, "ops", None)
        if ops is None or not ops.gauges:
            return None
        store = request.app.state.store
        found = {
            g.name: [d.value for d in await store.scan(g.filter, g.order_by)] for g in ops.gauges
        }
        return backlog(found, ops.gauges)

    @router.get("/logs")
    async def logs(
        request: Request,
        lines: Annotated[int, Query(ge=1, le=MAX_LOG_LINES)] = 100,
        source: Annotated[LogSource, Query()] = "app",
    ) -> dict[str, Any]:
        app_id = _app_id(request)
        path = find_log(app_id, source, stdout_file(), [Path.cwd() / ".dapr" / "logs"])
        if path is None:
            raise NotFound(f"No {source} log file found for {app_id}", source=source)
        rows = await asyncio.to_thread(tail, path, lines)
        return {"origin": path.name, "lines": rows}

    @router.post("/restart", status_code=202, response_model=OpsRestart)
    async def restart(request: Request, background: BackgroundTasks) -> OpsRestart:
        server = uvicorn_server()
        if server is None:
            raise Conflict("This process cannot restart itself (not served by uvicorn)")
        background.add_task(_shut_down_and_restart, server)
        log.warning("restart requested by the operations API", pid=os.getpid())
        return OpsRestart(pid=os.getpid(), requested_at=utcnow())

    return router


def _app_id(request: Request) -> str:
    return os.environ.get("APP_ID") or request.app.title.removeprefix("SmartCommerce ").strip()
