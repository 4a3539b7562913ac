"""Staff pages of marketing: scheduled banners and promo codes (list, create, edit with the
ETag in `If-Match`; banners deleted, codes paused and resumed). Included in
pages_staff.router."""

import functools
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from apps.web.api import ApiError
from apps.web.render import page, redirect, require
from apps.web.staff_common import api_of, flash_error, form_of, save_if_match, status_of
from apps.web.staff_forms import (
    banner_body,
    banner_form,
    humane,
    idem,
    promotion_body,
    promotion_form,
)

router = APIRouter(include_in_schema=False)

PLACEMENTS = ("homepage_hero", "homepage_strip", "category_top", "cart")
BANNER_STATUSES = ("live", "scheduled", "expired", "disabled")
BANNER_ID = re.compile(r"^bnr-[a-z0-9]{8,32}$")
PROMO_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")


async def _fetch(request: Request, path: str) -> tuple[dict[str, Any], str]:
    answer = await api_of(request).raw(request, "GET", path)
    if answer.status_code != 200:
        try:
            body = answer.json()
        except ValueError:
            body = None
        raise ApiError.of(answer.status_code, body)
    return answer.json(), answer.headers.get("etag", "")


# -- banners ---------------------------------------------------------------------------------
@router.get("/staff/banners")
async def banners(
    request: Request,
    placement: Annotated[str, Query(max_length=30)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    require(request, "staff")
    placement = placement if placement in PLACEMENTS else ""
    status = status if status in BANNER_STATUSES else ""
    listing = await api_of(request).get(
        request, "api/staff/banners", placement=placement or None, status=status or None
    )
    return page(
        request,
        "staff/banners.html",
        {
            "title": "Banners",
            "listing": listing,
            "filters": {"placement": placement, "status": status},
            "placements": PLACEMENTS,
            "statuses": BANNER_STATUSES,
        },
    )


def _banner_ctx(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "placements": PLACEMENTS, **extra}


@router.get("/staff/banners/new")
async def banner_new(request: Request) -> Response:
    require(request, "staff")
    form = {"placement": "homepage_hero", "priority": 0, "active": "on"}
    return page(request, "staff/banner.html", _banner_ctx("New banner", form=form, banner=None))


@router.post("/staff/banners/new")
async def banner_create(request: Request) -> Response:
    require(request, "staff")
    form = await form_of(request)
    try:
        made = await api_of(request).call(
            request,
            "POST",
            "api/staff/banners",
            json=banner_body(form),
            headers={"Idempotency-Key": idem()},
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        ctx = _banner_ctx(
            "New banner", form=form, banner=None, errors=humane(error.fields), error=error
        )
        return page(request, "staff/banner.html", ctx, status=status_of(error))
    request.state.session.notify(f"Banner “{made['title']}” created.", "success")
    return redirect("/staff/banners", request)


async def _banner_page(
    request: Request,
    banner_id: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: ApiError | None = None,
    status: int = 200,
) -> Response:
    banner, etag = await _fetch(request, f"api/staff/banners/{banner_id}")
    ctx = _banner_ctx(
        f"Edit banner “{banner['title']}”",
        banner=banner,
        etag=etag,
        form=form if form is not None else banner_form(banner),
        errors=errors or {},
        error=error,
    )
    return page(request, "staff/banner.html", ctx, status=status)


@router.get("/staff/banners/{banner_id}")
async def banner_edit(request: Request, banner_id: str) -> Response:
    require(request, "staff")
    if not BANNER_ID.match(banner_id):
        return page(request, "404.html", {}, status=404)
    return await _banner_page(request, banner_id)


@router.post("/staff/banners/{banner_id}")
async def banner_save(request: Request, banner_id: str) -> Response:
    require(request, "staff")
    if not BANNER_ID.match(banner_id):
        return page(request, "404.html", {}, status=404)
    form = await form_of(request)
    again = functools.partial(_banner_page, request, banner_id)
    body = banner_body(form)
    refused = await save_if_match(
        request, "PUT", f"api/staff/banners/{banner_id}", body, form, again
    )
    if refused is not None:
        return refused
    request.state.session.notify("Banner saved.", "success")
    return redirect("/staff/banners", request)


@router.post("/staff/banners/{banner_id}/delete")
async def banner_delete(request: Request, banner_id: str) -> Response:
    require(request, "staff")
    if not BANNER_ID.match(banner_id):
        return page(request, "404.html", {}, status=404)
    form = await form_of(request)
    if form.get("confirm") != "yes":
        request.state.session.notify("Tick “Yes, delete it” to delete the banner.", "warning")
        return redirect(f"/staff/banners/{banner_id}", request)
    etag = form.get("etag", "")
    try:
        await api_of(request).call(
            request,
            "DELETE",
            f"api/staff/banners/{banner_id}",
            headers={"If-Match": etag} if etag else None,
        )
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        if error.status in (409, 412):
            request.state.session.notify(
                "The banner was changed by someone else; check it before deleting it.", "error"
            )
        else:
            flash_error(request, error)
        return redirect(f"/staff/banners/{banner_id}", request)
    request.state.session.notify("Banner deleted.", "success")
    return redirect("/staff/banners", request)


# -- promotions ------------------------------------------------------------------------------
@router.get("/staff/promotions")
async def promotions(request: Request) -> Response:
    require(request, "staff")
    listing = await api_of(request).get(request, "api/staff/promotions")
    return page(request, "staff/promotions.html", {"title": "Promotions", "listing": listing})


@router.get("/staff/promotions/new")
async def promotion_new(request: Request) -> Response:
    require(request, "staff")
    form = {"kind": "percent", "min_subtotal": "0.00"}
    return page(
        request, "staff/promotion.html", {"title": "New promo code", "form": form, "promo": None}
    )


@router.post("/staff/promotions/new")
async def promotion_create(request: Request) -> Response:
    require(request, "staff")
    form = await form_of(request)
    try:
        made = await api_of(request).call(
            request,
            "POST",
            "api/staff/promotions",
            json=promotion_body(form, new=True),
            headers={"Idempotency-Key": idem()},
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        errors = humane(error.fields)
        if error.status == 409 and not errors:
            errors["code"] = error.message
        ctx = {
            "title": "New promo code",
            "form": form,
            "promo": None,
            "errors": errors,
            "error": error,
        }
        return page(request, "staff/promotion.html", ctx, status=status_of(error))
    request.state.session.notify(f"Promo code {made['terms']['code']} created.", "success")
    return redirect("/staff/promotions", request)


async def _promotion_page(
    request: Request,
    code: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: ApiError | None = None,
    status: int = 200,
) -> Response:
    promo, etag = await _fetch(request, f"api/staff/promotions/{code}")
    ctx = {
        "title": f"Promo code {promo['terms']['code']}",
        "promo": promo,
        "etag": etag,
        "form": form if form is not None else promotion_form(promo),
        "errors": errors or {},
        "error": error,
    }
    return page(request, "staff/promotion.html", ctx, status=status)


@router.get("/staff/promotions/{code}")
async def promotion_edit(request: Request, code: str) -> Response:
    require(request, "staff")
    if not PROMO_CODE.match(code):
        return page(request, "404.html", {}, status=404)
    return await _promotion_page(request, code)


@router.post("/staff/promotions/{code}")
async def promotion_save(request: Request, code: str) -> Response:
    require(request, "staff")
    if not PROMO_CODE.match(code):
        return page(request, "404.html", {}, status=404)
    form = await form_of(request)
    again = functools.partial(_promotion_page, request, code)
    body = promotion_body(form, new=False)
    refused = await save_if_match(request, "PUT", f"api/staff/promotions/{code}", body, form, again)
    if refused is not None:
        return refused
    request.state.session.notify(f"Promo code {code.upper()} saved.", "success")
    return redirect("/staff/promotions", request)


@router.post("/staff/promotions/{code}/{action}")
async def promotion_toggle(request: Request, code: str, action: str) -> Response:
    require(request, "staff")
    if action not in ("pause", "resume") or not PROMO_CODE.match(code):
        return page(request, "404.html", {}, status=404)
    try:
        await api_of(request).call(request, "POST", f"api/staff/promotions/{code}/{action}")
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        flash_error(request, error)
        return redirect("/staff/promotions", request)
    done = "paused: it is refused until resumed" if action == "pause" else "resumed"
    request.state.session.notify(f"Promo code {code.upper()} {done}.", "success")
    return redirect("/staff/promotions", request)
