"""Pure helpers of the shop pages (no I/O): the listing filters and sorts as the API takes
them, page links, a "did you mean" from the results a typo-tolerant search found, checkout
form <-> API body, order status wording, and the test cards offered locally."""

import json
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit

#: The sorts a listing offers: key -> (API sort, API order, label).
SORTS: dict[str, tuple[str, str | None, str]] = {
    "relevance": ("relevance", None, "Best match"),
    "popular": ("popularity", "desc", "Most popular"),
    "price-asc": ("price", "asc", "Price: low to high"),
    "price-desc": ("price", "desc", "Price: high to low"),
    "newest": ("newest", "desc", "Newest"),
    "rating": ("rating", "desc", "Best rated"),
    "name": ("name", "asc", "Name A-Z"),
}
MAX_BRANDS = 10  # the API's filter takes at most 10 brands


def sort_options(searching: bool) -> list[tuple[str, str]]:
    """(key, label) of the sorts a listing shows; "best match" only for a search."""
    return [(k, v[2]) for k, v in SORTS.items() if searching or k != "relevance"]


def sort_params(key: str | None, searching: bool) -> tuple[str, dict[str, str]]:
    """The chosen sort key (a known one) and the API's `sort`/`order` for it."""
    default = "relevance" if searching else "popular"
    chosen = key if key in SORTS and (searching or key != "relevance") else default
    sort, order, _ = SORTS[chosen]
    params = {"sort": sort}
    if order:
        params["order"] = order
    return chosen, params


def _amount(value: str | None) -> Decimal | None:
    if value is None or not str(value).strip():
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > 10_000_000:
        return None
    return amount.quantize(Decimal("0.01"))


def listing_filters(
    brands: list[str] | None = None,
    price_min: str | None = None,
    price_max: str | None = None,
    in_stock: bool = False,
    rating_min: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The filters a listing's GET form chose, cleaned (unknown values dropped, never a
    422), and the `filters` JSON for the API (None when nothing is filtered)."""
    chosen: dict[str, Any] = {}
    kept = []
    for brand in brands or []:
        brand = brand.strip()[:40]
        if brand and brand not in kept:
            kept.append(brand)
    if kept:
        chosen["brand"] = kept[:MAX_BRANDS]
    low, high = _amount(price_min), _amount(price_max)
    if low is not None and high is not None and low > high:
        low, high = high, low
    if low is not None:
        chosen["price_min"] = low
    if high is not None:
        chosen["price_max"] = high
    if in_stock:
        chosen["in_stock"] = True
    rating = _amount(rating_min)
    if rating is not None and 0 < rating <= 5:
        chosen["rating_min"] = rating
    if not chosen:
        return {}, None
    wire = {k: (float(v) if isinstance(v, Decimal) else v) for k, v in chosen.items()}
    return chosen, json.dumps(wire, separators=(",", ":"))


def price_range(value: str) -> tuple[str, str]:
    """A price facet's value ('25-50', '500+') as (min, max) for the form's fields."""
    if value.endswith("+"):
        return value[:-1], ""
    low, _, high = value.partition("-")
    return low, high


def range_label(value: str, money: Any) -> str:
    """'25-50' -> '$25.00 to $50.00', '500+' -> '$500.00 and up' (money formats)."""
    low, high = price_range(value)
    try:
        if not high:
            return f"{money(low)} and up"
        if Decimal(low) == 0:
            return f"Under {money(high)}"
        return f"{money(low)} to {money(high)}"
    except (InvalidOperation, ValueError):
        return value


def page_base(path: str, params: dict[str, Any]) -> str:
    """`path?…&` with the listing's query (without `page`), for macros.pager."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if key == "page" or value in (None, "", False, []):
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, "1" if item is True else str(item)))
    query = urlencode(pairs)
    return f"{path}?{query}&" if query else f"{path}?"


# -- search ------------------------------------------------------------------------------
def fold(text: str) -> str:
    """Lower case without accents (as the catalog's search compares words)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", fold(text))


def distance(a: str, b: str, limit: int = 2) -> int:
    """Edit distance with transpositions (optimal string alignment); `limit + 1` as soon
    as it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        prev2, prev = prev, row
    return prev[-1]


def did_you_mean(query: str, found: list[str]) -> str | None:
    """The query with each word the results do not contain replaced by the closest word
    they do (the catalog forgives typos, so its results hold the intended word); None when
    every word is there or nothing is close."""
    vocabulary: dict[str, int] = {}
    for text in found:
        for word in words(text):
            vocabulary[word] = vocabulary.get(word, 0) + 1
    asked = words(query)
    if not asked or not vocabulary:
        return None
    fixed, changed = [], False
    for word in asked:
        if word in vocabulary or len(word) < 3 or any(v.startswith(word) for v in vocabulary):
            fixed.append(word)
            continue
        budget = 1 if len(word) < 6 else 2
        near = [(distance(word, v, budget), -n, v) for v, n in vocabulary.items()]
        near = [c for c in near if c[0] <= budget]
        if near:
            fixed.append(min(near)[2])
            changed = True
        else:
            fixed.append(word)
    return " ".join(fixed) if changed else None


# -- categories and banners --------------------------------------------------------------
def category_index(tree: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """slug -> category node, over the whole tree."""
    found: dict[str, dict[str, Any]] = {}
    stack = list(tree or [])
    while stack:
        node = stack.pop()
        if isinstance(node, dict) and node.get("slug"):
            found[str(node["slug"])] = node
            stack.extend(node.get("children") or [])
    return found


def breadcrumbs(slug: str, index: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The category's ancestors, department first, then itself."""
    trail: list[dict[str, Any]] = []
    seen: set[str] = set()
    node = index.get(slug)
    while node is not None and node["slug"] not in seen:
        seen.add(node["slug"])
        trail.insert(0, node)
        node = index.get(node.get("parent_slug") or "")
    return trail


def safe_link(url: str | None) -> str | None:
    """A banner's link when it is one of ours (a path) or a web address; None otherwise
    (never `javascript:` or the like)."""
    if not url:
        return None
    url = url.strip()
    if url.startswith("/") and not url.startswith("//"):
        return url
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def banners_by_placement(answer: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    items = answer.get("banners", []) if isinstance(answer, dict) else []
    for banner in sorted(items, key=lambda b: -int(b.get("priority") or 0)):
        banner = {**banner, "link": safe_link(banner.get("link_url"))}
        found.setdefault(str(banner.get("placement", "")), []).append(banner)
    return found


# -- products ----------------------------------------------------------------------------
def variant_label(variant: dict[str, Any]) -> str:
    attrs = variant.get("attributes") or {}
    label = ", ".join(f"{v}" for v in attrs.values()) or str(variant.get("sku", ""))
    return label


def variant_price(base: Any, variant: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(base)) + Decimal(str(variant.get("price_adjustment") or "0"))
    except InvalidOperation:
        return Decimal("0")


def stock_note(available: int | None) -> tuple[str, str]:
    """(words, badge tone) for what is left: never a colour alone."""
    if available is None:
        return "Availability unknown", ""
    if available <= 0:
        return "Out of stock", "bad"
    if available <= 5:
        return f"Only {available} left", "warn"
    return "In stock", "ok"


def clamp_quantity(value: Any, low: int = 1, high: int = 100) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return low
    return max(low, min(high, number))


# -- checkout ----------------------------------------------------------------------------
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")
SHIPPING_METHODS = ("standard", "express", "overnight")
#: Stripe's test payment methods (stripe-mock locally; the local 3-D Secure stand-in).
TEST_CARDS: list[tuple[str, str]] = [
    ("pm_card_visa", "Visa ending 4242 (succeeds)"),
    ("pm_card_mastercard", "Mastercard ending 4444 (succeeds)"),
    ("pm_card_authenticationRequired", "Visa ending 3184 (asks for 3-D Secure)"),
    ("pm_card_threeDSecure2Required", "Visa ending 3220 (3-D Secure 2)"),
    ("pm_card_chargeDeclined", "Visa ending 0002 (declined)"),
]
COUNTRIES: list[tuple[str, str]] = [
    ("US", "United States"),
    ("CA", "Canada"),
    ("GB", "United Kingdom"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("NL", "Netherlands"),
    ("AU", "Australia"),
]


def address_from(form: dict[str, Any], prefix: str = "shipping_address.") -> dict[str, str]:
    """The address fields of the checkout form (`shipping_address.city`, …), trimmed."""
    address = {f: str(form.get(prefix + f) or "").strip() for f in ADDRESS_FIELDS}
    address["country"] = address["country"].upper()
    address["state"] = address["state"].upper() if len(address["state"]) <= 3 else address["state"]
    return address


def address_errors(answer: Any, prefix: str = "shipping_address.") -> dict[str, str]:
    """`POST /api/addresses/validate`'s problems as the form's field errors."""
    errors: dict[str, str] = {}
    if not isinstance(answer, dict):
        return errors
    for problem in answer.get("errors") or []:
        name = str(problem.get("field") or "").split(".")[-1]
        key = prefix + name if name in ADDRESS_FIELDS else prefix + "line1"
        message = str(problem.get("message") or "Please check this field")
        errors.setdefault(key, message[:1].upper() + message[1:])
    return errors


def order_body(
    form: dict[str, Any], email: str, address: dict[str, str], with_payment: bool
) -> dict[str, Any]:
    """`POST /api/checkout/validate` (or `/api/orders` with the payment method) from the
    form: the shopper's cart, the address, the shipping method, a promo code if typed."""
    method = str(form.get("shipping_method") or "standard")
    body: dict[str, Any] = {
        "email": email,
        "shipping_address": address,
        "shipping_method": method if method in SHIPPING_METHODS else "standard",
    }
    promo = str(form.get("promo_code") or "").strip()
    if promo:
        body["promo_code"] = promo
    if with_payment:
        body["payment_method"] = str(form.get("payment_method") or "")
    return body


def three_d_secure(state: Any) -> dict[str, Any] | None:
    """The payment waiting for the cardholder (3-D Secure) in a checkout state, if any."""
    if not isinstance(state, dict):
        return None
    payment = state.get("payment")
    if isinstance(payment, dict) and payment.get("status") == "requires_action":
        return payment
    return None


def local_challenge(payment: dict[str, Any]) -> bool:
    """Whether the challenge is the local stand-in (stripe-mock), answered by our API."""
    action = payment.get("next_action") or {}
    sdk = action.get("use_stripe_sdk") if isinstance(action, dict) else None
    target = sdk.get("stripe_js") if isinstance(sdk, dict) else None
    return isinstance(target, str) and target.startswith("/api/payments/")


# -- orders ------------------------------------------------------------------------------
STATUS_LABELS = {
    "pending": "Order received",
    "awaiting_payment": "Waiting for payment",
    "paid": "Paid",
    "fulfilling": "Being packed",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "payment_failed": "Payment failed",
    "refunded": "Refunded",
    "partially_refunded": "Partly refunded",
    # shipment statuses
    "label_created": "Label created",
    "picked_up": "Picked up by the carrier",
    "in_transit": "In transit",
    "out_for_delivery": "Out for delivery",
    "delayed": "Delayed",
    "delivery_failed": "Delivery attempt failed",
    "returned_to_sender": "Returned to sender",
}
GOOD = {"paid", "shipped", "delivered", "completed", "out_for_delivery"}
BAD = {"cancelled", "payment_failed", "delivery_failed", "returned_to_sender", "refunded"}
#: The order's road, for the progress steps.
ORDER_STEPS = ["pending", "paid", "fulfilling", "shipped", "delivered"]


def status_label(status: Any) -> str:
    text = str(status or "")
    return STATUS_LABELS.get(text, text.replace("_", " ").capitalize())


def status_tone(status: Any) -> str:
    text = str(status or "")
    return "ok" if text in GOOD else "bad" if text in BAD else "warn"


def order_steps(status: str) -> list[dict[str, Any]]:
    """The order's road with each step done, current or to come."""
    position = {"awaiting_payment": 0, "completed": 4}.get(status)
    if position is None:
        position = ORDER_STEPS.index(status) if status in ORDER_STEPS else -1
    return [
        {
            "status": s,
            "label": status_label(s),
            "state": "done" if i < position else "current" if i == position else "todo",
        }
        for i, s in enumerate(ORDER_STEPS)
    ]


ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


# -- live order updates (Server-Sent Events) -----------------------------------------------
SSE_KEEPALIVE = b": keep-alive\n\n"


def sse_retry(ms: int) -> bytes:
    return f"retry: {int(ms)}\n\n".encode()


def sse_frame(name: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    """One SSE frame: JSON on one `data:` line (json.dumps escapes newlines); an id that
    could break the framing is left out."""
    head = ""
    if event_id and not any(c in event_id for c in "\r\n\0"):
        head = f"id: {event_id}\n"
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{head}event: {name}\ndata: {body}\n\n".encode()


def _parcels(tracking: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """shipment id -> (status, number of carrier events): what moves a parcel."""
    return {
        str(s.get("shipment_id")): (str(s.get("status", "")), len(s.get("events") or []))
        for s in (tracking.get("shipments") or [])
        if isinstance(s, dict)
    }


class LiveState:
    """What a live stream last told the browser about an order: its status and version,
    and each parcel's status and scan count. `changes` gives the frames for what moved."""

    def __init__(self, status: str, version: int, parcels: dict[str, tuple[str, int]]):
        self.status = status
        self.version = version
        self.parcels = parcels

    @classmethod
    def of(cls, order: dict[str, Any], tracking: dict[str, Any]) -> "LiveState":
        return cls(str(order.get("status", "")), int(order.get("version") or 0), _parcels(tracking))

    def snapshot(self, tracking: dict[str, Any]) -> dict[str, Any]:
        return {**tracking, "status": self.status, "version": self.version}

    def changes(
        self, order: dict[str, Any], tracking: dict[str, Any]
    ) -> tuple[list[bytes], "LiveState"]:
        now = LiveState.of(order, tracking)
        frames: list[bytes] = []
        if now.version > self.version:
            frames.append(
                sse_frame(
                    "order",
                    {
                        "order_id": order.get("order_id"),
                        "order_number": order.get("order_number"),
                        "status": now.status,
                        "previous_status": self.status,
                        "version": now.version,
                    },
                    f"order-{now.version}",
                )
            )
        elif now.version < self.version:
            return [], self  # an older read (another replica): nothing went back
        shipments = {
            str(s.get("shipment_id")): s
            for s in (tracking.get("shipments") or [])
            if isinstance(s, dict)
        }
        for sid, state in now.parcels.items():
            if self.parcels.get(sid) != state:
                parcel = shipments[sid]
                latest = (parcel.get("events") or [{}])[-1]
                frames.append(
                    sse_frame(
                        "shipment",
                        {
                            "order_id": order.get("order_id"),
                            "shipment_id": sid,
                            "carrier": parcel.get("carrier"),
                            "tracking_number": parcel.get("tracking_number"),
                            "status": state[0],
                            "previous_status": (self.parcels.get(sid) or ("", 0))[0] or None,
                            "location": latest.get("location", ""),
                            "description": latest.get("description", ""),
                        },
                        f"{sid}-{state[1]}",
                    )
                )
        return frames, now
