"""web: the web front end, a Container App with public ingress beside the storefront API.

Server-rendered pages (Jinja2 + htmx) for shoppers, staff and admins. Every piece of data
comes from the storefront API through this app's sidecar (apps/web/api.py); the visitor's
tokens live in an encrypted HttpOnly cookie (apps/web/session.py); every form posts a CSRF
token, checked here before any route runs."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.fernet import MultiFernet
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.contracts.names import AppId, Component, Secret
from apps.platform.dapr import Sidecar
from apps.platform.health import health_router
from apps.platform.http import BodyLimitMiddleware, install_common
from apps.platform.logging import configure_logging
from apps.platform.shutdown import on_shutdown_signal
from apps.web.api import ApiError, PublicCache, Storefront
from apps.web.images import router as images_router
from apps.web.pages_account import router as account_router
from apps.web.pages_admin import router as admin_router
from apps.web.pages_auth import router as auth_router
from apps.web.pages_shop import router as shop_router
from apps.web.pages_staff import router as staff_router
from apps.web.render import Forbidden, LoginRequired, page, redirect, require
from apps.web.session import COOKIE, CSRF_FIELD, CSRF_HEADER, WebSession, cipher
from apps.web.settings import get_settings

STATIC = Path(__file__).parent / "static"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; frame-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


class SessionKey:
    """The session cipher from `web-secrets` (read on first use: the sidecar may start after
    the app), kept for the process."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar
        self.box: MultiFernet | None = None

    async def get(self) -> MultiFernet:
        if self.box is None:
            self.box = cipher(
                await self.sidecar.secret(Secret.WEB_SESSION_KEY, Component.WEB_SECRETS)
            )
        return self.box


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(AppId.WEB, settings.log_level, settings.log_json, settings.trace_console)
    app.state.settings = settings
    app.state.sidecar = Sidecar(settings, grpc=False)
    app.state.session_key = SessionKey(app.state.sidecar)
    # Set at SIGTERM/SIGINT: live order streams end so uvicorn can stop (apps/platform/shutdown).
    app.state.closing = asyncio.Event()
    on_shutdown_signal(app.state.closing.set)
    cache = (
        PublicCache(settings.public_cache_seconds, settings.public_stale_seconds)
        if settings.public_cache_seconds
        else None
    )
    app.state.api = Storefront(
        app.state.sidecar, settings.storefront_app_id, settings.api_timeout_seconds, cache
    )
    try:
        yield
    finally:
        await app.state.sidecar.close()


app = FastAPI(
    title="SmartCommerce web",
    version="0.1.0",
    lifespan=lifespan,
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)
install_common(app, invalid_input_status=422, internal=False)
# Pages compress ~5x; SSE (text/event-stream) is never buffered by it.
app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)
app.include_router(health_router(set()))


def _same_origin(request: Request) -> bool:
    """A state-changing request must come from our own pages (Origin, else Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source:
        return True  # not sent by every client; the CSRF token still has to match
    return urlsplit(source).netloc == request.headers.get("host", "")


async def _csrf_sent(request: Request) -> str | None:
    sent = request.headers.get(CSRF_HEADER)
    if sent:
        return sent
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await request.body()  # kept: the route reads the same form again
        return (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [None])[0]
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        await request.body()  # kept for the route (`_replay`); the form is parsed from it
        async with request.form() as form:
            value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


#: Whole areas and the role they need, checked before any route (or its form parsing) runs;
#: each route checks again with `require`.
AREAS = (("/admin", "admin"), ("/staff", "staff"))


def _area_role(path: str) -> str | None:
    for prefix, role in AREAS:
        if path == prefix or path.startswith(prefix + "/"):
            return role
    return None


def _area_guard(request: Request) -> Response | None:
    """The sign-in redirect or 403 page for a staff/admin path the visitor may not see (the
    routes' own `require`, applied to the whole area before any route runs)."""
    needed = _area_role(request.url.path)
    try:
        if needed:
            require(request, needed)
    except LoginRequired:
        return redirect(f"/signin?next={_here(request)}", request)
    except Forbidden:
        return page(request, "error.html", _forbidden_words(request), status=403)
    return None


#: Paths the session middleware leaves alone: probes, operations, static files, pictures.
NO_SESSION = ("/health", "/ops", "/static/", "/images/")
#: A page's form is a few kB; anything larger is refused before a route reads it.
MAX_BODY_BYTES = 1_000_000


class WebSessionMiddleware:
    """Load the session from its cookie; refuse a state change without our CSRF token;
    write the cookie back when the session changed; security headers on every page.

    Plain ASGI: Starlette's `BaseHTTPMiddleware` runs every request in a task group and
    streams the answer through a memory channel, a visible share of a page's CPU. A form
    body read here for its CSRF token is handed to the route again (`_replay`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_SESSION):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        settings = request.app.state.settings
        max_age = settings.session_days * 86400
        try:
            box = await request.app.state.session_key.get()
        except RuntimeError:
            starting = HTMLResponse("The shop is starting; try again in a moment.", 503)
            await starting(scope, receive, send)
            return
        started = time.perf_counter()
        session = WebSession.load(box, request.cookies.get(COOKIE), max_age)
        request.state.session = session
        answer: Response | None = _area_guard(request)
        if answer is None and request.method in UNSAFE:
            sent = await _csrf_sent(request)
            receive = _replay(request, receive)
            if not (_same_origin(request) and session.csrf_ok(sent)):
                answer = page(
                    request,
                    "error.html",
                    {
                        "title": "This form has expired",
                        "message": "For your safety the form was not sent. Please go back, "
                        "reload the page and try again.",
                    },
                    status=403,
                )

        async def send_page(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if session.dirty:
                    jar = Response()  # Starlette's own Set-Cookie, as a route would write it
                    jar.set_cookie(
                        COOKIE,
                        session.dump(box),
                        max_age=max_age,
                        httponly=True,
                        secure=settings.cookie_secure,
                        samesite="lax",
                        path="/",
                    )
                    for name, value in jar.raw_headers:
                        if name == b"set-cookie":
                            headers.append("set-cookie", value.decode("latin-1"))
                for name, value in PAGE_HEADERS.items():
                    headers.setdefault(name, value)
                # How long this app took (API calls + render), for dev tools and bench:web.
                took = (time.perf_counter() - started) * 1000
                headers["Server-Timing"] = f"app;dur={took:.1f}"
                if "text/html" in headers.get("content-type", ""):
                    headers.setdefault("Cache-Control", "no-store")
                    headers.setdefault("Vary", "Cookie")
            await send(message)

        if answer is not None:
            await answer(scope, receive, send_page)
        else:
            await self.app(scope, receive, send_page)


def _replay(request: Request, receive: Receive) -> Receive:
    """`receive` for the route: the body this middleware already read (if it did), then
    the client's own messages (a disconnect)."""
    body: bytes | None = getattr(request, "_body", None)
    if body is None:
        return receive
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


app.add_middleware(WebSessionMiddleware)
app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)


@app.exception_handler(LoginRequired)
async def _login_required(request: Request, exc: LoginRequired) -> Response:
    return redirect(f"/signin?next={_here(request)}", request)


@app.exception_handler(Forbidden)
async def _forbidden(request: Request, exc: Forbidden) -> Response:
    return page(request, "error.html", _forbidden_words(request), status=403)


def _forbidden_words(request: Request) -> dict[str, str]:
    """The 403 page's words: who the page is for."""
    area = _area_role(request.url.path)
    if area is None:
        return {"title": "Not for this account", "message": "This account cannot see this."}
    who = "administrators" if area == "admin" else "staff"
    return {
        "title": "Not for this account",
        "message": f"This page is for {who}. If you think you should see it, ask an administrator.",
    }


def _here(request: Request) -> str:
    from urllib.parse import quote

    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = request.headers.get("referer", "/")
        target = urlsplit(target).path or "/"
    return quote(target, safe="")


@app.exception_handler(ApiError)
async def _api_error(request: Request, exc: ApiError) -> Response:
    """An API answer a page could not use: sign in, 403, 404 or the error page."""
    if not hasattr(request.state, "session"):
        return HTMLResponse("Service unavailable", status_code=503)
    if exc.status == 401:
        request.state.session.sign_out()
        return redirect(f"/signin?next={_here(request)}", request)
    if exc.status == 403:
        return page(request, "error.html", _forbidden_words(request), status=403)
    if exc.status == 404:
        return page(request, "404.html", {}, status=404)
    status = exc.status if 400 <= exc.status < 600 else 502
    return page(
        request,
        "error.html",
        {"title": "Something went wrong", "message": exc.message},
        status=status,
    )


@app.exception_handler(StarletteHTTPException)
async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if not hasattr(request.state, "session"):
        return HTMLResponse(str(exc.detail), status_code=exc.status_code)
    if exc.status_code == 404:
        return page(request, "404.html", {}, status=404)
    context: dict[str, Any] = {"title": "Something went wrong", "message": str(exc.detail)}
    return page(request, "error.html", context, status=exc.status_code)


@app.exception_handler(RequestValidationError)
async def _bad_input(request: Request, exc: RequestValidationError) -> Response:
    """A page address with a value it cannot take (e.g. `?page=x`): said, nothing done."""
    if not hasattr(request.state, "session"):
        return HTMLResponse("Invalid request", status_code=422)
    fields = ", ".join(str(e.get("loc", ["", "?"])[-1]) for e in exc.errors())
    context = {"title": "Please check the address", "message": f"Not a valid value: {fields}."}
    return page(request, "error.html", context, status=422)


app.mount("/static", StaticFiles(directory=STATIC), name="static")
app.include_router(images_router)
app.include_router(auth_router)
app.include_router(shop_router)
app.include_router(account_router)
app.include_router(staff_router)
app.include_router(admin_router)
