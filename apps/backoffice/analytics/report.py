"""The reports, computed with pandas over the read model held in memory (no I/O here).

`Frames` is built once from the records and reused by every report until the records
change. Amounts stay integer cents until the answer is written, so sums are exact; days
are UTC; a sale belongs to the day it was paid, and its refunds to that same sale (net is
what the period's sales kept, refunded so far).
"""

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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

ORDER_COLUMNS = ["order_id", "day", "paid_us", "customer", "total", "refunded", "items", "currency"]
LINE_COLUMNS = ["order_id", "day", "product_id", "name", "category", "quantity", "line_total"]
ACTIVITY_COLUMNS = ["session", "kind", "product_id", "day"]
EPOCH = date(1970, 1, 1)

OrderRow = tuple[str, int, int, str, int, int, int, str]
LineRow = tuple[str, int, str, str, str, int, int]
ActivityRow = tuple[str, str, str | None, int]


def day_number(at: datetime) -> int:
    """Days since 1970-01-01 of an instant, in UTC (reports filter and group on these)."""
    return (at.astimezone(UTC).date() - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def rows_of(record: Record) -> tuple[OrderRow, list[LineRow]] | None:
    """A sale's row and its lines' rows (None if the record is not a sale)."""
    if not is_sale(record):
        return None
    paid = datetime.fromisoformat(record["paid_at"])
    day = day_number(paid)
    order_id = record["order_id"]
    lines = record["lines"]
    row: OrderRow = (
        order_id,
        day,
        int(paid.timestamp() * 1_000_000),
        record["customer"],
        record["total"],
        min(record["refunded"], record["total"]),
        sum(line["quantity"] for line in lines),
        record["currency"],
    )
    return row, [
        (
            order_id,
            day,
            line["product_id"],
            line["name"],
            line["category"],
            line["quantity"],
            line["line_total"],
        )
        for line in lines
    ]


def activity_row(session: str, kind: str, product_id: str | None, at: str) -> ActivityRow:
    return (session, kind, product_id, day_number(datetime.fromisoformat(at)))


@dataclass(frozen=True)
class Frames:
    """`orders` (with `first`: the customer's first paid order), `lines`, `activity`."""

    orders: pd.DataFrame
    lines: pd.DataFrame
    activity: pd.DataFrame

    @classmethod
    def empty(cls) -> "Frames":
        return cls(_with_first(_orders_frame([])), _lines_frame([]), activity_frame([]))

    def updated(
        self,
        changed: dict[str, tuple[OrderRow, list[LineRow]] | None],
        activity: list[pd.DataFrame],
    ) -> "Frames":
        """These frames with the sales in `changed` replaced (None: no longer a sale, or
        never was) and the `activity` frames appended: vectorised, so a few changes to a
        year of orders cost milliseconds, not a rebuild."""
        orders, lines = self.orders, self.lines
        if changed:
            ids = list(changed)
            rows = [r for r in changed.values() if r is not None]
            orders = pd.concat(
                [
                    orders[~orders["order_id"].isin(ids)].drop(columns="first"),
                    _orders_frame([r[0] for r in rows]),
                ],
                ignore_index=True,
            )
            orders = _with_first(orders)
            lines = pd.concat(
                [
                    lines[~lines["order_id"].isin(ids)],
                    _lines_frame([line for r in rows for line in r[1]]),
                ],
                ignore_index=True,
            )
        acts = pd.concat([self.activity, *activity], ignore_index=True) if activity else None
        return Frames(orders, lines, self.activity if acts is None else acts)


def _orders_frame(rows: list[OrderRow]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=ORDER_COLUMNS)
    return frame.astype(
        {
            "day": "int64",
            "paid_us": "int64",
            "total": "int64",
            "refunded": "int64",
            "items": "int64",
        }
    )


def _with_first(orders: pd.DataFrame) -> pd.DataFrame:
    # The first paid order of each customer (ties on the instant broken by order id).
    orders = orders.sort_values(["paid_us", "order_id"], kind="stable", ignore_index=True)
    return orders.assign(first=~orders["customer"].duplicated())


def _lines_frame(rows: list[LineRow]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=LINE_COLUMNS)
    return frame.astype({"day": "int64", "quantity": "int64", "line_total": "int64"})


def activity_frame(rows: list[ActivityRow]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows, columns=ACTIVITY_COLUMNS).astype({"day": "int64"})


def build(
    records: Iterable[Record], activity: Iterable[tuple[str, str, str | None, str]]
) -> Frames:
    """Frames of the sales among `records` and of the activity events
    (session, kind, product id, ISO time), from scratch."""
    sales = [rows for rows in map(rows_of, records) if rows is not None]
    return Frames(
        _with_first(_orders_frame([r[0] for r in sales])),
        _lines_frame([line for r in sales for line in r[1]]),
        activity_frame([activity_row(*a) for a in activity]),
    )


def _between(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    day = frame["day"]
    return frame[(day >= (start - EPOCH).days) & (day <= (end - EPOCH).days)]


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
    o = _between(frames.orders, start, end)
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
