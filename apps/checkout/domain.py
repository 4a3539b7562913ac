"""Pure checkout rules: price a request against catalog snapshots, a promotion, the
destination's tax and the shipping method; exactly the totals the order records and the
payment charges. Problems are collected (the validate endpoint shows them all; the saga
refuses an order that has any)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.checkout.rates import Rates
from apps.contracts.cart import PromoQuote, PromoTerms
from apps.contracts.catalog import Product, ProductStatus
from apps.contracts.checkout import (
    CheckoutItem,
    CheckoutQuote,
    PricedOrder,
    Problem,
    ShippingMethod,
)
from apps.contracts.money import quantize
from apps.contracts.orders import Address, OrderLine, Totals
from apps.contracts.promotions import promo_discount
from apps.contracts.tax import sales_tax

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PromoCheck:
    """A promo code as checkout found it: its terms (None: unknown code) and whether the
    customer's usage limits still allow it (`limit_problem`)."""

    code: str
    terms: PromoTerms | None
    limit_problem: str | None = None


def cart_items(cart: dict[str, Any] | None) -> tuple[list[CheckoutItem], str | None]:
    """What a cart snapshot (a CartActor `cart`) orders: its lines and its promo code."""
    lines = (cart or {}).get("items") or []
    items = [
        CheckoutItem(
            product_id=li["product_id"], variant_id=li["variant_id"], quantity=li["quantity"]
        )
        for li in lines
    ]
    return items, (cart or {}).get("promo_code")


def item_weight(product: Product, default: Decimal) -> Decimal:
    raw = product.attributes.get("weight_kg")
    try:
        weight = Decimal(raw) if raw is not None else default
    except InvalidOperation:
        return default
    return weight if weight > 0 else default


def quote(
    items: list[CheckoutItem],
    products: dict[str, Product],
    address: Address,
    method: ShippingMethod,
    promo: PromoCheck | None,
    now: datetime,
    rates: Rates,
) -> CheckoutQuote:
    problems: list[Problem] = []
    lines: list[OrderLine] = []
    currency: str | None = None
    weight = ZERO
    seen: set[tuple[str, str]] = set()
    for item in items:
        product = products.get(item.product_id)
        if product is None or product.status != ProductStatus.ACTIVE:
            problems.append(
                Problem(
                    code="unavailable",
                    message="This product is not available",
                    details={"product_id": item.product_id},
                )
            )
            continue
        variant = (
            next((v for v in product.variants if v.variant_id == item.variant_id), None)
            if item.variant_id
            else product.variants[0]
        )
        if variant is None:
            problems.append(
                Problem(
                    code="unknown_variant",
                    message="Unknown variant",
                    details={"product_id": item.product_id, "variant_id": item.variant_id},
                )
            )
            continue
        if (product.product_id, variant.variant_id) in seen:
            problems.append(
                Problem(
                    code="duplicate_line",
                    message="Each product variant may appear once",
                    details={"sku": variant.sku},
                )
            )
            continue
        seen.add((product.product_id, variant.variant_id))
        if currency not in (None, product.price.currency):
            problems.append(
                Problem(code="mixed_currency", message="All items must be priced in one currency")
            )
            continue
        currency = product.price.currency
        unit = quantize(product.price.amount + variant.price_adjustment)
        weight += item_weight(product, rates.default_item_weight_kg) * item.quantity
        lines.append(
            OrderLine(
                product_id=product.product_id,
                variant_id=variant.variant_id,
                sku=variant.sku,
                name=product.name,
                quantity=item.quantity,
                unit_price=unit,
                line_total=quantize(unit * item.quantity),
            )
        )
    currency = currency or "USD"
    subtotal = quantize(sum((line.line_total for line in lines), ZERO))

    discount, promo_quote = ZERO, None
    if promo is not None:
        if promo.terms is None:
            problems.append(
                Problem(
                    code="unknown_promo",
                    message=f"Unknown promo code {promo.code}",
                    details={"promo_code": promo.code},
                )
            )
        else:
            discount, why_not = promo_discount(promo.terms, subtotal, now)
            why_not = why_not or promo.limit_problem
            if why_not:
                discount = ZERO
                problems.append(
                    Problem(
                        code="promo_not_applicable", message=why_not, details={"code": promo.code}
                    )
                )
            promo_quote = PromoQuote(
                terms=promo.terms, discount=discount, applicable=why_not is None, reason=why_not
            )
    goods = subtotal - discount
    options = rates.shipping_options(address, weight, goods, currency)
    chosen = next((o for o in options if o.method == method), None)
    if chosen is None:
        problems.append(
            Problem(
                code="shipping_unavailable",
                message=f"{method.value.capitalize()} shipping is not available to "
                f"{rates.countries[address.country].name}",
                details={"available": [o.method.value for o in options]},
            )
        )
    shipping = chosen.amount if chosen else ZERO
    tax_rate = rates.tax_rate(address)
    tax = sales_tax(goods, tax_rate)
    totals = Totals(
        subtotal=subtotal,
        discount=discount,
        shipping=shipping,
        tax=tax,
        total=quantize(goods + shipping + tax),
        currency=currency,
    )
    priced = PricedOrder(
        lines=lines,
        totals=totals,
        promo_code=promo.terms.code if promo and promo.terms and discount > 0 else None,
        tax_rate=tax_rate,
        shipping_method=method,
        weight_kg=weight,
    )
    return CheckoutQuote(
        valid=not problems and bool(lines),
        priced=priced if lines else None,
        shipping_options=options,
        promo=promo_quote,
        problems=problems,
    )
