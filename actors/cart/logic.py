"""The cart's rules, pure: lines, quantities, promotions, merges, re-validation and totals.

No Dapr, no clocks (callers pass `now`), no I/O: what the catalog says about a product
arrives as a `LineSnapshot`, what checkout says about a promotion as `PromoTerms`.
Every function returns a new cart or a `Refused` (and then the cart is unchanged).
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from apps.contracts.cart import (
    Cart,
    CartError,
    CartErrorCode,
    CartLine,
    CartOwner,
    CartTotals,
    LineIssue,
    LineIssueCode,
    LineSnapshot,
    PromoTerms,
    TaxDestination,
)
from apps.contracts.money import quantize
from apps.contracts.promotions import promo_discount
from apps.contracts.tax import estimated_tax, sales_tax

ZERO = Decimal("0.00")
MERGED_FROM_KEPT = 20


@dataclass(frozen=True)
class Limits:
    max_line_quantity: int = 99
    max_lines: int = 50
    guest_ttl: timedelta = timedelta(days=14)
    user_ttl: timedelta = timedelta(days=90)

    def ttl(self, owner: CartOwner) -> timedelta:
        return self.guest_ttl if owner == CartOwner.GUEST else self.user_ttl


@dataclass(frozen=True)
class Refused:
    error: CartError


def refuse(code: CartErrorCode, message: str, **details: Any) -> Refused:
    return Refused(CartError(code=code, message=message, details=details))


Outcome = Cart | Refused


# -- identity and life ---------------------------------------------------------------------
def owner_of(cart_id: str) -> tuple[CartOwner, str]:
    """`guest-{session}` or `user-{user_id}` (the actor id names the owner)."""
    kind, _, ident = cart_id.partition("-")
    if kind not in (CartOwner.GUEST, CartOwner.USER) or not ident:
        raise ValueError(f"not a cart id: {cart_id!r}")
    return CartOwner(kind), ident


def new_cart(cart_id: str, now: datetime, limits: Limits) -> Cart:
    owner, ident = owner_of(cart_id)
    return Cart(
        cart_id=cart_id,
        owner=owner,
        user_id=ident if owner == CartOwner.USER else None,
        session_id=ident if owner == CartOwner.GUEST else None,
        created_at=now,
        updated_at=now,
        expires_at=now + limits.ttl(owner),
    )


def line_id(product_id: str, variant_id: str) -> str:
    """Deterministic: the same product and variant is always the same line."""
    digest = hashlib.sha256(f"{product_id}\x00{variant_id}".encode()).hexdigest()
    return f"ci-{digest[:16]}"


def is_expired(cart: Cart, now: datetime) -> bool:
    return now >= cart.expires_at


# -- line changes --------------------------------------------------------------------------
def add(cart: Cart, snap: LineSnapshot, quantity: int, now: datetime, limits: Limits) -> Outcome:
    refused = _sellable(snap)
    if refused:
        return refused
    assert snap.variant_id is not None and snap.sku is not None
    item_id = line_id(snap.product_id, snap.variant_id)
    existing = find_line(cart, item_id)
    if existing is None and len(cart.items) >= limits.max_lines:
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            f"A cart holds at most {limits.max_lines} different items",
            reason="too_many_lines",
            max_lines=limits.max_lines,
        )
    wanted = quantity + (existing.quantity if existing else 0)
    refused = _quantity_ok(snap, wanted, limits)
    if refused:
        return refused
    currency_refused = _same_currency(cart, snap, item_id)
    if currency_refused:
        return currency_refused
    line = _line(snap, wanted, existing.added_at if existing else now)
    items = [line if i.cart_item_id == item_id else i for i in cart.items]
    if existing is None:
        items.append(line)
    return touch(cart, now, limits, items=items)


def update(
    cart: Cart, item_id: str, snap: LineSnapshot, quantity: int, now: datetime, limits: Limits
) -> Outcome:
    existing = find_line(cart, item_id)
    if existing is None:
        return no_line(item_id)
    refused = (
        _sellable(snap)
        or _quantity_ok(snap, quantity, limits)
        or _same_currency(cart, snap, item_id)
    )
    if refused:
        return refused
    line = _line(snap, quantity, existing.added_at)
    items = [line if i.cart_item_id == item_id else i for i in cart.items]
    return touch(cart, now, limits, items=items)


def remove(cart: Cart, item_id: str, now: datetime, limits: Limits) -> Outcome:
    if find_line(cart, item_id) is None:
        return no_line(item_id)
    return touch(cart, now, limits, items=[i for i in cart.items if i.cart_item_id != item_id])


def clear(cart: Cart, now: datetime, limits: Limits) -> Cart:
    return touch(cart, now, limits, items=[], promo=None, promo_code=None)


# -- promotions ----------------------------------------------------------------------------
def apply_promo(cart: Cart, terms: PromoTerms, now: datetime, limits: Limits) -> Outcome:
    if not cart.items:
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            "Add items before applying a promo code",
            reason="empty_cart",
        )
    _, problem = promo_discount(terms, subtotal(cart.items), now)
    if problem:
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            problem,
            reason="promo_not_applicable",
            promo_code=terms.code,
        )
    return touch(cart, now, limits, promo=terms, promo_code=terms.code)


def remove_promo(cart: Cart, now: datetime, limits: Limits) -> Outcome:
    if cart.promo is None:
        return refuse(CartErrorCode.RESOURCE_NOT_FOUND, "No promo code is applied")
    return touch(cart, now, limits, promo=None, promo_code=None)


# -- merge ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class MergeResult:
    cart: Cart
    dropped: list[str]  # cart_item_ids that did not fit (max lines)


def merge(
    target: Cart,
    source_id: str,
    lines: Iterable[CartLine],
    promo: PromoTerms | None,
    now: datetime,
    limits: Limits,
) -> MergeResult:
    """Rules: the same product+variant adds up (capped at the per-line maximum); new lines
    keep their snapshot price and join until the cart is full (the rest, and lines in
    another currency, are reported); the user's promotion wins, else the guest's is kept;
    merging the same source twice is a no-op. Stock is not checked here: re-validation
    flags any line short of stock."""
    if source_id in target.merged_from:
        return MergeResult(target, [])
    items = list(target.items)
    dropped: list[str] = []
    for line in lines:
        currencies = {i.currency for i in items}
        if currencies and line.currency not in currencies:
            dropped.append(line.cart_item_id)  # one currency per cart
            continue
        idx = next((n for n, i in enumerate(items) if i.cart_item_id == line.cart_item_id), None)
        if idx is not None:
            mine = items[idx]
            qty = min(limits.max_line_quantity, mine.quantity + line.quantity)
            items[idx] = _with_quantity(mine, qty)
        elif len(items) < limits.max_lines:
            items.append(_with_quantity(line, min(line.quantity, limits.max_line_quantity)))
        else:
            dropped.append(line.cart_item_id)
    chosen = target.promo or promo
    merged_from = [*target.merged_from, source_id][-MERGED_FROM_KEPT:]
    cart = touch(
        target,
        now,
        limits,
        items=items,
        promo=chosen,
        promo_code=chosen.code if chosen else None,
        merged_from=merged_from,
    )
    return MergeResult(cart, dropped)


# -- re-validation and totals --------------------------------------------------------------
def revalidate(cart: Cart, snaps: Mapping[str, LineSnapshot], now: datetime) -> Cart:
    """Flag lines whose price, stock or availability changed since they were added; the
    snapshot price stays (nothing changes silently). `snaps` is keyed by cart_item_id; a
    line without a snapshot keeps its previous flags."""
    items = [
        line.model_copy(update={"issues": line_issues(line, snaps[line.cart_item_id])})
        if line.cart_item_id in snaps
        else line
        for line in cart.items
    ]
    return _recount(cart.model_copy(update={"items": items}), now)


def line_issues(line: CartLine, snap: LineSnapshot) -> list[LineIssue]:
    if not snap.found or not snap.active or snap.unit_price is None:
        return [
            LineIssue(code=LineIssueCode.UNAVAILABLE, message="This item is no longer available")
        ]
    issues: list[LineIssue] = []
    if snap.unit_price != line.unit_price:
        issues.append(
            LineIssue(
                code=LineIssueCode.PRICE_CHANGED,
                message=f"The price changed from {line.unit_price:.2f} to {snap.unit_price:.2f}",
                current_price=snap.unit_price,
            )
        )
    if snap.available <= 0:
        issues.append(
            LineIssue(code=LineIssueCode.OUT_OF_STOCK, message="Out of stock", available=0)
        )
    elif snap.available < line.quantity:
        issues.append(
            LineIssue(
                code=LineIssueCode.INSUFFICIENT_STOCK,
                message=f"Only {snap.available} left",
                available=snap.available,
            )
        )
    return issues


def subtotal(items: Iterable[CartLine]) -> Decimal:
    return quantize(sum((i.line_total for i in items), ZERO))


def totals(
    items: list[CartLine],
    promo: PromoTerms | None,
    now: datetime,
    destination: TaxDestination | None = None,
) -> tuple[CartTotals, str | None]:
    """Subtotal of the lines, the promotion's discount, and the tax on what is left: with a
    destination exactly what checkout charges there (`apps.contracts.tax.sales_tax`, the
    same function), else an estimate from each product's own rate."""
    sub = subtotal(items)
    discount, problem = promo_discount(promo, sub, now) if promo else (ZERO, None)
    goods = sub - discount
    if destination is not None:
        tax = sales_tax(goods, destination.tax_rate)
    else:
        tax = estimated_tax(((i.line_total, i.tax_rate) for i in items), sub, goods)
    currency = items[0].currency if items else "USD"
    return (
        CartTotals(
            item_count=sum(i.quantity for i in items),
            subtotal=sub,
            discount=discount,
            tax_estimate=tax,
            total_estimate=quantize(goods + tax),
            currency=currency,
            tax_basis="destination" if destination is not None else "estimate",
        ),
        problem,
    )


def set_destination(
    cart: Cart, destination: TaxDestination | None, now: datetime, limits: Limits
) -> Outcome:
    """Where the cart will ship (its tax follows); None for a destination nobody ships to."""
    if destination is None:
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            "We do not ship to this country",
            reason="unsupported_destination",
        )
    return touch(cart, now, limits, destination=destination)


def touch(cart: Cart, now: datetime, limits: Limits, **changes: Any) -> Cart:
    """A changed cart: new version, activity time, expiry and totals."""
    updated = cart.model_copy(
        update={
            **changes,
            "updated_at": now,
            "expires_at": now + limits.ttl(cart.owner),
            "version": cart.version + 1,
        }
    )
    return _recount(updated, now)


# -- helpers -------------------------------------------------------------------------------
def _recount(cart: Cart, now: datetime) -> Cart:
    sums, problem = totals(cart.items, cart.promo, now, cart.destination)
    return cart.model_copy(
        update={
            "totals": sums,
            "promo_issue": problem,
            "valid": not any(i.issues for i in cart.items),
        }
    )


def find_line(cart: Cart, item_id: str) -> CartLine | None:
    return next((i for i in cart.items if i.cart_item_id == item_id), None)


def no_line(item_id: str) -> Refused:
    return refuse(
        CartErrorCode.RESOURCE_NOT_FOUND, "No such item in the cart", cart_item_id=item_id
    )


def _sellable(snap: LineSnapshot) -> Refused | None:
    if not snap.found:
        what = "variant" if snap.variant_id else "product"
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            f"Unknown {what}",
            reason=f"unknown_{what}",
            product_id=snap.product_id,
            variant_id=snap.variant_id,
        )
    if not snap.active or snap.unit_price is None or snap.variant_id is None or not snap.sku:
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            "This product is not available for sale",
            reason="unavailable",
            product_id=snap.product_id,
        )
    return None


def _quantity_ok(snap: LineSnapshot, quantity: int, limits: Limits) -> Refused | None:
    if quantity > limits.max_line_quantity:
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            f"At most {limits.max_line_quantity} of one item per order",
            reason="max_quantity",
            max_quantity=limits.max_line_quantity,
            requested=quantity,
        )
    if quantity > snap.available:
        return refuse(
            CartErrorCode.CONFLICT,
            "Not enough stock" if snap.available > 0 else "Out of stock",
            reason="insufficient_stock",
            sku=snap.sku,
            available=max(snap.available, 0),
            requested=quantity,
        )
    return None


def _same_currency(cart: Cart, snap: LineSnapshot, item_id: str) -> Refused | None:
    others = {i.currency for i in cart.items if i.cart_item_id != item_id}
    if others and snap.currency not in others:
        return refuse(
            CartErrorCode.UNPROCESSABLE_ENTITY,
            "All items of a cart must share one currency",
            reason="currency_mismatch",
            cart_currency=sorted(others)[0],
            item_currency=snap.currency,
        )
    return None


def _line(snap: LineSnapshot, quantity: int, added_at: datetime) -> CartLine:
    assert snap.variant_id is not None and snap.sku is not None and snap.unit_price is not None
    return CartLine(
        cart_item_id=line_id(snap.product_id, snap.variant_id),
        product_id=snap.product_id,
        variant_id=snap.variant_id,
        sku=snap.sku,
        name=snap.name,
        variant_name=snap.variant_name,
        quantity=quantity,
        unit_price=snap.unit_price,
        line_total=quantize(snap.unit_price * quantity),
        currency=snap.currency,
        tax_rate=snap.tax_rate,
        image_url=snap.image_url,
        added_at=added_at,
    )


def _with_quantity(line: CartLine, quantity: int) -> CartLine:
    return line.model_copy(
        update={"quantity": quantity, "line_total": quantize(line.unit_price * quantity)}
    )


# -- op ids (Idempotency-Key) -------------------------------------------------------------
def op_entry(op_id: str, command: str, fields: dict[str, Any]) -> str:
    """What is remembered of an applied op: its id and a digest of what it asked for
    (`command` and its fields, the op id aside), so a retry can be told from a reuse."""
    canonical = json.dumps(
        {"command": command, **{k: v for k, v in fields.items() if k != "op_id"}},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"{op_id}#{hashlib.sha256(canonical.encode()).hexdigest()[:24]}"


def seen_op(ops: list[str], entry: str) -> Literal["new", "replay", "reused"]:
    """`replay` for the same op again, `reused` for the same id with another request (an
    entry from before digests were kept replays), `new` otherwise."""
    op_id = entry.rsplit("#", 1)[0]
    for known in ops:
        known_id, _, digest = known.rpartition("#") if "#" in known else (known, "", "")
        if known_id == op_id:
            return "replay" if not digest or known == entry else "reused"
    return "new"


def op_reused(op_id: str) -> Refused:
    return refuse(
        CartErrorCode.UNPROCESSABLE_ENTITY,
        "This Idempotency-Key was used for a different change of this cart",
        reason="idempotency_key_reused",
        op_id=op_id,
    )
