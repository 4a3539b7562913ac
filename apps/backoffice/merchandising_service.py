"""Merchandising in the back office, its Dapr I/O: the SKU index kept from inventory-events,
the restock list (live stock from catalog, demand from forecast), price suggestions (pricing)
applied through the catalog's product update guarded by the product's ETag, and the fraud
review queue kept from order-events. The rules are in merchandising.py."""

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from apps.backoffice import merchandising as rules
from apps.backoffice.merchandising import Decision, StockDoc, Verdict
from apps.contracts.errors import Conflict, NotFound, Unavailable, UnprocessableError
from apps.contracts.events import EventEnvelope, utcnow
from apps.contracts.forecast import ForecastResponse
from apps.contracts.inventory import (
    LowStock,
    ProductInventory,
    StockLevel,
    StockLevelChanged,
    StockLevelPage,
)
from apps.contracts.merchandising import (
    FraudReviewItem,
    FraudReviewPage,
    FraudReviewRequested,
    PriceDrivers,
    PriceSuggestion,
    PriceSuggestionIn,
    PriceSuggestionPage,
    RestockForecast,
    RestockItem,
    RestockPage,
    ReviewState,
    SuggestionStatus,
)
from apps.contracts.money import quantize
from apps.contracts.names import AppId
from apps.contracts.pricing import SuggestResponse
from apps.platform.dapr import Sidecar
from apps.platform.state import EtagMismatch, JsonStateStore

log = structlog.stdlib.get_logger("merchandising")

#: Forecasts asked for at once while building a page of the restock list.
FORECAST_PARALLELISM = 8
#: How long the catalog's levels of every SKU are reused by the restock list: its ordering
#: and alerts from stock levels are at most this old (the rows shown get the current ones).
LEVELS_TTL_SECONDS = 60.0
#: SKUs per call to the catalog's `/inventory/levels` (its maximum), and a bound on calls.
LEVELS_PAGE = 5000
LEVELS_MAX_PAGES = 200
#: A page the catalog failed is asked for once more after this pause, then it is a 503.
LEVELS_RETRY_PAUSE = 0.5
PRODUCT_CHANGED = "The product changed since this suggestion was made; ask for a new one"


def _stock_key(sku: str) -> str:
    return f"merch-stock:{sku}"


def _price_key(suggestion_id: str) -> str:
    return f"merch-price:{suggestion_id}"


def _review_key(order_id: str) -> str:
    return f"merch-review:{order_id}"


@dataclass(frozen=True)
class RestockQuery:
    alerts_only: bool = False
    product_id: str | None = None
    sku: str | None = None
    horizon_days: int = 14
    lead_time_days: int = 7
    service_level: float = 0.95


def _restock_rows(
    levels: dict[str, StockLevel],
    docs: dict[str, StockDoc],
    levels_at: datetime,
    query: RestockQuery,
    page: int,
    limit: int,
) -> tuple[int, list[rules.RestockRow]]:
    """The rows matching the query (their count) and the page of them shown."""
    rows = [
        r
        for r in rules.merge_restock(levels, docs.values(), levels_at)
        if (not query.alerts_only or r.alert is not None)
        and (query.product_id is None or r.product_id == query.product_id)
        and (query.sku is None or r.sku.startswith(query.sku))
    ]
    return len(rows), rules.page_of(rules.restock_order(rows), page, limit)


class CatalogLevels:
    """Every SKU's stock level from the catalog (`GET /inventory/levels`, paged by SKU
    after a cursor, each page cut from a complete scan: every SKU that exists for the whole
    read is in it once), kept in memory for `ttl_seconds` and then read again: the restock
    list's coverage. A page that fails raises `Unavailable` (503) and keeps nothing: never a
    silently partial list. Concurrent requests share one read."""

    def __init__(
        self,
        sidecar: Sidecar,
        ttl_seconds: float = LEVELS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sidecar = sidecar
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._held: tuple[float, dict[str, StockLevel], datetime] | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> tuple[dict[str, StockLevel], datetime]:
        """The levels by SKU and when they were read."""
        async with self._lock:
            held = self._held
            if held is None or self.clock() - held[0] >= self.ttl_seconds:
                began, read_at = self.clock(), utcnow()
                levels = await self._read()
                held = self._held = (began, levels, read_at)
            return held[1], held[2]

    async def _read(self) -> dict[str, StockLevel]:
        levels: dict[str, StockLevel] = {}
        after: str | None = None
        for _ in range(LEVELS_MAX_PAGES):
            params: dict[str, Any] = {"limit": LEVELS_PAGE}
            if after is not None:
                params["after"] = after
            res = await self.sidecar.invoke(AppId.CATALOG, "inventory/levels", params=params)
            if not res.ok and res.status >= 500:  # a read: once more after a pause
                await asyncio.sleep(LEVELS_RETRY_PAUSE)
                res = await self.sidecar.invoke(AppId.CATALOG, "inventory/levels", params=params)
            if not res.ok:
                error = res.body.get("error", {}) if isinstance(res.body, dict) else {}
                raise Unavailable(
                    "The restock list needs every SKU's stock from the catalog, which did not "
                    "answer; retry shortly",
                    catalog_status=res.status,
                    catalog_error=str(error.get("message") or ""),
                )
            page = StockLevelPage.model_validate(res.body)
            levels.update((row.sku, row) for row in page.items)
            if page.next_after is None:
                break
            after = page.next_after
        else:
            raise Unavailable("The catalog's stock levels did not end; retry shortly")
        return levels


class MerchandisingService:
    def __init__(
        self, store: JsonStateStore, sidecar: Sidecar, levels: CatalogLevels | None = None
    ) -> None:
        self.store = store
        self.sidecar = sidecar
        self.levels = levels or CatalogLevels(sidecar)

    # -- inventory-events --------------------------------------------------------------------
    async def on_stock_level(self, event: EventEnvelope) -> None:
        level = StockLevelChanged.model_validate(event.data)

        def decide(current: Any) -> Any:
            doc = StockDoc.model_validate(current) if current else None
            new = rules.on_level(
                doc,
                level.sku,
                level.product_id,
                level.on_hand,
                level.reserved,
                level.available,
                event.occurred_at,
            )
            return new.model_dump(mode="json") if new else None

        await self.store.compare_and_set(_stock_key(level.sku), decide)

    async def on_low_stock(self, event: EventEnvelope) -> None:
        low = LowStock.model_validate(event.data)

        def decide(current: Any) -> Any:
            doc = StockDoc.model_validate(current) if current else None
            new = rules.on_low_stock(
                doc,
                low.sku,
                low.product_id,
                low.available,
                low.low_stock_threshold,
                event.occurred_at,
            )
            return new.model_dump(mode="json") if new else None

        if await self.store.compare_and_set(_stock_key(low.sku), decide):
            log.info("low stock alert", sku=low.sku, available=low.available)

    # -- restock list ------------------------------------------------------------------------
    async def restock(self, query: RestockQuery, page: int, limit: int) -> RestockPage:
        """Every SKU of the catalog (its levels, at most `levels.ttl_seconds` old) merged
        with the alerts kept from events, filtered, ordered, paged; the page's rows get the
        catalog's current figures and a forecast each."""
        levels, levels_at = await self.levels.get()
        found = await self.store.scan({"EQ": {"kind": rules.STOCK_KIND}}, "sku")
        docs = {d.sku: d for d in (StockDoc.model_validate(f.value) for f in found)}
        # a pass over every SKU: in a worker thread, so the app keeps answering meanwhile
        total, shown = await asyncio.to_thread(
            _restock_rows, levels, docs, levels_at, query, page, limit
        )
        live, live_at = await self._levels({r.product_id for r in shown}), utcnow()
        gate = asyncio.Semaphore(FORECAST_PARALLELISM)

        async def item(row: rules.RestockRow) -> RestockItem:
            level = live.get(row.sku)
            if level is not None:  # the figures of now for the rows shown
                row = rules.restock_row(level, docs.get(row.sku), live_at)
            async with gate:
                return await self._restock_item(row, query)

        items = await asyncio.gather(*(item(r) for r in shown))
        return RestockPage(items=list(items), page=page, limit=limit, total=total)

    async def _levels(self, product_ids: set[str]) -> dict[str, StockLevel]:
        """The catalog's current stock of these products' SKUs (a product it no longer has
        keeps the figures of its last event)."""
        answers = await asyncio.gather(
            *(
                self.sidecar.invoke(AppId.CATALOG, f"products/{pid}/inventory")
                for pid in sorted(product_ids)
            )
        )
        levels: dict[str, StockLevel] = {}
        for res in answers:
            if res.status == 404:
                continue
            for level in ProductInventory.model_validate(res.body_or_raise()).variants:
                levels[level.sku] = level
        return levels

    async def _restock_item(self, row: rules.RestockRow, query: RestockQuery) -> RestockItem:
        forecast, problem, quantity = None, None, None
        res = await self.sidecar.invoke(
            AppId.FORECAST,
            "forecast",
            method="POST",
            json_body={
                "sku": row.sku,
                "horizon_days": query.horizon_days,
                "lead_time_days": query.lead_time_days,
                "service_level": query.service_level,
            },
        )
        if res.ok:
            f = ForecastResponse.model_validate(res.body)
            forecast = RestockForecast(
                model_version=f.model_version,
                horizon_days=query.horizon_days,
                total_expected=f.total_expected,
                lead_time_days=f.lead_time_days,
                lead_time_demand=f.lead_time_demand,
                safety_stock=f.safety_stock,
                reorder_point=f.reorder_point,
            )
            quantity = rules.reorder_quantity(row.available, f.reorder_point, f.total_expected)
        else:
            error = res.body.get("error", {}) if isinstance(res.body, dict) else {}
            problem = str(error.get("message") or f"forecast answered {res.status}")
        return RestockItem(
            sku=row.sku,
            product_id=row.product_id,
            on_hand=row.on_hand,
            reserved=row.reserved,
            available=row.available,
            low_stock_threshold=row.low_stock_threshold,
            alert=row.alert,
            forecast=forecast,
            forecast_problem=problem,
            suggested_reorder_quantity=quantity,
            stock_at=row.stock_at,
        )

    # -- price suggestions ---------------------------------------------------------------
    async def _product(self, product_id: str) -> tuple[dict[str, Any], str]:
        res = await self.sidecar.invoke(AppId.CATALOG, f"products/{product_id}")
        body = res.body_or_raise()
        etag = res.headers.get("etag", "").removeprefix("W/").strip('"')
        return dict(body), etag

    async def suggest(self, body: PriceSuggestionIn, who: str, key: str | None) -> PriceSuggestion:
        """Ask pricing for the SKU's price at its current selling price; kept pending with
        the product's ETag. The same Idempotency-Key (of the same staff member) asks once."""
        if key is not None:
            digest = hashlib.sha256(f"{who}\n{key}".encode()).hexdigest()[:32]
            suggestion_id = f"psg-{digest}"
            found = await self.store.get(_price_key(suggestion_id))
            if found is not None:
                return PriceSuggestion.model_validate(found.value["suggestion"])
        else:
            suggestion_id = f"psg-{uuid.uuid4().hex}"
        product, etag = await self._product(body.product_id)
        sku = body.sku or str((product.get("variants") or [{}])[0].get("sku", ""))
        current = rules.selling_price(product, sku)
        if current is None:
            raise UnprocessableError(
                "This SKU is not a variant of the product", sku=sku, product_id=body.product_id
            )
        price, variant_id = current
        res = await self.sidecar.invoke(
            AppId.PRICING,
            "suggest",
            method="POST",
            json_body={
                "sku": sku,
                "current_price": float(price),
                "min_margin": body.min_margin,
                "max_change": body.max_change,
            },
        )
        answer = SuggestResponse.model_validate(res.body_or_raise())
        suggestion = PriceSuggestion(
            suggestion_id=suggestion_id,
            product_id=body.product_id,
            sku=sku,
            variant_id=variant_id,
            status=SuggestionStatus.PENDING,
            currency=str(product["price"].get("currency", "USD")),
            current_price=price,
            suggested_price=quantize(Decimal(str(answer.suggested_price))),
            change=answer.change,
            reason=answer.explanation,
            drivers=PriceDrivers(
                elasticity=answer.elasticity.value,
                elasticity_source=answer.elasticity.source,
                unit_cost=answer.unit_cost,
                expected_daily_units=answer.expected_daily_units,
                expected_daily_margin=answer.expected_daily_margin,
                binding=answer.binding,
            ),
            model_version=answer.model_version,
            created_at=utcnow(),
            created_by=who,
        )
        doc = {
            "kind": rules.PRICE_KIND,
            "suggestion_id": suggestion_id,
            "suggestion": suggestion.model_dump(mode="json"),
            "product_etag": etag,
            "in_flight": None,
            "decided_key": None,
        }
        try:
            await self.store.insert(_price_key(suggestion_id), doc)
        except EtagMismatch:  # the same key raced: the first one stands
            found = await self.store.get(_price_key(suggestion_id))
            if found is not None:
                return PriceSuggestion.model_validate(found.value["suggestion"])
            raise
        return suggestion

    async def suggestions(
        self,
        status: SuggestionStatus | None,
        product_id: str | None,
        sku: str | None,
        page: int,
        limit: int,
    ) -> PriceSuggestionPage:
        found = await self.store.scan({"EQ": {"kind": rules.PRICE_KIND}}, "suggestion_id")
        items = [PriceSuggestion.model_validate(d.value["suggestion"]) for d in found]
        items = [
            s
            for s in items
            if (status is None or s.status == status)
            and (product_id is None or s.product_id == product_id)
            and (sku is None or s.sku == sku)
        ]
        ordered = rules.suggestion_order(items, lambda s: s.status, lambda s: s.created_at)
        return PriceSuggestionPage(
            items=rules.page_of(ordered, page, limit), page=page, limit=limit, total=len(items)
        )

    async def get_suggestion(self, suggestion_id: str) -> PriceSuggestion:
        found = await self.store.get(_price_key(suggestion_id))
        if found is None:
            raise NotFound("Price suggestion not found", suggestion_id=suggestion_id)
        return PriceSuggestion.model_validate(found.value["suggestion"])

    async def decide(
        self, suggestion_id: str, decision: Decision, who: str, note: str, key: str | None
    ) -> PriceSuggestion:
        """Apply or dismiss a pending suggestion, once."""
        for _ in range(10):
            found = await self.store.get(_price_key(suggestion_id))
            if found is None:
                raise NotFound("Price suggestion not found", suggestion_id=suggestion_id)
            doc = found.value
            suggestion = PriceSuggestion.model_validate(doc["suggestion"])
            judged = rules.judge(
                suggestion.status, doc.get("in_flight"), doc.get("decided_key"), decision, key
            )
            if judged.verdict == Verdict.CONFLICT:
                raise Conflict(
                    judged.reason, suggestion_id=suggestion_id, status=suggestion.status.value
                )
            if judged.verdict == Verdict.REPLAY:
                return suggestion
            if decision == Decision.DISMISS:
                dismissed = suggestion.model_copy(
                    update={
                        "status": SuggestionStatus.DISMISSED,
                        "decided_at": utcnow(),
                        "decided_by": who,
                        "note": note,
                    }
                )
                new = {**doc, "suggestion": dismissed.model_dump(mode="json"), "decided_key": key}
                try:
                    await self.store.replace(_price_key(suggestion_id), new, found.etag)
                except EtagMismatch:
                    continue
                return dismissed
            resuming = judged.verdict == Verdict.RESUME
            if not resuming:
                flight = {"key": key, "by": who, "note": note, "at": utcnow().isoformat()}
                try:
                    await self.store.replace(
                        _price_key(suggestion_id), {**doc, "in_flight": flight}, found.etag
                    )
                except EtagMismatch:
                    continue
            decided = {"key": key, "by": who, "note": note}
            return await self._apply(suggestion, doc["product_etag"], resuming, decided)
        raise Conflict("This suggestion is being decided by someone else; try again")

    async def _apply(
        self,
        suggestion: PriceSuggestion,
        product_etag: str,
        resuming: bool,
        decided: dict[str, Any],
    ) -> PriceSuggestion:
        """The catalog update with `If-Match` the product's ETag when suggested: a product
        changed since then is a 409 and nothing changes. An apply that stopped after the
        catalog took it (resuming) is recognised by the price it left."""
        product, etag = await self._product(suggestion.product_id)
        current = rules.selling_price(product, suggestion.sku)
        now_price = current[0] if current else None
        if etag != product_etag:
            if resuming and now_price == suggestion.suggested_price:
                return await self._applied(suggestion, suggestion.current_price, decided)
            await self._abandon(suggestion.suggestion_id)
            raise Conflict(
                PRODUCT_CHANGED, reason="product_changed", product_id=product["product_id"]
            )
        update = rules.price_update(product, suggestion.sku, suggestion.suggested_price)
        res = await self.sidecar.invoke(
            AppId.CATALOG,
            f"products/{suggestion.product_id}",
            method="PATCH",
            json_body=update,
            headers={"If-Match": f'"{product_etag}"'},
        )
        if res.status == 409:
            await self._abandon(suggestion.suggestion_id)
            raise Conflict(
                PRODUCT_CHANGED, reason="product_changed", product_id=suggestion.product_id
            )
        res.body_or_raise()  # anything else: the apply stays under way; the next one finishes it
        return await self._applied(suggestion, now_price or suggestion.current_price, decided)

    async def _abandon(self, suggestion_id: str) -> None:
        """Nothing was applied: the suggestion is pending again (staff may dismiss it)."""

        def decide(current: Any) -> Any:
            if current is None or current.get("in_flight") is None:
                return None
            if current["suggestion"]["status"] != SuggestionStatus.PENDING:
                return None
            return {**current, "in_flight": None}

        await self.store.compare_and_set(_price_key(suggestion_id), decide)

    async def _applied(
        self, suggestion: PriceSuggestion, previous: Decimal, decided: dict[str, Any]
    ) -> PriceSuggestion:
        """Record the apply the catalog took (whoever finishes it: a concurrent resume may
        have abandoned the flight meanwhile, the price is still what was applied)."""
        result: list[PriceSuggestion] = []

        def decide(current: Any) -> Any:
            result.clear()
            stored = PriceSuggestion.model_validate(current["suggestion"])
            if stored.status != SuggestionStatus.PENDING:
                result.append(stored)
                return None
            flight = current.get("in_flight") or decided
            applied = stored.model_copy(
                update={
                    "status": SuggestionStatus.APPLIED,
                    "decided_at": utcnow(),
                    "decided_by": flight.get("by"),
                    "note": flight.get("note", ""),
                    "previous_price": previous,
                    "applied_price": stored.suggested_price,
                }
            )
            result.append(applied)
            return {
                **current,
                "suggestion": applied.model_dump(mode="json"),
                "in_flight": None,
                "decided_key": flight.get("key"),
            }

        await self.store.compare_and_set(_price_key(suggestion.suggestion_id), decide)
        if result[0].status != SuggestionStatus.APPLIED:
            raise Conflict("This suggestion was decided meanwhile", status=result[0].status.value)
        log.info(
            "price suggestion applied",
            suggestion_id=suggestion.suggestion_id,
            sku=suggestion.sku,
            previous=str(previous),
            price=str(suggestion.suggested_price),
        )
        return result[0]

    # -- fraud review queue --------------------------------------------------------------
    async def on_review_requested(self, event: EventEnvelope) -> None:
        """Queue a held order. Then ask orders where the order is now: a decision taken
        before this event arrived (its order event found nothing to end) still ends the
        review, and a redelivery checks again."""
        held = FraudReviewRequested.model_validate(event.data)

        def insert(current: Any) -> Any:
            if current is not None:
                return None  # a redelivery
            item = rules.review_from(held)
            return {
                "kind": rules.REVIEW_KIND,
                "order_id": held.order_id,
                "item": item.model_dump(mode="json"),
            }

        await self.store.compare_and_set(_review_key(held.order_id), insert)
        found = await self.store.get(_review_key(held.order_id))
        if found is None or found.value["item"]["state"] != ReviewState.PENDING:
            return
        res = await self.sidecar.invoke(AppId.ORDERS, f"orders/{held.order_id}")
        if res.status == 404:
            return
        order = res.body_or_raise()  # orders unavailable: retried
        await self._end_review(
            held.order_id, str(order["status"]), datetime.fromisoformat(order["updated_at"])
        )

    async def on_order_event(self, event: EventEnvelope) -> None:
        """An order's next status ends its review (orders held for review only)."""
        order_id, status = event.data.get("order_id"), event.data.get("status")
        at = event.data.get("at") or event.occurred_at.isoformat()
        if not isinstance(order_id, str) or not isinstance(status, str) or status == "pending":
            return
        await self._end_review(order_id, status, datetime.fromisoformat(str(at)))

    async def _end_review(self, order_id: str, status: str, when: datetime) -> None:
        def decide(current: Any) -> Any:
            if current is None:
                return None
            item = FraudReviewItem.model_validate(current["item"])
            after = rules.review_after(item, status, when)
            return {**current, "item": after.model_dump(mode="json")} if after else None

        await self.store.compare_and_set(_review_key(order_id), decide)

    async def reviews(self, state: ReviewState | None, page: int, limit: int) -> FraudReviewPage:
        found = await self.store.scan({"EQ": {"kind": rules.REVIEW_KIND}}, "order_id")
        items = [FraudReviewItem.model_validate(d.value["item"]) for d in found]
        items = [i for i in items if state is None or i.state == state]
        ordered = rules.review_order(items)
        return FraudReviewPage(
            items=rules.page_of(ordered, page, limit), page=page, limit=limit, total=len(items)
        )
