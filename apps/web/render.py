"""Pages: the Jinja2 environment (autoescaped; money, dates and numbers per locale), the
context every page gets (visitor, CSRF token, flash messages), forms with per-field errors,
and the guards of signed-in, staff and admin pages."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from apps.contracts.identity import Role
from apps.web.api import ApiError
from apps.web.session import CSRF_FIELD, WebSession

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))
#: Role name -> rank, as the API ranks roles (apps/contracts/identity.Role).
ROLE_RANK = {role.value: role.rank for role in Role}


def _locale(request: Request | None) -> str:
    if request is None:
        return "en_US"
    return str(request.app.state.settings.locale)


#: Formatted amounts, dates and numbers kept per (text, locale...): babel parses the locale
#: and the pattern on every call (~50 us each), and a staff page formats hundreds of figures,
#: most of them the same from one view to the next. The answers depend only on the key.
FORMAT_CACHE = 16_384


def money(value: Any, currency: str = "USD", locale: str = "en_US") -> str:
    """'12.50' + USD -> '$12.50' (babel, per locale); '' for nothing."""
    if value is None or value == "":
        return ""
    return _money(str(value), currency or "USD", locale)


@lru_cache(maxsize=FORMAT_CACHE)
def _money(text: str, currency: str, locale: str) -> str:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return text
    return format_currency(amount, currency, locale=locale)


def when(value: Any, fmt: str = "medium", locale: str = "en_US", tz: str = "UTC") -> str:
    """An ISO timestamp as a date and time per locale ('' for nothing)."""
    if not value:
        return ""
    if isinstance(value, datetime):
        return format_datetime(value, fmt, tzinfo=tz, locale=locale)
    return _when(str(value), fmt, locale, tz)


@lru_cache(maxsize=FORMAT_CACHE)
def _when(text: str, fmt: str, locale: str, tz: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return format_datetime(moment, fmt, tzinfo=tz, locale=locale)


def day(value: Any, locale: str = "en_US") -> str:
    if not value:
        return ""
    if isinstance(value, datetime):
        return format_date(value, "medium", locale=locale)
    return _day(str(value), locale)


@lru_cache(maxsize=FORMAT_CACHE)
def _day(text: str, locale: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return format_date(moment, "medium", locale=locale)


def number(value: Any, locale: str = "en_US") -> str:
    return _number(str(value), locale)


@lru_cache(maxsize=FORMAT_CACHE)
def _number(text: str, locale: str) -> str:
    try:
        return format_decimal(Decimal(text), locale=locale)
    except (InvalidOperation, ValueError):
        return text


def product_image(product: dict[str, Any], size: int = 480) -> str:
    """The local, generated picture of a product (the seeded image URLs point nowhere)."""
    pid = product.get("product_id") or product.get("id") or "unknown"
    return f"/images/products/{quote(str(pid), safe='')}.svg?s={size}"


templates.env.filters["urlq"] = lambda v: quote(str(v), safe="")
templates.env.globals["product_image"] = product_image
templates.env.globals["ROLE_RANK"] = ROLE_RANK


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `template` with what every page needs."""
    session: WebSession = request.state.session
    settings = request.app.state.settings
    loc, tz = settings.locale, settings.timezone
    ctx: dict[str, Any] = {
        "request": request,
        "session": session,
        "user": session.user if session.signed_in else None,
        "role": session.role,
        "csrf": session.csrf_token(),
        "csrf_field": CSRF_FIELD,
        "flash": session.take_flash(),
        "money": lambda v, c="USD": money(v, c, loc),
        "when": lambda v, f="medium": when(v, f, loc, tz),
        "day": lambda v: day(v, loc),
        "number": lambda v: number(v, loc),
        "errors": {},
        "form": {},
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, template, ctx, status_code=status, headers=headers)


def form_error(
    request: Request,
    template: str,
    error: ApiError,
    form: dict[str, Any],
    context: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The form again, as it was filled in (never a password), with the API's messages next
    to the fields they concern and the rest above the form."""
    kept = {k: v for k, v in form.items() if "password" not in k and k != CSRF_FIELD}
    status = error.status if 400 <= error.status < 500 else 503
    return page(
        request,
        template,
        {**(context or {}), "form": kept, "errors": error.fields, "error": error},
        status=status,
    )


class LoginRequired(Exception):
    """Raised by a guard: the visitor must sign in first (handled: redirect with `next`)."""


class Forbidden(Exception):
    """Raised by a guard: signed in, but the role is too low (handled: the 403 page)."""


def require(request: Request, role: str = "customer") -> dict[str, Any]:
    """The signed-in user if their role is at least `role`; else LoginRequired/Forbidden."""
    session: WebSession = request.state.session
    if not session.signed_in:
        raise LoginRequired()
    if ROLE_RANK.get(session.role, 0) < ROLE_RANK[role]:
        raise Forbidden()
    return session.user


def redirect(url: str, request: Request | None = None) -> Response:
    """See-other to `url`; for htmx requests an HX-Redirect (the whole page changes)."""
    if request is not None and request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """A same-site path to return to after sign-in (never another site: no '//' or '\\')."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")) and len(value) < 500:
        return value
    return default
