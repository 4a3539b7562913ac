"""Pure checkout rules: price a request against catalog snapshots."""

from decimal import Decimal

from apps.contracts.catalog import Product, ProductStatus
from apps.contracts.checkout import CheckoutItem, PricedOrder
from apps.contracts.errors import InvalidRequest, UnprocessableError
from apps.contracts.money import quantize
from apps.contracts.orders import OrderLine, Totals


def price_lines(items: list[CheckoutItem], products: dict[str, Product]) -> PricedOrder:
    """Lines and totals exactly as the order will record them.

    Raises UnprocessableError (shopper-readable) for unknown or inactive items. Stock is not
    judged here from the product snapshot: the reservation step holds it, all or nothing.
    """
    lines: list[OrderLine] = []
    currency: str | None = None
    tax = Decimal("0")
    seen: set[tuple[str, str]] = set()
    for item in items:
        product = products.get(item.product_id)
        if product is None or product.status != ProductStatus.ACTIVE:
            raise UnprocessableError("This product is not available", product_id=item.product_id)
        variant = (
            next((v for v in product.variants if v.variant_id == item.variant_id), None)
            if item.variant_id
            else product.variants[0]
        )
        if variant is None:
            raise UnprocessableError(
                "Unknown variant", product_id=item.product_id, variant_id=item.variant_id
            )
        if (product.product_id, variant.variant_id) in seen:
            raise InvalidRequest("Each product variant may appear once", sku=variant.sku)
        seen.add((product.product_id, variant.variant_id))
        if currency not in (None, product.price.currency):
            raise UnprocessableError("All items must be priced in one currency")
        currency = product.price.currency
        unit = quantize(product.price.amount + variant.price_adjustment)
        line_total = quantize(unit * item.quantity)
        tax += line_total * product.price.tax_rate
        lines.append(
            OrderLine(
                product_id=product.product_id,
                variant_id=variant.variant_id,
                sku=variant.sku,
                name=product.name,
                quantity=item.quantity,
                unit_price=unit,
                line_total=line_total,
            )
        )
    subtotal = quantize(sum((line.line_total for line in lines), Decimal("0")))
    tax = quantize(tax)
    totals = Totals(subtotal=subtotal, tax=tax, total=subtotal + tax, currency=currency or "USD")
    return PricedOrder(lines=lines, totals=totals)
