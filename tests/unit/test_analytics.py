"""Sales analytics: the read model's join (events once, any order), the reports to the cent
(revenue, refunds, net, AOV, periods, comparison), top products, categories, the funnel and
the export, against recomputations written out by hand."""

import asyncio
import io
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from apps.backoffice.analytics import domain, report
from apps.backoffice.analytics.api import period
from apps.backoffice.analytics.export import export_table, to_csv, to_xlsx
from apps.backoffice.analytics.frames import (
    Frames,
    _with_first,
    activity_frame,
    build,
    day_of,
)
from apps.backoffice.analytics.service import AnalyticsService, batch_rows
from apps.contracts.analytics import ActivityBatch
from apps.contracts.errors import InvalidRequest
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import (
    OrderCancelled,
    OrderCreated,
    OrderEventData,
    OrderPaid,
    OrderPlaced,
    OrderStatus,
    OrderStatusChanged,
)
from apps.contracts.payments import PaymentStatus, RefundProcessed
from tests.fakes.analytics import FixedCatalog, MemorySalesRecords

DAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
CATEGORIES = {"p-lap": "laptops", "p-cab": "cables", "p-mug": "kitchen"}
PRICES = {"p-lap": Decimal("999.99"), "p-cab": Decimal("9.95"), "p-mug": Decimal("12.49")}


def order_event(
    kind: type[OrderEventData],
    order_id: str,
    version: int,
    status: OrderStatus,
    at: datetime,
    lines: dict[str, int],
    *,
    user_id: str | None = None,
    email: str = "guest@example.com",
    refunded: str = "0.00",
    shipping: str = "4.99",
) -> EventEnvelope:
    items = [
        {
            "product_id": p,
            "variant_id": f"{p}-v1",
            "sku": f"SKU-{p}",
            "name": p.upper(),
            "quantity": q,
            "unit_price": str(PRICES[p]),
            "line_total": str(PRICES[p] * q),
        }
        for p, q in lines.items()
    ]
    subtotal = sum((PRICES[p] * q for p, q in lines.items()), Decimal("0"))
    tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"))
    total = subtotal + tax + Decimal(shipping)
    data = kind(
        order_id=order_id,
        order_number="SC-2026-000001",
        email=email,
        user_id=user_id,
        status=status,
        previous_status=None,
        totals={"subtotal": subtotal, "tax": tax, "shipping": shipping, "total": total},
        items=items,
        version=version,
        at=at,
        created_at=at - timedelta(minutes=version),
        refunded_amount=Decimal(refunded),
    )
    return EventEnvelope.of(data, correlation_id="c-1", source="orders")


def refund_event(order_id: str, refunded: str) -> EventEnvelope:
    data = RefundProcessed(
        order_id=order_id,
        payment_intent_id="pi_1",
        status=PaymentStatus.PARTIALLY_REFUNDED,
        amount=Decimal("1.00"),
        currency="USD",
        refunded_amount=Decimal(refunded),
    )
    return EventEnvelope.of(data, correlation_id="c-1", source="payments")


def life_of(order_id: str, at: datetime, lines: dict[str, int], **kw: Any) -> list[EventEnvelope]:
    """Created, paid, placed, shipped, partially refunded (refund on both topics)."""
    return [
        order_event(OrderCreated, order_id, 1, OrderStatus.AWAITING_PAYMENT, at, lines, **kw),
        order_event(
            OrderPaid, order_id, 2, OrderStatus.PAID, at + timedelta(seconds=5), lines, **kw
        ),
        order_event(
            OrderPlaced, order_id, 2, OrderStatus.PAID, at + timedelta(seconds=6), lines, **kw
        ),
        order_event(
            OrderStatusChanged,
            order_id,
            3,
            OrderStatus.SHIPPED,
            at + timedelta(hours=1),
            lines,
            **kw,
        ),
        refund_event(order_id, "10.01"),
        order_event(
            OrderStatusChanged,
            order_id,
            4,
            OrderStatus.PARTIALLY_REFUNDED,
            at + timedelta(days=2),
            lines,
            refunded="10.01",
            **kw,
        ),
    ]


def service() -> tuple[AnalyticsService, MemorySalesRecords]:
    records = MemorySalesRecords()
    return AnalyticsService(records, FixedCatalog(CATEGORIES), 3600, "USD"), records


async def feed(svc: AnalyticsService, events: list[EventEnvelope]) -> None:
    for e in events:
        if e.source == "payments":
            await svc.on_payment_event(e)
        else:
            await svc.on_order_event(e)


# -- the read model ---------------------------------------------------------------------
def test_any_order_and_repeats_give_one_record() -> None:
    events = life_of("o-1", DAY, {"p-lap": 1, "p-cab": 3}, user_id="u-1")
    want: dict[str, Any] | None = None
    rng = random.Random(7)
    orders = list(itertools.permutations(events))
    for seq in [*rng.sample(orders, 60), tuple(events)]:
        svc, records = service()
        asyncio.run(feed(svc, list(seq) + rng.sample(events, 3)))
        got = records.orders["o-1"]
        want = want or got
        assert got == want
    assert want is not None
    assert want["version"] == 4
    assert want["status"] == "partially_refunded"
    assert want["paid_at"] == (DAY + timedelta(seconds=5)).isoformat()
    assert want["refunded"] == 1001
    assert [line["category"] for line in want["lines"]] == ["laptops", "cables"]


def test_repeated_event_writes_nothing() -> None:
    svc, records = service()
    e = order_event(OrderPaid, "o-1", 2, OrderStatus.PAID, DAY, {"p-mug": 1})
    asyncio.run(feed(svc, [e, e, e]))
    assert records.writes == 1


def test_refund_before_any_order_event_is_kept_but_not_a_sale() -> None:
    svc, records = service()
    asyncio.run(feed(svc, [refund_event("o-9", "3.00")]))
    assert not domain.is_sale(records.orders["o-9"])
    asyncio.run(feed(svc, [order_event(OrderPaid, "o-9", 2, OrderStatus.PAID, DAY, {"p-mug": 1})]))
    assert domain.is_sale(records.orders["o-9"]) and records.orders["o-9"]["refunded"] == 300


def test_not_a_whole_cent_is_refused() -> None:
    with pytest.raises(ValueError):
        domain.cents(Decimal("1.005"))


# -- sales to the cent ------------------------------------------------------------------
def _frames(events: list[EventEnvelope]) -> tuple[AnalyticsService, Frames]:
    svc, _ = service()
    asyncio.run(feed(svc, events))
    return svc, asyncio.run(svc.frames())


def test_sales_figures_equal_a_recomputation() -> None:
    events: list[EventEnvelope] = []
    expected_total = Decimal("0")
    per_day: dict[date, Decimal] = {}
    lines_of = [{"p-lap": 1}, {"p-cab": 3, "p-mug": 2}, {"p-mug": 1}, {"p-cab": 1}]
    for i, lines in enumerate(lines_of):
        at = DAY + timedelta(days=i % 3, hours=i)
        events += life_of(f"o-{i}", at, lines, user_id=f"u-{i % 2}")
        subtotal = sum((PRICES[p] * q for p, q in lines.items()), Decimal("0"))
        total = (
            subtotal + (subtotal * Decimal("0.0825")).quantize(Decimal("0.01")) + Decimal("4.99")
        )
        expected_total += total
        day = (at + timedelta(seconds=5)).date()
        per_day[day] = per_day.get(day, Decimal("0")) + total
    # Never paid (created, then cancelled unpaid): not a sale.
    events += [
        order_event(OrderCreated, "o-x", 1, OrderStatus.AWAITING_PAYMENT, DAY, {"p-lap": 5}),
        order_event(OrderCancelled, "o-x", 2, OrderStatus.CANCELLED, DAY, {"p-lap": 5}),
    ]
    _, frames = _frames(events)
    got = report.sales(frames, DAY.date(), DAY.date() + timedelta(days=6), "day", "USD")
    refunds = Decimal("10.01") * 4
    assert got.totals.orders == 4
    assert got.totals.revenue == expected_total
    assert got.totals.refunds == refunds
    assert got.totals.net == expected_total - refunds
    assert got.totals.aov == (expected_total / 4).quantize(
        Decimal("0.01"), rounding="ROUND_HALF_UP"
    )
    assert got.totals.new_customers == 2  # u-0 and u-1, each first once
    assert got.totals.items_sold == 1 + 5 + 1 + 1
    assert len(got.series) == 7  # every day of the period, empty ones at zero
    assert {p.start: p.revenue for p in got.series if p.orders} == per_day
    assert sum(p.revenue for p in got.series) == expected_total
    weekly = report.sales(frames, DAY.date(), DAY.date() + timedelta(days=6), "week", "USD")
    assert [p.period for p in weekly.series] == ["2026-W10"]
    assert weekly.series[0].revenue == expected_total
    monthly = report.sales(frames, date(2026, 2, 1), date(2026, 3, 31), "month", "USD")
    assert [(p.period, p.orders) for p in monthly.series] == [("2026-02", 0), ("2026-03", 4)]


def test_cancelled_after_payment_is_a_sale_refunded_in_full() -> None:
    lines = {"p-mug": 2}
    events = [
        order_event(OrderPaid, "o-c", 2, OrderStatus.PAID, DAY, lines),
        order_event(OrderCancelled, "o-c", 3, OrderStatus.CANCELLED, DAY, lines, refunded="29.03"),
    ]
    _, frames = _frames(events)
    got = report.sales(frames, DAY.date(), DAY.date(), "day", "USD").totals
    assert (got.orders, got.revenue, got.refunds, got.net) == (
        1,
        Decimal("32.03"),
        Decimal("29.03"),
        Decimal("3.00"),
    )


def test_aov_rounds_half_up_to_the_cent() -> None:
    assert report.aov_cents(1001, 2) == 501  # 5.005 -> 5.01
    assert report.aov_cents(1000, 3) == 333
    assert report.aov_cents(0, 0) == 0


def test_period_over_period_comparison() -> None:
    this_week = life_of("o-a", DAY + timedelta(days=7), {"p-lap": 2})
    last_week = life_of("o-b", DAY, {"p-lap": 1})
    _, frames = _frames(this_week + last_week)
    start = (DAY + timedelta(days=7)).date()
    got = report.sales(frames, start, start + timedelta(days=6), "day", "USD")
    assert got.previous_start_date == DAY.date()
    assert got.previous_end_date == DAY.date() + timedelta(days=6)
    assert got.previous.orders == 1 and got.totals.orders == 1
    assert got.change.orders == 0.0
    want = (got.totals.revenue - got.previous.revenue) / got.previous.revenue * 100
    assert got.change.revenue == round(float(want), 2)
    assert got.change.revenue is not None and got.change.revenue > 99
    empty = report.sales(frames, date(2025, 1, 1), date(2025, 1, 7), "day", "USD")
    assert empty.change.revenue is None and empty.totals.revenue == Decimal("0.00")


# -- products, categories, funnel ---------------------------------------------------------
def activity(*rows: tuple[str, str, str | None]) -> ActivityBatch:
    return ActivityBatch.model_validate(
        {
            "batch_id": f"batch-{random.random():.12f}",
            "events": [
                {"session": s, "kind": k, "product_id": p, "at": DAY.isoformat()}
                for s, k, p in rows
            ],
        }
    )


def test_top_products_categories_and_funnel() -> None:
    svc, records = service()
    events = life_of("o-1", DAY, {"p-lap": 1, "p-cab": 4}) + life_of("o-2", DAY, {"p-cab": 1})
    asyncio.run(feed(svc, events))
    batch = activity(
        ("g:s1", "product_view", "p-lap"),
        ("g:s1", "product_view", "p-mug"),
        ("g:s1", "cart_add", "p-lap"),
        ("g:s1", "checkout_start", None),
        ("g:s2", "product_view", "p-mug"),
        ("g:s2", "product_view", "p-mug"),
        ("u:u-3", "product_view", "p-cab"),
        ("u:u-3", "cart_add", "p-cab"),
        ("g:s4", "cart_add", "p-cab"),
    )
    first = asyncio.run(svc.record_activity(batch))
    again = asyncio.run(svc.record_activity(batch))
    assert (first.duplicate, again.duplicate, len(records.batches)) == (False, True, 1)

    top = asyncio.run(svc.top_products(DAY.date(), DAY.date(), 10, "sales"))
    assert [(p.product_id, p.units, p.orders) for p in top.items] == [
        ("p-cab", 5, 2),
        ("p-lap", 1, 1),
    ]
    assert top.items[0].revenue == Decimal("49.75")
    by_revenue = asyncio.run(svc.top_products(DAY.date(), DAY.date(), 1, "revenue"))
    assert [p.product_id for p in by_revenue.items] == ["p-lap"]
    by_views = asyncio.run(svc.top_products(DAY.date(), DAY.date(), 10, "views"))
    assert [(p.product_id, p.views) for p in by_views.items] == [
        ("p-mug", 3),
        ("p-cab", 1),
        ("p-lap", 1),
    ]

    cats = asyncio.run(svc.categories(DAY.date(), DAY.date()))
    assert [(c.category, c.revenue, c.units) for c in cats.items] == [
        ("laptops", Decimal("999.99"), 1),
        ("cables", Decimal("49.75"), 5),
    ]
    assert sum(c.share for c in cats.items) == pytest.approx(100, abs=0.02)

    funnel = asyncio.run(svc.conversion(DAY.date(), DAY.date()))
    assert [(s.step, s.count) for s in funnel.steps] == [
        ("sessions", 4),
        ("product_views", 3),
        ("cart", 3),
        ("checkout", 1),
        ("paid", 2),
    ]
    assert funnel.conversion_rate == 50.0
    assert funnel.steps[3].of_previous == pytest.approx(33.33)
    other_day = asyncio.run(svc.conversion(date(2026, 1, 1), date(2026, 1, 1)))
    assert [s.count for s in other_day.steps] == [0, 0, 0, 0, 0]


def test_reload_merges_writes_made_while_it_ran() -> None:
    svc, records = service()
    asyncio.run(feed(svc, life_of("o-1", DAY, {"p-lap": 1})))

    async def race() -> None:
        original = records.all_orders

        async def slow() -> list[dict[str, Any]]:
            found = await original()
            # another event lands between the scan and the swap
            await feed(svc, life_of("o-2", DAY, {"p-mug": 1}))
            return found

        records.all_orders = slow  # type: ignore[method-assign]
        await svc._reload()

    asyncio.run(race())
    got = report.sales(asyncio.run(svc.frames()), DAY.date(), DAY.date(), "day", "USD")
    assert got.totals.orders == 2


# -- export ------------------------------------------------------------------------------
def test_export_opens_in_pandas_with_the_same_totals() -> None:
    events = life_of("o-1", DAY, {"p-lap": 1}) + life_of(
        "o-2", DAY + timedelta(days=1), {"p-cab": 3}
    )
    _, frames = _frames(events)
    got = report.sales(frames, DAY.date(), DAY.date() + timedelta(days=2), "day", "USD")
    table = export_table(got)
    csv = pd.read_csv(io.BytesIO(to_csv(table)))
    xlsx = pd.read_excel(io.BytesIO(to_xlsx(table, got)), sheet_name="sales")
    for opened in (csv, xlsx):
        assert len(opened) == 3
        assert int(opened["orders"].sum()) == got.totals.orders
        for column in ("revenue", "refunds", "net"):
            assert Decimal(f"{opened[column].sum():.2f}") == getattr(got.totals, column)


def test_an_empty_read_model_answers_zeros() -> None:
    svc, _ = service()
    got = asyncio.run(svc.sales(DAY.date(), DAY.date() + timedelta(days=2), "week"))
    assert got.totals.orders == 0 and got.totals.revenue == Decimal("0.00")
    assert [p.orders for p in got.series] == [0]
    assert asyncio.run(svc.top_products(DAY.date(), DAY.date(), 5, "views")).items == []
    assert asyncio.run(svc.categories(DAY.date(), DAY.date())).items == []
    assert asyncio.run(svc.conversion(DAY.date(), DAY.date())).conversion_rate is None


def test_frames_kept_up_to_date_equal_a_rebuild() -> None:
    """Events after the first report are applied as a delta; the answers equal frames built
    from scratch out of the same records."""
    svc, records = service()
    asyncio.run(feed(svc, life_of("o-1", DAY, {"p-lap": 1}, user_id="u-1")))
    asyncio.run(svc.frames())  # loaded
    later = [
        *life_of("o-2", DAY, {"p-cab": 2}, user_id="u-1"),
        order_event(
            OrderCancelled,
            "o-1",
            9,
            OrderStatus.CANCELLED,
            DAY,
            {"p-lap": 1},
            refunded="999.99",
            user_id="u-1",
        ),
    ]
    asyncio.run(feed(svc, later))
    asyncio.run(svc.record_activity(activity(("g:s9", "cart_add", "p-cab"))))
    kept = asyncio.run(svc.frames())
    rebuilt = build(
        records.orders.values(),
        [row for d in records.batches.values() for row in batch_rows(d)],
    )
    end = DAY.date() + timedelta(days=3)
    for frames in (kept, rebuilt):
        assert len(frames.orders) == 2 and len(frames.activity) == 1
    assert report.sales(kept, DAY.date(), end, "day", "USD") == report.sales(
        rebuilt, DAY.date(), end, "day", "USD"
    )
    assert report.top_products(kept, DAY.date(), end, 10, "sales") == report.top_products(
        rebuilt, DAY.date(), end, 10, "sales"
    )
    assert report.sales(kept, DAY.date(), end, "day", "USD").totals.new_customers == 1


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 3, 2), date(2026, 3, 1)),
        (date(1, 1, 1), date(1, 1, 2)),
        (date(2020, 1, 1), date(2026, 1, 1)),
    ],
)
def test_a_period_out_of_bounds_is_refused(start: date, end: date) -> None:
    with pytest.raises(InvalidRequest):
        period(start, end)
    assert period(date(2026, 3, 1), date(2026, 3, 1)) == (date(2026, 3, 1), date(2026, 3, 1))


def test_warm_up_loads_the_read_model_and_retries_a_failed_load() -> None:
    svc, records = service()
    asyncio.run(feed(svc, life_of("o-1", DAY, {"p-lap": 1})))
    fresh = AnalyticsService(records, FixedCatalog(CATEGORIES), 3600, "USD")
    failures = [RuntimeError("sidecar not up yet")]
    original = records.all_orders

    async def flaky() -> list[dict[str, Any]]:
        if failures:
            raise failures.pop()
        return await original()

    records.all_orders = flaky  # type: ignore[method-assign]

    async def run() -> None:
        fresh.warm_up(pause=0)
        assert fresh._refresh is not None
        await fresh._refresh

    asyncio.run(run())
    assert not failures and fresh._loaded_at is not None
    assert len(fresh._frames.orders) == 1


def _naive_top(
    sales: dict[str, list[tuple[Any, ...]]], steps: list[tuple[Any, ...]], lo: int, hi: int
) -> dict[str, tuple[int, int, int, int]]:
    """product -> (units, revenue cents, distinct orders, views), straight from the rows."""
    out: dict[str, list[Any]] = {}
    for order_id, lines in sales.items():
        for line in lines:
            if lo <= line[1] <= hi:
                entry = out.setdefault(line[2], [0, 0, set(), 0])
                entry[0] += line[5]
                entry[1] += line[6]
                entry[2].add(order_id)
    for _, kind, product, day in steps:
        if lo <= day <= hi and kind == "product_view" and product is not None:
            out.setdefault(product, [0, 0, set(), 0])[3] += 1
    return {p: (u, r, len(o), v) for p, (u, r, o, v) in out.items()}


def test_product_and_funnel_reports_equal_a_recount_after_many_changes() -> None:
    """The coded arrays the product and funnel reports count over, extended change by change
    (orders replaced and dropped, batches appended), answer what a plain recount of the rows
    answers, and what frames built from scratch answer."""
    rng = random.Random(7)
    day0 = 20_000
    kinds = ["product_view", "cart_add", "checkout_start", "search"]
    sales: dict[str, list[tuple[Any, ...]]] = {}
    steps: list[tuple[Any, ...]] = []
    frames = Frames.empty()
    _ = frames.codes  # made early, so every change below extends them
    for round_ in range(40):
        changed: dict[str, Any] = {}
        for _n in range(rng.randrange(1, 6)):
            order_id = f"o-{rng.randrange(60)}"
            if order_id in sales and rng.random() < 0.2:
                del sales[order_id]
                changed[order_id] = None
                continue
            day = day0 + rng.randrange(10)
            lines = [
                (
                    order_id,
                    day,
                    f"p-{rng.randrange(15)}",
                    "N",
                    "c",
                    rng.randrange(1, 4),
                    rng.randrange(1, 9_999),
                )
                for _ in range(rng.randrange(1, 4))  # the same product twice happens: variants
            ]
            sales[order_id] = lines
            total = sum(line[6] for line in lines)
            changed[order_id] = (
                (
                    order_id,
                    day,
                    day * 86_400_000_000 + rng.choice((0, 0, 1)),  # ties on the instant
                    f"c{rng.randrange(9)}@x",
                    total,
                    0,
                    len(lines),
                    "USD",
                ),
                lines,
            )
        batch = [
            (
                f"s-{rng.randrange(30)}",
                rng.choice(kinds),
                rng.choice([None, f"p-{rng.randrange(20)}"]),
                day0 + rng.randrange(10),
            )
            for _ in range(rng.randrange(0, 12))
        ]
        steps.extend(batch)
        frames = frames.updated(changed, [activity_frame(batch)])
        if round_ % 8:
            continue
        fresh = Frames(frames.orders, frames.lines, frames.activity)  # codes made anew
        # orders kept sorted by (instant, order id) change by change, `first` as from scratch
        resorted = _with_first(frames.orders.drop(columns="first"))
        pd.testing.assert_frame_equal(frames.orders, resorted)
        for lo, hi in ((day0, day0 + 9), (day0 + 2, day0 + 4), (day0 + 11, day0 + 12)):
            start, end = day_of(lo), day_of(hi)
            expected = _naive_top(sales, steps, lo, hi)
            for sort_by, at in (("sales", 0), ("revenue", 1), ("views", 3)):
                top = report.top_products(frames, start, end, 5, sort_by)  # type: ignore[arg-type]
                assert top == report.top_products(fresh, start, end, 5, sort_by)  # type: ignore[arg-type]
                ranked = sorted(
                    (p for p, figures in expected.items() if figures[at] > 0),
                    key=lambda p: (-expected[p][at], p),
                )[:5]
                assert [i.product_id for i in top.items] == ranked
                for item in top.items:
                    units, revenue, orders, views = expected[item.product_id]
                    assert (item.units, item.orders, item.views) == (units, orders, views)
                    assert item.revenue == report.money(revenue)
            funnel = report.conversion(frames, start, end)
            assert funnel == report.conversion(fresh, start, end)
            in_range = [s for s in steps if lo <= s[3] <= hi]
            reached = [
                len({s[0] for s in in_range}),
                *(len({s[0] for s in in_range if s[1] == k}) for k in kinds[:3]),
            ]
            paid = sum(1 for lines in sales.values() if lo <= lines[0][1] <= hi)
            assert [s.count for s in funnel.steps] == [*reached, paid]


def test_a_report_is_computed_once_per_version_of_the_read_model() -> None:
    svc, _ = service()
    asyncio.run(feed(svc, life_of("o-1", DAY, {"p-lap": 1})))
    first = asyncio.run(svc.sales(DAY.date(), DAY.date(), "day"))
    assert asyncio.run(svc.sales(DAY.date(), DAY.date(), "day")) is first  # the memo
    assert asyncio.run(svc.sales(DAY.date(), DAY.date(), "week")) is not first  # other args
    asyncio.run(feed(svc, life_of("o-2", DAY, {"p-mug": 2})))
    after = asyncio.run(svc.sales(DAY.date(), DAY.date(), "day"))
    assert (first.totals.orders, after.totals.orders) == (1, 2)  # a change: computed anew
    assert after == report.sales(asyncio.run(svc.frames()), DAY.date(), DAY.date(), "day", "USD")
