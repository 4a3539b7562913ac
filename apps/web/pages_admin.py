"""Admin pages: users and their roles, the audit log and the runtime settings; the
operations console (apps, sagas, dead letters) is in admin_ops.py. Every route is for
admins only (`require(request, "admin")` first), over the storefront's `/api/admin/*`."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

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
    KEY_PATTERN,
    ROLES,
    config_form,
    config_kind,
    config_members,
    config_message,
    day_bounds,
    local_page,
    parse_config,
    pretty,
    shown,
    user_matches,
)
from apps.web.admin_ops import router as ops_router
from apps.web.api import ApiError
from apps.web.render import form_error, redirect, require, safe_next
from apps.web.render import page as show

router = APIRouter(include_in_schema=False)
router.include_router(ops_router)

USERS_PER_PAGE = 25
AUDIT_PER_PAGE = 50
UserId = Annotated[str, Path(pattern=ID_PATTERN)]
ConfigKey = Annotated[str, Path(pattern=KEY_PATTERN, max_length=100)]
PageNo = Annotated[int, Query(ge=1, le=10_000)]
Text = Annotated[str, Query(max_length=200)]


def _back(value: str, default: str) -> str:
    return safe_next(value, default) if value.startswith("/admin/") else default


# -- users ---------------------------------------------------------------------------------
@router.get("/admin/users")
async def users(request: Request, role: Text = "", q: Text = "", page: PageNo = 1) -> Response:
    me = require(request, "admin")
    api = request.app.state.api
    role = role if role in ROLES else ""
    items: list[dict[str, Any]] = []
    total = 0
    if q.strip():  # the API filters by role only: the search runs here
        found, error = await attempt(collect(request, "api/admin/users", role=role or None))
        matches = [u for u in found or [] if user_matches(u, q)]
        items, total = local_page(matches, page, USERS_PER_PAGE)
    else:
        answer, error = await attempt(
            api.get(request, "api/admin/users", role=role or None, page=page, limit=USERS_PER_PAGE)
        )
        if answer:
            items, total = list(answer["items"]), int(answer["total"])
    here = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    return show(
        request,
        "admin/users.html",
        {
            "title": "Users",
            "section": "users",
            "items": items,
            "total": total,
            "page_no": page,
            "limit": USERS_PER_PAGE,
            "filters": {"q": q, "role": role},
            "roles": ROLES,
            "me": me,
            "here": here,
            "base": base_url("/admin/users", {"q": q, "role": role}),
            "error": error,
        },
    )


@router.get("/admin/users/new")
async def new_user_page(request: Request) -> Response:
    require(request, "admin")
    return show(
        request,
        "admin/user_new.html",
        {"title": "Add a user", "section": "users", "roles": ROLES, "form": {"role": "staff"}},
    )


@router.post("/admin/users/new")
async def create_user(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=20)] = "staff",
) -> Response:
    require(request, "admin")
    body = {"name": name, "email": email, "password": password, "role": role}
    try:
        user = await request.app.state.api.call(request, "POST", "api/admin/users", json=body)
    except ApiError as error:
        if error.status in (401, 403):
            raise
        ctx = {"title": "Add a user", "section": "users", "roles": ROLES}
        return form_error(request, "admin/user_new.html", error, body, ctx)
    request.state.session.notify(f"{user['email']} can now sign in as {user['role']}.", "success")
    return redirect("/admin/users", request)


@router.post("/admin/users/{user_id}/role")
async def change_role(
    request: Request,
    user_id: UserId,
    role: Annotated[str, Form(max_length=20)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    require(request, "admin")
    session = request.state.session
    who = email or user_id
    try:
        await request.app.state.api.call(
            request, "PUT", f"api/admin/users/{quote(user_id)}/role", json={"role": role}
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        detail = error.fields.get("role") or error.message
        session.notify(f"The role of {who} was not changed: {detail}", "error")
    else:
        session.notify(f"{who} is now {role}.", "success")
    return redirect(_back(back, "/admin/users"), request)


@router.post("/admin/users/{user_id}/delete")
async def delete_user(request: Request, user_id: UserId) -> Response:
    require(request, "admin")
    form = await request.form()
    fields = form_dict(form)
    who = fields.get("email") or user_id
    back = _back(fields.get("back", ""), "/admin/users")
    if not confirmed(form):
        return confirm_page(
            request,
            title="Delete this user?",
            message=f"{who} will be signed out everywhere and their account closed. "
            "This cannot be undone.",
            action=f"/admin/users/{quote(user_id)}/delete",
            button="Delete user",
            back=back,
            fields=fields,
        )
    session = request.state.session
    try:
        await request.app.state.api.call(request, "DELETE", f"api/admin/users/{quote(user_id)}")
    except ApiError as error:
        if error.status in (401, 403):
            raise
        session.notify(f"{who} was not deleted: {error.message}", "error")
    else:
        session.notify(f"{who} was deleted.", "success")
    return redirect(back, request)


# -- audit log -----------------------------------------------------------------------------
async def _actor_id(request: Request, actor: str) -> tuple[str | None, str | None]:
    """An actor filter as the log keeps it (a user id); an email is looked up first."""
    actor = actor.strip()
    if "@" not in actor:
        return actor or None, None
    found, error = await attempt(collect(request, "api/admin/users"))
    if error:
        return None, f"Could not look up that email: {error.message}"
    for user in found or []:
        if str(user.get("email", "")).lower() == actor.lower():
            return str(user["user_id"]), None
    return None, "No user has this email (enter a user id for a closed account)."


@router.get("/admin/audit")
async def audit(
    request: Request,
    actor: Text = "",
    action: Text = "",
    entity_type: Text = "",
    entity_id: Text = "",
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
    page: PageNo = 1,
) -> Response:
    require(request, "admin")
    filters = {
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "from": start,
        "to": end,
    }
    start_date, end_date, errors = day_bounds(start, end)
    actor_id, actor_error = await _actor_id(request, actor)
    if actor_error:
        errors["actor"] = actor_error
    items: list[dict[str, Any]] = []
    total = 0
    error: ApiError | None = None
    if not errors:
        answer, error = await attempt(
            request.app.state.api.get(
                request,
                "api/admin/audit-logs",
                actor=actor_id,
                action=action.strip() or None,
                entity_type=entity_type.strip() or None,
                entity_id=entity_id.strip() or None,
                start_date=start_date,
                end_date=end_date,
                page=page,
                limit=AUDIT_PER_PAGE,
            )
        )
        if answer:
            items, total = list(answer["items"]), int(answer["total"])
        if error:
            errors.update(error.fields)
    return show(
        request,
        "admin/audit.html",
        {
            "title": "Audit log",
            "section": "audit",
            "items": items,
            "total": total,
            "page_no": page,
            "limit": AUDIT_PER_PAGE,
            "form": filters,
            "errors": errors,
            "error": error,
            "filtered": any(v.strip() for v in filters.values()),
            "base": base_url("/admin/audit", filters),
            "pretty": pretty,
        },
    )


# -- runtime settings ------------------------------------------------------------------------
@router.get("/admin/config")
async def config(request: Request) -> Response:
    require(request, "admin")
    answer, error = await attempt(request.app.state.api.get(request, "api/admin/config"))
    return show(
        request,
        "admin/config.html",
        {
            "title": "Runtime settings",
            "section": "config",
            "items": (answer or {}).get("items", []),
            "error": error,
            "shown": shown,
        },
    )


def _config_ctx(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": f"Setting {entry['key']}",
        "section": "config",
        "entry": entry,
        "kind": config_kind(entry),
        "members": config_members(entry),
        "shown": shown,
    }


@router.get("/admin/config/{key}")
async def config_entry(request: Request, key: ConfigKey) -> Response:
    require(request, "admin")
    entry = await request.app.state.api.get(request, f"api/admin/config/{key}")
    return show(
        request, "admin/config_edit.html", {**_config_ctx(entry), "form": config_form(entry)}
    )


@router.post("/admin/config/{key}")
async def config_save(request: Request, key: ConfigKey) -> Response:
    require(request, "admin")
    api = request.app.state.api
    entry = await api.get(request, f"api/admin/config/{key}")
    fields = form_dict(await request.form())
    value, errors = parse_config(entry, fields)
    ctx = {**_config_ctx(entry), "form": fields}
    if errors:
        return show(request, "admin/config_edit.html", {**ctx, "errors": errors}, status=422)
    try:
        change = await api.call(request, "PUT", f"api/admin/config/{key}", json={"value": value})
    except ApiError as error:
        if error.status in (401, 403):
            raise
        # The API names the key, not a field: its message belongs by the value.
        if error.status < 500:
            error.fields = {"value": config_message(key, error.message), **error.fields}
            error.message = "The setting was not saved."
        return form_error(request, "admin/config_edit.html", error, fields, ctx)
    request.state.session.notify(
        f"{key} is now {shown(change.get('value'))}. {entry['applied_by']} applies it within "
        "seconds.",
        "success",
    )
    return redirect("/admin/config", request)


@router.post("/admin/config/{key}/reset")
async def config_reset(request: Request, key: ConfigKey) -> Response:
    require(request, "admin")
    form = await request.form()
    if not confirmed(form):
        return confirm_page(
            request,
            title="Reset this setting?",
            message=f"{key} goes back to its default; the app applying it follows within seconds.",
            action=f"/admin/config/{key}/reset",
            button="Reset to default",
            back=f"/admin/config/{key}",
        )
    session = request.state.session
    try:
        change = await request.app.state.api.call(request, "DELETE", f"api/admin/config/{key}")
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        session.notify(f"{key} was not reset: {error.message}", "error")
        return redirect(f"/admin/config/{key}", request)
    session.notify(f"{key} is back to its default ({shown(change.get('value'))}).", "success")
    return redirect("/admin/config", request)
