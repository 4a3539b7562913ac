"""Operations on checkout sagas (admin): list them (in flight, stuck), show one, terminate
one with its compensation, purge one that ended, raise its payment event, rerun a failed one.

Why an index: Dapr 1.16's workflow engine cannot list its instances (no list RPC answers;
1.17 adds one), so checkout keeps its own row per saga it starts (`saga-index:{id}` in its
state store), written *before* the workflow is scheduled: a saga can exist without its row
only if it was started before this index existed. The row keeps what the engine cannot
answer cheaply (that the saga ended, who terminated it and whether its compensation ran);
the engine stays the truth about where a saga is. A row still marked open whose saga has
ended is closed the next time a listing reads it.

Stuck: a saga in flight idle (no progress) for longer than the wait it is in: its payment
timeout, its authentication timeout while the shopper must pass 3-D Secure, its review
timeout while staff review it (its custom status tells which), each as its own input says,
plus a grace; `stuck_after_seconds` (a setting) overrides it all.

The pure parts are here (`stuck_threshold`, `summary`, `select`, `history_events`); the
engine and the index are ports.
"""

import asyncio
import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from apps.checkout import workflows
from apps.contracts.checkout import (
    CheckoutOutcome,
    CheckoutStatus,
    Compensation,
    PaymentResult,
    Refusal,
)
from apps.contracts.errors import Conflict, DomainError, ErrorCode, NotFound
from apps.contracts.operations_sagas import (
    ENDED,
    IN_FLIGHT,
    RaisePaymentEvent,
    SagaDetail,
    SagaEventRaised,
    SagaHistoryEvent,
    SagaPage,
    SagaPurged,
    SagaRerun,
    SagaSummary,
    SagaTerminated,
    SagaWait,
)
from apps.contracts.orders import OrderStatus
from apps.contracts.payments import PaymentStatus

log = structlog.stdlib.get_logger("checkout.operations")

#: Added to a saga's own longest wait before it counts as stuck (its timer should have
#: fired by then: the engine is not running it).
STUCK_GRACE_SECONDS = 60.0
#: Engine reads of a listing run this many at a time.
READ_PARALLELISM = 16
INDEX_KIND = "checkout-saga"
#: Where a rerun starts by default: the first step's `taskScheduled` (place_order; the SDK
#: numbers tasks from 1). Every step is idempotent by order, so the steps done before repeat
#: as no-ops and the failed one runs again. Rerunning from the failed step's own event fails
#: on Dapr 1.16 with this SDK: its retries leave failed attempts in the kept history that the
#: replay does not match ("Ignoring unexpected taskFailed event"); the new instance fails.
FIRST_STEP_EVENT = 1


@dataclass(frozen=True)
class SagaSnapshot:
    """What the engine says about one instance."""

    saga_id: str
    status: CheckoutStatus
    created_at: datetime | None = None
    last_updated_at: datetime | None = None
    custom_status: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    result: CheckoutOutcome | None = None
    failure: str | None = None


@dataclass(frozen=True)
class IndexRow:
    """Checkout's own record of a saga it started."""

    saga_id: str
    started_at: str
    ended: bool = False
    status: str | None = None
    compensated_by: str | None = None
    rerun_as: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "kind": INDEX_KIND,
            "saga_id": self.saga_id,
            "started_at": self.started_at,
            "ended": self.ended,
            "status": self.status,
            "compensated_by": self.compensated_by,
            "rerun_as": self.rerun_as,
        }

    @staticmethod
    def of(doc: dict[str, Any]) -> "IndexRow":
        return IndexRow(
            saga_id=str(doc["saga_id"]),
            started_at=str(doc.get("started_at", "")),
            ended=bool(doc.get("ended", False)),
            status=doc.get("status"),
            compensated_by=doc.get("compensated_by"),
            rerun_as=doc.get("rerun_as"),
        )


class SagaIndex(Protocol):
    async def opened(self, saga_id: str, at: datetime) -> None:
        """Record a saga about to start (a no-op if it is recorded already)."""
        ...

    async def rows(self, ended: bool | None = None) -> list[IndexRow]:
        """Every row (or only open / only ended ones), each once."""
        ...

    async def get(self, saga_id: str) -> IndexRow | None: ...

    async def update(self, saga_id: str, change: Callable[[IndexRow], IndexRow]) -> None:
        """Change a row by compare-and-set (creating it from `started_at=""` if missing)."""
        ...

    async def remove(self, saga_id: str) -> None: ...


class OpsEngine(Protocol):
    async def snapshot(self, saga_id: str) -> SagaSnapshot | None: ...

    async def terminate(self, saga_id: str, output: dict[str, Any]) -> None: ...

    async def wait_ended(self, saga_id: str, seconds: float) -> SagaSnapshot | None: ...

    async def purge(self, saga_id: str) -> None: ...

    async def raise_event(self, instance_id: str, name: str, data: dict[str, Any]) -> bool: ...

    async def history(self, saga_id: str) -> list[SagaHistoryEvent] | None:
        """The engine's history; None where this engine has no history API."""
        ...

    async def rerun(self, saga_id: str, event_id: int, new_id: str) -> str | None:
        """Rerun from a history event into `new_id`; None where the engine cannot."""
        ...


class Compensator(Protocol):
    """The saga's own failure path, run outside the saga (blocking, in a thread)."""

    def cancel_payment(self, order_id: str, reason: str) -> PaymentStatus | None: ...

    def compensate(self, step: Compensation) -> OrderStatus | None:
        """The `compensate` activity's work; None if the order was never created."""
        ...


# -- pure --------------------------------------------------------------------------------
def waiting_for(snapshot: SagaSnapshot) -> SagaWait | None:
    if snapshot.status not in IN_FLIGHT:
        return None
    custom = snapshot.custom_status.strip('"')
    if custom == workflows.AWAITING_AUTHENTICATION:
        return SagaWait.AUTHENTICATION
    if custom == workflows.AWAITING_REVIEW:
        return SagaWait.REVIEW
    return SagaWait.PAYMENT


def stuck_threshold(snapshot: SagaSnapshot, override: float | None = None) -> float | None:
    """How long a saga in flight may sit idle before it counts as stuck (None: ended)."""
    wait = waiting_for(snapshot)
    if wait is None:
        return None
    if override is not None:
        return override
    started = snapshot.input
    payment = _seconds(started.get("payment_timeout_seconds"), 15 * 60)
    authentication = _seconds(started.get("authentication_timeout_seconds"), payment)
    longest = {
        SagaWait.AUTHENTICATION: authentication,
        SagaWait.REVIEW: _seconds(started.get("review_timeout_seconds"), 24 * 3600),
    }.get(wait, payment)
    return longest + STUCK_GRACE_SECONDS


def _seconds(value: Any, default: float) -> float:
    return float(value) if isinstance(value, int | float) and value > 0 else default


def summary(
    snapshot: SagaSnapshot,
    now: datetime,
    row: IndexRow | None = None,
    override: float | None = None,
) -> SagaSummary:
    threshold = stuck_threshold(snapshot, override)
    idle = None
    if threshold is not None:
        since = snapshot.last_updated_at or snapshot.created_at
        idle = round((now - since).total_seconds(), 1) if since else None
    return SagaSummary(
        saga_id=snapshot.saga_id,
        order_id=str(snapshot.input.get("order_id") or snapshot.saga_id),
        status=snapshot.status,
        custom_status=snapshot.custom_status.strip('"'),
        waiting_for=waiting_for(snapshot),
        created_at=snapshot.created_at,
        last_updated_at=snapshot.last_updated_at,
        idle_seconds=idle,
        stuck_after_seconds=threshold,
        stuck=threshold is not None and idle is not None and idle > threshold,
        outcome=snapshot.result.outcome if snapshot.result else None,
        compensated_by=row.compensated_by if row else None,
    )


@dataclass(frozen=True)
class SagaQuery:
    statuses: frozenset[CheckoutStatus] = frozenset()
    stuck: bool | None = None
    older_than_seconds: float | None = None
    page: int = 1
    limit: int = 50

    @property
    def in_flight_only(self) -> bool:
        """Only sagas in flight can match (the index's open rows suffice)."""
        return self.stuck is True or (bool(self.statuses) and self.statuses <= IN_FLIGHT)


def select(items: Iterable[SagaSummary], query: SagaQuery, now: datetime) -> SagaPage:
    """Filter, sort (oldest first: the ones waiting longest) and page."""

    def keep(item: SagaSummary) -> bool:
        if query.statuses and item.status not in query.statuses:
            return False
        if query.stuck is not None and item.stuck != query.stuck:
            return False
        if query.older_than_seconds is not None:
            if item.created_at is None:
                return False
            if (now - item.created_at).total_seconds() < query.older_than_seconds:
                return False
        return True

    found = sorted(
        (i for i in items if keep(i)),
        key=lambda i: (i.created_at.timestamp() if i.created_at else 0.0, i.saga_id),
    )
    start = (query.page - 1) * query.limit
    return SagaPage(
        items=found[start : start + query.limit],
        total=len(found),
        page=query.page,
        limit=query.limit,
        pages=max(1, math.ceil(len(found) / query.limit)),
    )


# -- the use cases -----------------------------------------------------------------------
class SagaOperations:
    def __init__(
        self,
        engine: OpsEngine,
        index: SagaIndex,
        compensator: Compensator,
        now: Callable[[], datetime],
        stuck_after_seconds: float | None = None,
    ) -> None:
        self.engine = engine
        self.index = index
        self.compensator = compensator
        self.now = now
        self.stuck_after_seconds = stuck_after_seconds

    async def list(self, query: SagaQuery) -> SagaPage:
        rows = await self.index.rows(ended=False if query.in_flight_only else None)
        semaphore = asyncio.Semaphore(READ_PARALLELISM)

        async def read(row: IndexRow) -> SagaSummary | None:
            async with semaphore:
                snap = await self.engine.snapshot(row.saga_id)
            if snap is None:  # scheduling failed after the row, or purged elsewhere
                return None
            if not row.ended and snap.status in ENDED:
                await self._close(row.saga_id, snap.status)
            return summary(snap, self.now(), row, self.stuck_after_seconds)

        found = await asyncio.gather(*(read(r) for r in rows))
        return select([s for s in found if s is not None], query, self.now())

    async def detail(self, saga_id: str) -> SagaDetail:
        snap = await self._snapshot(saga_id)
        row = await self.index.get(saga_id)
        history = await self.engine.history(saga_id)
        base = summary(snap, self.now(), row, self.stuck_after_seconds)
        return SagaDetail(
            **base.model_dump(),
            result=snap.result,
            failure=snap.failure,
            steps=snap.result.steps if snap.result else [],
            history=history,
            history_note=None
            if history is not None
            else "this Dapr version has no workflow history API (GetInstanceHistory)",
            input=snap.input,
        )

    async def terminate(self, saga_id: str, reason: str, actor: str) -> SagaTerminated:
        """Stop the saga, then undo what it did the way its own failure path does: the
        PaymentIntent cancelled (refunded if it had succeeded after all), the stock released,
        the promo use given back, the order `cancelled`. A saga already terminated whose
        compensation did not finish (a crash in between) gets it finished; one that ended
        otherwise is a 409."""
        snap = await self._snapshot(saga_id)
        row = await self.index.get(saga_id)
        if snap.status in ENDED:
            unfinished = snap.status == CheckoutStatus.TERMINATED and (
                row is None or row.compensated_by is None
            )
            if not unfinished:
                raise Conflict(
                    "This saga has ended already", saga_id=saga_id, status=snap.status.value
                )
        else:
            # The output is the saga's outcome as the shopper's status page reads it.
            outcome = CheckoutOutcome(
                outcome="cancelled",
                order_id=str(snap.input.get("order_id") or saga_id),
                reason=Refusal(code="TERMINATED", message="The order was cancelled"),
            )
            await self.engine.terminate(saga_id, outcome.model_dump(mode="json"))
            ended = await self.engine.wait_ended(saga_id, 10.0)
            if ended is None or ended.status not in ENDED:
                raise Conflict(
                    "The workflow engine has not terminated the saga yet: try again",
                    saga_id=saga_id,
                )
        order_id = str(snap.input.get("order_id") or saga_id)
        message = f"{reason} ({actor})"[:300]
        payment = await asyncio.to_thread(self.compensator.cancel_payment, order_id, message)
        refund = payment == PaymentStatus.SUCCEEDED
        undo = Compensation(
            order_id=order_id,
            instance_id=order_id,  # the saga's own transition ids (a rerun's too)
            reason=message,
            promo_code=snap.input.get("promo_code"),
            release_stock=True,
            refund=refund,
            to=OrderStatus.CANCELLED,
        )
        order_status = await asyncio.to_thread(self.compensator.compensate, undo)

        def done(current: IndexRow) -> IndexRow:
            return dataclasses.replace(
                current,
                saga_id=saga_id,
                ended=True,
                status=CheckoutStatus.TERMINATED.value,
                compensated_by=actor,
            )

        await self.index.update(saga_id, done)
        return SagaTerminated(
            saga_id=saga_id,
            status=CheckoutStatus.TERMINATED,
            payment_status=payment,
            refunded=refund,
            order_status=order_status,
        )

    async def purge(self, saga_id: str) -> SagaPurged:
        snap = await self._snapshot(saga_id)
        if snap.status not in ENDED:
            raise Conflict(
                "Only a saga that has ended can be purged (terminate it first)",
                saga_id=saga_id,
                status=snap.status.value,
            )
        row = await self.index.get(saga_id)
        if snap.status == CheckoutStatus.TERMINATED and row is not None and not row.compensated_by:
            raise Conflict(
                "This saga was terminated but its compensation has not run: terminate it "
                "again first",
                saga_id=saga_id,
            )
        await self.engine.purge(saga_id)
        await self.index.remove(saga_id)
        return SagaPurged(saga_id=saga_id)

    async def raise_payment(self, saga_id: str, event: RaisePaymentEvent) -> SagaEventRaised:
        snap = await self._snapshot(saga_id)
        if snap.status not in IN_FLIGHT:
            raise Conflict(
                "This saga has ended: it waits for no payment",
                saga_id=saga_id,
                status=snap.status.value,
            )
        result = PaymentResult(
            status=event.status, payment_intent_id=event.payment_intent_id, reason=event.reason
        )
        name = workflows.PAYMENT_RESULT_EVENT
        if not await self.engine.raise_event(saga_id, name, result.model_dump(mode="json")):
            raise Conflict("This saga has ended: it waits for no payment", saga_id=saga_id)
        return SagaEventRaised(saga_id=saga_id, event=name, status=snap.status)

    async def rerun(self, saga_id: str, event_id: int | None) -> SagaRerun:
        snap = await self._snapshot(saga_id)
        if snap.status != CheckoutStatus.FAILED:
            raise Conflict(
                "Only a failed saga can be rerun", saga_id=saga_id, status=snap.status.value
            )
        if event_id is None:
            event_id = FIRST_STEP_EVENT
        new_id = f"{saga_id}-rerun-{event_id}"
        at = self.now()
        await self.index.opened(new_id, at)
        started = await self.engine.rerun(saga_id, event_id, new_id)
        if started is None:
            await self.index.remove(new_id)
            raise _not_available(
                "This Dapr version cannot rerun a workflow (RerunWorkflowFromEvent)"
            )

        def rerun_as(current: IndexRow) -> IndexRow:
            return dataclasses.replace(current, saga_id=saga_id, rerun_as=started)

        await self.index.update(saga_id, rerun_as)  # payment results go there now
        return SagaRerun(saga_id=saga_id, new_saga_id=started, from_event_id=event_id)

    async def _snapshot(self, saga_id: str) -> SagaSnapshot:
        snap = await self.engine.snapshot(saga_id)
        if snap is None:
            raise NotFound("Saga not found", saga_id=saga_id)
        return snap

    async def _close(self, saga_id: str, status: CheckoutStatus) -> None:
        def closed(current: IndexRow) -> IndexRow:
            return dataclasses.replace(current, saga_id=saga_id, ended=True, status=status.value)

        await self.index.update(saga_id, closed)


def _not_available(message: str) -> DomainError:
    return DomainError(message, code=ErrorCode.NOT_IMPLEMENTED)


async def watch_stuck(
    ops: SagaOperations, every_seconds: float, reported: set[str] | None = None
) -> None:
    """Every `every_seconds`, log each saga that is stuck (once, until it is not any more):
    `saga stuck` is the line the operators' alert counts (bicep/modules/alerts.bicep)."""
    seen: set[str] = set() if reported is None else reported
    while True:
        await asyncio.sleep(every_seconds)
        try:
            seen.intersection_update(await report_stuck(ops, seen))
        except Exception as exc:  # a failed look is logged and tried again next round
            log.warning("stuck saga check failed", error=str(exc))


async def report_stuck(ops: SagaOperations, reported: set[str]) -> set[str]:
    """Log the stuck sagas not reported yet; the ids of every saga stuck now."""
    stuck: set[str] = set()
    page, pages = 1, 1
    while page <= pages:
        found = await ops.list(SagaQuery(stuck=True, page=page, limit=200))
        pages = found.pages
        for item in found.items:
            stuck.add(item.saga_id)
            if item.saga_id not in reported:
                log.warning(
                    "saga stuck",
                    saga_id=item.saga_id,
                    status=item.status.value,
                    idle_seconds=item.idle_seconds,
                    stuck_after_seconds=item.stuck_after_seconds,
                )
                reported.add(item.saga_id)
        page += 1
    return stuck
