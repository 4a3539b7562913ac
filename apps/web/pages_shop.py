"""The shopper's pages: home, category and product listings with facets, search (typo
tolerant, with suggestions as you type), product detail with reviews and wishlist, the cart
(htmx partial updates, plain form posts without JavaScript), checkout with address
validation and the local 3-D Secure step, and the order's confirmation and tracking page
with live updates (the storefront's Server-Sent Events passed through)."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from apps.web import shop_helpers as h
from apps.web.api import ApiError
from apps.web.render import form_error, page, redirect, require
from apps.web.session import WebSession

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

ProductId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Slug = Annotated[str, Path(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)]
CartItemId = Annotated[str, Path(pattern=r"^ci-[0-9a-f]{16}$")]
Email = Annotated[str, Query(max_length=254)]
Brands = Annotated[list[str] | None, Query(max_length=20)]
PageNo = Annotated[int, Query(ge=1, le=10_000)]
Short = Annotated[str, Query(max_length=40)]
SUGGEST_MIN = 2
RELATED = 4
#: Order statuses after which nothing moves on its own (the live stream ends there too).
SETTLED = {
    "delivered",
    "completed",
    "cancelled",
    "refunded",
    "partially_refunded",
    "payment_failed",
}


def _session(request: Request) -> WebSession:
    session: WebSession = request.state.session
    return session


async def _try(call: Awaitable[T], default: T) -> T:
    """A part of a page that may be missing (a busy service) without failing the page."""
    try:
        return await call
    except ApiError:
        return default


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


# -- home --------------------------------------------------------------------------------
@router.get("/")
async def home(request: Request) -> Response:
    api = request.app.state.api
    banners, featured, categories = await asyncio.gather(
        _try(api.get(request, "api/banners/active"), {}),
        _try(api.get(request, "api/products/featured", limit=8), {"items": []}),
        _try(api.get(request, "api/categories"), []),
    )
    for_you: list[dict[str, Any]] = []
    if _session(request).signed_in:
        for_you = await _for_you(request)
    return page(
        request,
        "shop/home.html",
        {
            "title": "Shop",
            "banners": h.banners_by_placement(banners),
            "featured": featured.get("items", []) if isinstance(featured, dict) else [],
            "categories": categories if isinstance(categories, list) else [],
            "for_you": for_you,
        },
    )


async def _for_you(request: Request) -> list[dict[str, Any]]:
    """Picks for a signed-in customer: products like the ones they bought or wished for
    most recently (the recommendations behind `related`), none they already have there."""
    api = request.app.state.api
    orders, wishlist = await asyncio.gather(
        _try(api.get(request, "api/users/me/orders", limit=5), {"items": []}),
        _try(api.get(request, "api/users/me/wishlist"), []),
    )
    seeds: list[str] = []
    for order in orders.get("items", []) if isinstance(orders, dict) else []:
        seeds.extend(str(line["product_id"]) for line in order.get("items", [])[:2])
    wished = sorted(
        wishlist if isinstance(wishlist, list) else [],
        key=lambda w: str(w.get("added_at", "")),
        reverse=True,
    )
    seeds.extend(str(w["product_id"]) for w in wished[:2])
    seeds = list(dict.fromkeys(seeds))[:3]
    if not seeds:
        return []
    answers = await asyncio.gather(
        *(_try(api.get(request, f"api/products/{quote(s)}/related", limit=6), {}) for s in seeds)
    )
    picks: dict[str, dict[str, Any]] = {}
    for answer in answers:
        for item in answer.get("items", []) if isinstance(answer, dict) else []:
            if item["product_id"] not in seeds:
                picks.setdefault(item["product_id"], item)
    return list(picks.values())[:8]


# -- listings ----------------------------------------------------------------------------
async def _listing(
    request: Request,
    *,
    path: str,
    category: str | None,
    q: str | None,
    brand: list[str] | None,
    price_min: str,
    price_max: str,
    in_stock: str,
    rating_min: str,
    sort: str,
    page_no: int,
) -> dict[str, Any]:
    """Products, facets and the form's state of a listing (category, all, or a search)."""
    api = request.app.state.api
    limit = int(request.app.state.settings.page_size)
    searching = bool(q)
    chosen, filters = h.listing_filters(brand, price_min, price_max, bool(in_stock), rating_min)
    sort_key, sort_params = h.sort_params(sort, searching)
    params: dict[str, Any] = {
        "category": category,
        "filters": filters,
        "page": page_no,
        "limit": limit,
        **sort_params,
    }
    if searching:
        products_call = api.get(request, "api/products/search", q=q, **params)
    else:
        products_call = api.get(request, "api/products", **params)
    products, facets, tree = await asyncio.gather(
        products_call,
        _try(
            api.get(request, "api/products/filters", category=category, filters=filters, q=q),
            {},
        ),
        _try(api.get(request, "api/categories"), []),
    )
    query = {
        "q": q,
        "brand": chosen.get("brand", []),
        "price_min": price_min.strip(),
        "price_max": price_max.strip(),
        "in_stock": "1" if in_stock else "",
        "rating_min": rating_min.strip(),
        "sort": sort_key if sort else "",
    }
    index = h.category_index(tree if isinstance(tree, list) else [])
    return {
        "products": products.get("items", []),
        "total": int(products.get("total", 0)),
        "page_no": int(products.get("page", page_no)),
        "limit": int(products.get("limit", limit)),
        "facets": facets if isinstance(facets, dict) else {},
        "chosen": chosen,
        "query": query,
        "base": h.page_base(path, query),
        "range_base": h.page_base(path, {**query, "price_min": "", "price_max": ""}),
        "action": path,
        "sort_key": sort_key,
        "sorts": h.sort_options(searching),
        "categories": index,
        "range_label": h.range_label,
        "price_range": h.price_range,
        "filtered": bool(chosen),
    }


@router.get("/products")
async def all_products(
    request: Request,
    brand: Brands = None,
    price_min: Short = "",
    price_max: Short = "",
    in_stock: Short = "",
    rating_min: Short = "",
    sort: Short = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    ctx = await _listing(
        request,
        path="/products",
        category=None,
        q=None,
        brand=brand,
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
        rating_min=rating_min,
        sort=sort,
        page_no=page_no,
    )
    return page(
        request,
        "shop/listing.html",
        {**ctx, "title": "All products", "heading": "All products", "trail": []},
    )


@router.get("/categories/{slug}")
async def category_page(
    request: Request,
    slug: Slug,
    brand: Brands = None,
    price_min: Short = "",
    price_max: Short = "",
    in_stock: Short = "",
    rating_min: Short = "",
    sort: Short = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    api = request.app.state.api
    category = await api.get(request, f"api/categories/{slug}")  # 404 -> the 404 page
    ctx = await _listing(
        request,
        path=f"/categories/{slug}",
        category=slug,
        q=None,
        brand=brand,
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
        rating_min=rating_min,
        sort=sort,
        page_no=page_no,
    )
    banners = await _try(api.get(request, "api/banners/active", placement="category_top"), {})
    return page(
        request,
        "shop/listing.html",
        {
            **ctx,
            "title": category.get("name", "Category"),
            "heading": category.get("name", "Category"),
            "category": category,
            "description": category.get("description", ""),
            "trail": h.breadcrumbs(slug, ctx["categories"])[:-1],
            "banners": h.banners_by_placement(banners).get("category_top", []),
        },
    )


@router.get("/search")
async def search(
    request: Request,
    q: Annotated[str, Query(max_length=500)] = "",
    brand: Brands = None,
    price_min: Short = "",
    price_max: Short = "",
    in_stock: Short = "",
    rating_min: Short = "",
    sort: Short = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    q = " ".join(q.split())[:200]
    if not q:
        tree = await _try(request.app.state.api.get(request, "api/categories"), [])
        return page(
            request,
            "shop/search.html",
            {"title": "Search", "q": "", "tree": tree if isinstance(tree, list) else []},
        )
    ctx = await _listing(
        request,
        path="/search",
        category=None,
        q=q,
        brand=brand,
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
        rating_min=rating_min,
        sort=sort,
        page_no=page_no,
    )
    names = [f"{p.get('name', '')} {p.get('brand', '')}" for p in ctx["products"][:12]]
    suggestion = h.did_you_mean(q, names)
    return page(
        request,
        "shop/search.html",
        {
            **ctx,
            "title": f"Search: {q}",
            "q": q,
            "suggestion": suggestion,
            "suggestion_url": f"/search?{urlencode({'q': suggestion})}" if suggestion else "",
        },
    )


@router.get("/search/suggest")
async def suggest(request: Request, q: Annotated[str, Query(max_length=500)] = "") -> Response:
    """The header's search box as you type: a few products (an empty answer for 0-1
    letters, so nothing shows)."""
    q = " ".join(q.split())[:200]
    if len(q) < SUGGEST_MIN:
        return HTMLResponse("")
    found = await _try(request.app.state.api.get(request, "api/products/search", q=q, limit=6), {})
    items = found.get("items", []) if isinstance(found, dict) else []
    return page(
        request,
        "shop/_suggest.html",
        {"items": items, "q": q, "total": found.get("total", 0) if found else 0},
    )


# -- product -----------------------------------------------------------------------------
async def _product_context(
    request: Request, product_id: str, reviews_page: int = 1
) -> dict[str, Any]:
    """Everything the product page shows (the product itself must exist: else a 404)."""
    api = request.app.state.api
    pid = quote(product_id, safe="")
    product = await api.get(request, f"api/products/{pid}")
    signed_in = _session(request).signed_in
    empty_reviews = {"items": [], "total": 0, "count": 0, "average": "0", "histogram": {}}
    inventory, reviews, wishlist, tree = await asyncio.gather(
        _try(api.get(request, f"api/products/{pid}/inventory"), {}),
        _try(
            api.get(request, f"api/products/{pid}/reviews", page=reviews_page, limit=5),
            empty_reviews,
        ),
        _try(api.get(request, "api/users/me/wishlist"), []) if signed_in else asyncio.sleep(0, []),
        _try(api.get(request, "api/categories"), []),
    )
    available = {
        str(v.get("variant_id")): int(v.get("available", 0))
        for v in (inventory.get("variants") or [] if isinstance(inventory, dict) else [])
    }
    currency = product.get("price", {}).get("currency", "USD")
    variants = []
    for variant in product.get("variants", []):
        left = available.get(str(variant["variant_id"]), int(variant.get("stock", 0)))
        variants.append(
            {
                **variant,
                "label": h.variant_label(variant),
                "price": h.variant_price(product["price"]["amount"], variant),
                "available": left,
                "note": h.stock_note(left),
            }
        )
    chosen = next((v for v in variants if v["available"] > 0), variants[0] if variants else None)
    total_left = sum(v["available"] for v in variants)
    seo = product.get("seo") or {}
    wished = any(
        w.get("product_id") == product_id for w in (wishlist if isinstance(wishlist, list) else [])
    )
    return {
        "title": seo.get("meta_title", "").replace(" | SmartCommerce", "") or product["name"],
        "meta_description": seo.get("meta_description") or product.get("description", ""),
        "product": product,
        "currency": currency,
        "variants": variants,
        "chosen": chosen,
        "stock": h.stock_note(total_left),
        "in_stock": total_left > 0,
        "reviews": reviews,
        "reviews_page": reviews_page,
        "related_url": f"/products/{pid}/related",
        "wished": wished,
        "ratings": [5, 4, 3, 2, 1],
        "trail": h.breadcrumbs(
            str(product.get("category_slug", "")),
            h.category_index(tree if isinstance(tree, list) else []),
        ),
    }


def _beacon(request: Request, product_id: str) -> None:
    """The product view, for analytics: sent after the page, never waited for."""
    request.app.state.api.send_later(
        request, "api/activity", {"events": [{"kind": "product_view", "product_id": product_id}]}
    )


@router.get("/products/{product_id}")
async def product_page(
    request: Request,
    product_id: ProductId,
    reviews_page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    ctx = await _product_context(request, product_id, reviews_page)
    _beacon(request, product_id)
    return page(request, "shop/product.html", ctx)


@router.get("/products/{product_id}/related")
async def related_products(request: Request, product_id: ProductId) -> Response:
    """Products like this one: loaded by the product page once it is on screen (htmx,
    `revealed`), so the recommendations never hold the page back; a full page without JS."""
    pid = quote(product_id, safe="")
    found = await _try(
        request.app.state.api.get(request, f"api/products/{pid}/related", limit=RELATED),
        {"items": []},
    )
    items = found.get("items", []) if isinstance(found, dict) else []
    if request.headers.get("hx-request"):
        return page(request, "shop/_related.html", {"related": items})
    product = await request.app.state.api.get(request, f"api/products/{pid}")
    return page(
        request,
        "shop/related.html",
        {"related": items, "product": product, "title": f"Like {product.get('name', '')}"},
    )


@router.post("/products/{product_id}/reviews")
async def write_review(
    request: Request,
    product_id: ProductId,
    rating: Annotated[str, Form(max_length=2)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    body: Annotated[str, Form(max_length=6000)] = "",
) -> Response:
    require(request, "customer")
    form = {"rating": rating, "title": title, "body": body}
    try:
        await request.app.state.api.call(
            request,
            "POST",
            f"api/products/{quote(product_id, safe='')}/reviews",
            json={"rating": h.clamp_quantity(rating, 0, 5) or None, "title": title, "body": body},
        )
    except ApiError as error:
        if error.status == 409:
            error.message = "You have already reviewed this product."
        ctx = await _product_context(request, product_id)
        return form_error(request, "shop/product.html", error, form, ctx)
    _session(request).notify(
        "Thank you! Your review will appear once our team has checked it.", "success"
    )
    return redirect(f"/products/{quote(product_id)}#reviews", request)


@router.post("/products/{product_id}/wishlist")
async def wish(request: Request, product_id: ProductId) -> Response:
    require(request, "customer")
    await request.app.state.api.call(
        request, "POST", "api/users/me/wishlist", json={"product_id": product_id}
    )
    _session(request).notify("Saved to your wishlist.", "success")
    return redirect(f"/products/{quote(product_id)}", request)


@router.post("/products/{product_id}/wishlist/remove")
async def unwish(request: Request, product_id: ProductId) -> Response:
    require(request, "customer")
    await request.app.state.api.call(
        request, "DELETE", f"api/users/me/wishlist/{quote(product_id, safe='')}"
    )
    _session(request).notify("Removed from your wishlist.")
    return redirect(f"/products/{quote(product_id)}", request)


# -- cart --------------------------------------------------------------------------------
async def _cart_view(
    request: Request, cart: dict[str, Any] | None = None, message: str = "", error: str = ""
) -> Response:
    """The cart page, or only its cart region for an htmx request."""
    api = request.app.state.api
    if cart is None:
        cart = await api.get(request, "api/cart")
    ctx = {"cart": cart, "message": message, "cart_error": error, "title": "Your cart"}
    if _htmx(request):
        return page(request, "shop/_cart.html", ctx)
    banners = await _try(api.get(request, "api/banners/active", placement="cart"), {})
    ctx["banners"] = h.banners_by_placement(banners).get("cart", [])
    return page(request, "shop/cart.html", ctx)


async def _cart_change(request: Request, method: str, path: str, body: Any, done: str) -> Response:
    """A change of the cart: for htmx the new cart region (with the message or the error),
    without JavaScript the cart page again (after a redirect)."""
    api = request.app.state.api
    try:
        cart = await api.call(request, method, path, json=body)
    except ApiError as error:
        if error.status in (401, 403):
            raise
        if _htmx(request):
            return await _cart_view(request, error=error.message)
        _session(request).notify(error.message, "error")
        return redirect("/cart", request)
    if _htmx(request):
        return await _cart_view(request, cart, message=done)
    _session(request).notify(done, "success")
    return redirect("/cart", request)


@router.get("/cart")
async def cart_page(request: Request) -> Response:
    return await _cart_view(request)


@router.post("/cart/items")
async def add_to_cart(
    request: Request,
    product_id: Annotated[str, Form(max_length=64)] = "",
    variant_id: Annotated[str, Form(max_length=64)] = "",
    quantity: Annotated[str, Form(max_length=6)] = "1",
) -> Response:
    body = {
        "product_id": product_id,
        "variant_id": variant_id or None,
        "quantity": h.clamp_quantity(quantity),
    }
    try:
        await request.app.state.api.call(request, "POST", "api/cart/items", json=body)
    except ApiError as error:
        if error.status in (401, 403):
            raise
        _session(request).notify(error.message, "error")
        back = f"/products/{quote(product_id)}" if product_id else "/cart"
        return redirect(back, request)
    _session(request).notify("Added to your cart.", "success")
    return redirect("/cart", request)


@router.post("/cart/items/{item_id}")
async def update_line(
    request: Request, item_id: CartItemId, quantity: Annotated[str, Form(max_length=6)] = "1"
) -> Response:
    wanted = h.clamp_quantity(quantity, 0, 500)
    if wanted == 0:
        return await _cart_change(
            request, "DELETE", f"api/cart/items/{item_id}", None, "Removed from your cart."
        )
    return await _cart_change(
        request,
        "PUT",
        f"api/cart/items/{item_id}",
        {"quantity": wanted},
        "Quantity updated.",
    )


@router.post("/cart/items/{item_id}/remove")
async def remove_line(request: Request, item_id: CartItemId) -> Response:
    return await _cart_change(
        request, "DELETE", f"api/cart/items/{item_id}", None, "Removed from your cart."
    )


@router.post("/cart/promo")
async def apply_promo(request: Request, code: Annotated[str, Form(max_length=60)] = "") -> Response:
    code = code.strip()
    if not code:
        message = "Please enter a promo code."
        if _htmx(request):
            return await _cart_view(request, error=message)
        _session(request).notify(message, "error")
        return redirect("/cart", request)
    return await _cart_change(
        request, "POST", "api/cart/promo", {"code": code}, f"Promo code {code.upper()} applied."
    )


@router.post("/cart/promo/remove")
async def remove_promo(request: Request) -> Response:
    return await _cart_change(request, "DELETE", "api/cart/promo", None, "Promo code removed.")


# -- checkout ----------------------------------------------------------------------------
def _checkout_context(
    cart: dict[str, Any], form: dict[str, Any], quote_: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "title": "Checkout",
        "cart": cart,
        "form": form,
        "quote": quote_,
        "cards": h.TEST_CARDS,
        "countries": h.COUNTRIES,
        "methods": h.SHIPPING_METHODS,
        "options": {o["method"]: o for o in (quote_ or {}).get("shipping_options", [])},
    }


async def _default_address(request: Request) -> dict[str, str]:
    """A signed-in customer's default (or first) saved address, as form fields."""
    saved = await _try(request.app.state.api.get(request, "api/users/me/addresses"), [])
    saved = saved if isinstance(saved, list) else []
    best = next((a for a in saved if a.get("is_default")), saved[0] if saved else None)
    if not best:
        return {}
    return {f"shipping_address.{f}": str(best.get(f) or "") for f in h.ADDRESS_FIELDS}


@router.get("/checkout")
async def checkout_page(request: Request) -> Response:
    api = request.app.state.api
    cart = await api.get(request, "api/cart")
    if not cart.get("items"):
        _session(request).notify("Your cart is empty: add something first.", "warning")
        return redirect("/cart", request)
    session = _session(request)
    form: dict[str, Any] = {
        "email": session.user.get("email", "") if session.signed_in else "",
        "shipping_method": "standard",
        "payment_method": h.TEST_CARDS[0][0],
        "promo_code": cart.get("promo_code") or "",
        "idem": uuid.uuid4().hex,
        "shipping_address.country": "US",
    }
    quote_ = None
    if session.signed_in:
        form.update(await _default_address(request))
        if form.get("shipping_address.line1"):
            address = h.address_from(form)
            body = h.order_body(form, form["email"], address, with_payment=False)
            quote_ = await _try(api.call(request, "POST", "api/checkout/validate", json=body), None)
    return page(request, "shop/checkout.html", _checkout_context(cart, form, quote_))


@router.post("/checkout")
async def checkout(request: Request) -> Response:
    api = request.app.state.api
    session = _session(request)
    raw = await request.form()
    form = {k: str(v)[:500] for k, v in raw.items() if isinstance(v, str)}
    form.setdefault("idem", uuid.uuid4().hex)
    cart = await api.get(request, "api/cart")
    if not cart.get("items"):
        session.notify("Your cart is empty: add something first.", "warning")
        return redirect("/cart", request)
    email = form.get("email", "").strip() or (
        session.user.get("email", "") if session.signed_in else ""
    )
    form["email"] = email
    ctx = _checkout_context(cart, form)
    if not email:
        missing = ApiError(422, "VALIDATION_ERROR", "Please check what you entered.")
        missing.fields = {"email": "Please enter your email address"}
        return form_error(request, "shop/checkout.html", missing, form, ctx)
    # 1. the address, per the destination country's rules (problems per field)
    address = h.address_from(form)
    try:
        checked = await api.call(request, "POST", "api/addresses/validate", json=address)
    except ApiError as error:
        return _checkout_error(request, error, form, ctx)
    if not checked.get("valid"):
        invalid = ApiError(422, "INVALID_ADDRESS", "Please check the shipping address.")
        invalid.fields = h.address_errors(checked)
        return form_error(request, "shop/checkout.html", invalid, form, ctx)
    if isinstance(checked.get("address"), dict):
        address = {f: str(checked["address"].get(f) or "") for f in h.ADDRESS_FIELDS}
        form.update({f"shipping_address.{f}": v for f, v in address.items()})
    # 2. the order as it would be charged, and the shipping options to the address
    body = h.order_body(form, email, address, with_payment=False)
    try:
        quote_ = await api.call(request, "POST", "api/checkout/validate", json=body)
    except ApiError as error:
        return _checkout_error(request, error, form, ctx)
    ctx = _checkout_context(cart, form, quote_)
    if form.get("action") != "place" or not quote_.get("valid"):
        return page(request, "shop/checkout.html", ctx)
    # 3. the order itself: the checkout saga (idempotent by the form's own key)
    payment = form.get("payment_method", "")
    if payment not in {c for c, _ in h.TEST_CARDS}:
        bad = ApiError(422, "VALIDATION_ERROR", "Please choose a payment method.")
        bad.fields = {"payment_method": "Please choose a payment method"}
        return form_error(request, "shop/checkout.html", bad, form, ctx)
    try:
        accepted = await api.call(
            request,
            "POST",
            "api/orders",
            json=h.order_body(form, email, address, with_payment=True),
            headers={"Idempotency-Key": f"web-{form['idem'][:64]}"},
        )
    except ApiError as error:
        return _checkout_error(request, error, form, ctx)
    order_id = str(accepted["order_id"])
    return await _after_payment(request, order_id, email, form, ctx)


def _checkout_error(
    request: Request, error: ApiError, form: dict[str, Any], ctx: dict[str, Any]
) -> Response:
    """The checkout again with the API's refusal: per field where it names one."""
    if error.status == 422 and error.fields:
        error.message = "Please check what you entered."
    return form_error(request, "shop/checkout.html", error, form, ctx)


def _order_url(request: Request, order_id: str, email: str, base: str = "/orders") -> str:
    """The order's page. A guest's order is opened with its email (the API's access rule),
    kept in the session rather than in the address (addresses end up in logs and history)."""
    session = _session(request)
    if not session.signed_in and email:
        session.remember_order(order_id, email)
    return f"{base}/{quote(order_id)}"


def _guest_email(request: Request, order_id: str, email: str) -> str:
    """The email a guest's order is opened with: the one given, else the session's."""
    return email.strip() or _session(request).order_email(order_id)


async def _after_payment(
    request: Request,
    order_id: str,
    email: str,
    form: dict[str, Any] | None = None,
    ctx: dict[str, Any] | None = None,
) -> Response:
    """Where the shopper goes once the order is placed: the 3-D Secure step when the card
    wants it, the checkout again when payment was refused, else the order's page (which
    follows the order live)."""
    api = request.app.state.api
    state = await _try(
        api.get(request, f"api/checkout/{quote(order_id)}", email=email or None, wait=4), {}
    )
    if h.three_d_secure(state):
        return redirect(_order_url(request, order_id, email, "/checkout/authenticate"), request)
    result = state.get("result") if isinstance(state, dict) else None
    outcome = result.get("outcome") if isinstance(result, dict) else None
    if outcome in ("payment_failed", "rejected") and form is not None and ctx is not None:
        reason = (result.get("reason") or {}).get("message") or "The payment did not go through."
        form = {**form, "idem": uuid.uuid4().hex}  # a new attempt is a new order
        refused = ApiError(402, "PAYMENT_FAILED", f"{reason} Nothing was charged.")
        if outcome == "payment_failed":
            refused.fields = {"payment_method": "Please choose another payment method"}
        return form_error(request, "shop/checkout.html", refused, form, {**ctx, "form": form})
    _session(request).notify("Thank you! Your order is placed.", "success")
    return redirect(_order_url(request, order_id, email), request)


@router.get("/checkout/authenticate/{order_id}")
async def authenticate_page(request: Request, order_id: OrderId, email: Email = "") -> Response:
    api = request.app.state.api
    email = _guest_email(request, order_id, email)
    state = await api.get(request, f"api/checkout/{quote(order_id)}", email=email or None)
    payment = h.three_d_secure(state)
    if payment is None:
        return redirect(_order_url(request, order_id, email), request)
    order = await api.get(request, f"api/orders/{quote(order_id)}", email=email or None)
    return page(
        request,
        "shop/authenticate.html",
        {
            "title": "Confirm your payment",
            "order": order,
            "email": email,
            "local": h.local_challenge(payment),
            "action": f"/checkout/authenticate/{quote(order_id)}",
        },
    )


@router.post("/checkout/authenticate/{order_id}")
async def authenticate(
    request: Request,
    order_id: OrderId,
    outcome: Annotated[str, Form(max_length=20)] = "succeeded",
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    api = request.app.state.api
    body: dict[str, Any] = {"outcome": "failed" if outcome == "failed" else "succeeded"}
    if email:
        body["email"] = email
    try:
        await api.call(request, "POST", f"api/payments/{quote(order_id)}/authenticate", json=body)
    except ApiError as error:
        if error.status != 409:  # 409: nothing waits any more (done, or timed out)
            raise
    state = await _try(
        api.get(request, f"api/checkout/{quote(order_id)}", email=email or None, wait=4), {}
    )
    result = state.get("result") if isinstance(state, dict) else None
    if isinstance(result, dict) and result.get("outcome") == "paid":
        _session(request).notify("Payment confirmed. Thank you for your order!", "success")
    elif isinstance(result, dict) and result.get("outcome"):
        reason = (result.get("reason") or {}).get("message") or "The payment did not go through."
        _session(request).notify(f"{reason} Nothing was charged.", "error")
    return redirect(_order_url(request, order_id, email), request)


# -- orders: confirmation, tracking, live updates ----------------------------------------
async def _order_parts(
    request: Request, order_id: str, email: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    api = request.app.state.api
    oid = quote(order_id, safe="")
    order, tracking = await asyncio.gather(
        api.get(request, f"api/orders/{oid}", email=email or None),
        _try(api.get(request, f"api/orders/{oid}/tracking", email=email or None), {}),
    )
    return order, tracking if isinstance(tracking, dict) else {}


def _live_context(
    request: Request, order: dict[str, Any], tracking: dict[str, Any], email: str
) -> dict[str, Any]:
    status = str(order.get("status", ""))
    query = ""  # a guest's email is in the session (_order_url)
    oid = quote(str(order["order_id"]))
    return {
        "order": order,
        "tracking": tracking,
        "status": status,
        "status_label": h.status_label,
        "status_tone": h.status_tone,
        "steps": h.order_steps(status),
        "live": status not in SETTLED,
        "events_url": f"/orders/{oid}/events{query}",
        "live_url": f"/orders/{oid}/live{query}",
        "labels": h.STATUS_LABELS,
        "email": email,
    }


@router.get("/orders/{order_id}")
async def order_page(request: Request, order_id: OrderId, email: Email = "") -> Response:
    given = email.strip()
    email = _guest_email(request, order_id, email)
    signed_in = _session(request).signed_in
    if not signed_in and not email:
        return page(
            request,
            "shop/order_lookup.html",
            {"title": "Find your order", "order_id": order_id, "form": {"order_id": order_id}},
        )
    try:
        order, tracking = await _order_parts(request, order_id, email)
    except ApiError as error:
        if error.status != 404 or signed_in:
            raise
        return page(
            request,
            "shop/order_lookup.html",
            {
                "title": "Find your order",
                "order_id": order_id,
                "form": {"order_id": order_id, "email": email},
                "errors": {"email": "No order with this number was placed with this email"},
                "error": error,
            },
            status=404,
        )
    if given and not signed_in:  # found with the email given: keep it, clean the address
        _session(request).remember_order(order_id, given)
        return redirect(f"/orders/{quote(order_id)}", request)
    ctx = _live_context(request, order, tracking, email)
    return page(request, "shop/order.html", {**ctx, "title": f"Order {order['order_number']}"})


@router.get("/orders/{order_id}/live")
async def order_live(request: Request, order_id: OrderId, email: Email = "") -> Response:
    """The order's status, progress, timeline and parcels (what live updates refresh)."""
    email = _guest_email(request, order_id, email)
    order, tracking = await _order_parts(request, order_id, email)
    return page(request, "shop/_order_live.html", _live_context(request, order, tracking, email))


@router.get("/orders/{order_id}/events")
async def order_events(request: Request, order_id: OrderId, email: Email = "") -> Response:
    """The order's progress as Server-Sent Events, in the storefront's own vocabulary
    (`snapshot`, `order`, `shipment`, `end`; `: keep-alive` between them).

    Made here from the order as the API answers it, not passed through from the API's own
    stream (`GET /api/orders/{id}/events`): Dapr 1.16's service invocation holds a streamed
    answer back until it ends (dapr/dapr#8761), so no frame would reach the browser while
    the order moves. The stream ends after LIVE_MAX_SECONDS, or before the visitor's token
    would need renewing (EventSource then reconnects by itself, a normal request)."""
    email = _guest_email(request, order_id, email)
    order, tracking = await _order_parts(request, order_id, email)  # 404 before streaming
    session = _session(request)
    limit = LIVE_MAX_SECONDS
    if session.signed_in:
        limit = min(limit, session.access_expires - time.time() - 60)
    return StreamingResponse(
        _live_frames(request, order_id, email, order, tracking, max(limit, 5.0)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store, no-transform", "X-Accel-Buffering": "no"},
    )


#: A live stream's longest life (under Azure ingress's 240 s request timeout), how often
#: it reads the order, and how long it stays silent before a keep-alive comment.
LIVE_MAX_SECONDS = 230.0
LIVE_POLL_SECONDS = 1.0
LIVE_KEEPALIVE_SECONDS = 15.0
#: While the order is in these, its parcels move without the order changing: read them too.
PARCELS_MOVING = {"fulfilling", "shipped"}


async def _live_frames(
    request: Request,
    order_id: str,
    email: str,
    order: dict[str, Any],
    tracking: dict[str, Any],
    max_seconds: float,
) -> AsyncIterator[bytes]:
    """The stream: a snapshot, then what moved at each read, `end` at a settled status.
    Any failed read ends it (the browser reconnects and starts from a fresh snapshot)."""
    api = request.app.state.api
    oid = quote(order_id, safe="")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    seen = h.LiveState.of(order, tracking)
    yield h.sse_retry(3000)
    yield h.sse_frame("snapshot", seen.snapshot(tracking))
    if seen.status in SETTLED:
        yield h.sse_frame("end", {"status": seen.status})
        return
    quiet_since = loop.time()
    while loop.time() < deadline and not request.app.state.closing.is_set():
        await asyncio.sleep(LIVE_POLL_SECONDS)
        if request.app.state.closing.is_set() or await request.is_disconnected():
            return
        try:
            order = await api.get(request, f"api/orders/{oid}", email=email or None)
            if int(order.get("version") or 0) != seen.version or order["status"] in PARCELS_MOVING:
                tracking = await api.get(request, f"api/orders/{oid}/tracking", email=email or None)
        except ApiError:
            return
        frames, seen = seen.changes(order, tracking)
        for frame in frames:
            yield frame
        if frames:
            quiet_since = loop.time()
        elif loop.time() - quiet_since >= LIVE_KEEPALIVE_SECONDS:
            yield h.SSE_KEEPALIVE
            quiet_since = loop.time()
        if seen.status in SETTLED:
            yield h.sse_frame("end", {"status": seen.status})
            return


# -- tracking by parcel number -----------------------------------------------------------
TrackingNumber = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{4,64}$")]


@router.get("/track")
async def track_form(
    request: Request,
    order_id: Annotated[str, Query(max_length=64)] = "",
    email: Email = "",
) -> Response:
    """Find an order by its number (from the confirmation email) and email."""
    order_id, email = order_id.strip(), email.strip()
    if order_id and h.ORDER_ID.match(order_id):
        return redirect(_order_url(request, order_id, email), request)
    return page(
        request,
        "shop/track.html",
        {"title": "Track your order", "tracking_number": "", "form": {"email": email}},
    )


@router.get("/track/{tracking_number}")
async def track_parcel(request: Request, tracking_number: TrackingNumber) -> Response:
    """A parcel by its carrier tracking number: among a signed-in customer's own orders
    (the API has no public look-up by tracking number); otherwise how to find it."""
    if _session(request).signed_in:
        found = await _find_parcel(request, tracking_number)
        if found:
            return redirect(f"/orders/{quote(found)}#shipments", request)
    return page(
        request,
        "shop/track.html",
        {"title": "Track your parcel", "tracking_number": tracking_number, "form": {}},
        status=200 if not _session(request).signed_in else 404,
    )


async def _find_parcel(request: Request, tracking_number: str) -> str | None:
    api = request.app.state.api
    orders = await _try(api.get(request, "api/users/me/orders", limit=20), {})
    ids = [
        str(o["order_id"])
        for o in (orders.get("items", []) if isinstance(orders, dict) else [])
        if o.get("status") in ("fulfilling", "shipped", "delivered", "completed")
    ]
    answers = await asyncio.gather(
        *(_try(api.get(request, f"api/orders/{quote(i, safe='')}/tracking"), {}) for i in ids)
    )
    for order_id, tracking in zip(ids, answers, strict=True):
        for shipment in tracking.get("shipments", []) if isinstance(tracking, dict) else []:
            if str(shipment.get("tracking_number", "")).upper() == tracking_number.upper():
                return order_id
    return None
