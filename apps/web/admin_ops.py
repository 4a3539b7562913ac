"""The operations console (admins only): every app's health and what its sidecar reports
(polled every few seconds), one app's sidecar metadata, logs and restart; checkout sagas in
flight and stuck, with terminate / raise payment / rerun / purge; dead letters with replay
and delete. Over `/api/admin/{health,services,sagas,dead-letters}*`; the same locally and on
Azure Container Apps (the backoffice asks the sidecars and the platform)."""

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from apps.contracts.names import Topic
from apps.web.admin_common import (
    attempt,
    base_url,
    collect,
    confirm_page,
    confirmed,
    form_dict,
)
from apps.web.admin_helpers import (
    ID_PATTERN,
    LOG_SOURCES,
    SAGA_PATTERN,
    SAGA_STATES,
    app_names,
    badge,
    filter_lines,
    letter_from_app,
    local_page,
    merge_ops,
    outbox_totals,
    pretty,
    replay_summary,
    seconds,
    terminate_summary,
)
from apps.web.api import ApiError
from apps.web.render import form_error, redirect, require
from apps.web.render import page as show

router = APIRouter(include_in_schema=False)

SAGAS_PER_PAGE = 25
LETTERS_PER_PAGE = 25
IN_FLIGHT = ["running", "pending", "suspended"]
AppName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
SagaId = Annotated[str, Path(pattern=SAGA_PATTERN)]
LetterId = Annotated[str, Path(pattern=ID_PATTERN)]
PageNo = Annotated[int, Query(ge=1, le=10_000)]
Text = Annotated[str, Query(max_length=200)]
HELPERS = {"badge": badge, "seconds": seconds, "pretty": pretty}


def _known_app(name: str) -> str:
    if name not in app_names():
        raise ApiError(404, "RESOURCE_NOT_FOUND", f"No service named {name!r}")
    return name


# -- every app ---------------------------------------------------------------------------------
async def _ops_status(request: Request) -> dict[str, Any]:
    api = request.app.state.api
    (
        (health, health_error),
        (services, services_error),
        (stuck, _),
        (letters, _),
    ) = await asyncio.gather(
        attempt(api.get(request, "api/admin/health")),
        attempt(api.get(request, "api/admin/services")),
        attempt(api.get(request, "api/admin/sagas", stuck="true", limit=1)),
        attempt(api.get(request, "api/admin/dead-letters", status="open", limit=1)),
    )
    rows = merge_ops(health, services)
    return {
        "rows": rows,
        "health": health,
        "health_error": health_error,
        "services_error": services_error,
        "checked_at": (health or services or {}).get("checked_at"),
        "outbox": outbox_totals(rows),
        "stuck_sagas": (stuck or {}).get("total"),
        "open_letters": (letters or {}).get("total"),
        **HELPERS,
    }


@router.get("/admin/ops")
async def ops(request: Request) -> Response:
    require(request, "admin")
    status = await _ops_status(request)
    return show(request, "admin/ops.html", {"title": "Operations", "section": "ops", **status})


@router.get("/admin/ops/status")
async def ops_status(request: Request) -> Response:
    """The status panel alone (htmx polls it every 5 s)."""
    require(request, "admin")
    session = request.state.session
    kept = list(session.flash)  # a message waiting for the next page is not this panel's
    response = show(request, "admin/_ops_status.html", await _ops_status(request))
    if kept:
        session.flash = kept
        session.dirty = True
    return response


@router.get("/admin/ops/services/{name}")
async def service(
    request: Request,
    name: AppName,
    lines: Annotated[int, Query(ge=1, le=1000)] = 100,
    source: Annotated[str, Query(max_length=10)] = "app",
    filter: Text = "",
) -> Response:
    require(request, "admin")
    _known_app(name)
    api = request.app.state.api
    source = source if source in LOG_SOURCES else "app"
    (report, error), (logs, logs_error) = await asyncio.gather(
        attempt(api.get(request, "api/admin/services")),
        attempt(api.get(request, f"api/admin/services/{name}/logs", lines=lines, source=source)),
    )
    info = next((a for a in (report or {}).get("apps", []) if a.get("app_id") == name), None)
    shown_lines = filter_lines((logs or {}).get("lines", []), filter)
    return show(
        request,
        "admin/service.html",
        {
            "title": f"Service {name}",
            "section": "ops",
            "name": name,
            "info": info,
            "sidecar": (info or {}).get("sidecar"),
            "error": error,
            "logs": logs,
            "log_lines": shown_lines,
            "logs_error": logs_error,
            "form": {"lines": lines, "source": source, "filter": filter},
            "sources": LOG_SOURCES,
            **HELPERS,
        },
    )


@router.post("/admin/ops/services/{name}/restart")
async def restart(request: Request, name: AppName) -> Response:
    require(request, "admin")
    _known_app(name)
    back = f"/admin/ops/services/{name}"
    if not confirmed(await request.form()):
        return confirm_page(
            request,
            title=f"Restart {name}?",
            message=f"{name} stops serving for a few seconds while it restarts (locally its "
            "process, on Azure its latest ready revision). Requests to it meanwhile fail or "
            "are retried.",
            action=f"{back}/restart",
            button=f"Restart {name}",
            back=back,
        )
    session = request.state.session
    try:
        done = await request.app.state.api.call(
            request, "POST", f"api/admin/services/{name}/restart"
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        session.notify(f"{name} was not restarted: {error.message}", "error")
    else:
        session.notify(
            f"Restart of {name} requested ({done.get('mechanism')} {done.get('target')}). "
            "It is back when its health shows up.",
            "success",
        )
    return redirect(back, request)


# -- sagas -------------------------------------------------------------------------------------
@router.get("/admin/sagas")
async def sagas(
    request: Request,
    status: Annotated[list[str], Query(max_length=7)] = [],  # noqa: B006 (FastAPI default)
    stuck: Annotated[str, Query(max_length=5)] = "",
    older_than: Annotated[str, Query(max_length=10)] = "",
    filtered: Annotated[str, Query(max_length=1)] = "",
    page: PageNo = 1,
) -> Response:
    require(request, "admin")
    chosen = [s for s in status if s in SAGA_STATES]
    if not filtered and not chosen and not stuck:
        chosen = list(IN_FLIGHT)  # the first view: what is still going
    stuck = stuck if stuck in ("true", "false") else ""
    errors: dict[str, str] = {}
    older: float | None = None
    if older_than.strip():
        try:
            older = float(older_than) * 60
            if not 0 <= older <= 365 * 24 * 3600:
                raise ValueError(older_than)
        except ValueError:
            errors["older_than"] = "Enter a number of minutes (0 to 525600)."
    answer: dict[str, Any] | None = None
    error: ApiError | None = None
    if not errors:
        answer, error = await attempt(
            request.app.state.api.get(
                request,
                "api/admin/sagas",
                status=chosen,
                stuck=stuck or None,
                older_than_seconds=older,
                page=page,
                limit=SAGAS_PER_PAGE,
            )
        )
    filters = {
        "status": chosen,
        "stuck": stuck,
        "older_than": older_than,
        "filtered": "1",
    }
    return show(
        request,
        "admin/sagas.html",
        {
            "title": "Checkout sagas",
            "section": "sagas",
            "items": (answer or {}).get("items", []),
            "total": int((answer or {}).get("total") or 0),
            "page_no": page,
            "limit": SAGAS_PER_PAGE,
            "form": filters,
            "errors": errors,
            "error": error,
            "states": SAGA_STATES,
            "base": base_url("/admin/sagas", filters),
            **HELPERS,
        },
    )


def _saga_ctx(saga: dict[str, Any]) -> dict[str, Any]:
    return {"title": f"Saga {saga['saga_id']}", "section": "sagas", "saga": saga, **HELPERS}


@router.get("/admin/sagas/{saga_id}")
async def saga(request: Request, saga_id: SagaId) -> Response:
    require(request, "admin")
    found = await request.app.state.api.get(request, f"api/admin/sagas/{saga_id}")
    return show(request, "admin/saga.html", _saga_ctx(found))


async def _saga_action(
    request: Request,
    saga_id: str,
    action: str,
    body: dict[str, Any] | None,
) -> tuple[dict[str, Any] | None, ApiError | None]:
    try:
        done = await request.app.state.api.call(
            request, "POST", f"api/admin/sagas/{saga_id}/{action}", json=body
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        return None, error
    return done, None


@router.post("/admin/sagas/{saga_id}/terminate")
async def terminate(
    request: Request,
    saga_id: SagaId,
    reason: Annotated[str, Form(max_length=300)] = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    require(request, "admin")
    back = f"/admin/sagas/{saga_id}"
    reason = reason.strip() or "terminated by an operator"
    if confirm != "yes":
        return confirm_page(
            request,
            title="Terminate this saga?",
            message="The saga stops and its compensation runs: the payment is cancelled or "
            "refunded, the stock released, a promotion's use given back and the order "
            "cancelled.",
            action=f"{back}/terminate",
            button="Terminate and compensate",
            back=back,
            fields={"reason": reason},
            details=[("Saga", saga_id), ("Reason", reason)],
        )
    done, error = await _saga_action(request, saga_id, "terminate", {"reason": reason})
    session = request.state.session
    if error:
        session.notify(f"The saga was not terminated: {error.message}", "error")
    else:
        session.notify(terminate_summary(done or {}), "success")
    return redirect(back, request)


@router.post("/admin/sagas/{saga_id}/events/payment")
async def raise_payment(request: Request, saga_id: SagaId) -> Response:
    require(request, "admin")
    back = f"/admin/sagas/{saga_id}"
    form = await request.form()
    fields = form_dict(form)
    body = {
        "status": fields.get("status", ""),
        "payment_intent_id": fields.get("payment_intent_id", "").strip(),
        "reason": fields.get("reason", "").strip(),
    }
    if not confirmed(form):
        return confirm_page(
            request,
            title="Raise the payment event?",
            message="The saga goes on as if payments had reported this result (use it when "
            "the payment provider's webhook never came).",
            action=f"{back}/events/payment",
            button="Raise the event",
            back=back,
            fields=fields,
            details=[("Saga", saga_id), ("Payment result", body["status"] or "(none)")],
        )
    done, error = await _saga_action(request, saga_id, "events/payment", body)
    session = request.state.session
    if error and error.status in (400, 422) and error.fields:
        found = await request.app.state.api.get(request, f"api/admin/sagas/{saga_id}")
        return form_error(request, "admin/saga.html", error, fields, _saga_ctx(found))
    if error:
        session.notify(f"The event was not raised: {error.message}", "error")
    else:
        session.notify(
            f"Raised {(done or {}).get('event')} on saga {saga_id} "
            f"(now {(done or {}).get('status')}).",
            "success",
        )
    return redirect(back, request)


@router.post("/admin/sagas/{saga_id}/rerun")
async def rerun(
    request: Request,
    saga_id: SagaId,
    event_id: Annotated[str, Form(max_length=10)] = "",
    confirm: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    require(request, "admin")
    back = f"/admin/sagas/{saga_id}"
    session = request.state.session
    body: dict[str, Any] = {}
    if event_id.strip():
        if not event_id.strip().isdigit():
            session.notify("The history event to rerun from must be a number.", "error")
            return redirect(back, request)
        body["event_id"] = int(event_id)
    if confirm != "yes":
        return confirm_page(
            request,
            title="Rerun this saga?",
            message="A new instance runs the saga again from its failed step (or the history "
            "event given); the steps already done repeat as no-ops.",
            action=f"{back}/rerun",
            button="Rerun the saga",
            back=back,
            fields={"event_id": event_id.strip()},
            details=[("Saga", saga_id), ("From event", event_id.strip() or "the failed step")],
        )
    done, error = await _saga_action(request, saga_id, "rerun", body)
    if error:
        session.notify(f"The saga was not rerun: {error.message}", "error")
        return redirect(back, request)
    new_id = str((done or {}).get("new_saga_id"))
    session.notify(f"Rerunning as {new_id}.", "success")
    return redirect(f"/admin/sagas/{quote(new_id)}", request)


@router.post("/admin/sagas/{saga_id}/purge")
async def purge(
    request: Request, saga_id: SagaId, confirm: Annotated[str, Form(max_length=3)] = ""
) -> Response:
    require(request, "admin")
    back = f"/admin/sagas/{saga_id}"
    if confirm != "yes":
        return confirm_page(
            request,
            title="Purge this saga?",
            message="The ended saga's workflow state and history are deleted for good (the "
            "order itself stays).",
            action=f"{back}/purge",
            button="Purge the saga",
            back=back,
            details=[("Saga", saga_id)],
        )
    _, error = await _saga_action(request, saga_id, "purge", None)
    session = request.state.session
    if error:
        session.notify(f"The saga was not purged: {error.message}", "error")
        return redirect(back, request)
    session.notify(f"Saga {saga_id} was purged.", "success")
    return redirect("/admin/sagas", request)


# -- dead letters ------------------------------------------------------------------------------
@router.get("/admin/dead-letters")
async def dead_letters(
    request: Request,
    status: Annotated[str, Query(max_length=10)] = "open",
    topic: Text = "",
    event_type: Text = "",
    app: Text = "",
    page: PageNo = 1,
) -> Response:
    require(request, "admin")
    status = status if status in ("open", "replayed") else ""
    api = request.app.state.api
    params = {
        "status": status or None,
        "topic": topic.strip() or None,
        "event_type": event_type.strip() or None,
    }
    items: list[dict[str, Any]] = []
    total = 0
    if app.strip():  # the API has no app filter: the letters are filtered here
        found, error = await attempt(collect(request, "api/admin/dead-letters", **params))
        mine = [d for d in found or [] if letter_from_app(d, app.strip())]
        items, total = local_page(mine, page, LETTERS_PER_PAGE)
    else:
        answer, error = await attempt(
            api.get(request, "api/admin/dead-letters", **params, page=page, limit=LETTERS_PER_PAGE)
        )
        if answer:
            items, total = list(answer["items"]), int(answer["total"])
    filters = {"status": status, "topic": topic, "event_type": event_type, "app": app}
    return show(
        request,
        "admin/dead_letters.html",
        {
            "title": "Dead letters",
            "section": "dead-letters",
            "items": items,
            "total": total,
            "page_no": page,
            "limit": LETTERS_PER_PAGE,
            "form": filters,
            "error": error,
            "errors": (error.fields if error else {}),
            "topics": [t.value for t in Topic],
            "apps": app_names(),
            "base": base_url("/admin/dead-letters", filters),
            **HELPERS,
        },
    )


@router.get("/admin/dead-letters/{letter_id}")
async def dead_letter(request: Request, letter_id: LetterId) -> Response:
    require(request, "admin")
    letter = await request.app.state.api.get(request, f"api/admin/dead-letters/{letter_id}")
    return show(
        request,
        "admin/dead_letter.html",
        {
            "title": f"Dead letter {letter_id}",
            "section": "dead-letters",
            "letter": letter,
            "apps": app_names(),
            **HELPERS,
        },
    )


@router.post("/admin/dead-letters/{letter_id}/replay")
async def replay(request: Request, letter_id: LetterId) -> Response:
    require(request, "admin")
    back = f"/admin/dead-letters/{quote(letter_id)}"
    form = await request.form()
    fields = form_dict(form)
    app_id = fields.get("app_id", "").strip()
    if app_id and app_id not in app_names():
        request.state.session.notify(f"No app named {app_id!r}.", "error")
        return redirect(back, request)
    if not confirmed(form):
        return confirm_page(
            request,
            title="Replay this dead letter?",
            message="The original message is delivered again to "
            + (f"{app_id}." if app_id else "every consumer of its topic.")
            + " Consumers that already handled it must be idempotent (ours are).",
            action=f"{back}/replay",
            button="Replay",
            back=back,
            fields=fields,
            details=[("Dead letter", letter_id), ("To", app_id or "every consumer")],
        )
    session = request.state.session
    try:
        result = await request.app.state.api.call(
            request,
            "POST",
            f"api/admin/dead-letters/{letter_id}/replay",
            json={"app_id": app_id} if app_id else {},
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        session.notify(f"The dead letter was not replayed: {error.message}", "error")
        return redirect(back, request)
    message, kind = replay_summary(result)
    session.notify(message, kind)
    return redirect(back, request)


@router.post("/admin/dead-letters/{letter_id}/delete")
async def delete_letter(
    request: Request, letter_id: LetterId, confirm: Annotated[str, Form(max_length=3)] = ""
) -> Response:
    require(request, "admin")
    back = f"/admin/dead-letters/{quote(letter_id)}"
    if confirm != "yes":
        return confirm_page(
            request,
            title="Delete this dead letter?",
            message="The message is discarded for good: it can no longer be replayed.",
            action=f"{back}/delete",
            button="Delete",
            back=back,
            details=[("Dead letter", letter_id)],
        )
    session = request.state.session
    try:
        await request.app.state.api.call(request, "DELETE", f"api/admin/dead-letters/{letter_id}")
    except ApiError as error:
        if error.status in (401, 403):
            raise
        session.notify(f"The dead letter was not deleted: {error.message}", "error")
        return redirect(back, request)
    session.notify(f"Dead letter {letter_id} was deleted.", "success")
    return redirect("/admin/dead-letters", request)
