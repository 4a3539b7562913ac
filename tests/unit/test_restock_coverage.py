"""The restock list over the whole catalog: the catalog's level of every SKU (a SKU no
write touched yet is at its variant's stock), merged with the alerts kept from events (an
event's alert stays; a SKU at or below its threshold is an alert without any event; the
newer figures win), and the levels kept for a bounded time, never partially."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.backoffice import merchandising as rules
from apps.backoffice.merchandising import StockDoc
from apps.backoffice.merchandising_service import CatalogLevels
from apps.catalog import inventory
from apps.catalog.inventory import Hold, StockRecord
from apps.catalog.service.inventory import _levels_page
from apps.contracts.catalog import Product
from apps.contracts.errors import DomainError, ErrorCode
from apps.contracts.inventory import StockLevel, StockLevelPage
from apps.platform.dapr import InvokeResult
from tests import factories

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _product(pid: str, stocks: dict[str, int]) -> Product:
    variants = [
        {"variant_id": f"{pid}-v{i}", "sku": sku, "stock": stock}
        for i, (sku, stock) in enumerate(stocks.items())
    ]
    return Product.model_validate(
        {
            **factories.product(product_id=pid, variants=variants),
            "created_at": T0.isoformat(),
            "updated_at": T0.isoformat(),
        }
    )


def _level(sku: str, available: int, threshold: int = 5, pid: str = "p-1") -> StockLevel:
    return StockLevel(
        sku=sku,
        product_id=pid,
        variant_id=f"{pid}-v",
        on_hand=available,
        reserved=0,
        available=available,
        low_stock_threshold=threshold,
    )


# -- catalog: every SKU's level ------------------------------------------------------------
def test_every_sku_has_a_level_its_record_or_its_variants_stock() -> None:
    held = StockRecord(
        sku="B-1",
        product_id="p-b",
        variant_id="p-b-v0",
        on_hand=10,
        low_stock_threshold=8,
        holds={"o-1": Hold(quantity=4, expires_at=T0 + timedelta(minutes=5))},
    )
    orphan = StockRecord(sku="Z-9", product_id="p-gone", variant_id="v", on_hand=1)
    products = [_product("p-a", {"A-1": 0, "A-2": 40}), _product("p-b", {"B-1": 99})]
    rows = inventory.catalog_levels([held, orphan], products, T0)
    assert [r.sku for r in rows] == ["A-1", "A-2", "B-1", "Z-9"]
    a1, a2, b1, z9 = rows
    # never written: the variant's stock, no holds, the default threshold
    assert (a1.on_hand, a1.reserved, a1.available, a1.low_stock_threshold) == (0, 0, 0, 5)
    assert a1.low and not a2.low and a2.available == 40
    # the record wins over the product's stock; its holds count
    assert (b1.on_hand, b1.reserved, b1.available, b1.low) == (10, 4, 6, True)
    assert z9.product_id == "p-gone" and z9.low


def test_levels_page_by_sku_after_a_cursor_and_the_low_only_filter() -> None:
    products = [_product("p-a", {f"A-{i}": i for i in range(7)})]  # A-0..A-5 low, A-6 not

    def page(low_only: bool, after: str | None, limit: int) -> StockLevelPage:
        raw = _levels_page([], products, low_only, after, limit)
        return StockLevelPage.model_validate_json(raw)

    first = page(False, None, 3)
    assert [r.sku for r in first.items] == ["A-0", "A-1", "A-2"] and first.total == 7
    assert first.next_after == "A-2"
    last = page(False, "A-4", 3)
    assert [r.sku for r in last.items] == ["A-5", "A-6"] and last.next_after is None
    low = page(True, None, 100)
    assert low.total == 6 and all(r.low for r in low.items) and low.next_after is None


# -- backoffice: merge with the events -----------------------------------------------------
def test_a_sku_at_or_below_its_threshold_is_an_alert_without_any_event() -> None:
    low = rules.restock_row(_level("S-1", 5), None, T0)
    assert low.alert is not None and low.alert.source == "stock_level"
    assert (low.alert.available, low.alert.low_stock_threshold, low.alert.raised_at) == (5, 5, T0)
    assert rules.restock_row(_level("S-2", 6), None, T0).alert is None


def test_an_events_alert_shows_and_newer_figures_win() -> None:
    raised = rules.on_low_stock(None, "S-1", "p-1", 2, 5, T0)
    assert raised is not None
    # the levels were read before the event: the event's figures and alert
    row = rules.restock_row(_level("S-1", 30), raised, T0 - timedelta(seconds=5))
    assert row.alert is not None and row.alert.source == "event" and row.available == 2
    # a restock event after the read clears it, though the read still showed it low
    doc = rules.on_level(raised, "S-1", "p-1", 100, 0, 100, T0 + timedelta(seconds=1))
    assert doc is not None and doc.alert is None
    row = rules.restock_row(_level("S-1", 2), doc, T0)
    assert row.alert is None and row.available == 100 and row.low_stock_threshold == 5
    # levels read after the event: the catalog's figures
    row = rules.restock_row(_level("S-1", 40), doc, T0 + timedelta(seconds=2))
    assert row.available == 40 and row.stock_at == T0 + timedelta(seconds=2)


def test_the_list_covers_the_catalog_and_the_skus_events_named() -> None:
    levels = {s: _level(s, a) for s, a in (("A", 0), ("B", 50), ("C", 3))}
    gone = StockDoc(sku="D", product_id="p-gone", on_hand=7, available=7, level_at=T0)
    rows = rules.restock_order(rules.merge_restock(levels, [gone], T0))
    assert [r.sku for r in rows] == ["A", "C", "B", "D"]
    assert [r.alert is not None for r in rows] == [True, True, False, False]
    assert rows[3].low_stock_threshold is None and rows[3].available == 7


# -- backoffice: the levels kept for a bounded time ----------------------------------------
class Catalog:
    """The catalog's `/inventory/levels` as invoked: pages by SKU; can be made to fail."""

    def __init__(self, skus: list[str]) -> None:
        self.skus = skus
        self.calls = 0
        self.fail_calls: set[int] = set()

    async def invoke(self, app_id: str, path: str, **kw: Any) -> InvokeResult:
        assert path == "inventory/levels"
        self.calls += 1
        if self.calls in self.fail_calls:
            return InvokeResult(500, {"error": {"message": "boom"}}, {})
        params = kw["params"]
        rest = [s for s in self.skus if params.get("after") is None or s > params["after"]]
        page = rest[: params["limit"]]
        rows = [{**_level(s, 1).model_dump(), "low": True} for s in page]
        more = len(rest) > len(page)
        body = {"items": rows, "total": len(self.skus), "next_after": page[-1] if more else None}
        return InvokeResult(200, body, {})


def test_levels_are_read_page_by_page_kept_for_the_ttl_then_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("apps.backoffice.merchandising_service.LEVELS_PAGE", 2)
    catalog = Catalog([f"S-{i}" for i in range(5)])
    now = [0.0]
    levels = CatalogLevels(catalog, ttl_seconds=60, clock=lambda: now[0])  # type: ignore[arg-type]
    got, _ = asyncio.run(levels.get())
    assert sorted(got) == catalog.skus and catalog.calls == 3
    now[0] = 59.0
    asyncio.run(levels.get())
    assert catalog.calls == 3  # reused
    now[0] = 60.0
    catalog.skus.append("S-5")
    got, _ = asyncio.run(levels.get())
    assert "S-5" in got and catalog.calls == 6


def test_a_catalog_failure_is_a_503_never_a_partial_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("apps.backoffice.merchandising_service.LEVELS_PAGE", 2)
    monkeypatch.setattr("apps.backoffice.merchandising_service.LEVELS_RETRY_PAUSE", 0)
    catalog = Catalog([f"S-{i}" for i in range(5)])
    catalog.fail_calls = {2}  # the second page fails once: asked again
    got, _ = asyncio.run(CatalogLevels(catalog, ttl_seconds=60).get())  # type: ignore[arg-type]
    assert len(got) == 5 and catalog.calls == 4
    catalog.calls, catalog.fail_calls = 0, {2, 3}  # fails twice: 503, nothing kept
    levels = CatalogLevels(catalog, ttl_seconds=60)  # type: ignore[arg-type]
    with pytest.raises(DomainError) as raised:
        asyncio.run(levels.get())
    assert raised.value.code == ErrorCode.SERVICE_UNAVAILABLE
    assert levels._held is None
    got, _ = asyncio.run(levels.get())  # the next request reads again
    assert len(got) == 5
