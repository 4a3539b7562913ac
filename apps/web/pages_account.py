"""The customer's own pages: email links (verify, reset password), the account dashboard,
orders, profile and security (password, two-factor, closing the account), addresses,
payment methods, preferences (and email unsubscribe links), wishlist, returns, support
requests and the emails sent. Everything through the storefront API as the visitor."""

import asyncio
import contextlib
import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from apps.web.account_forms import (
    CURRENCIES,
    LANGUAGES,
    NOTIFICATION_CHOICES,
    RETURN_REASONS,
    RETURNABLE_STATES,
    TEST_PAYMENT_METHODS,
    TICKET_TYPES,
    address_form,
    address_problems,
    link_state,
    preferences_from_form,
    return_request,
    returnable_lines,
    status_label,
    unsubscribe_choice,
)
from apps.web.api import ApiError
from apps.web.render import form_error, page, redirect, require, templates
from apps.web.session import CSRF_FIELD, WebSession

router = APIRouter(include_in_schema=False)
templates.env.filters.setdefault("status_label", status_label)

PathId = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


def _session(request: Request) -> WebSession:
    session: WebSession = request.state.session
    return session


def _api(request: Request) -> Any:
    return request.app.state.api


def _key() -> str:
    """An idempotency key for a form (a double submit makes one return or request)."""
    return f"web-{secrets.token_hex(16)}"


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def _ctx(section: str, title: str, **more: Any) -> dict[str, Any]:
    return {"section": section, "title": title, **more}


# -- email links: forgot / reset password, verify email ------------------------------------------
@router.get("/forgot-password")
async def forgot_page(request: Request) -> Response:
    return page(request, "account/forgot.html", {"title": "Forgot your password?"})


@router.post("/forgot-password")
async def forgot(request: Request, email: Annotated[str, Form(max_length=320)] = "") -> Response:
    ctx = {"title": "Forgot your password?"}
    try:
        await _api(request).call(
            request, "POST", "api/auth/forgot-password", json={"email": email.strip()}
        )
    except ApiError as error:
        return form_error(request, "account/forgot.html", error, {"email": email}, ctx)
    return page(
        request, "account/forgot.html", {**ctx, "sent": True, "form": {"email": email.strip()}}
    )


@router.get("/reset-password")
async def reset_page(
    request: Request, token: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    return page(request, "account/reset.html", {"title": "Choose a new password", "token": token})


@router.post("/reset-password")
async def reset(
    request: Request,
    token: Annotated[str, Form(max_length=300)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
    confirm_password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    ctx = {"title": "Choose a new password", "token": token}
    if new_password != confirm_password:
        error = ApiError(422, "MISMATCH", "The two passwords differ.")
        error.fields = {"confirm_password": "This does not match the new password"}
        return form_error(request, "account/reset.html", error, {}, ctx)
    try:
        await _api(request).call(
            request,
            "POST",
            "api/auth/reset-password",
            json={"token": token, "new_password": new_password},
        )
    except ApiError as error:
        if "token" in error.fields or (error.status == 422 and not error.fields):
            state = link_state(error.details, error.message)
            return page(request, "account/reset.html", {**ctx, "link": state}, status=422)
        return form_error(request, "account/reset.html", error, {}, ctx)
    session = _session(request)
    if session.signed_in:
        session.sign_out()
    session.notify("Your password is changed. Please sign in with the new one.", "success")
    return redirect("/signin?next=/account", request)


@router.get("/verify-email")
async def verify_email(
    request: Request, token: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    """Confirm the address with the emailed token; a used or expired link says so (and a
    signed-in visitor whose address is confirmed already is told that instead)."""
    api = _api(request)
    ctx: dict[str, Any] = {"title": "Confirm your email"}
    state = "missing"
    if token:
        try:
            profile = await api.call(
                request, "POST", "api/auth/verify-email", json={"token": token}
            )
            state = "verified"
            ctx["profile"] = profile
        except ApiError as error:
            if error.status >= 500:
                raise
            state = link_state(error.details, error.message)
    if state != "verified" and _session(request).signed_in:
        with contextlib.suppress(ApiError):
            me = await api.get(request, "api/users/me")
            if me.get("email_verified"):
                state = "already"
            ctx["profile"] = me
    status = 200 if state in ("verified", "already") else 422 if token else 200
    return page(request, "account/verify.html", {**ctx, "state": state}, status=status)


@router.post("/verify-email/resend")
async def resend_verification(request: Request) -> Response:
    require(request, "customer")
    session = _session(request)
    try:
        await _api(request).call(request, "POST", "api/auth/resend-verification")
    except ApiError as error:
        if error.status != 409:
            raise
        session.notify("Your email address is confirmed already.", "success")
        return redirect("/account", request)
    session.notify("We sent a new confirmation link. The previous one no longer works.", "success")
    return redirect("/verify-email", request)


# -- the dashboard and orders --------------------------------------------------------------------
@router.get("/account")
async def dashboard(request: Request) -> Response:
    require(request, "customer")
    api = _api(request)
    board = await api.get(request, "api/users/me/dashboard")
    recent = board.get("recent_orders") or []
    bought = {str(i.get("product_id")) for o in recent for i in (o.get("items") or [])}
    first = next((o["items"][0] for o in recent if o.get("items")), None)
    picks: list[dict[str, Any]] = []
    picks_title = "Featured for you"
    # Suggestions are a bonus: the page stands without them.
    with contextlib.suppress(ApiError):
        if first is not None:
            related = await api.get(request, f"api/products/{first['product_id']}/related", limit=8)
            picks = [p for p in related.get("items", []) if p.get("product_id") not in bought]
            picks_title = f"Because you bought {first.get('name', 'this')}"
        if not picks:
            featured = await api.get(request, "api/products/featured", limit=8)
            picks = [p for p in featured.get("items", []) if p.get("product_id") not in bought]
            picks_title = "Featured for you"
    picks = picks[:4]
    return page(
        request,
        "account/dashboard.html",
        _ctx("overview", "Your account", board=board, picks=picks, picks_title=picks_title),
    )


@router.get("/account/orders")
async def orders(
    request: Request, page_no: Annotated[int, Query(alias="page", ge=1)] = 1
) -> Response:
    require(request, "customer")
    limit = 10
    found = await _api(request).get(request, "api/users/me/orders", page=page_no, limit=limit)
    return page(
        request,
        "account/orders.html",
        _ctx("orders", "Your orders", orders=found, page_no=page_no, limit=limit),
    )


# -- profile and security ------------------------------------------------------------------------
async def _profile_page(request: Request, **more: Any) -> Response:
    me = await _api(request).get(request, "api/users/me")
    status = int(more.pop("status", 200))
    form = more.pop("form", None)
    if not form or more.get("target") != "profile":
        form = {"name": me.get("name", ""), "phone": me.get("phone", "")}
    return page(
        request,
        "account/profile.html",
        _ctx("profile", "Profile and security", me=me, form=form, **more),
        status=status,
    )


@router.get("/account/profile")
async def profile(request: Request) -> Response:
    require(request, "customer")
    return await _profile_page(request)


def _refused(error: ApiError, form: dict[str, Any], target: str) -> dict[str, Any]:
    """The context of a refused form on the profile page: which form, its messages."""
    status = error.status if 400 <= error.status < 500 else 503
    return {
        "form": form,
        "errors": error.fields,
        "error": error,
        "target": target,
        "status": status,
    }


@router.post("/account/profile")
async def save_profile(
    request: Request,
    name: Annotated[str, Form(max_length=300)] = "",
    phone: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    require(request, "customer")
    session = _session(request)
    body = {"name": name.strip(), "phone": phone.strip()}
    try:
        me = await _api(request).call(request, "PUT", "api/users/me", json=body)
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        return await _profile_page(request, **_refused(error, body, "profile"))
    session.user = {**session.user, "name": me.get("name", name)}
    session.dirty = True
    session.notify("Your profile is saved.", "success")
    return redirect("/account/profile", request)


@router.post("/account/password")
async def change_password(
    request: Request,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
    confirm_password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change the password, then sign in again with it (a new password ends the sessions)."""
    user = require(request, "customer")
    api, session = _api(request), _session(request)
    if new_password != confirm_password:
        error = ApiError(422, "MISMATCH", "The two new passwords differ.")
        error.fields = {"confirm_password": "This does not match the new password"}
        return await _profile_page(request, **_refused(error, {}, "password"))
    body = {"current_password": current_password, "new_password": new_password}
    try:
        await api.call(request, "PUT", "api/users/me/password", json=body)
    except ApiError as error:
        if error.status in (403, 404):
            raise
        if error.status == 401:
            error.fields = {"current_password": "This is not your current password"}
        return await _profile_page(request, **_refused(error, {}, "password"))
    email = str(user.get("email", ""))
    try:
        pair = await api.call(
            request, "POST", "api/auth/login", json={"email": email, "password": new_password}
        )
    except ApiError:
        pair = {}
    if pair.get("access_token"):
        session.sign_in(pair)
        session.notify("Your password is changed.", "success")
        return redirect("/account/profile", request)
    session.sign_out()
    session.notify("Your password is changed. Please sign in with the new one.", "success")
    return redirect("/signin?next=/account/profile", request)


@router.post("/account/2fa/enable")
async def enable_two_factor(request: Request) -> Response:
    require(request, "customer")
    setup = await _api(request).call(request, "POST", "api/users/me/2fa/enable")
    return page(
        request,
        "account/twofactor_setup.html",
        _ctx("profile", "Set up two-step sign-in", setup=setup),
    )


@router.post("/account/2fa/verify")
async def verify_two_factor(
    request: Request,
    code: Annotated[str, Form(max_length=20)] = "",
    secret: Annotated[str, Form(max_length=200)] = "",
    otpauth_uri: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    require(request, "customer")
    try:
        codes = await _api(request).call(
            request, "POST", "api/users/me/2fa/verify", json={"code": code.strip()}
        )
    except ApiError as error:
        if error.status in (403, 404):
            raise
        if error.status == 401 or not error.fields:
            error.fields = {
                "code": error.message
                if error.status != 401
                else "That code is not right; try the current one"
            }
        setup = {"secret": secret, "otpauth_uri": otpauth_uri}
        return form_error(
            request,
            "account/twofactor_setup.html",
            error,
            {},
            _ctx("profile", "Set up two-step sign-in", setup=setup),
        )
    return page(
        request,
        "account/twofactor_codes.html",
        _ctx("profile", "Your recovery codes", codes=codes.get("recovery_codes", [])),
    )


@router.post("/account/2fa/disable")
async def disable_two_factor(
    request: Request,
    password: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    require(request, "customer")
    proof = {"code": code.strip()} if code.strip() else {"password": password}
    try:
        await _api(request).call(request, "POST", "api/users/me/2fa/disable", json=proof)
    except ApiError as error:
        if error.status in (403, 404):
            raise
        if error.status == 401:
            name = "disable_code" if code.strip() else "disable_password"
            error.fields = {name: "That is not right"}
        else:
            error.fields = {f"disable_{k}": v for k, v in error.fields.items()}
        return await _profile_page(request, **_refused(error, {}, "twofactor"))
    _session(request).notify("Two-step sign-in is off.", "success")
    return redirect("/account/profile", request)


@router.get("/account/delete")
async def delete_page(request: Request) -> Response:
    require(request, "customer")
    return page(request, "account/delete.html", _ctx("profile", "Close your account"))


@router.post("/account/delete")
async def delete_account(
    request: Request, confirm_email: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    user = require(request, "customer")
    if confirm_email.strip().lower() != str(user.get("email", "")).lower():
        error = ApiError(422, "NOT_CONFIRMED", "The account was not closed.")
        error.fields = {"confirm_email": "Type your account's email address to confirm"}
        return form_error(
            request, "account/delete.html", error, {}, _ctx("profile", "Close your account")
        )
    await _api(request).call(request, "DELETE", "api/users/me")
    session = _session(request)
    session.sign_out()
    session.notify("Your account is closed and your personal details are erased.", "success")
    return redirect("/", request)


# -- addresses -----------------------------------------------------------------------------------
async def _addresses_page(request: Request, status: int = 200, **more: Any) -> Response:
    found = await _api(request).get(request, "api/users/me/addresses")
    return page(
        request,
        "account/addresses.html",
        _ctx("addresses", "Your addresses", addresses=found, **more),
        status=status,
    )


async def _checked_address(
    request: Request, form: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The address normalised by `api/addresses/validate`, or its problems per field."""
    fields = address_form(form)
    check = await _api(request).call(request, "POST", "api/addresses/validate", json=fields)
    if not check.get("valid"):
        return {}, address_problems(check) or {"line1": "This address is not valid"}
    body = {**check["address"], "type": form.get("type") or "shipping"}
    body["is_default"] = form.get("is_default") == "on"
    return body, {}


def _address_refused(errors: dict[str, str], message: str = "") -> ApiError:
    return ApiError(422, "INVALID_ADDRESS", message or "Please check the address.", errors)


@router.get("/account/addresses")
async def addresses(request: Request) -> Response:
    require(request, "customer")
    return await _addresses_page(request, form={"country": "US"})


@router.post("/account/addresses")
async def add_address(request: Request) -> Response:
    require(request, "customer")
    form = await _form(request)
    body, problems = await _checked_address(request, form)
    if problems:
        error = _address_refused(problems)
        return await _addresses_page(request, 422, form=form, errors=problems, error=error)
    try:
        await _api(request).call(request, "POST", "api/users/me/addresses", json=body)
    except ApiError as error:
        if error.status in (401, 403, 404) or error.status >= 500:
            raise
        return await _addresses_page(request, 422, form=form, errors=error.fields, error=error)
    _session(request).notify("The address is saved.", "success")
    return redirect("/account/addresses", request)


async def _one_address(request: Request, address_id: str) -> dict[str, Any]:
    for item in await _api(request).get(request, "api/users/me/addresses"):
        if item.get("address_id") == address_id:
            return dict(item)
    raise ApiError(404, "NOT_FOUND", "We could not find that address.")


@router.get("/account/addresses/{address_id}/edit")
async def edit_address_page(request: Request, address_id: str) -> Response:
    require(request, "customer")
    found = await _one_address(request, address_id)
    return page(
        request,
        "account/address_edit.html",
        _ctx("addresses", "Edit address", address=found, form=found),
    )


@router.post("/account/addresses/{address_id}")
async def edit_address(request: Request, address_id: str) -> Response:
    require(request, "customer")
    found = await _one_address(request, address_id)
    form = await _form(request)
    ctx = _ctx("addresses", "Edit address", address=found)
    body, problems = await _checked_address(request, form)
    if problems:
        return form_error(
            request, "account/address_edit.html", _address_refused(problems), form, ctx
        )
    try:
        await _api(request).call(
            request, "PUT", f"api/users/me/addresses/{found['address_id']}", json=body
        )
    except ApiError as error:
        if error.status in (401, 403, 404) or error.status >= 500:
            raise
        return form_error(request, "account/address_edit.html", error, form, ctx)
    _session(request).notify("The address is saved.", "success")
    return redirect("/account/addresses", request)


@router.post("/account/addresses/{address_id}/delete")
async def delete_address(request: Request, address_id: str) -> Response:
    require(request, "customer")
    found = await _one_address(request, address_id)
    await _api(request).call(request, "DELETE", f"api/users/me/addresses/{found['address_id']}")
    _session(request).notify("The address is removed.", "success")
    return redirect("/account/addresses", request)


@router.post("/account/addresses/{address_id}/default")
async def default_address(request: Request, address_id: str) -> Response:
    require(request, "customer")
    found = await _one_address(request, address_id)
    await _api(request).call(
        request, "PUT", f"api/users/me/addresses/{found['address_id']}/default"
    )
    _session(request).notify(
        f"This is now your default {found.get('type', '')} address.", "success"
    )
    return redirect("/account/addresses", request)


# -- payment methods -----------------------------------------------------------------------------
async def _methods_page(request: Request, status: int = 200, **more: Any) -> Response:
    found = await _api(request).get(request, "api/users/me/payment-methods")
    return page(
        request,
        "account/payment_methods.html",
        _ctx(
            "payment", "Payment methods", methods=found, test_methods=TEST_PAYMENT_METHODS, **more
        ),
        status=status,
    )


@router.get("/account/payment-methods")
async def payment_methods(request: Request) -> Response:
    require(request, "customer")
    return await _methods_page(request)


@router.post("/account/payment-methods")
async def add_payment_method(
    request: Request,
    method: Annotated[str, Form(max_length=120)] = "",
    exp_month: Annotated[str, Form(max_length=4)] = "",
    exp_year: Annotated[str, Form(max_length=6)] = "",
    is_default: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    require(request, "customer")
    form = {"method": method, "exp_month": exp_month, "exp_year": exp_year}
    known = TEST_PAYMENT_METHODS.get(method)
    errors: dict[str, str] = {}
    if known is None:
        errors["method"] = "Choose a card"
    month = int(exp_month) if exp_month.isdigit() else None
    year = int(exp_year) if exp_year.isdigit() else None
    if exp_month and month is None:
        errors["exp_month"] = "Use the month's number, 1 to 12"
    if exp_year and year is None:
        errors["exp_year"] = "Use four digits, e.g. 2030"
    if errors or known is None:
        error = ApiError(422, "INVALID", "Please check the card.", errors)
        return await _methods_page(request, 422, form=form, errors=errors, error=error)
    brand, last4, kind = known
    body = {
        "stripe_payment_method_id": method,
        "type": kind,
        "brand": brand,
        "last4": last4,
        "exp_month": month,
        "exp_year": year,
        "is_default": is_default == "on",
    }
    try:
        await _api(request).call(request, "POST", "api/users/me/payment-methods", json=body)
    except ApiError as error:
        if error.status in (401, 403, 404) or error.status >= 500:
            raise
        return await _methods_page(request, 422, form=form, errors=error.fields, error=error)
    _session(request).notify(f"Your {brand} card ending {last4} is saved.", "success")
    return redirect("/account/payment-methods", request)


@router.post("/account/payment-methods/{method_id}/delete")
async def remove_payment_method(request: Request, method_id: str) -> Response:
    require(request, "customer")
    found = await _api(request).get(request, "api/users/me/payment-methods")
    mine = next((m for m in found if m.get("payment_method_id") == method_id), None)
    if mine is None:
        raise ApiError(404, "NOT_FOUND", "We could not find that payment method.")
    await _api(request).call(
        request, "DELETE", f"api/users/me/payment-methods/{mine['payment_method_id']}"
    )
    _session(request).notify("The payment method is removed.", "success")
    return redirect("/account/payment-methods", request)


# -- preferences ---------------------------------------------------------------------------------
@router.get("/account/preferences")
async def preferences(
    request: Request, unsubscribe: Annotated[str | None, Query(max_length=60)] = None
) -> Response:
    """The preferences; an email's unsubscribe link (`?unsubscribe=email_marketing`) asks to
    confirm turning that email off (after sign-in: the link names no one)."""
    require(request, "customer")
    prefs = await _api(request).get(request, "api/users/me/preferences")
    return page(
        request,
        "account/preferences.html",
        _ctx(
            "preferences",
            "Preferences",
            prefs=prefs,
            unsubscribe=unsubscribe_choice(unsubscribe),
            choices=NOTIFICATION_CHOICES,
            languages=LANGUAGES,
            currencies=CURRENCIES,
        ),
    )


@router.post("/account/preferences")
async def save_preferences(request: Request) -> Response:
    require(request, "customer")
    api = _api(request)
    form = await _form(request)
    current = await api.get(request, "api/users/me/preferences")
    body = preferences_from_form(form, current)
    try:
        await api.call(request, "PUT", "api/users/me/preferences", json=body)
    except ApiError as error:
        if error.status in (401, 403, 404) or error.status >= 500:
            raise
        ctx = _ctx(
            "preferences",
            "Preferences",
            prefs=body,
            unsubscribe=None,
            choices=NOTIFICATION_CHOICES,
            languages=LANGUAGES,
            currencies=CURRENCIES,
        )
        return form_error(request, "account/preferences.html", error, form, ctx)
    _session(request).notify("Your preferences are saved.", "success")
    return redirect("/account/preferences", request)


@router.post("/account/preferences/unsubscribe")
async def unsubscribe(
    request: Request, choice: Annotated[str, Form(max_length=60)] = ""
) -> Response:
    require(request, "customer")
    name = unsubscribe_choice(choice)
    if name is None:
        raise ApiError(404, "NOT_FOUND", "We could not find that email choice.")
    api = _api(request)
    current = await api.get(request, "api/users/me/preferences")
    notifications = {**(current.get("notifications") or {}), name: False}
    await api.call(
        request, "PUT", "api/users/me/preferences", json={**current, "notifications": notifications}
    )
    _session(request).notify(
        f"You are unsubscribed: no more “{NOTIFICATION_CHOICES[name].lower()}”.", "success"
    )
    return redirect("/account/preferences", request)


# -- wishlist ------------------------------------------------------------------------------------
async def _product(request: Request, product_id: str) -> dict[str, Any] | None:
    try:
        return dict(await _api(request).get(request, f"api/products/{product_id}"))
    except ApiError as error:
        if error.status == 404:
            return None
        raise


@router.get("/account/wishlist")
async def wishlist(request: Request) -> Response:
    require(request, "customer")
    items = await _api(request).get(request, "api/users/me/wishlist")
    products = await asyncio.gather(*(_product(request, i["product_id"]) for i in items))
    rows = [{**i, "product": p} for i, p in zip(items, products, strict=True)]
    return page(request, "account/wishlist.html", _ctx("wishlist", "Your wishlist", items=rows))


@router.post("/account/wishlist/{product_id}/remove")
async def wishlist_remove(request: Request, product_id: str) -> Response:
    require(request, "customer")
    await _api(request).call(request, "DELETE", f"api/users/me/wishlist/{_safe_id(product_id)}")
    _session(request).notify("Removed from your wishlist.", "success")
    return redirect("/account/wishlist", request)


@router.post("/account/wishlist/{product_id}/cart")
async def wishlist_to_cart(request: Request, product_id: str) -> Response:
    """Put the product in the cart (its default variant) and take it off the wishlist."""
    require(request, "customer")
    api, session = _api(request), _session(request)
    pid = _safe_id(product_id)
    try:
        await api.call(request, "POST", "api/cart/items", json={"product_id": pid, "quantity": 1})
    except ApiError as error:
        if error.status in (401, 403) or error.status >= 500:
            raise
        session.notify(f"We could not add it to your cart: {error.message}", "error")
        return redirect("/account/wishlist", request)
    await api.call(request, "DELETE", f"api/users/me/wishlist/{pid}")
    session.notify("Moved to your cart.", "success")
    return redirect("/account/wishlist", request)


def _safe_id(value: str) -> str:
    if not re.fullmatch(PathId, value):
        raise ApiError(404, "NOT_FOUND", "We could not find that.")
    return value


# -- returns -------------------------------------------------------------------------------------
@router.get("/account/returns")
async def returns(request: Request) -> Response:
    """Returns of the customer's recent delivered orders (the API keeps them per order)."""
    require(request, "customer")
    api = _api(request)
    found = await api.get(
        request, "api/users/me/orders", status=list(RETURNABLE_STATES), page=1, limit=50
    )
    orders_by_id = {o["order_id"]: o for o in found.get("items", [])}

    async def of(order_id: str) -> list[dict[str, Any]]:
        try:
            return list(await api.get(request, f"api/orders/{order_id}/returns"))
        except ApiError as error:
            if error.status == 404:
                return []
            raise

    lists = await asyncio.gather(*(of(oid) for oid in orders_by_id))
    rows = [r for found_returns in lists for r in found_returns]
    rows.sort(key=lambda r: str(r.get("created_at", "")), reverse=True)
    returnable = [o for o in orders_by_id.values() if o.get("status") == "delivered"]
    return page(
        request,
        "account/returns.html",
        _ctx(
            "returns", "Your returns", returns=rows, returnable=returnable, reasons=RETURN_REASONS
        ),
    )


async def _return_form(
    request: Request, order: dict[str, Any], status: int = 200, **more: Any
) -> Response:
    lines = returnable_lines(order)
    ctx = _ctx(
        "returns",
        f"Return items from order {order.get('order_number', '')}",
        order=order,
        lines=lines,
        reasons=RETURN_REASONS,
        can_return=order.get("status") == "delivered" and any(x["returnable"] for x in lines),
        key=more.pop("key", None) or _key(),
        **more,
    )
    return page(request, "account/return_form.html", ctx, status=status)


@router.get("/orders/{order_id}/return")
async def return_page(request: Request, order_id: str) -> Response:
    require(request, "customer")
    order = await _api(request).get(request, f"api/orders/{_safe_id(order_id)}")
    return await _return_form(request, order)


@router.post("/orders/{order_id}/return")
async def request_return(request: Request, order_id: str) -> Response:
    require(request, "customer")
    api = _api(request)
    order = await api.get(request, f"api/orders/{_safe_id(order_id)}")
    form = await _form(request)
    key = form.get("key", "")
    lines, errors = return_request(returnable_lines(order), form)
    if errors:
        error = ApiError(422, "INVALID", "Please check what you chose.", errors)
        return await _return_form(
            request, order, 422, form=form, errors=errors, error=error, key=key
        )
    body = {"lines": lines, "comment": form.get("comment", "").strip()[:1000]}
    headers = {"Idempotency-Key": key} if key.startswith("web-") and len(key) < 100 else {}
    try:
        await api.call(
            request, "POST", f"api/orders/{order['order_id']}/returns", json=body, headers=headers
        )
    except ApiError as error:
        if error.status in (401, 403, 404) or error.status >= 500:
            raise
        return await _return_form(
            request, order, 422, form=form, errors=error.fields, error=error, key=_key()
        )
    _session(request).notify(
        "Your return request is sent. We will email you when it is approved.", "success"
    )
    return redirect("/account/returns", request)


# -- support requests ----------------------------------------------------------------------------
async def _support_page(request: Request, status: int = 200, **more: Any) -> Response:
    found = await _api(request).get(request, "api/users/me/orders", page=1, limit=50)
    return page(
        request,
        "account/support.html",
        {
            "title": "Contact support",
            "section": "requests",
            "orders": found.get("items", []),
            "types": TICKET_TYPES,
            "key": more.pop("key", None) or _key(),
            **more,
        },
        status=status,
    )


@router.get("/support")
async def support(
    request: Request, order_id: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    require(request, "customer")
    return await _support_page(request, form={"order_id": order_id, "type": "order"})


@router.post("/support")
async def open_request(
    request: Request,
    order_id: Annotated[str, Form(max_length=64)] = "",
    type: Annotated[str, Form(max_length=20)] = "order",
    subject: Annotated[str, Form(max_length=300)] = "",
    description: Annotated[str, Form(max_length=6000)] = "",
    key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    require(request, "customer")
    form = {"order_id": order_id, "type": type, "subject": subject, "description": description}
    errors: dict[str, str] = {}
    if not order_id:
        errors["order_id"] = "Choose the order your request is about"
    if type not in TICKET_TYPES:
        errors["type"] = "Choose what it is about"
    if not subject.strip():
        errors["subject"] = "Give your request a subject"
    if not description.strip():
        errors["description"] = "Tell us what happened"
    if errors:
        error = ApiError(422, "INVALID", "Please check your request.", errors)
        return await _support_page(request, 422, form=form, errors=errors, error=error, key=key)
    body = {
        "order_id": order_id,
        "type": type,
        "subject": subject.strip()[:200],
        "description": description.strip()[:5000],
    }
    headers = {"Idempotency-Key": key} if key.startswith("web-") else {}
    try:
        ticket = await _api(request).call(
            request, "POST", "api/tickets", json=body, headers=headers
        )
    except ApiError as error:
        if error.status in (401, 403) or error.status >= 500:
            raise
        if error.status == 404:
            error.fields = {"order_id": "We could not find this order in your account"}
        return await _support_page(
            request, 422, form=form, errors=error.fields, error=error, key=_key()
        )
    _session(request).notify(
        f"Your request {ticket.get('ticket_number', '')} is sent. We will answer by email.",
        "success",
    )
    return redirect(f"/account/requests/{ticket['ticket_id']}", request)


@router.get("/account/requests")
async def requests_list(
    request: Request, page_no: Annotated[int, Query(alias="page", ge=1)] = 1
) -> Response:
    require(request, "customer")
    limit = 20
    found = await _api(request).get(request, "api/users/me/tickets", page=page_no, limit=limit)
    return page(
        request,
        "account/requests.html",
        _ctx("requests", "Your support requests", tickets=found, page_no=page_no, limit=limit),
    )


def _ticket_id(value: str) -> str:
    if not re.fullmatch(r"tkt-[A-Za-z0-9]{1,64}", value):
        raise ApiError(404, "NOT_FOUND", "We could not find that request.")
    return value


@router.get("/account/requests/{ticket_id}")
async def request_thread(request: Request, ticket_id: str) -> Response:
    require(request, "customer")
    ticket = await _api(request).get(request, f"api/tickets/{_ticket_id(ticket_id)}")
    return page(
        request,
        "account/request.html",
        _ctx(
            "requests",
            f"Request {ticket.get('ticket_number', '')}",
            ticket=ticket,
            key=_key(),
            types=TICKET_TYPES,
        ),
    )


@router.post("/account/requests/{ticket_id}/reply")
async def reply(
    request: Request,
    ticket_id: str,
    message: Annotated[str, Form(max_length=6000)] = "",
    key: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    require(request, "customer")
    api, tid = _api(request), _ticket_id(ticket_id)
    headers = {"Idempotency-Key": key} if key.startswith("web-") else {}
    try:
        if not message.strip():
            raise ApiError(
                422, "INVALID", "Please write your message.", {"message": "Write your message"}
            )
        await api.call(
            request,
            "POST",
            f"api/tickets/{tid}/messages",
            json={"message": message.strip()[:5000]},
            headers=headers,
        )
    except ApiError as error:
        if error.status in (401, 403, 404) or error.status >= 500:
            raise
        ticket = await api.get(request, f"api/tickets/{tid}")
        ctx = _ctx(
            "requests",
            f"Request {ticket.get('ticket_number', '')}",
            ticket=ticket,
            key=_key(),
            types=TICKET_TYPES,
        )
        return form_error(request, "account/request.html", error, {"message": message}, ctx)
    _session(request).notify("Your message is sent.", "success")
    return redirect(f"/account/requests/{tid}", request)


# -- emails sent ---------------------------------------------------------------------------------
@router.get("/account/notifications")
async def notifications(
    request: Request, page_no: Annotated[int, Query(alias="page", ge=1)] = 1
) -> Response:
    require(request, "customer")
    limit = 20
    found = await _api(request).get(
        request, "api/users/me/notifications", page=page_no, limit=limit
    )
    return page(
        request,
        "account/notifications.html",
        _ctx("notifications", "Emails we sent you", found=found, page_no=page_no, limit=limit),
    )
