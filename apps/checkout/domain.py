"""Pure checkout rules: price a request against catalog snapshots, a promotion, the
destination's tax and the shipping method; exactly the totals the order records and the
payment charges. Problems are collected (the validate endpoint shows them all; the saga
refuses an order that has any). And what fraud scoring sees of an order and its customer."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from apps.checkout.rates import Rates
from apps.contracts.cart import Cart, PromoQuote, PromoTerms
from apps.contracts.catalog import Product, ProductStatus
from apps.contracts.checkout import (
    CheckoutItem,
    CheckoutQuote,
    FraudFacts,
    PricedOrder,
    Problem,
    ScoreStep,
    ShippingMethod,
    ShippingOption,
)
from apps.contracts.fraud import FraudContext
from apps.contracts.identity import AccountStanding
from apps.contracts.money import quantize
from apps.contracts.orders import Address, CustomerHistory, OrderLine, Totals
from apps.contracts.payments import PaymentStatus
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


def cart_items(cart: Cart | None) -> tuple[list[CheckoutItem], str | None]:
    """What a cart snapshot orders: its lines and its promo code."""
    if cart is None:
        return [], None
    items = [
        CheckoutItem(product_id=li.product_id, variant_id=li.variant_id, quantity=li.quantity)
        for li in cart.items
    ]
    return items, cart.promo_code


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
    """The order as it would be charged: its lines, the promo's discount, shipping and tax;
    `valid` only with no problem and at least one line."""
    basket = price_lines(items, products, rates.default_item_weight_kg)
    subtotal = quantize(sum((line.line_total for line in basket.lines), ZERO))
    discount, promo_quote, promo_problems = apply_promo(promo, subtotal, now)
    goods = subtotal - discount
    delivery = ship_and_tax(address, method, basket.weight, goods, basket.currency, rates)
    totals = Totals(
        subtotal=subtotal,
        discount=discount,
        shipping=delivery.shipping,
        tax=delivery.tax,
        total=quantize(goods + delivery.shipping + delivery.tax),
        currency=basket.currency,
    )
    priced = PricedOrder(
        lines=basket.lines,
        totals=totals,
        promo_code=promo.terms.code if promo and promo.terms and discount > 0 else None,
        tax_rate=delivery.tax_rate,
        shipping_method=method,
        weight_kg=basket.weight,
    )
    problems = [*basket.problems, *promo_problems, *delivery.problems]
    return CheckoutQuote(
        valid=not problems and bool(basket.lines),
        priced=priced if basket.lines else None,
        shipping_options=delivery.options,
        promo=promo_quote,
        problems=problems,
    )


@dataclass(frozen=True)
class Basket:
    lines: list[OrderLine]
    currency: str
    weight: Decimal
    problems: list[Problem]


def price_lines(
    items: list[CheckoutItem], products: dict[str, Product], default_weight: Decimal
) -> Basket:
    """Each item priced from its product snapshot (the variant's adjustment included); an
    unavailable product, unknown variant, repeated variant or second currency is a problem."""
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
        weight += item_weight(product, default_weight) * item.quantity
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
    return Basket(lines=lines, currency=currency or "USD", weight=weight, problems=problems)


def apply_promo(
    promo: PromoCheck | None, subtotal: Decimal, now: datetime
) -> tuple[Decimal, PromoQuote | None, list[Problem]]:
    """The promo's discount on the subtotal (zero, with the reason, when it does not apply)."""
    if promo is None:
        return ZERO, None, []
    if promo.terms is None:
        unknown = Problem(
            code="unknown_promo",
            message=f"Unknown promo code {promo.code}",
            details={"promo_code": promo.code},
        )
        return ZERO, None, [unknown]
    discount, why_not = promo_discount(promo.terms, subtotal, now)
    why_not = why_not or promo.limit_problem
    problems = []
    if why_not:
        discount = ZERO
        problems.append(
            Problem(code="promo_not_applicable", message=why_not, details={"code": promo.code})
        )
    quoted = PromoQuote(
        terms=promo.terms, discount=discount, applicable=why_not is None, reason=why_not
    )
    return discount, quoted, problems


@dataclass(frozen=True)
class Delivery:
    options: list[ShippingOption]
    shipping: Decimal
    tax_rate: Decimal
    tax: Decimal
    problems: list[Problem]


def ship_and_tax(
    address: Address,
    method: ShippingMethod,
    weight: Decimal,
    goods: Decimal,
    currency: str,
    rates: Rates,
) -> Delivery:
    """The shipping options to the address, the chosen method's price, and the
    destination's tax on the goods after discount."""
    options = rates.shipping_options(address, weight, goods, currency)
    chosen = next((o for o in options if o.method == method), None)
    problems = []
    if chosen is None:
        problems.append(
            Problem(
                code="shipping_unavailable",
                message=f"{method.value.capitalize()} shipping is not available to "
                f"{rates.countries[address.country].name}",
                details={"available": [o.method.value for o in options]},
            )
        )
    tax_rate = rates.tax_rate(address)
    return Delivery(
        options=options,
        shipping=chosen.amount if chosen else ZERO,
        tax_rate=tax_rate,
        tax=sales_tax(goods, tax_rate),
        problems=problems,
    )


# -- fraud scoring's view of an order -------------------------------------------------------
def fraud_facts(priced: PricedOrder, products: dict[str, Product]) -> FraudFacts:
    """What only pricing knows: the amount, the item count, the share of risky categories."""
    total = sum((line.line_total for line in priced.lines), ZERO)

    def share(test: Callable[[str], bool]) -> float:
        if total <= 0:
            return 0.0
        part = sum(
            (li.line_total for li in priced.lines if test(products[li.product_id].category_slug)),
            ZERO,
        )
        return round(float(part / total), 6)

    return FraudFacts(
        amount=priced.totals.total,
        currency=priced.totals.currency,
        item_count=sum(line.quantity for line in priced.lines),
        share_electronics=share(lambda slug: slug.startswith("electronics")),
        share_gift_cards=share(lambda slug: "gift-card" in slug),
    )


def fraud_context(
    step: ScoreStep,
    hour: int,
    standing: AccountStanding | None,
    history: CustomerHistory | None,
    now: datetime,
) -> FraudContext:
    """The context the fraud model scores. A signed-in customer brings the account's age,
    how long the payment method has been saved, and the account's earlier orders; a guest
    (or an account checkout cannot find) has none of them."""
    return FraudContext(
        amount=float(step.facts.amount),
        currency=step.facts.currency,
        item_count=step.facts.item_count,
        share_electronics=step.facts.share_electronics,
        share_gift_cards=step.facts.share_gift_cards,
        account_age_days=_days_since(standing.created_at if standing else None, now),
        orders_last_24h=history.orders_last_24h if history else 0,
        orders_last_7d=history.orders_last_7d if history else 0,
        avg_order_amount=float(history.avg_order_amount) if history else 0.0,
        email=step.email,
        shipping_country=step.shipping_address.country,
        billing_country=step.billing_country,
        hour=hour,
        payment_method_age_days=_days_since(
            standing.payment_method_added_at if standing else None, now
        ),
        is_guest=step.user_id is None,
        order_id=step.order_id,
    )


def _days_since(then: datetime | None, now: datetime) -> float:
    """Whole and fractional days from `then` to `now` (0 without one; never negative)."""
    if then is None:
        return 0.0
    return round(min(max((now - then).total_seconds() / 86400, 0.0), 36_500.0), 3)


# -- waiting for the payment ------------------------------------------------------------------
PAYMENT_NOT_COMPLETED = "Payment was not completed in time"
AUTHENTICATION_NOT_COMPLETED = (
    "Card authentication (3-D Secure) was not completed in time, so the payment was cancelled"
)


@dataclass(frozen=True)
class PaymentWait:
    """How the saga waits for a payment's result: how long, whether the shopper must act
    first (3-D Secure), and the reason the order is cancelled with if nothing comes."""

    seconds: int
    shopper_acts: bool
    timeout_reason: str


def payment_wait(
    status: PaymentStatus, payment_timeout: int, authentication_timeout: int | None
) -> PaymentWait | None:
    """None when the confirmation was final. A payment held for the cardholder's
    authentication waits for a person (a bank app, an SMS code): its own, longer timeout,
    so a buyer who is authenticating is not cancelled by the payment timeout meant for
    Stripe's webhook. Sagas started without one keep the payment timeout."""
    if status == PaymentStatus.REQUIRES_ACTION:
        return PaymentWait(
            seconds=authentication_timeout or payment_timeout,
            shopper_acts=True,
            timeout_reason=AUTHENTICATION_NOT_COMPLETED,
        )
    if status == PaymentStatus.PROCESSING:
        return PaymentWait(
            payment_timeout, shopper_acts=False, timeout_reason=PAYMENT_NOT_COMPLETED
        )
    return None
