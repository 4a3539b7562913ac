"""Sign-in (with the two-factor step), sign-up and sign-out pages."""

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from apps.web.api import ApiError
from apps.web.render import form_error, page, redirect, safe_next
from apps.web.session import WebSession

router = APIRouter(include_in_schema=False)


def _session(request: Request) -> WebSession:
    session: WebSession = request.state.session
    return session


async def _signed_in(request: Request, pair: dict[str, Any], next_url: str) -> Response:
    """Keep the tokens; move what the visitor put in the cart as a guest into their cart."""
    session = _session(request)
    session.sign_in(pair)
    # Nothing to merge (no guest cart) is the usual answer; the cart is there either way.
    with contextlib.suppress(ApiError):
        await request.app.state.api.call(request, "POST", "api/cart/merge")
    session.notify(f"Welcome back, {session.user.get('name') or session.user.get('email')}.")
    return redirect(safe_next(next_url), request)


@router.get("/signin")
async def signin_page(request: Request, next: str = "/") -> Response:
    if _session(request).signed_in:
        return redirect(safe_next(next), request)
    return page(request, "auth/signin.html", {"next": safe_next(next), "title": "Sign in"})


@router.post("/signin")
async def signin(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    api = request.app.state.api
    ctx = {"next": safe_next(next), "title": "Sign in"}
    try:
        answer = await api.call(
            request, "POST", "api/auth/login", json={"email": email, "password": password}
        )
    except ApiError as error:
        if error.status == 401:
            error.fields = {}
        return form_error(request, "auth/signin.html", error, {"email": email}, ctx)
    if answer.get("mfa_required"):
        _session(request).mfa_token = str(answer["mfa_token"])
        _session(request).dirty = True
        return page(request, "auth/twofactor.html", {**ctx, "title": "Two-step sign-in"})
    return await _signed_in(request, answer, next)


@router.post("/signin/2fa")
async def signin_second_factor(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    recovery_code: Annotated[str, Form(max_length=40)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    session = _session(request)
    ctx = {"next": safe_next(next), "title": "Two-step sign-in"}
    if not session.mfa_token:
        session.notify("Your sign-in timed out; please enter your password again.", "warning")
        return redirect(f"/signin?next={ctx['next']}", request)
    proof = (
        {"recovery_code": recovery_code.strip()}
        if recovery_code.strip()
        else {"code": code.strip()}
    )
    try:
        pair = await request.app.state.api.call(
            request, "POST", "api/auth/login/2fa", json={"mfa_token": session.mfa_token, **proof}
        )
    except ApiError as error:
        if error.status == 401 and "expired" in error.message.lower():
            session.mfa_token = ""
            session.dirty = True
        return form_error(request, "auth/twofactor.html", error, {}, ctx)
    return await _signed_in(request, pair, next)


@router.get("/signup")
async def signup_page(request: Request, next: str = "/") -> Response:
    return page(request, "auth/signup.html", {"next": safe_next(next), "title": "Create account"})


@router.post("/signup")
async def signup(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    api = request.app.state.api
    ctx = {"next": safe_next(next), "title": "Create account"}
    form = {"name": name, "email": email}
    try:
        await api.call(
            request,
            "POST",
            "api/auth/signup",
            json={"name": name, "email": email, "password": password},
        )
        pair = await api.call(
            request, "POST", "api/auth/login", json={"email": email, "password": password}
        )
    except ApiError as error:
        return form_error(request, "auth/signup.html", error, form, ctx)
    _session(request).notify("Account created. We sent you an email to confirm your address.")
    return await _signed_in(request, pair, next)


@router.post("/signout")
async def signout(request: Request) -> Response:
    session = _session(request)
    if session.refresh:
        # The sign-in ends here either way; its access token expires by itself.
        with contextlib.suppress(ApiError):
            await request.app.state.api.call(
                request, "POST", "api/auth/logout", json={"refresh_token": session.refresh}
            )
    session.sign_out()
    session.notify("You are signed out.")
    return redirect("/", request)
