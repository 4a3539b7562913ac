"""`/health/live` (the process answers) and `/health/ready` (sidecar, components and stores)."""

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from apps.contracts.errors import ErrorCode
from apps.platform.dapr import Sidecar
from apps.platform.http import error_response
from apps.platform.state import JsonStateStore

PROBE_KEY = "health-probe"


AppCheck = Callable[[Any], str | None]


def health_router(
    required_components: set[str],
    check_store: bool = False,
    checks: Sequence[AppCheck] = (),
    details: Callable[[Any], dict[str, str]] | None = None,
    live_checks: Sequence[AppCheck] = (),
) -> APIRouter:
    """`check_store`: also read a key through `app.state.store` (a round trip to the store);
    `checks`: app-specific readiness (given `app.state`, a problem or None); `details`: what
    a ready app adds to its answer (e.g. the model version it serves); `live_checks`: what
    makes the process worth restarting (a failing liveness probe restarts the container)."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", response_model=None)
    async def live(request: Request) -> dict[str, str] | JSONResponse:
        problems = [p for check in live_checks if (p := check(request.app.state))]
        sidecar: Sidecar | None = getattr(request.app.state, "sidecar", None)
        if sidecar is not None and (problem := await sidecar.live_problem()):
            problems.append(problem)
        if problems:
            return error_response(
                request, 503, ErrorCode.SERVICE_UNAVAILABLE, "Not live", {"problems": problems}
            )
        return {"status": "ok"}

    @router.get("/ready", response_model=None)
    async def ready(request: Request) -> dict[str, str] | JSONResponse:
        sidecar: Sidecar | None = getattr(request.app.state, "sidecar", None)
        if sidecar is None:
            problems = ["starting"]
        else:
            problems = await sidecar.ready(required_components)
            store: JsonStateStore | None = getattr(request.app.state, "store", None)
            if not problems and check_store:
                try:
                    if store is None:
                        raise RuntimeError("no state store wired")
                    await store.get(PROBE_KEY)
                except Exception as exc:
                    problems.append(f"store check failed: {exc.__class__.__name__}: {exc}")
            problems += [p for check in checks if (p := check(request.app.state))]
        if problems:
            return error_response(
                request, 503, ErrorCode.SERVICE_UNAVAILABLE, "Not ready", {"problems": problems}
            )
        return {"status": "ready", **(details(request.app.state) if details else {})}

    return router
