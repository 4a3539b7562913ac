"""The reports, computed with pandas over the read model held in memory (no I/O here).

`Frames` is built once from the records and reused by every report until the records
change. Amounts stay integer cents until the answer is written, so sums are exact; days
are UTC; a sale belongs to the day it was paid, and its refunds to that same sale (net is
what the period's sales kept, refunded so far).
"""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from apps.backoffice.analytics.frames import EPOCH, Frames, between, day_of, in_period
from apps.contracts.analytics import (
    ActivityKind,
    CategoryReport,
    CategorySales,
    Change,
    Conversion,
    FunnelStep,
    Granularity,
    SalesFigures,
    SalesPeriod,
    SalesReport,
    TopProduct,
    TopProducts,
)


def money(cents: int) -> Decimal:
    return (Decimal(int(cents)) / 100).quantize(Decimal("0.01"))


def aov_cents(revenue: int, orders: int) -> int:
    if orders == 0:
        return 0
    return int((Decimal(int(revenue)) / orders).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _figures(orders: int, revenue: int, refunds: int, items: int, new: int) -> dict[str, Any]:
    return {
        "orders": int(orders),
        "revenue": money(revenue),
        "refunds": money(refunds),
        "net": money(revenue - refunds),
        "aov": money(aov_cents(revenue, orders)),
        "items_sold": int(items),
        "new_customers": int(new),
    }


def figures(frames: Frames, start: date, end: date) -> SalesFigures:
    o = between(frames.orders, start, end)
    return SalesFigures(
        **_figures(
            len(o), o["total"].sum(), o["refunded"].sum(), o["items"].sum(), o["first"].sum()
        )
    )


def _period_starts(days: pd.Series, granularity: Granularity) -> pd.Series:
    if granularity == "day":
        return days
    if granularity == "week":
        return days - (days + 3) % 7  # 1970-01-01 was a Thursday; weeks start on Monday
    months = days.to_numpy().astype("datetime64[D]").astype("datetime64[M]")
    return pd.Series(months.astype("datetime64[D]").astype("int64"), index=days.index)


def _label(start: date, granularity: Granularity) -> str:
    if granularity == "day":
        return start.isoformat()
    if granularity == "week":
        iso = start.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    return start.strftime("%Y-%m")


def _pct(now: Decimal | int, before: Decimal | int) -> float | None:
    if not before:
        return None
    return round(float((Decimal(now) - Decimal(before)) / Decimal(before) * 100), 2)


def sales(
    frames: Frames, start: date, end: date, granularity: Granularity, currency: str
) -> SalesReport:
    o = between(frames.orders, start, end)
    keys = _period_starts(o["day"], granularity)
    grouped = o.groupby(keys).agg(
        orders=("total", "size"),
        revenue=("total", "sum"),
        refunds=("refunded", "sum"),
        items=("items", "sum"),
        new=("first", "sum"),
    )
    every = pd.Series(range((start - EPOCH).days, (end - EPOCH).days + 1), dtype="int64")
    grouped = grouped.reindex(_period_starts(every, granularity).unique(), fill_value=0)
    series = [
        SalesPeriod(
            period=_label(day_of(at), granularity),
            start=day_of(at),
            **_figures(row.orders, row.revenue, row.refunds, row.items, row.new),
        )
        for at, row in zip(grouped.index, grouped.itertuples(index=False), strict=True)
    ]
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    totals = figures(frames, start, end)
    previous = figures(frames, prev_start, prev_end)
    change = Change(
        orders=_pct(totals.orders, previous.orders),
        revenue=_pct(totals.revenue, previous.revenue),
        refunds=_pct(totals.refunds, previous.refunds),
        net=_pct(totals.net, previous.net),
        aov=_pct(totals.aov, previous.aov),
    )
    currencies = sorted(set(o["currency"]))
    return SalesReport(
        start_date=start,
        end_date=end,
        granularity=granularity,
        currency=currencies[0] if len(currencies) == 1 else (",".join(currencies) or currency),
        totals=totals,
        series=series,
        previous_start_date=prev_start,
        previous_end_date=prev_end,
        previous=previous,
        change=change,
    )


def _sums(codes: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Integer sums per code. `bincount` adds in float64, exact while a sum stays below 2^53
    (90 trillion in cents per product and period), so the cents stay exact."""
    return np.rint(np.bincount(codes, weights=weights, minlength=size)).astype("int64")


def top_products(
    frames: Frames,
    start: date,
    end: date,
    limit: int,
    sort_by: Literal["sales", "revenue", "views"],
) -> TopProducts:
    c = frames.codes
    size = len(c.products)
    sold_in = in_period(c.line_day, start, end)
    sold = c.line_product[sold_in]
    per = {
        "units": _sums(sold, c.line_quantity[sold_in], size),
        "revenue": _sums(sold, c.line_total[sold_in], size),
        "orders": _sums(sold, c.pair_first[sold_in], size),
        "views": np.zeros(size, dtype="int64"),
    }
    if ActivityKind.PRODUCT_VIEW.value in c.kinds:
        view = c.kinds.get_loc(ActivityKind.PRODUCT_VIEW.value)
        seen = in_period(c.act_day, start, end) & (c.act_kind == view) & (c.act_product >= 0)
        per["views"] = np.bincount(c.act_product[seen], minlength=size).astype("int64")
    column = {"sales": "units", "revenue": "revenue", "views": "views"}[sort_by]
    shown = np.flatnonzero(per[column] > 0)
    ranked = pd.DataFrame(
        {"code": shown, "product_id": c.products[shown], "key": per[column][shown]}
    ).sort_values(["key", "product_id"], ascending=[False, True])
    chosen = ranked["code"].to_numpy()[:limit]
    # Names and categories for the few products shown only (the period's latest line of each).
    latest: dict[int, int] = {}
    for row in np.flatnonzero(sold_in & np.isin(c.line_product, chosen))[::-1]:
        latest.setdefault(int(c.line_product[row]), int(row))
    items = []
    for code in chosen:
        row = latest.get(int(code))
        line = frames.lines.iloc[row] if row is not None else None
        items.append(
            TopProduct(
                product_id=str(c.products[code]),
                name="" if line is None else line["name"],
                category="" if line is None else line["category"],
                units=int(per["units"][code]),
                revenue=money(per["revenue"][code]),
                orders=int(per["orders"][code]),
                views=int(per["views"][code]),
            )
        )
    return TopProducts(start_date=start, end_date=end, sort_by=sort_by, items=items)


def categories(frames: Frames, start: date, end: date) -> CategoryReport:
    lines = between(frames.lines, start, end)
    grouped = lines.groupby("category", sort=False)
    per = grouped.agg(units=("quantity", "sum"), revenue=("line_total", "sum"))
    per["orders"] = grouped["oid"].nunique()
    total = int(per["revenue"].sum())
    per = per.reset_index().sort_values(["revenue", "category"], ascending=[False, True])
    items = [
        CategorySales(
            category=row.category,
            units=row.units,
            revenue=money(row.revenue),
            orders=row.orders,
            share=round(row.revenue / total * 100, 2) if total else 0.0,
        )
        for row in per.itertuples(index=False)
    ]
    return CategoryReport(start_date=start, end_date=end, items=items)


def conversion(frames: Frames, start: date, end: date) -> Conversion:
    c = frames.codes
    steps_in = in_period(c.act_day, start, end)
    sessions, kinds = c.act_session[steps_in], c.act_kind[steps_in]

    def reached(kind: ActivityKind | None) -> int:
        """Distinct sessions of the period with a step of `kind` (any step: None)."""
        if kind is None:
            who = sessions
        elif kind.value in c.kinds:
            who = sessions[kinds == c.kinds.get_loc(kind.value)]
        else:
            return 0
        return int(np.count_nonzero(np.bincount(who, minlength=len(c.session_ids))))

    counts = [
        ("sessions", reached(None)),
        ("product_views", reached(ActivityKind.PRODUCT_VIEW)),
        ("cart", reached(ActivityKind.CART_ADD)),
        ("checkout", reached(ActivityKind.CHECKOUT_START)),
        ("paid", len(between(frames.orders, start, end))),
    ]
    sessions = counts[0][1]
    steps = []
    for i, (step, count) in enumerate(counts):
        before = counts[i - 1][1] if i else None
        steps.append(
            FunnelStep(
                step=step,  # type: ignore[arg-type]
                count=count,
                of_sessions=round(count / sessions * 100, 2) if sessions else None,
                of_previous=round(count / before * 100, 2) if before else None,
            )
        )
    return Conversion(
        start_date=start,
        end_date=end,
        steps=steps,
        conversion_rate=round(counts[-1][1] / sessions * 100, 2) if sessions else None,
    )
