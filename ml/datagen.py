"""Reproducible shop data for the ML pipelines (`./taskw data`; fixed seeds).

Real shop data does not exist yet, so this generates checkouts with the fraud patterns a shop
sees. What models see (`checkouts.csv`: the checkout context the fraud app receives, and the
label) is kept apart from the generator's truth (`fraud_truth.csv`: which pattern made each
fraud case, and the latent risk), so no pipeline can learn from the answer key.

Fraud patterns (each a fraction of the fraud cases; legitimate shoppers show the same
signals at lower rates, so no single rule separates them):
- card testing bursts: many small orders within hours from a fresh payment method;
- new-account, high-value orders: an account a day old buying electronics or gift cards;
- billing/shipping mismatch: another country, often with a risky email domain;
- risky email domains: throwaway domains (also used by a few honest shoppers);
- velocity: several orders in a day on an account that usually orders monthly;
- account takeover: an old, good account with a larger basket and little else;
- odd hours: 01:00-05:00 local, mostly combined with the others.
Each signal is present only most of the time in its pattern.
Legitimate behaviour: account age from days to years, order size log-normal by category mix,
gifts shipped abroad (mismatch), night owls, repeat customers with a stable average basket,
and a few honest big-ticket buyers, bulk buyers and brand-new cards.
"""

import argparse
import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ml import demand, interactions

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / ".cache" / "ml-data"
SEED = 20261123

FREE_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"]
RISKY_DOMAINS = ["mailinator.com", "guerrillamail.com", "10minutemail.com", "trashmail.io"]
COMPANY_DOMAINS = ["contoso.com", "fabrikam.com", "example.org", "northwind.io"]
COUNTRIES = ["US", "US", "US", "US", "CA", "GB", "DE", "FR", "MX", "BR", "NG", "IN"]
PATTERNS = [
    "card_testing",
    "new_account_high_value",
    "mismatch",
    "risky_email",
    "velocity",
    "account_takeover",
]


@dataclass
class Checkout:
    """One checkout as the fraud app sees it (plus its label)."""

    checkout_id: str
    day: int  # days since the start of the data (for the time-based split)
    amount: float
    item_count: int
    share_electronics: float
    share_gift_cards: float
    account_age_days: float
    orders_last_24h: int
    orders_last_7d: int
    avg_order_amount: float  # the customer's earlier average (0 for a first order)
    email_domain: str
    shipping_country: str
    billing_country: str
    hour: int
    payment_method_age_days: float
    is_guest: int
    is_fraud: int


@dataclass
class Truth:
    checkout_id: str
    pattern: str
    latent_risk: float


def generate(
    n: int = 60_000, fraud_rate: float = 0.025, seed: int = SEED
) -> tuple[list[Checkout], list[Truth]]:
    rng = np.random.default_rng(seed)
    rows: list[Checkout] = []
    truth: list[Truth] = []
    n_fraud = int(n * fraud_rate)
    labels = np.zeros(n, dtype=int)
    labels[rng.choice(n, n_fraud, replace=False)] = 1
    days = np.sort(rng.uniform(0, 180, n))
    for i in range(n):
        fraud = bool(labels[i])
        pattern = (
            str(rng.choice(PATTERNS, p=[0.18, 0.22, 0.18, 0.12, 0.15, 0.15])) if fraud else "none"
        )
        row = _legit(rng, i, days[i]) if not fraud else _fraud(rng, i, days[i], pattern)
        rows.append(row)
        truth.append(Truth(row.checkout_id, pattern, round(float(_latent(row)), 4)))
    return rows, truth


def _legit(rng: np.random.Generator, i: int, day: float) -> Checkout:
    electronics = float(rng.beta(1.2, 4))
    gift = float(rng.beta(0.3, 12)) * (1 - electronics)
    items = int(rng.integers(1, 7))
    amount = float(np.exp(rng.normal(4.1 + 1.2 * electronics, 0.7)))
    if rng.random() < 0.02:  # honest big-ticket purchases
        amount = float(np.exp(rng.normal(6.3, 0.6)))
    account_age = float(rng.choice([rng.uniform(0, 3), rng.uniform(3, 2000)], p=[0.06, 0.94]))
    guest = int(rng.random() < 0.18)
    if guest:
        account_age = 0.0
    # A repeat customer's earlier average: today's basket is often well above or below it.
    first = account_age < 3 or rng.random() < 0.1
    history = 0.0 if first else float(amount * np.exp(rng.normal(0, 0.5)))
    country = str(rng.choice(COUNTRIES))
    gift_abroad = rng.random() < 0.07
    billing = str(rng.choice(COUNTRIES)) if gift_abroad else country
    domain_kind = rng.random()
    domain = (
        str(rng.choice(RISKY_DOMAINS))
        if domain_kind < 0.012
        else str(rng.choice(COMPANY_DOMAINS))
        if domain_kind < 0.25
        else str(rng.choice(FREE_DOMAINS))
    )
    hour = int(rng.choice(24, p=_hour_profile(night_owl=rng.random() < 0.08)))
    last_24h = int(rng.poisson(0.08)) if rng.random() > 0.02 else int(rng.integers(2, 7))
    return Checkout(
        checkout_id=f"c{i:07d}",
        day=int(day),
        amount=round(amount, 2),
        item_count=items,
        share_electronics=round(electronics, 3),
        share_gift_cards=round(gift, 3),
        account_age_days=round(account_age, 2),
        orders_last_24h=last_24h,
        orders_last_7d=last_24h + int(rng.poisson(0.3)),
        avg_order_amount=round(history, 2),
        email_domain=domain,
        shipping_country=country,
        billing_country=billing,
        hour=hour,
        payment_method_age_days=round(
            float(rng.exponential(300) if rng.random() > 0.05 else rng.uniform(0, 3)), 2
        ),
        is_guest=guest,
        is_fraud=0,
    )


def _fraud(rng: np.random.Generator, i: int, day: float, pattern: str) -> Checkout:
    """A fraud case: a legitimate-looking checkout with its pattern's signals, each present
    only most of the time (fraudsters imitate shoppers; some cases look nearly clean)."""
    row = _legit(rng, i, day)
    row.is_fraud = 1

    def often(p: float = 0.7) -> bool:
        return bool(rng.random() < p)

    if often(0.3):  # fraudsters keep odd hours more often than shoppers
        row.hour = int(rng.integers(1, 6))
    if pattern == "card_testing":
        row.amount = round(float(rng.uniform(1, 25)), 2)
        row.item_count = 1
        if often(0.75):
            row.orders_last_24h = int(rng.integers(2, 20))
            row.orders_last_7d = row.orders_last_24h + int(rng.integers(0, 5))
        if often(0.7):
            row.payment_method_age_days = round(float(rng.uniform(0, 2)), 2)
        if often(0.5):
            row.share_gift_cards = round(float(rng.beta(2, 3)) * (1 - row.share_electronics), 3)
    elif pattern == "new_account_high_value":
        if often(0.8):
            row.account_age_days = round(float(rng.uniform(0, 4)), 2)
            row.avg_order_amount = 0.0
        row.amount = round(float(np.exp(rng.normal(6.0, 0.7))), 2)
        if often(0.7):
            row.share_electronics = round(float(rng.beta(4, 2)), 3)
            row.share_gift_cards = round(float(rng.beta(1.5, 6)), 3)
        if often(0.6):
            row.payment_method_age_days = round(float(rng.uniform(0, 5)), 2)
    elif pattern == "mismatch":
        if often(0.8):
            row.billing_country = str(
                rng.choice([c for c in COUNTRIES if c != row.shipping_country])
            )
        row.amount = round(row.amount * float(rng.uniform(1.2, 3)), 2)
        if often(0.35):
            row.email_domain = str(rng.choice(RISKY_DOMAINS))
        if often(0.5):
            row.payment_method_age_days = round(float(rng.exponential(10)), 2)
    elif pattern == "risky_email":
        if often(0.75):
            row.email_domain = str(rng.choice(RISKY_DOMAINS))
        if often(0.6):
            row.account_age_days = round(float(rng.uniform(0, 15)), 2)
        row.amount = round(row.amount * float(rng.uniform(1.0, 2.5)), 2)
    elif pattern == "velocity":
        if often(0.75):
            row.orders_last_24h = int(rng.integers(1, 6))
            row.orders_last_7d = row.orders_last_24h + int(rng.integers(0, 8))
        if row.avg_order_amount > 0:
            row.amount = round(row.avg_order_amount * float(rng.uniform(1.3, 5)), 2)
        if often(0.5):
            row.payment_method_age_days = round(float(rng.exponential(20)), 2)
    elif pattern == "account_takeover":  # an old, good account: only subtle changes
        row.amount = round(row.amount * float(rng.uniform(1.1, 2.5)), 2)
        if often(0.4):
            row.payment_method_age_days = round(float(rng.exponential(15)), 2)
        if often(0.3):
            row.billing_country = str(rng.choice(COUNTRIES))
    total = row.share_electronics + row.share_gift_cards
    if total > 1:  # shares of one amount
        row.share_electronics = round(row.share_electronics / total - 0.0005, 3)
        row.share_gift_cards = round(row.share_gift_cards / total - 0.0005, 3)
    return row


def _hour_profile(night_owl: bool) -> np.ndarray:
    base = np.array(
        [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4, 4, 5, 5, 4, 4, 4, 5, 6, 7, 7, 6, 4, 2]
    )
    if night_owl:
        base[:6] *= 6
    return np.asarray(base / base.sum())


def _latent(row: Checkout) -> float:
    """The generator's own risk score, for analysis only (never a model input)."""
    return (
        0.3 * (row.orders_last_24h >= 3)
        + 0.3 * (row.account_age_days < 2 and row.amount > 400)
        + 0.2 * (row.billing_country != row.shipping_country)
        + 0.2 * (row.email_domain in RISKY_DOMAINS)
    )


def write(out: Path = DATA_DIR, n: int = 60_000, seed: int = SEED) -> Path:
    rows, truth = generate(n=n, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    for name, items in (("checkouts.csv", rows), ("fraud_truth.csv", truth)):
        with (out / name).open("w", newline="") as fh:
            records = [asdict(r) for r in items]
            writer = csv.DictWriter(fh, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--checkouts", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    out = write(args.out, args.checkouts, args.seed)
    print(f"wrote {args.checkouts} checkouts to {out}")
    sales = demand.write(args.out)
    shoppers = interactions.write(args.out)
    print(f"wrote views and purchases of {interactions.DEFAULT_USERS} shoppers to {shoppers}")
    print(f"wrote daily sales of {demand.DEFAULT_SKUS} SKUs over {demand.DAYS} days to {sales}")


if __name__ == "__main__":
    main()
