"""What every admin page shares: API answers that a page shows as a message instead of the
error page, listings collected across pages (filters the API does not have), the
confirmation step of a destructive form, and the addresses of a listing's pages."""

from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from apps.web.api import ApiError
from apps.web.render import page
from apps.web.session import CSRF_FIELD

#: Most items a page collects to filter here (the API pages 100 at a time).
MAX_COLLECTED = 2000


async def attempt(call: Awaitable[Any]) -> tuple[Any, ApiError | None]:
    """The answer, or the error to show on the page (sign-in and 403 still go to their
    handlers: a page never shows an admin view to someone the API refused)."""
    try:
        return await call, None
    except ApiError as error:
        if error.status in (401, 403):
            raise
        return None, error


async def collect(request: Request, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged listing (up to MAX_COLLECTED), for a filter the API lacks."""
    api = request.app.state.api
    items: list[dict[str, Any]] = []
    number = 1
    while len(items) < MAX_COLLECTED:
        answer = await api.get(request, path, **params, page=number, limit=100)
        found = list(answer.get("items") or [])
        items += found
        if not found or number * 100 >= int(answer.get("total") or 0):
            break
        number += 1
    return items


def base_url(path: str, params: dict[str, Any]) -> str:
    """`path?filters&` for the pager macro (it appends `page=N`)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(key, str(v)) for v in values if v not in (None, "")]
    return f"{path}?{urlencode(pairs)}&" if pairs else f"{path}?"


def form_dict(form: Any) -> dict[str, str]:
    """A submitted form as text fields (no CSRF token, no confirmation flag)."""
    return {
        k: v
        for k, v in form.multi_items()
        if isinstance(v, str) and k not in (CSRF_FIELD, "confirm")
    }


def confirmed(form: Any) -> bool:
    return bool(form.get("confirm") == "yes")


def confirm_page(
    request: Request,
    *,
    title: str,
    message: str,
    action: str,
    button: str,
    back: str,
    fields: dict[str, str] | None = None,
    details: list[tuple[str, str]] | None = None,
) -> Response:
    """The question before a destructive action (without JavaScript, or when the dialog was
    skipped): the same form again with `confirm=yes`, and a way back."""
    return page(
        request,
        "admin/confirm.html",
        {
            "title": title,
            "message": message,
            "action": action,
            "button": button,
            "back": back,
            "fields": fields or {},
            "details": details or [],
        },
    )
