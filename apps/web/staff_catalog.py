"""Staff pages of the catalog: products (list, create, edit with the product's ETag in
`If-Match`, stock, archive or delete), review moderation, price suggestions, the restock
list and the fraud review queue. Included in pages_staff.router."""

import functools
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from apps.web.api import ApiError
from apps.web.render import page, redirect, require
from apps.web.staff_common import (
    LIST_LIMIT,
    api_of,
    flash_error,
    form_of,
    optional,
    save_if_match,
    status_of,
)
from apps.web.staff_forms import (
    humane,
    idem,
    product_create,
    product_form,
    product_update,
    query,
    stock_adjustment,
)

router = APIRouter(include_in_schema=False)

PRODUCT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
PRODUCT_STATUSES = ("draft", "active", "archived")
REVIEW_STATUSES = ("pending", "published", "rejected")
SUGGESTION_STATUSES = ("pending", "applied", "dismissed")
FRAUD_STATES = ("pending", "approved", "rejected")
CHANGED = (
    "This product was changed by someone else while you were editing it. The form now shows "
    "the current values: check them and make your change again."
)


def flat_categories(tree: Any, parent: str = "") -> list[dict[str, str]]:
    """The category tree as options for a select: slug and 'Parent / Child' name."""
    found: list[dict[str, str]] = []
    for node in tree or []:
        if not isinstance(node, dict):
            continue
        name = str(node.get("name") or node.get("slug"))
        label = f"{parent} / {name}" if parent else name
        found.append({"slug": str(node.get("slug", "")), "name": label})
        found.extend(flat_categories(node.get("children"), label))
    return found


async def _categories(request: Request) -> list[dict[str, str]]:
    return flat_categories(await optional(api_of(request).get(request, "api/categories")))


# -- products --------------------------------------------------------------------------------
@router.get("/staff/products")
async def products(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=120)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    api = api_of(request)
    q = q.strip()
    if q and PRODUCT_ID.match(q) and page_no == 1:
        found = await optional(api.raw(request, "GET", f"api/staff/products/{q}"))
        if found is not None and found.status_code == 200:
            return redirect(f"/staff/products/{q}", request)
    params = {"category": category or None, "page": page_no, "limit": LIST_LIMIT}
    try:
        if q:
            listing = await api.get(request, "api/products/search", q=q, **params)
        else:
            listing = await api.get(request, "api/products", **params)
    except ApiError as error:
        if error.status not in (400, 422):
            raise
        listing, params = {"items": [], "total": 0}, {}
        flash_error(request, error)
    filters = {"q": q, "category": category}
    return page(
        request,
        "staff/products.html",
        {
            "title": "Products",
            "listing": listing,
            "filters": filters,
            "categories": await _categories(request),
            "base": query("/staff/products", **filters),
            "page_no": page_no,
            "limit": LIST_LIMIT,
        },
    )


@router.get("/staff/products/new")
async def product_new(request: Request) -> Response:
    require(request, "staff")
    form = {
        "status": "draft",
        "price.currency": "USD",
        "price.tax_rate": "0",
        "variants.0.stock": 0,
    }
    return page(
        request,
        "staff/product_new.html",
        {
            "title": "New product",
            "form": form,
            "categories": await _categories(request),
            "statuses": PRODUCT_STATUSES,
        },
    )


@router.post("/staff/products/new")
async def product_create_post(request: Request) -> Response:
    require(request, "staff")
    form = await form_of(request)
    try:
        created = await api_of(request).call(
            request, "POST", "api/staff/products", json=product_create(form)
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        return page(
            request,
            "staff/product_new.html",
            {
                "title": "New product",
                "form": form,
                "errors": humane(error.fields),
                "error": error,
                "categories": await _categories(request),
                "statuses": PRODUCT_STATUSES,
            },
            status=status_of(error),
        )
    request.state.session.notify(f"Product “{created['name']}” created.", "success")
    return redirect(f"/staff/products/{created['product_id']}", request)


async def _fetch_product(request: Request, product_id: str) -> tuple[dict[str, Any], str]:
    """The product as staff read it, with its ETag (for `If-Match`)."""
    answer = await api_of(request).raw(request, "GET", f"api/staff/products/{product_id}")
    if answer.status_code != 200:
        try:
            body = answer.json()
        except ValueError:
            body = None
        raise ApiError.of(answer.status_code, body)
    return answer.json(), answer.headers.get("etag", "")


async def _product_page(
    request: Request,
    product_id: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: ApiError | None = None,
    conflict: bool = False,
    status: int = 200,
) -> Response:
    product, etag = await _fetch_product(request, product_id)
    inventory = await optional(api_of(request).get(request, f"api/products/{product_id}/inventory"))
    values = product_form(product) if form is None or conflict else form
    return page(
        request,
        "staff/product.html",
        {
            "title": f"Edit {product['name']}",
            "product": product,
            "etag": etag,
            "inventory": inventory,
            "form": values,
            "errors": errors or {},
            "error": error,
            "conflict": conflict,
            "categories": await _categories(request),
            "statuses": PRODUCT_STATUSES,
        },
        status=status,
    )


@router.get("/staff/products/{product_id}")
async def product_edit(request: Request, product_id: str) -> Response:
    require(request, "staff")
    return await _product_page(request, product_id)


@router.post("/staff/products/{product_id}")
async def product_save(request: Request, product_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    refused = await save_if_match(
        request,
        "PATCH",
        f"api/staff/products/{product_id}",
        product_update(form),
        form,
        functools.partial(_product_page, request, product_id),
        changed=lambda e: e.status == 412 or (e.status == 409 and "etag" in e.details),
        changed_message=CHANGED,
        conflict=True,
    )
    if refused is not None:
        return refused
    request.state.session.notify("Product saved.", "success")
    return redirect(f"/staff/products/{product_id}", request)


@router.post("/staff/products/{product_id}/stock")
async def product_stock(request: Request, product_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    sku = form.get("sku", "")
    if not PRODUCT_ID.match(sku):
        request.state.session.notify("Choose the variant whose stock changes.", "error")
        return redirect(f"/staff/products/{product_id}", request)
    try:
        level = await api_of(request).call(
            request, "POST", f"api/staff/inventory/{sku}/adjust", json=stock_adjustment(form)
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        product, _ = await _fetch_product(request, product_id)
        errors = humane(error.fields)
        if "delta" in errors or "on_hand" in errors:
            errors["quantity"] = errors.get("delta") or errors["on_hand"]
        return await _product_page(
            request,
            product_id,
            form={**product_form(product), **form},
            errors=errors,
            error=error,
            status=status_of(error),
        )
    request.state.session.notify(
        f"Stock of {sku}: {level['on_hand']} on hand, {level['available']} available.", "success"
    )
    return redirect(f"/staff/products/{product_id}", request)


@router.get("/staff/products/{product_id}/delete")
async def product_delete_confirm(request: Request, product_id: str) -> Response:
    require(request, "staff")
    product, etag = await _fetch_product(request, product_id)
    return page(
        request,
        "staff/product_delete.html",
        {"title": f"Remove {product['name']}", "product": product, "etag": etag},
    )


@router.post("/staff/products/{product_id}/{action}")
async def product_remove(request: Request, product_id: str, action: str) -> Response:
    """Archive (hidden from the shop, kept) or delete, each with the ETag the staff member
    confirmed on the confirmation page."""
    require(request, "staff")
    if action not in ("archive", "delete"):
        return page(request, "404.html", {}, status=404)
    form = await form_of(request)
    headers = {"If-Match": form.get("etag", "")} if form.get("etag") else None
    api = api_of(request)
    try:
        if action == "archive":
            await api.call(
                request,
                "PATCH",
                f"api/staff/products/{product_id}",
                json={"status": "archived"},
                headers=headers,
            )
        else:
            await api.call(request, "DELETE", f"api/staff/products/{product_id}", headers=headers)
    except ApiError as error:
        if error.status in (401, 403, 404):
            raise
        if error.status == 412 or (error.status == 409 and "etag" in error.details):
            request.state.session.notify(
                "This product was changed by someone else; check it before removing it.",
                "error",
            )
        else:
            flash_error(request, error)
        return redirect(f"/staff/products/{product_id}", request)
    if action == "archive":
        request.state.session.notify("Product archived: it no longer shows in the shop.", "success")
        return redirect(f"/staff/products/{product_id}", request)
    request.state.session.notify("Product deleted.", "success")
    return redirect("/staff/products", request)


# -- reviews ---------------------------------------------------------------------------------
@router.get("/staff/reviews")
async def reviews(
    request: Request,
    status: Annotated[str, Query(max_length=20)] = "pending",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    status = status if status in REVIEW_STATUSES else "pending"
    items = await api_of(request).get(
        request, "api/staff/reviews", status=status, page=page_no, limit=LIST_LIMIT
    )
    return page(
        request,
        "staff/reviews.html",
        {
            "title": "Reviews",
            "items": items or [],
            "status": status,
            "statuses": REVIEW_STATUSES,
            "page_no": page_no,
            "has_next": len(items or []) >= LIST_LIMIT,
            "base": query("/staff/reviews", status=status),
        },
    )


@router.post("/staff/reviews/{review_id}/moderate")
async def review_moderate(request: Request, review_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    back = form.get("back", "pending")
    back = back if back in REVIEW_STATUSES else "pending"
    body = {"status": form.get("status", ""), "note": form.get("note", "").strip()}
    try:
        await api_of(request).call(
            request, "POST", f"api/staff/reviews/{review_id}/moderate", json=body
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        flash_error(request, error)
        return redirect(f"/staff/reviews?status={back}", request)
    done = "Review published." if body["status"] == "published" else "Review rejected."
    request.state.session.notify(done, "success")
    return redirect(f"/staff/reviews?status={back}", request)


@router.post("/staff/reviews/{review_id}/delete")
async def review_delete(request: Request, review_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    back = form.get("back", "pending")
    back = back if back in REVIEW_STATUSES else "pending"
    if form.get("confirm") != "yes":
        request.state.session.notify("Tick “Yes, delete it” to delete a review.", "warning")
        return redirect(f"/staff/reviews?status={back}", request)
    try:
        await api_of(request).call(request, "DELETE", f"api/staff/reviews/{review_id}")
    except ApiError as error:
        if error.status in (401, 403):
            raise
        flash_error(request, error)
        return redirect(f"/staff/reviews?status={back}", request)
    request.state.session.notify("Review deleted.", "success")
    return redirect(f"/staff/reviews?status={back}", request)


# -- price suggestions -----------------------------------------------------------------------
async def _prices_page(
    request: Request,
    status: str,
    page_no: int,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: ApiError | None = None,
    code: int = 200,
) -> Response:
    listing = await api_of(request).get(
        request,
        "api/staff/merchandising/prices",
        status=status or None,
        page=page_no,
        limit=LIST_LIMIT,
    )
    return page(
        request,
        "staff/prices.html",
        {
            "title": "Price suggestions",
            "listing": listing,
            "status": status,
            "statuses": SUGGESTION_STATUSES,
            "form": form or {"min_margin": "0.15", "max_change": "0.10"},
            "errors": errors or {},
            "error": error,
            "base": query("/staff/prices", status=status),
            "page_no": page_no,
            "limit": LIST_LIMIT,
        },
        status=code,
    )


@router.get("/staff/prices")
async def prices(
    request: Request,
    status: Annotated[str, Query(max_length=20)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    return await _prices_page(request, status if status in SUGGESTION_STATUSES else "", page_no)


@router.post("/staff/prices")
async def price_ask(request: Request) -> Response:
    require(request, "staff")
    form = await form_of(request)
    body: dict[str, Any] = {"product_id": form.get("product_id", "").strip()}
    if form.get("sku", "").strip():
        body["sku"] = form["sku"].strip()
    for name in ("min_margin", "max_change"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    try:
        made = await api_of(request).call(
            request,
            "POST",
            "api/staff/merchandising/prices",
            json=body,
            headers={"Idempotency-Key": idem()},
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        errors = humane(error.fields)
        if error.status == 404 and not errors:
            errors["product_id"] = error.message
        return await _prices_page(
            request, "", 1, form=form, errors=errors, error=error, code=status_of(error)
        )
    request.state.session.notify(
        f"Suggested {made['suggested_price']} {made['currency']} for {made['sku']} "
        f"(now {made['current_price']}).",
        "success",
    )
    return redirect("/staff/prices?status=pending", request)


@router.post("/staff/prices/{suggestion_id}/{decision}")
async def price_decide(request: Request, suggestion_id: str, decision: str) -> Response:
    require(request, "staff")
    if decision not in ("apply", "dismiss"):
        return page(request, "404.html", {}, status=404)
    form = await form_of(request)
    try:
        await api_of(request).call(
            request,
            "POST",
            f"api/staff/merchandising/prices/{suggestion_id}/{decision}",
            json={"note": form.get("note", "").strip()},
            headers={"Idempotency-Key": idem()},
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        flash_error(request, error)
        return redirect("/staff/prices", request)
    done = "Price applied to the catalog." if decision == "apply" else "Suggestion dismissed."
    request.state.session.notify(done, "success")
    return redirect("/staff/prices", request)


# -- restock ---------------------------------------------------------------------------------
@router.get("/staff/restock")
async def restock(
    request: Request,
    alerts_only: Annotated[str, Query(max_length=5)] = "",
    sku: Annotated[str, Query(max_length=64)] = "",
    horizon_days: Annotated[int, Query(ge=1, le=28)] = 14,
    lead_time_days: Annotated[int, Query(ge=1, le=28)] = 7,
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    sku = sku.strip() if PRODUCT_ID.match(sku.strip()) else ""
    limit = 20
    listing = await api_of(request).get(
        request,
        "api/staff/merchandising/restock",
        alerts_only="true" if alerts_only else None,
        sku=sku or None,
        horizon_days=horizon_days,
        lead_time_days=lead_time_days,
        page=page_no,
        limit=limit,
    )
    filters = {
        "alerts_only": "1" if alerts_only else "",
        "sku": sku,
        "horizon_days": horizon_days,
        "lead_time_days": lead_time_days,
    }
    return page(
        request,
        "staff/restock.html",
        {
            "title": "Restock",
            "listing": listing,
            "filters": filters,
            "base": query("/staff/restock", **filters),
            "page_no": page_no,
            "limit": limit,
        },
    )


# -- fraud review queue ----------------------------------------------------------------------
@router.get("/staff/fraud")
async def fraud(
    request: Request,
    state: Annotated[str, Query(max_length=20)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    require(request, "staff")
    state = state if state in FRAUD_STATES else ""
    listing = await api_of(request).get(
        request,
        "api/staff/fraud/reviews",
        state=state or None,
        page=page_no,
        limit=LIST_LIMIT,
    )
    return page(
        request,
        "staff/fraud.html",
        {
            "title": "Fraud review",
            "listing": listing,
            "state": state,
            "states": FRAUD_STATES,
            "base": query("/staff/fraud", state=state),
            "page_no": page_no,
            "limit": LIST_LIMIT,
        },
    )


@router.post("/staff/fraud/{order_id}/review")
async def fraud_decide(request: Request, order_id: str) -> Response:
    require(request, "staff")
    form = await form_of(request)
    decision = form.get("decision", "")
    body = {"decision": decision, "note": form.get("note", "").strip()}
    try:
        await api_of(request).call(
            request, "POST", f"api/staff/checkouts/{order_id}/review", json=body
        )
    except ApiError as error:
        if error.status in (401, 403):
            raise
        flash_error(request, error)
        return redirect("/staff/fraud", request)
    done = (
        "Approved: the order goes on to payment."
        if decision == "approve"
        else "Rejected: the order is cancelled."
    )
    request.state.session.notify(done, "success")
    return redirect("/staff/fraud", request)
