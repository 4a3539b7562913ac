"""The fraud features: one function, used by training and by serving alike.

Changing the list or the way a feature is computed changes `FEATURE_SCHEMA`; a model
trained on another schema is refused at start (retrain with `./taskw train`).
"""

import hashlib
import math

from apps.contracts.fraud import FraudContext

RISKY_EMAIL_DOMAINS = frozenset(
    {"mailinator.com", "guerrillamail.com", "10minutemail.com", "trashmail.io", "yopmail.com"}
)
FREE_EMAIL_DOMAINS = frozenset(
    {"gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "hotmail.com"}
)

FEATURES: tuple[str, ...] = (
    "log_amount",
    "item_count",
    "share_electronics",
    "share_gift_cards",
    "log_account_age",
    "orders_last_24h",
    "orders_last_7d",
    "amount_vs_average",
    "first_order",
    "address_mismatch",
    "risky_email_domain",
    "free_email_domain",
    "hour_sin",
    "hour_cos",
    "odd_hour",
    "log_payment_method_age",
    "is_guest",
)
FEATURE_VERSION = 1
FEATURE_SCHEMA = hashlib.sha256(f"{FEATURE_VERSION}:{','.join(FEATURES)}".encode()).hexdigest()[:16]


def features(ctx: FraudContext) -> list[float]:
    domain = str(ctx.email).rsplit("@", 1)[-1].lower()
    angle = 2 * math.pi * ctx.hour / 24
    return [
        math.log1p(ctx.amount),
        float(ctx.item_count),
        ctx.share_electronics,
        ctx.share_gift_cards,
        math.log1p(ctx.account_age_days),
        float(ctx.orders_last_24h),
        float(ctx.orders_last_7d),
        ctx.amount / ctx.avg_order_amount if ctx.avg_order_amount > 0 else 0.0,
        1.0 if ctx.avg_order_amount == 0 else 0.0,
        1.0 if ctx.shipping_country != ctx.billing_country else 0.0,
        1.0 if domain in RISKY_EMAIL_DOMAINS else 0.0,
        1.0 if domain in FREE_EMAIL_DOMAINS else 0.0,
        math.sin(angle),
        math.cos(angle),
        1.0 if 1 <= ctx.hour <= 5 else 0.0,
        math.log1p(ctx.payment_method_age_days),
        1.0 if ctx.is_guest else 0.0,
    ]


def rule_score(ctx: FraudContext) -> float:
    """The rule-based baseline a shop starts with: points per classic red flag."""
    domain = str(ctx.email).rsplit("@", 1)[-1].lower()
    return (
        2.0 * (ctx.orders_last_24h >= 3)
        + 2.0 * (ctx.account_age_days < 2 and ctx.amount > 500)
        + 1.5 * (ctx.shipping_country != ctx.billing_country)
        + 1.5 * (domain in RISKY_EMAIL_DOMAINS)
        + 1.0 * (1 <= ctx.hour <= 5)
        + 1.0 * (ctx.payment_method_age_days < 1)
    )
