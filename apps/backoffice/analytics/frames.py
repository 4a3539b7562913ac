"""The read model as pandas frames: one row a sale, one a sold line, one a shopper step.

Days are numbers (days since 1970-01-01, UTC) so reports filter and group on integers;
amounts are integer cents. `Frames.updated` applies a replica's own writes as a delta.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

import numpy as np
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
class Codes:
    """The lines and shopper steps as plain numpy arrays with dense integer codes for
    products and sessions, made once per `Frames` and shared by every report until the next
    change: distinct counts and per-product sums over a year become `bincount`s over the
    rows of the period (milliseconds) instead of hash-based `nunique`/`groupby` on strings.

    `products` is the union of the product ids of lines and steps (code = position);
    `pair_first` marks the first line of each (order, product) pair, so summing it per
    product counts the distinct orders that bought the product."""

    products: pd.Index
    line_day: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_total: np.ndarray
    pair_first: np.ndarray
    act_day: np.ndarray
    act_product: np.ndarray  # -1: a step without a product
    act_session: np.ndarray
    act_kind: np.ndarray
    session_ids: pd.Index  # session hash by code
    kinds: pd.Index  # step kind by code

    @classmethod
    def of(cls, lines: pd.DataFrame, activity: pd.DataFrame) -> "Codes":
        nothing = np.zeros(0, dtype="int64")
        return cls(
            products=pd.Index([], dtype=object),
            line_day=nothing,
            line_product=nothing,
            line_quantity=nothing,
            line_total=nothing,
            pair_first=nothing,
            act_day=nothing,
            act_product=nothing,
            act_session=nothing,
            act_kind=nothing,
            session_ids=pd.Index([], dtype="uint64"),
            kinds=pd.Index([], dtype=object),
        ).extended(lines, activity)

    def extended(self, lines: pd.DataFrame | None, added: pd.DataFrame) -> "Codes":
        """These codes for a new `lines` frame (None: unchanged) and `added` steps appended
        to the activity: codes already given keep their meaning, so the steps seen before are
        not coded again (a live shop appends a batch every second or so)."""
        ids = [added["product_id"]] + ([] if lines is None else [lines["product_id"]])
        seen = pd.concat(ids).dropna().unique()
        products = self.products.append(pd.Index(seen).difference(self.products, sort=False))
        if lines is None:
            line_arrays = (
                self.line_day,
                self.line_product,
                self.line_quantity,
                self.line_total,
                self.pair_first,
            )
        else:
            line_product = products.get_indexer(lines["product_id"])
            pairs = pd.DataFrame({"o": lines["oid"].to_numpy(), "p": line_product})
            line_arrays = (
                lines["day"].to_numpy(dtype="int64"),
                line_product,
                lines["quantity"].to_numpy(dtype="int64"),
                lines["line_total"].to_numpy(dtype="int64"),
                (~pairs.duplicated()).to_numpy(dtype="int64"),
            )
        session_ids = _grown(self.session_ids, added["sid"])
        kinds = _grown(self.kinds, added["kind"])
        return Codes(
            products,
            *line_arrays,
            np.concatenate([self.act_day, added["day"].to_numpy(dtype="int64")]),
            np.concatenate([self.act_product, products.get_indexer(added["product_id"])]),
            np.concatenate([self.act_session, session_ids.get_indexer(added["sid"])]),
            np.concatenate([self.act_kind, kinds.get_indexer(added["kind"])]),
            session_ids,
            kinds,
        )


def _grown(index: pd.Index, values: pd.Series) -> pd.Index:
    """`index` with the values it lacks appended (codes already given stay)."""
    return index.append(pd.Index(values.unique()).difference(index, sort=False))


@dataclass(frozen=True)
class Frames:
    """`orders` (with `first`: the customer's first paid order), `lines`, `activity`."""

    orders: pd.DataFrame
    lines: pd.DataFrame
    activity: pd.DataFrame

    @cached_property
    def codes(self) -> Codes:
        """The arrays the product and funnel reports count over (made on first use)."""
        return Codes.of(self.lines, self.activity)

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
            kept = orders[~orders["order_id"].isin(ids)].drop(columns="first")
            orders = _merged(kept, sorted((r[0] for r in rows), key=lambda o: (o[2], o[0])))
            lines = pd.concat(
                [
                    lines[~lines["order_id"].isin(ids)],
                    _lines_frame([line for r in rows for line in r[1]]),
                ],
                ignore_index=True,
            )
        activity = [frame for frame in activity if len(frame)]
        acts = pd.concat([self.activity, *activity], ignore_index=True) if activity else None
        frames = Frames(orders, lines, self.activity if acts is None else acts)
        if "codes" in self.__dict__:  # made already: extend them rather than start over
            added = pd.concat(activity, ignore_index=True) if activity else activity_frame([])
            codes = self.codes.extended(lines if changed else None, added)
            frames.__dict__["codes"] = codes
        return frames


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


def _merged(kept: pd.DataFrame, rows: list[OrderRow]) -> pd.DataFrame:
    """`kept` (sorted by paid instant, then order id) with `rows` (sorted the same way)
    inserted where they belong, and `first` worked out again: a few changes to a year of
    orders do not sort the year again (sorting on the order ids was most of a delta's cost)."""
    paid = kept["paid_us"].to_numpy()
    ids = kept["order_id"].to_numpy()
    at = []
    for row in rows:
        i = int(np.searchsorted(paid, row[2], side="left"))
        while i < len(paid) and paid[i] == row[2] and ids[i] < row[0]:
            i += 1  # same instant: by order id
        at.append(i)
    combined = pd.concat([kept, _orders_frame(rows)], ignore_index=True)
    order = np.insert(np.arange(len(kept)), at, len(kept) + np.arange(len(rows)))
    orders = combined.take(order).reset_index(drop=True)
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


def in_period(days: np.ndarray, start: date, end: date) -> np.ndarray:
    """Which of these day numbers fall from `start` to `end`, inclusive."""
    return (days >= (start - EPOCH).days) & (days <= (end - EPOCH).days)


def between(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    return frame[in_period(frame["day"].to_numpy(), start, end)]
