"""What every staff page module shares: the API client of the request, the posted form, an
optional answer, the signed-in staff member's id, an API refusal as a flash message and the
save of an edit form against the ETag it was shown with."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from apps.web.api import ApiError
from apps.web.staff_forms import humane

LIST_LIMIT = 25


def api_of(request: Request) -> Any:
    return request.app.state.api


async def form_of(request: Request) -> dict[str, str]:
    """The posted form as plain strings (files are not taken)."""
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


async def optional(call: Awaitable[Any]) -> Any:
    """An answer the page can do without (None when the API refuses or lacks it)."""
    try:
        return await call
    except ApiError as error:
        if error.status == 401:
            raise
        return None


def me(request: Request) -> str:
    return str(request.state.session.user.get("user_id") or "")


def flash_error(request: Request, error: ApiError) -> None:
    detail = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
    request.state.session.notify(f"{error.message}{' (' + detail + ')' if detail else ''}", "error")


def status_of(error: ApiError) -> int:
    """The status a form re-rendered for `error` answers with."""
    return error.status if 400 <= error.status < 500 else 503


CHANGED = (
    "This was changed by someone else while you were editing it. The form now shows the "
    "current values: check them and make your change again."
)


def changed_elsewhere(error: ApiError) -> bool:
    """The edit named an ETag that is no longer current (412, or a 409 about it)."""
    return error.status == 412 or error.status == 409


async def save_if_match(
    request: Request,
    method: str,
    path: str,
    body: Any,
    form: dict[str, str],
    again: Callable[..., Awaitable[Any]],
    changed: Callable[[ApiError], bool] = changed_elsewhere,
    changed_message: str = CHANGED,
    **on_change: Any,
) -> Any:
    """Send an edit with `If-Match: <the form's etag>`. None when saved; otherwise the form
    again (`again(**kwargs)`): with the current values and `changed_message` when someone
    else changed it first (`on_change` added), else as filled in with the API's messages
    next to the fields. A 401/403/404 is left to the page's handlers."""
    etag = form.get("etag", "")
    try:
        await api_of(request).call(
            request, method, path, json=body, headers={"If-Match": etag} if etag else None
        )
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        if changed(error):
            error.message = changed_message
            return await again(error=error, status=409, **on_change)
        return await again(
            form=form, errors=humane(error.fields), error=error, status=status_of(error)
        )
    return None
