"""The reports, computed with pandas over the read model held in memory (no I/O here).

`Frames` is built once from the records and reused by every report until the records
change. Amounts stay integer cents until the answer is written, so sums are exact; days
are UTC; a sale belongs to the day it was paid, and its refunds to that same sale (net is
what the period's sales kept, refunded so far).
"""

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import pandas as pd

from apps.backoffice.analytics.domain import Record, is_sale
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

ORDER_COLUMNS = ["order_id", "day", "total", "refunded", "items", "first", "currency"]
LINE_COLUMNS = ["order_id", "day", "product_id", "name", "category", "quantity", "line_total"]
ACTIVITY_COLUMNS = ["session", "kind", "product_id", "day"]


@dataclass(frozen=True)
class Frames:
    orders: pd.DataFrame
    lines: pd.DataFrame
    activity: pd.DataFrame


def _days(values: list[str]) -> pd.Series:
    return (
        pd.to_datetime(pd.Series(values, dtype="object"), utc=True, format="ISO8601")
        .dt.tz_convert(None)
        .dt.normalize()
    )


def build(
    records: Iterable[Record], activity: Iterable[tuple[str, str, str | None, str]]
) -> Frames:
    """Frames of the sales among `records` and of the activity events
    (session, kind, product id, ISO time)."""
    sales = [r for r in records if is_sale(r)]
    orders = pd.DataFrame(
        {
            "order_id": [r["order_id"] for r in sales],
            "paid_at": [r["paid_at"] for r in sales],
            "customer": [r["customer"] for r in sales],
            "total": pd.array([r["total"] for r in sales], dtype="int64"),
            "refunded": pd.array([min(r["refunded"], r["total"]) for r in sales], dtype="int64"),
            "items": pd.array(
                [sum(line["quantity"] for line in r["lines"]) for r in sales], dtype="int64"
            ),
            "currency": [r["currency"] for r in sales],
        }
    )
    orders["day"] = _days(orders["paid_at"].tolist())
    # The first paid order of each customer (ties on the instant broken by order id).
    orders = orders.sort_values(["paid_at", "order_id"], kind="stable")
    orders["first"] = ~orders["customer"].duplicated()
    lines = pd.DataFrame(
        [
            (
                r["order_id"],
                line["product_id"],
                line["name"],
                line["category"],
                line["quantity"],
                line["line_total"],
            )
            for r in sales
            for line in r["lines"]
        ],
        columns=["order_id", "product_id", "name", "category", "quantity", "line_total"],
    )
    lines = lines.astype({"quantity": "int64", "line_total": "int64"})
    lines = lines.merge(orders[["order_id", "day"]], on="order_id", how="left")
    acts = pd.DataFrame(list(activity), columns=["session", "kind", "product_id", "at"])
    acts["day"] = _days(acts["at"].tolist())
    return Frames(
        orders[ORDER_COLUMNS].reset_index(drop=True),
        lines[LINE_COLUMNS],
        acts[ACTIVITY_COLUMNS],
    )


def _between(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    day = frame["day"]
    return frame[(day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))]


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
    o = _between(frames.orders, start, end)
    return SalesFigures(
        **_figures(
            len(o), o["total"].sum(), o["refunded"].sum(), o["items"].sum(), o["first"].sum()
        )
    )


def _period_starts(days: pd.Series, granularity: Granularity) -> pd.Series:
    if granularity == "day":
        return days
    if granularity == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days - pd.to_timedelta(days.dt.day - 1, unit="D")


def _label(start: pd.Timestamp, granularity: Granularity) -> str:
    if granularity == "day":
        return start.strftime("%Y-%m-%d")
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
    o = _between(frames.orders, start, end)
    keys = _period_starts(o["day"], granularity)
    grouped = o.groupby(keys).agg(
        orders=("total", "size"),
        revenue=("total", "sum"),
        refunds=("refunded", "sum"),
        items=("items", "sum"),
        new=("first", "sum"),
    )
    every = _period_starts(pd.Series(pd.date_range(start, end, freq="D")), granularity).unique()
    grouped = grouped.reindex(every, fill_value=0)
    series = [
        SalesPeriod(
            period=_label(at, granularity),
            start=at.date(),
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


def top_products(
    frames: Frames,
    start: date,
    end: date,
    limit: int,
    sort_by: Literal["sales", "revenue", "views"],
) -> TopProducts:
    lines = _between(frames.lines, start, end)
    per = lines.groupby("product_id").agg(
        units=("quantity", "sum"),
        revenue=("line_total", "sum"),
        orders=("order_id", "nunique"),
        name=("name", "last"),
        category=("category", "last"),
    )
    acts = _between(frames.activity, start, end)
    views = acts[acts["kind"] == ActivityKind.PRODUCT_VIEW.value].groupby("product_id").size()
    per = per.join(views.rename("views"), how="outer")
    per[["units", "revenue", "orders", "views"]] = (
        per[["units", "revenue", "orders", "views"]].fillna(0).astype("int64")
    )
    per["name"] = per["name"].fillna("")
    per["category"] = per["category"].fillna("")
    column = {"sales": "units", "revenue": "revenue", "views": "views"}[sort_by]
    per = per.reset_index().sort_values([column, "product_id"], ascending=[False, True])
    per = per[per[column] > 0].head(limit)
    items = [
        TopProduct(
            product_id=row.product_id,
            name=row.name,
            category=row.category,
            units=row.units,
            revenue=money(row.revenue),
            orders=row.orders,
            views=row.views,
        )
        for row in per.itertuples(index=False)
    ]
    return TopProducts(start_date=start, end_date=end, sort_by=sort_by, items=items)


def categories(frames: Frames, start: date, end: date) -> CategoryReport:
    lines = _between(frames.lines, start, end)
    per = lines.groupby("category").agg(
        units=("quantity", "sum"), revenue=("line_total", "sum"), orders=("order_id", "nunique")
    )
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
    acts = _between(frames.activity, start, end)
    reached = acts.groupby("kind")["session"].nunique()
    counts = [
        ("sessions", int(acts["session"].nunique())),
        ("product_views", int(reached.get(ActivityKind.PRODUCT_VIEW.value, 0))),
        ("cart", int(reached.get(ActivityKind.CART_ADD.value, 0))),
        ("checkout", int(reached.get(ActivityKind.CHECKOUT_START.value, 0))),
        ("paid", len(_between(frames.orders, start, end))),
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


EXPORT_COLUMNS = ["period", "start", "orders", "revenue", "refunds", "net", "aov", "items_sold"]


def export_table(report: SalesReport) -> pd.DataFrame:
    """The series of a sales report, one row a period, amounts as numbers with two places."""
    rows = [
        {
            "period": p.period,
            "start": p.start.isoformat(),
            "orders": p.orders,
            "revenue": float(p.revenue),
            "refunds": float(p.refunds),
            "net": float(p.net),
            "aov": float(p.aov),
            "items_sold": p.items_sold,
        }
        for p in report.series
    ]
    return pd.DataFrame(rows, columns=EXPORT_COLUMNS)


def to_csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False, float_format="%.2f").encode()


def to_xlsx(table: pd.DataFrame, report: SalesReport) -> bytes:
    out = io.BytesIO()
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="sales", index=False)
        summary = pd.DataFrame(
            [
                ("start_date", report.start_date.isoformat()),
                ("end_date", report.end_date.isoformat()),
                ("currency", report.currency),
                ("orders", report.totals.orders),
                ("revenue", float(report.totals.revenue)),
                ("refunds", float(report.totals.refunds)),
                ("net", float(report.totals.net)),
                ("aov", float(report.totals.aov)),
            ],
            columns=["figure", "value"],
        )
        summary.to_excel(writer, sheet_name="summary", index=False)
    return out.getvalue()
