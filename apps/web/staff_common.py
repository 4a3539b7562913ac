"""What every staff page module shares: the API client of the request, the posted form, an
optional answer, the signed-in staff member's id and an API refusal as a flash message."""

from collections.abc import Awaitable
from typing import Any

from fastapi import Request

from apps.web.api import ApiError

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
