"""Operations on checkout sagas: the stuck rule, filtering and paging, and the use cases'
guards (404, 409, terminate runs the compensation once, purge of ended sagas only) over an
in-memory engine and index (the real ones: tests/integration/test_admin_sagas.py)."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog.testing

from apps.checkout import workflows
from apps.checkout.operations import (
    FIRST_STEP_EVENT,
    STUCK_GRACE_SECONDS,
    IndexRow,
    SagaOperations,
    SagaQuery,
    SagaSnapshot,
    report_stuck,
    select,
    stuck_threshold,
    summary,
)
from apps.contracts.checkout import CheckoutOutcome, CheckoutStatus, Compensation
from apps.contracts.errors import Conflict, DomainError, NotFound
from apps.contracts.operations_sagas import RaisePaymentEvent, SagaHistoryEvent, SagaWait
from apps.contracts.orders import OrderStatus
from apps.contracts.payments import PaymentStatus

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
S = CheckoutStatus
TIMEOUTS = {
    "order_id": "o-1",
    "payment_timeout_seconds": 900,
    "authentication_timeout_seconds": 600,
    "review_timeout_seconds": 86400,
    "promo_code": "WELCOME10",
}


def snap(
    saga_id: str = "o-1",
    status: CheckoutStatus = S.RUNNING,
    idle: float = 0,
    age: float = 0,
    custom: str = "",
    **inputs: Any,
) -> SagaSnapshot:
    return SagaSnapshot(
        saga_id=saga_id,
        status=status,
        created_at=NOW - timedelta(seconds=max(age, idle)),
        last_updated_at=NOW - timedelta(seconds=idle),
        custom_status=custom,
        input={**TIMEOUTS, "order_id": saga_id, **inputs},
    )


# -- the stuck rule ------------------------------------------------------------------------
def test_a_saga_is_stuck_once_idle_past_the_wait_it_is_in() -> None:
    assert stuck_threshold(snap()) == 900 + STUCK_GRACE_SECONDS
    waiting_3ds = snap(custom=f'"{workflows.AWAITING_AUTHENTICATION}"')
    assert stuck_threshold(waiting_3ds) == 600 + STUCK_GRACE_SECONDS
    in_review = snap(custom=workflows.AWAITING_REVIEW)
    assert stuck_threshold(in_review) == 86400 + STUCK_GRACE_SECONDS
    assert summary(in_review, NOW).waiting_for == SagaWait.REVIEW
    assert not summary(snap(idle=900), NOW).stuck
    assert summary(snap(idle=900 + STUCK_GRACE_SECONDS + 1), NOW).stuck
    # Idle counts from the last progress, not from the start.
    assert not summary(snap(idle=10, age=5000), NOW).stuck


def test_the_override_applies_to_every_saga_in_flight_and_never_to_ended_ones() -> None:
    assert stuck_threshold(snap(), override=5) == 5
    assert summary(snap(idle=6), NOW, override=5).stuck
    ended = snap(status=S.COMPLETED, idle=10_000)
    assert stuck_threshold(ended, override=5) is None
    found = summary(ended, NOW, override=5)
    assert (found.stuck, found.idle_seconds, found.waiting_for) == (False, None, None)


def test_missing_timeouts_fall_back_to_the_production_defaults() -> None:
    bare = SagaSnapshot(saga_id="x", status=S.PENDING, created_at=NOW)
    assert stuck_threshold(bare) == 15 * 60 + STUCK_GRACE_SECONDS


# -- filtering and paging --------------------------------------------------------------------
def test_select_filters_sorts_oldest_first_and_pages() -> None:
    items = [
        summary(snap("a", idle=100, age=300), NOW, override=50),
        summary(snap("b", idle=1, age=200), NOW, override=50),
        summary(snap("c", status=S.COMPLETED, age=400), NOW, override=50),
        summary(snap("d", idle=60, age=100), NOW, override=50),
    ]
    everything = select(items, SagaQuery(), NOW)
    assert [i.saga_id for i in everything.items] == ["c", "a", "b", "d"]
    stuck = select(items, SagaQuery(stuck=True), NOW)
    assert [i.saga_id for i in stuck.items] == ["a", "d"]
    running = select(items, SagaQuery(statuses=frozenset({S.RUNNING})), NOW)
    assert running.total == 3
    old = select(items, SagaQuery(older_than_seconds=250), NOW)
    assert [i.saga_id for i in old.items] == ["c", "a"]
    page2 = select(items, SagaQuery(page=2, limit=3), NOW)
    assert ([i.saga_id for i in page2.items], page2.total, page2.pages) == (["d"], 4, 2)
    assert SagaQuery(stuck=True).in_flight_only
    assert not SagaQuery(statuses=frozenset({S.RUNNING, S.COMPLETED})).in_flight_only


# -- the use cases -------------------------------------------------------------------------
class Engine:
    def __init__(self, *snaps: SagaSnapshot, history: list[SagaHistoryEvent] | None = None):
        self.sagas = {s.saga_id: s for s in snaps}
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.purged: list[str] = []
        self.terminated: list[str] = []
        self._history = history
        self.reran: list[tuple[str, int, str]] = []

    async def snapshot(self, saga_id: str) -> SagaSnapshot | None:
        return self.sagas.get(saga_id)

    async def terminate(self, saga_id: str, output: dict[str, Any]) -> None:
        self.terminated.append(saga_id)
        assert CheckoutOutcome.model_validate(output).outcome == "cancelled"
        old = self.sagas[saga_id]
        self.sagas[saga_id] = SagaSnapshot(
            saga_id=saga_id, status=S.TERMINATED, created_at=old.created_at, input=old.input
        )

    async def wait_ended(self, saga_id: str, seconds: float) -> SagaSnapshot | None:
        return self.sagas.get(saga_id)

    async def purge(self, saga_id: str) -> None:
        self.purged.append(saga_id)
        del self.sagas[saga_id]

    async def raise_event(self, instance_id: str, name: str, data: dict[str, Any]) -> bool:
        self.events.append((instance_id, name, data))
        return True

    async def history(self, saga_id: str) -> list[SagaHistoryEvent] | None:
        return self._history

    async def rerun(self, saga_id: str, event_id: int, new_id: str) -> str | None:
        if self._history is None:
            return None
        self.reran.append((saga_id, event_id, new_id))
        return new_id


class Index:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def opened(self, saga_id: str, at: datetime) -> None:
        self.docs.setdefault(saga_id, IndexRow(saga_id, at.isoformat()).to_doc())

    async def rows(self, ended: bool | None = None) -> list[IndexRow]:
        rows = [IndexRow.of(d) for d in self.docs.values()]
        return [r for r in rows if ended is None or r.ended == ended]

    async def get(self, saga_id: str) -> IndexRow | None:
        found = self.docs.get(saga_id)
        return IndexRow.of(found) if found else None

    async def update(self, saga_id: str, change: Callable[[IndexRow], IndexRow]) -> None:
        current = await self.get(saga_id) or IndexRow(saga_id, "")
        self.docs[saga_id] = change(current).to_doc()

    async def remove(self, saga_id: str) -> None:
        self.docs.pop(saga_id, None)


class Undo:
    def __init__(self, payment: PaymentStatus | None = PaymentStatus.CANCELED) -> None:
        self.payment = payment
        self.cancelled: list[str] = []
        self.compensations: list[Compensation] = []

    def cancel_payment(self, order_id: str, reason: str) -> PaymentStatus | None:
        self.cancelled.append(order_id)
        return self.payment

    def compensate(self, step: Compensation) -> OrderStatus | None:
        self.compensations.append(step)
        return OrderStatus.CANCELLED


def ops(*snaps: SagaSnapshot, undo: Undo | None = None, **kw: Any) -> SagaOperations:
    index = Index()
    for s in snaps:
        asyncio.run(index.opened(s.saga_id, NOW))
    return SagaOperations(Engine(*snaps, **kw), index, undo or Undo(), lambda: NOW, 5)


def test_listing_reads_the_index_and_closes_rows_of_ended_sagas() -> None:
    o = ops(snap("a", idle=10), snap("b", status=S.COMPLETED))
    page = asyncio.run(o.list(SagaQuery()))
    assert {(i.saga_id, i.stuck) for i in page.items} == {("a", True), ("b", False)}
    index: Any = o.index
    assert index.docs["b"]["ended"] and index.docs["b"]["status"] == "completed"
    assert not index.docs["a"]["ended"]
    stuck = asyncio.run(o.list(SagaQuery(stuck=True)))
    assert [i.saga_id for i in stuck.items] == ["a"]


def test_terminate_stops_the_saga_and_runs_its_compensation_once() -> None:
    undo = Undo()
    o = ops(snap("a", idle=10), undo=undo)
    done = asyncio.run(o.terminate("a", "stuck in payment", "admin-1"))
    assert (done.status, done.order_status, done.refunded) == (
        S.TERMINATED,
        OrderStatus.CANCELLED,
        False,
    )
    step = undo.compensations[0]
    assert (step.order_id, step.release_stock, step.to, step.promo_code) == (
        "a",
        True,
        OrderStatus.CANCELLED,
        "WELCOME10",
    )
    assert "stuck in payment" in step.reason
    with pytest.raises(Conflict):  # ended, compensated
        asyncio.run(o.terminate("a", "again", "admin-1"))
    assert len(undo.compensations) == 1


def test_terminate_refunds_a_payment_that_succeeded_after_all() -> None:
    undo = Undo(PaymentStatus.SUCCEEDED)
    o = ops(snap("a"), undo=undo)
    assert asyncio.run(o.terminate("a", "by hand", "admin")).refunded
    assert undo.compensations[0].refund


def test_a_terminated_saga_whose_compensation_did_not_finish_gets_it_finished() -> None:
    o = ops(snap("a", status=S.TERMINATED))
    with pytest.raises(Conflict):  # not compensated: purge refuses
        asyncio.run(o.purge("a"))
    asyncio.run(o.terminate("a", "finish it", "admin"))
    engine: Any = o.engine
    assert engine.terminated == []  # the engine had ended it already
    assert asyncio.run(o.purge("a")).purged


def test_unknown_sagas_404_and_running_ones_are_not_purged() -> None:
    o = ops(snap("a"))
    for call in (
        o.detail("nope"),
        o.terminate("nope", "x", "admin"),
        o.purge("nope"),
        o.raise_payment("nope", RaisePaymentEvent(status=PaymentStatus.SUCCEEDED)),
        o.rerun("nope", None),
    ):
        with pytest.raises(NotFound):
            asyncio.run(call)
    with pytest.raises(Conflict):
        asyncio.run(o.purge("a"))


def test_the_payment_event_goes_to_sagas_in_flight_only() -> None:
    o = ops(snap("a"), snap("b", status=S.FAILED))
    event = RaisePaymentEvent(status=PaymentStatus.SUCCEEDED, payment_intent_id="pi_1")
    raised = asyncio.run(o.raise_payment("a", event))
    assert raised.event == workflows.PAYMENT_RESULT_EVENT
    engine: Any = o.engine
    assert engine.events[0][2]["status"] == "succeeded"
    with pytest.raises(Conflict):
        asyncio.run(o.raise_payment("b", event))


def test_rerun_needs_a_failed_saga_and_an_engine_that_can() -> None:
    o = ops(snap("a", status=S.FAILED), snap("b"), history=[])
    rerun = asyncio.run(o.rerun("a", None))  # from the first step by default
    assert (rerun.new_saga_id, rerun.from_event_id) == ("a-rerun-1", FIRST_STEP_EVENT)
    rows: Any = o.index
    assert rows.docs["a"]["rerun_as"] == "a-rerun-1"  # where payment results go now
    assert "a-rerun-1" in rows.docs  # listed like any saga
    assert asyncio.run(o.rerun("a", 7)).new_saga_id == "a-rerun-7"
    with pytest.raises(Conflict):
        asyncio.run(o.rerun("b", None))
    without = ops(snap("a", status=S.FAILED))  # an engine without the rerun RPC
    with pytest.raises(DomainError) as no_rerun:
        asyncio.run(without.rerun("a", None))
    assert no_rerun.value.status == 501
    index: Any = without.index
    assert "a-rerun-1" not in index.docs and index.docs["a"].get("rerun_as") is None


def test_stuck_sagas_are_logged_once_each_until_they_are_not_stuck() -> None:
    o = ops(snap("a", idle=10), snap("b", idle=10), snap("c", status=S.COMPLETED), snap("d"))
    reported: set[str] = set()
    with structlog.testing.capture_logs() as first:
        assert asyncio.run(report_stuck(o, reported)) == {"a", "b"}
    assert sorted(e["saga_id"] for e in first if e["event"] == "saga stuck") == ["a", "b"]
    assert all(e["log_level"] == "warning" for e in first)
    with structlog.testing.capture_logs() as again:
        assert asyncio.run(report_stuck(o, reported)) == {"a", "b"}
    assert not [e for e in again if e["event"] == "saga stuck"]  # once each
