"""The read model as pandas frames: one row a sale, one a sold line, one a shopper step.

Days are numbers (days since 1970-01-01, UTC) so reports filter and group on integers;
amounts are integer cents. `Frames.updated` applies a replica's own writes as a delta.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from apps.backoffice.analytics.domain import Record, is_sale

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
        activity = [frame for frame in activity if len(frame)]
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


def _hashed(values: pd.Series) -> pd.Series:
    """64-bit hashes of strings: counting distinct sessions or orders over a year of rows is
    an order of magnitude faster on integers than on Python strings (and a hash is the same
    in every frame, unlike factorized codes)."""
    return pd.Series(
        pd.util.hash_array(values.to_numpy(dtype=object)), index=values.index, dtype="uint64"
    )


def _lines_frame(rows: list[LineRow]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=LINE_COLUMNS)
    frame = frame.astype({"day": "int64", "quantity": "int64", "line_total": "int64"})
    return frame.assign(oid=_hashed(frame["order_id"]))


def activity_frame(rows: list[ActivityRow]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=ACTIVITY_COLUMNS).astype({"day": "int64"})
    return frame.assign(sid=_hashed(frame["session"]))


def build(records: Iterable[Record], activity: Iterable[ActivityRow]) -> Frames:
    """Frames of the sales among `records` and of the shopper steps, from scratch."""
    sales = [rows for rows in map(rows_of, records) if rows is not None]
    return Frames(
        _with_first(_orders_frame([r[0] for r in sales])),
        _lines_frame([line for r in sales for line in r[1]]),
        activity_frame(list(activity)),
    )


def between(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    day = frame["day"]
    return frame[(day >= (start - EPOCH).days) & (day <= (end - EPOCH).days)]
