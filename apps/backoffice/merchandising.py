"""Merchandising rules (pure): the low-stock alert a SKU carries from inventory events, the
reorder quantity from a forecast, the decisions on a price suggestion, the fraud review
queue's states, and how each list is ordered and paged. Dapr and HTTP are in
merchandising_service.py / merchandising_api.py."""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from apps.contracts.inventory import StockLevel
from apps.contracts.merchandising import (
    FraudReviewItem,
    FraudReviewRequested,
    RestockAlert,
    ReviewState,
    SuggestionStatus,
)
from apps.contracts.money import quantize
from apps.contracts.orders import OrderStatus

STOCK_KIND = "merch_stock"
PRICE_KIND = "merch_price"
REVIEW_KIND = "merch_fraud_review"

T = TypeVar("T")


# -- stock and alerts -----------------------------------------------------------------------
class StockDoc(BaseModel):
    """What backoffice knows of a SKU from inventory-events."""

    model_config = ConfigDict(extra="ignore")

    kind: str = STOCK_KIND
    sku: str
    product_id: str
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    level_at: datetime | None = None
    alert: RestockAlert | None = None
    #: When the last alert was cleared (an older LowStock arriving late is not raised again).
    cleared_at: datetime | None = None


def on_level(
    doc: StockDoc | None,
    sku: str,
    product_id: str,
    on_hand: int,
    reserved: int,
    available: int,
    at: datetime,
) -> StockDoc | None:
    """A `StockLevelChanged` at `at`: the newest level wins (an older one, delivered late,
    changes nothing); a level above the alert's threshold clears the alert. None: no change."""
    if doc is not None and doc.level_at is not None and at < doc.level_at:
        return None
    doc = doc or StockDoc(sku=sku, product_id=product_id)
    alert, cleared_at = doc.alert, doc.cleared_at
    if alert is not None and available > alert.low_stock_threshold and at >= alert.raised_at:
        alert, cleared_at = None, at
    return doc.model_copy(
        update={
            "product_id": product_id,
            "on_hand": on_hand,
            "reserved": reserved,
            "available": available,
            "level_at": at,
            "alert": alert,
            "cleared_at": cleared_at,
        }
    )


def on_low_stock(
    doc: StockDoc | None,
    sku: str,
    product_id: str,
    available: int,
    threshold: int,
    at: datetime,
) -> StockDoc | None:
    """A `LowStock` at `at` raises the alert, unless a later level already showed the SKU
    above the threshold (the events were delivered out of order) or it is a repeat."""
    doc = doc or StockDoc(sku=sku, product_id=product_id, available=available)
    if doc.alert is not None and doc.alert.raised_at >= at:
        return None
    if doc.cleared_at is not None and doc.cleared_at >= at:
        return None
    if doc.level_at is not None and doc.level_at > at and doc.available > threshold:
        return None
    alert = RestockAlert(available=available, low_stock_threshold=threshold, raised_at=at)
    return doc.model_copy(update={"alert": alert})


def reorder_quantity(available: int, reorder_point: float, horizon_demand: float) -> int:
    """Units to order now: none while available stock is above the reorder point; at or
    below it, enough to bring it up to the reorder point plus the horizon's demand (the
    stock that covers the lead time at the service level, then the period after)."""
    if available > reorder_point:
        return 0
    return max(0, math.ceil(reorder_point + horizon_demand - available - 1e-9))


class RestockRow(BaseModel):
    """One SKU of the restock list before its forecast: the catalog's level merged with what
    backoffice kept from inventory-events."""

    sku: str
    product_id: str
    on_hand: int
    reserved: int
    available: int
    low_stock_threshold: int | None = None
    alert: RestockAlert | None = None
    stock_at: datetime


def restock_row(level: StockLevel | None, doc: StockDoc | None, levels_at: datetime) -> RestockRow:
    """A SKU's row from the catalog's level (read at `levels_at`) and its event doc. The
    figures are the newer of the two (an event after the read wins); the threshold is the
    catalog's. The alert is the event's if it says so; otherwise a SKU whose figures are at
    or below its threshold carries one of `source: stock_level` (no LowStock was ever seen,
    e.g. seeded stock)."""
    if level is None and doc is None:
        raise ValueError("a restock row needs a level or an event doc")
    threshold = level.low_stock_threshold if level is not None else None
    doc_at = _reported_at(doc)
    if doc is not None and (level is None or (doc_at is not None and doc_at > levels_at)):
        figures = (doc.on_hand, doc.reserved, doc.available)
        at = doc_at or levels_at
    else:
        assert level is not None
        figures = (level.on_hand, level.reserved, level.available)
        at = levels_at
    alert = doc.alert if doc is not None else None
    if alert is None and threshold is not None and figures[2] <= threshold:
        alert = RestockAlert(
            available=figures[2],
            low_stock_threshold=threshold,
            raised_at=at,
            source="stock_level",
        )
    named: StockLevel | StockDoc = level if level is not None else doc  # type: ignore[assignment]
    return RestockRow(
        sku=named.sku,
        product_id=named.product_id,
        on_hand=figures[0],
        reserved=figures[1],
        available=figures[2],
        low_stock_threshold=threshold,
        alert=alert,
        stock_at=at,
    )


def _reported_at(doc: StockDoc | None) -> datetime | None:
    """When the doc's figures were reported: its last level or alert, the later."""
    if doc is None:
        return None
    times = [t for t in (doc.level_at, doc.alert.raised_at if doc.alert else None) if t]
    return max(times) if times else None


def merge_restock(
    levels: Mapping[str, StockLevel], docs: Iterable[StockDoc], levels_at: datetime
) -> list[RestockRow]:
    """Every SKU the catalog has plus every SKU an event named (one the catalog no longer
    has keeps its event figures), unordered."""
    by_sku = {d.sku: d for d in docs}
    return [
        restock_row(levels.get(sku), by_sku.get(sku), levels_at)
        for sku in levels.keys() | by_sku.keys()
    ]


def restock_order(rows: list[RestockRow]) -> list[RestockRow]:
    """SKUs with an alert first, the lowest available first (then by SKU), then the rest by
    SKU."""
    alerted = sorted((r for r in rows if r.alert is not None), key=lambda r: (r.available, r.sku))
    quiet = sorted((r for r in rows if r.alert is None), key=lambda r: r.sku)
    return alerted + quiet


def page_of(items: list[T], page: int, limit: int) -> list[T]:
    start = (page - 1) * limit
    return items[start : start + limit]


# -- price suggestions ----------------------------------------------------------------------
class Decision(StrEnum):
    APPLY = "apply"
    DISMISS = "dismiss"


class Verdict(StrEnum):
    PROCEED = "proceed"  # make the decision
    RESUME = "resume"  # an apply was started and not finished: finish it
    REPLAY = "replay"  # the same request again (same Idempotency-Key): the first answer
    CONFLICT = "conflict"  # decided otherwise already, or another decision is under way


@dataclass(frozen=True)
class Judged:
    verdict: Verdict
    reason: str = ""


def judge(
    status: SuggestionStatus,
    in_flight: dict[str, Any] | None,
    decided_key: str | None,
    decision: Decision,
    key: str | None,
) -> Judged:
    """What a decision on a suggestion does. A suggestion is decided once: the same request
    again with its Idempotency-Key answers the first result; any other second decision is a
    conflict. An apply that stopped half-way (`in_flight`) is finished by the next apply."""
    if in_flight is not None:
        if decision == Decision.APPLY:
            return Judged(Verdict.RESUME)
        return Judged(Verdict.CONFLICT, "This suggestion is being applied")
    if status == SuggestionStatus.PENDING:
        return Judged(Verdict.PROCEED)
    done = Decision.APPLY if status == SuggestionStatus.APPLIED else Decision.DISMISS
    if key is not None and key == decided_key and decision == done:
        return Judged(Verdict.REPLAY)
    return Judged(Verdict.CONFLICT, f"This suggestion was {status.value} already")


def selling_price(product: dict[str, Any], sku: str) -> tuple[Decimal, str] | None:
    """A SKU's selling price (product price plus the variant's adjustment) and variant id."""
    base = Decimal(str(product["price"]["amount"]))
    for variant in product.get("variants") or []:
        if variant.get("sku") == sku:
            return quantize(base + Decimal(str(variant.get("price_adjustment", "0")))), str(
                variant["variant_id"]
            )
    return None


def price_update(product: dict[str, Any], sku: str, price: Decimal) -> dict[str, Any]:
    """The catalog update that makes `sku` sell at `price`: a one-variant product's price
    (its adjustment kept), else that variant's adjustment against the product's price."""
    variants = [dict(v) for v in product.get("variants") or []]
    mine = next((v for v in variants if v.get("sku") == sku), None)
    if mine is None:
        raise ValueError(f"{sku} is not a variant of {product.get('product_id')}")
    adjustment = Decimal(str(mine.get("price_adjustment", "0")))
    if len(variants) == 1:
        new_price = dict(product["price"])
        new_price["amount"] = f"{quantize(price - adjustment):.2f}"
        return {"price": new_price}
    mine["price_adjustment"] = f"{quantize(price - Decimal(str(product['price']['amount']))):.2f}"
    return {"variants": variants}


def suggestion_order(items: list[T], status_of: Any, created_of: Any) -> list[T]:
    """Pending first, newest first within each status."""
    rank = {SuggestionStatus.PENDING: 0, SuggestionStatus.APPLIED: 1, SuggestionStatus.DISMISSED: 2}
    newest = sorted(items, key=created_of, reverse=True)
    return sorted(newest, key=lambda i: rank[status_of(i)])


# -- fraud review queue ---------------------------------------------------------------------
#: Statuses an order leaves `pending` for when its review ends: approved orders go on to
#: payment, rejected (and timed-out) ones are cancelled.
_APPROVED = {
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.FULFILLING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
    OrderStatus.REFUNDED,
    OrderStatus.PARTIALLY_REFUNDED,
}


def review_from(event: FraudReviewRequested) -> FraudReviewItem:
    return FraudReviewItem(
        order_id=event.order_id,
        state=ReviewState.PENDING,
        email=event.email,
        amount=quantize(event.amount),
        currency=event.currency,
        probability=event.probability,
        model_version=event.model_version,
        drivers=event.top_features,
        held_at=event.at,
    )


def review_after(item: FraudReviewItem, status: str, at: datetime) -> FraudReviewItem | None:
    """The review once the order moved to `status` (None: still held, or already ended)."""
    if item.state != ReviewState.PENDING or status == OrderStatus.PENDING:
        return None
    state = ReviewState.APPROVED if status in _APPROVED else ReviewState.REJECTED
    return item.model_copy(update={"state": state, "decided_at": at, "order_status": status})


def review_order(items: list[FraudReviewItem]) -> list[FraudReviewItem]:
    """Pending first (the longest held first), then decided ones (the latest first)."""
    pending = sorted(
        (i for i in items if i.state == ReviewState.PENDING), key=lambda i: (i.held_at, i.order_id)
    )
    decided = sorted(
        (i for i in items if i.state != ReviewState.PENDING),
        key=lambda i: (i.decided_at or i.held_at, i.order_id),
        reverse=True,
    )
    return pending + decided
