"""Sales analytics use cases: apply events and activity batches to the read model, and answer
reports from it.

The read model lives in the state store (one record per order, one document per activity
batch), so it survives restarts and every replica shares it. Reports are computed in memory:
a replica loads the whole read model once, applies its own writes at once, and reloads the
rest in the background when its copy is older than `refresh_seconds` (what another replica
wrote shows within that bound). Records combine by a join (`domain.combine`), so a reload
merged with the writes made while it ran loses nothing.
"""

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, Literal, Protocol, TypeVar

import structlog

from apps.backoffice.analytics import domain, report
from apps.backoffice.analytics.domain import Record
from apps.backoffice.analytics.frames import (
    ActivityRow,
    Frames,
    LineRow,
    OrderRow,
    activity_frame,
    build,
    day_number,
    rows_of,
)
from apps.contracts.analytics import (
    ActivityAccepted,
    ActivityBatch,
    AnalyticsOverview,
    CategoryReport,
    Conversion,
    Granularity,
    SalesReport,
    TopProducts,
)
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import OrderEventData
from apps.contracts.payments import PaymentEventData

R = TypeVar("R")
#: Report results kept per version of the frames (any more and the memo starts again).
MEMO_SIZE = 256
log = structlog.stdlib.get_logger("analytics")


class SalesRecords(Protocol):
    async def update(self, order_id: str, decide: Callable[[Record | None], Record | None]) -> bool:
        """Compare-and-set the order's record; True if written."""

    async def all_orders(self) -> list[Record]: ...

    async def add_batch(self, batch_id: str, document: dict[str, Any]) -> bool:
        """Insert the batch; False if it was there already."""

    async def all_batches(self) -> list[dict[str, Any]]: ...


class Catalog(Protocol):
    async def categories(self, product_ids: list[str]) -> dict[str, str]:
        """product id -> category slug of those that exist; raises if the catalog fails."""


def batch_rows(document: dict[str, Any]) -> list[ActivityRow]:
    """A stored batch's steps as frame rows. Each step is stored as [session, kind, product
    id, time, day number]: the day is worked out once, when the batch arrives."""
    return [(e[0], e[1], e[2], e[4]) for e in document["events"]]


def _built(records: list[Record], activity: list[ActivityRow]) -> Frames:
    """The frames and their codes, made together off the event loop (a report then only
    extends the codes by what changed since)."""
    frames = build(records, activity)
    _ = frames.codes
    return frames


class AnalyticsService:
    def __init__(
        self, records: SalesRecords, catalog: Catalog, refresh_seconds: float, currency: str
    ) -> None:
        self.records = records
        self.catalog = catalog
        self.refresh_seconds = refresh_seconds
        self.currency = currency
        self._categories: dict[str, str] = {}
        self._orders: dict[str, Record] = {}
        self._batches: dict[str, list[ActivityRow]] = {}
        self._loaded_at: float | None = None
        self._frames = Frames.empty()
        #: This replica's writes not yet in `_frames` (order id -> its sale rows or None).
        self._changed: dict[str, tuple[OrderRow, list[LineRow]] | None] = {}
        self._new_activity: list[ActivityRow] = []
        self._load_lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None
        #: Writes made while a reload runs, merged into what it read.
        self._pending: list[tuple[str, Any]] | None = None
        #: Reports already computed from `_memo_frames` (a report is a pure function of the
        #: frames and its arguments; new frames, after any change, start an empty memo).
        self._memo_frames: Frames | None = None
        self._memo: dict[tuple[Any, ...], Any] = {}
        #: Which copy of the frames the memo is of: this process (`_boot`) and the count of
        #: copies it has made (`_version`), the ETag of what is computed from them.
        self._boot = uuid.uuid4().hex[:8]
        self._version = 0

    # -- events ---------------------------------------------------------------------------
    async def on_order_event(self, envelope: EventEnvelope) -> None:
        data = OrderEventData.model_validate(envelope.data)
        wanted = [line.product_id for line in data.items if line.product_id not in self._categories]
        if wanted:
            found = await self.catalog.categories(wanted)
            self._categories.update({p: found.get(p, domain.UNCATEGORIZED) for p in wanted})
        await self._apply(
            data.order_id, domain.from_order_event(data, envelope.event_type, self._categories)
        )

    async def on_payment_event(self, envelope: EventEnvelope) -> None:
        data = PaymentEventData.model_validate(envelope.data)
        await self._apply(data.order_id, domain.from_payment_event(data))

    async def _apply(self, order_id: str, incoming: Record) -> None:
        written: list[Record] = []

        def decide(current: Record | None) -> Record | None:
            new = domain.apply(current, incoming)
            written[:] = [new] if new is not None else []
            return new

        if await self.records.update(order_id, decide):
            self._remember_order(order_id, written[0])

    def _remember_order(self, order_id: str, record: Record) -> None:
        merged = domain.combine(self._orders.get(order_id), record)
        self._orders[order_id] = merged
        self._changed[order_id] = rows_of(merged)
        if self._pending is not None:
            self._pending.append(("order", record))

    # -- activity ---------------------------------------------------------------------------
    async def record_activity(self, batch: ActivityBatch) -> ActivityAccepted:
        steps = [
            (e.session, e.kind.value, e.product_id, e.at.isoformat(), day_number(e.at))
            for e in batch.events
        ]
        document = {"kind": domain.BATCH_KIND, "batch_id": batch.batch_id, "events": steps}
        added = await self.records.add_batch(batch.batch_id, document)
        if added:
            rows = batch_rows(document)
            self._batches[batch.batch_id] = rows
            self._new_activity.extend(rows)
            if self._pending is not None:
                self._pending.append(("batch", document))
        return ActivityAccepted(batch_id=batch.batch_id, events=len(steps), duplicate=not added)

    # -- the copy in memory -------------------------------------------------------------------
    async def frames(self) -> Frames:
        """The frames of the read model: loaded on first use, then kept up to date with this
        replica's writes (applied as a delta) and reloaded in the background when older
        than `refresh_seconds`."""
        if self._loaded_at is None:
            async with self._load_lock:
                if self._loaded_at is None:
                    await self._reload()
        elif time.monotonic() - self._loaded_at > self.refresh_seconds and (
            self._refresh is None or self._refresh.done()
        ):
            self._refresh = asyncio.create_task(self._background_reload())
        if self._changed or self._new_activity:
            changed, self._changed = self._changed, {}
            rows, self._new_activity = self._new_activity, []
            self._frames = self._frames.updated(changed, [activity_frame(rows)])
        return self._frames

    def warm_up(self, attempts: int = 30, pause: float = 2.0) -> None:
        """Load the read model in the background at start-up, so the first report does not
        pay for it (one that comes sooner waits on the same lock). The sidecar may come up
        after the app: a failed load is tried again `attempts` times."""

        async def load() -> None:
            for _ in range(attempts):
                try:
                    async with self._load_lock:
                        if self._loaded_at is None:
                            await self._reload()
                    return
                except Exception as exc:
                    log.warning("analytics warm-up failed; trying again", error=str(exc)[:200])
                    await asyncio.sleep(pause)

        self._refresh = asyncio.create_task(load())

    async def _background_reload(self) -> None:
        try:
            async with self._load_lock:
                await self._reload()
        except Exception:
            log.exception("analytics reload failed; serving the copy in memory")

    async def _reload(self) -> None:
        """Everything from the store, the frames built off the event loop; what this replica
        wrote meanwhile is merged in (records join, batches are immutable)."""
        started = time.monotonic()
        self._pending = []
        try:
            orders = {r["order_id"]: r for r in await self.records.all_orders()}
            batches = {d["batch_id"]: batch_rows(d) for d in await self.records.all_batches()}
            activity = [row for rows in batches.values() for row in rows]
            frames = await asyncio.to_thread(_built, list(orders.values()), activity)
            changed: dict[str, Any] = {}
            new_activity: list[ActivityRow] = []
            for what, item in self._pending:
                if what == "order":
                    merged = domain.combine(orders.get(item["order_id"]), item)
                    orders[item["order_id"]] = merged
                    changed[item["order_id"]] = rows_of(merged)
                elif item["batch_id"] not in batches:
                    batches[item["batch_id"]] = batch_rows(item)
                    new_activity.extend(batches[item["batch_id"]])
        finally:
            self._pending = None
        self._frames = frames.updated(changed, [activity_frame(new_activity)])
        self._orders, self._batches = orders, batches
        self._changed, self._new_activity = {}, []
        self._loaded_at = started
        log.info(
            "analytics read model loaded",
            orders=len(orders),
            batches=len(batches),
            seconds=round(time.monotonic() - started, 3),
        )

    # -- reports ------------------------------------------------------------------------------
    async def _report(self, fn: Callable[..., R], *args: Any) -> R:
        """`fn(frames, *args)`, computed once per version of the frames: the staff pages ask
        the same reports again and again between two sales (`MEMO_SIZE` kept at most)."""
        frames = await self.frames()
        if frames is not self._memo_frames:
            self._memo_frames, self._memo = frames, {}
            self._version += 1
        key = (fn.__name__, *args)
        if key not in self._memo:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = fn(frames, *args)
        found: R = self._memo[key]
        return found

    async def sales(self, start: date, end: date, granularity: Granularity) -> SalesReport:
        return await self._report(report.sales, start, end, granularity, self.currency)

    async def top_products(
        self, start: date, end: date, limit: int, sort_by: Literal["sales", "revenue", "views"]
    ) -> TopProducts:
        return await self._report(report.top_products, start, end, limit, sort_by)

    async def categories(self, start: date, end: date) -> CategoryReport:
        return await self._report(report.categories, start, end)

    async def conversion(self, start: date, end: date) -> Conversion:
        return await self._report(report.conversion, start, end)

    async def overview_json(
        self,
        start: date,
        end: date,
        granularity: Granularity,
        limit: int,
        sort_by: Literal["sales", "revenue", "views"],
    ) -> tuple[str, bytes]:
        """The analytics page's four reports (`AnalyticsOverview`) as JSON, encoded once per
        version of the frames, with its strong ETag (this process, the frames' version, the
        question): a client that has it is answered 304 with nothing encoded or sent."""
        asked = (start, end, granularity, limit, sort_by)
        body = await self._report(_overview_json, *asked, self.currency)
        question = hashlib.blake2b(repr(asked).encode(), digest_size=6).hexdigest()
        return f'"{self._boot}-{self._version}-{question}"', body


def _overview(
    frames: Frames,
    start: date,
    end: date,
    granularity: Granularity,
    limit: int,
    sort_by: Literal["sales", "revenue", "views"],
    currency: str,
) -> AnalyticsOverview:
    return AnalyticsOverview(
        sales=report.sales(frames, start, end, granularity, currency),
        top_products=report.top_products(frames, start, end, limit, sort_by),
        categories=report.categories(frames, start, end),
        conversion=report.conversion(frames, start, end),
    )


def _overview_json(frames: Frames, *asked: Any) -> bytes:
    return _overview(frames, *asked).model_dump_json().encode()
