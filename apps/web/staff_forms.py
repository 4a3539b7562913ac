"""Pure helpers of the staff pages: query strings for filters and pagers, the badges of
statuses, times between `datetime-local` inputs and the API's UTC timestamps, and the API
bodies built from the product, banner and promotion forms (and back). No I/O: unit-tested
in tests/unit/test_web_staff.py."""

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

#: Statuses shown as good / needing attention / bad (never colour alone: the text is shown).
OK = {
    "paid",
    "delivered",
    "completed",
    "active",
    "live",
    "published",
    "approved",
    "applied",
    "resolved",
    "refunded",
    "received",
}
WARN = {
    "pending",
    "awaiting_payment",
    "fulfilling",
    "open",
    "pending_staff",
    "requested",
    "scheduled",
    "delayed",
    "draft",
    "paused",
    "partially_refunded",
    "high",
    "urgent",
}
BAD = {
    "cancelled",
    "payment_failed",
    "rejected",
    "delivery_failed",
    "returned_to_sender",
    "expired",
    "dismissed",
    "archived",
    "disabled",
    "used_up",
    "failed",
}


def badge(status: Any) -> str:
    """The CSS class of a status badge ('ok', 'warn', 'bad' or '')."""
    value = str(status or "")
    if value in OK:
        return "ok"
    if value in WARN:
        return "warn"
    if value in BAD:
        return "bad"
    return ""


def words(value: Any) -> str:
    """An enum value for people: 'out_for_delivery' -> 'Out for delivery'."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def query(base: str, **params: Any) -> str:
    """`base` with the non-empty params, ending in '?' or '&' so a pager can add `page=`."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False, [])}
    if not kept:
        return f"{base}?"
    return f"{base}?{urlencode(kept, doseq=True)}&"


def idem() -> str:
    """A fresh Idempotency-Key for one form submission."""
    return f"web-{uuid.uuid4().hex}"


def utc_iso(local: str | None) -> str | None:
    """A `datetime-local` value (read as UTC) as the API's ISO time with an offset."""
    text = (local or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the API says what is wrong with it, next to the field
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_input(iso: Any) -> str:
    """An API timestamp as a `datetime-local` value in UTC ('' for none)."""
    if not iso:
        return ""
    try:
        moment = iso if isinstance(iso, datetime) else datetime.fromisoformat(str(iso))
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M")


def _text(form: dict[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def _int(form: dict[str, Any], name: str) -> int | str | None:
    text = _text(form, name)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text  # sent as it is: the API names the field


def _checked(form: dict[str, Any], name: str) -> bool:
    return str(form.get(name) or "").lower() in ("on", "true", "1", "yes")


# -- products ------------------------------------------------------------------------------
PRODUCT_FIELDS = ("name", "slug", "category_slug", "brand", "description", "long_description")


def product_form(product: dict[str, Any]) -> dict[str, Any]:
    """A product's editable values under the form's field names (those of the API's error
    locations, so its messages land next to the right field)."""
    price = product.get("price") or {}
    form: dict[str, Any] = {k: product.get(k, "") or "" for k in PRODUCT_FIELDS}
    form.update(
        {
            "status": product.get("status", "draft"),
            "price.amount": price.get("amount", ""),
            "price.currency": price.get("currency", "USD"),
            "price.compare_at": price.get("compare_at") or "",
            "price.tax_rate": price.get("tax_rate", "0"),
        }
    )
    return form


def _price(form: dict[str, Any]) -> dict[str, Any]:
    price: dict[str, Any] = {
        "amount": _text(form, "price.amount"),
        "currency": _text(form, "price.currency").upper() or "USD",
        "tax_rate": _text(form, "price.tax_rate") or "0",
    }
    compare_at = _text(form, "price.compare_at")
    price["compare_at"] = compare_at or None
    return price


def product_update(form: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body of the edit form (every field it shows)."""
    body: dict[str, Any] = {k: _text(form, k) for k in PRODUCT_FIELDS}
    body["price"] = _price(form)
    body["status"] = _text(form, "status") or "draft"
    return body


def product_create(form: dict[str, Any]) -> dict[str, Any]:
    """The POST body of the new-product form: the product and its first variant."""
    body = product_update(form)
    body["sku"] = _text(form, "sku")
    if _text(form, "product_id"):
        body["product_id"] = _text(form, "product_id")
    variant_sku = _text(form, "variants.0.sku") or (f"{body['sku']}-1" if body["sku"] else "")
    variant: dict[str, Any] = {
        "variant_id": _text(form, "variants.0.variant_id")
        or (f"{body.get('product_id') or body['sku'] or 'v'}-v1"),
        "sku": variant_sku,
        "stock": _int(form, "variants.0.stock") or 0,
    }
    body["variants"] = [variant]
    return body


def stock_adjustment(form: dict[str, Any]) -> dict[str, Any]:
    """`POST /api/staff/inventory/{sku}/adjust`: a change (delta) or a count (on hand)."""
    body: dict[str, Any] = {"reason": _text(form, "reason")}
    mode = _text(form, "mode") or "delta"
    amount = _int(form, "quantity")
    if amount is not None:
        body["on_hand" if mode == "on_hand" else "delta"] = amount
    threshold = _int(form, "low_stock_threshold")
    if threshold is not None:
        body["low_stock_threshold"] = threshold
    return body


# -- banners ---------------------------------------------------------------------------------
BANNER_TEXT = ("title", "subtitle", "image_url", "cta_text", "placement")


def banner_form(banner: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {k: banner.get(k) or "" for k in BANNER_TEXT}
    form["link_url"] = banner.get("link_url") or ""
    form["priority"] = banner.get("priority", 0)
    form["starts_at"] = local_input(banner.get("starts_at"))
    form["ends_at"] = local_input(banner.get("ends_at"))
    form["active"] = "on" if banner.get("active", True) else ""
    return form


def banner_body(form: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {k: _text(form, k) for k in BANNER_TEXT}
    body["placement"] = body["placement"] or "homepage_hero"
    body["link_url"] = _text(form, "link_url") or None
    body["priority"] = _int(form, "priority") or 0
    body["starts_at"] = utc_iso(_text(form, "starts_at"))
    body["ends_at"] = utc_iso(_text(form, "ends_at"))
    body["active"] = _checked(form, "active")
    return body


# -- promotions ------------------------------------------------------------------------------
def promotion_form(promotion: dict[str, Any]) -> dict[str, Any]:
    terms = promotion.get("terms") or {}
    return {
        "code": terms.get("code", ""),
        "description": terms.get("description", ""),
        "kind": terms.get("kind", "percent"),
        "value": terms.get("value", ""),
        "min_subtotal": terms.get("min_subtotal", "0.00"),
        "starts_at": local_input(terms.get("starts_at")),
        "ends_at": local_input(terms.get("ends_at")),
        "usage_limit": terms.get("usage_limit") or "",
        "per_customer_limit": terms.get("per_customer_limit") or "",
    }


def promotion_body(form: dict[str, Any], *, new: bool) -> dict[str, Any]:
    """The terms (PUT) or, `new`, the code with its terms (POST)."""
    body: dict[str, Any] = {
        "description": _text(form, "description"),
        "kind": _text(form, "kind") or "percent",
        "value": _text(form, "value"),
        "min_subtotal": _text(form, "min_subtotal") or "0.00",
        "starts_at": utc_iso(_text(form, "starts_at")),
        "ends_at": utc_iso(_text(form, "ends_at")),
        "usage_limit": _int(form, "usage_limit"),
        "per_customer_limit": _int(form, "per_customer_limit"),
    }
    if new:
        body["code"] = _text(form, "code").upper()
        body["paused"] = _checked(form, "paused")
    return body


#: What a value must look like, said to people instead of a regular expression.
FORMAT_HINTS = {
    "slug": "Use lower-case letters, digits and single hyphens, e.g. aurora-laptop-14.",
    "sku": "Use letters, digits, dots, hyphens or underscores; start with a letter or digit.",
    "variants.0.sku": "Use letters, digits, dots, hyphens or underscores.",
    "variants.0.variant_id": "Use letters, digits, dots, colons, hyphens or underscores.",
    "product_id": "Use letters, digits, dots, colons, hyphens or underscores.",
    "category_slug": "Choose a category.",
    "price.currency": "Use a three-letter currency code such as USD.",
    "image_url": "Use a full https:// address.",
    "link_url": "Use a page of the shop starting with / or a full https:// address.",
    "code": "Use 3 to 32 letters, digits, hyphens or underscores.",
}


def humane(errors: dict[str, str]) -> dict[str, str]:
    """Field errors with 'String should match pattern ...' replaced by what to enter."""
    return {
        name: (
            FORMAT_HINTS.get(name, "This is not in the expected format.")
            if message.startswith("String should match pattern")
            else message
        )
        for name, message in errors.items()
    }
