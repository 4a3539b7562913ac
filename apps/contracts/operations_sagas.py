"""Operations on checkout sagas (admin only): the sagas in flight and stuck, one saga's
status and history, and what an operator may do to one (terminate with its compensation,
purge, raise its payment event, rerun from a failed step).

Served by `checkout` (`/ops/sagas*`, the signed admin context checked there) behind the
storefront's `/api/admin/sagas*`.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.checkout import CheckoutOutcome, CheckoutStatus, StepTiming
from apps.contracts.orders import OrderStatus
from apps.contracts.payments import PaymentStatus

SagaId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")]
Reason = Annotated[str, Field(min_length=1, max_length=300)]

#: Saga states that are still going (the rest are how a saga ended).
IN_FLIGHT = frozenset({CheckoutStatus.RUNNING, CheckoutStatus.PENDING, CheckoutStatus.SUSPENDED})
ENDED = frozenset({CheckoutStatus.COMPLETED, CheckoutStatus.FAILED, CheckoutStatus.TERMINATED})


class SagaWait(StrEnum):
    """What a saga in flight is waiting for, as far as its custom status tells."""

    PAYMENT = "payment"  # the payment result (Stripe's webhook) or a step
    AUTHENTICATION = "authentication"  # the shopper passing 3-D Secure
    REVIEW = "review"  # staff reviewing an order fraud scoring held


class SagaSummary(BaseModel):
    """One checkout saga in a listing."""

    saga_id: str = Field(description="the workflow instance id (the order id)")
    order_id: str
    status: CheckoutStatus
    custom_status: str = ""
    waiting_for: SagaWait | None = None
    created_at: datetime | None = None
    last_updated_at: datetime | None = None
    idle_seconds: float | None = Field(
        default=None, description="since the saga last made progress (in flight only)"
    )
    stuck_after_seconds: float | None = Field(
        default=None, description="idle longer than this, a saga in flight counts as stuck"
    )
    stuck: bool = False
    outcome: str | None = Field(default=None, description="how it ended (`result.outcome`)")
    compensated_by: str | None = Field(
        default=None, description="the operator whose terminate ran the compensation"
    )


class SagaPage(BaseModel):
    items: list[SagaSummary]
    total: int
    page: int
    limit: int
    pages: int


class SagaHistoryEvent(BaseModel):
    """One event of the engine's history (orchestrator bookkeeping left out)."""

    event_id: int
    kind: str = Field(description="e.g. taskScheduled, taskCompleted, timerCreated, eventRaised")
    at: datetime | None = None
    name: str = Field(default="", description="activity, event or timer name")
    task_id: int | None = Field(default=None, description="the taskScheduled it answers")
    detail: str = Field(default="", description="a failure's message, a timer's fire time")


class SagaDetail(SagaSummary):
    """One saga: its summary, how it ended, its steps and the engine's history."""

    result: CheckoutOutcome | None = None
    failure: str | None = None
    steps: list[StepTiming] = Field(default_factory=list)
    history: list[SagaHistoryEvent] | None = Field(
        default=None, description="None where this Dapr version has no history API"
    )
    history_note: str | None = None
    input: dict[str, Any] = Field(
        default_factory=dict,
        description="what the saga was started with (order lines, addresses, timeouts)",
    )


class TerminateSaga(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = "terminated by an operator"


class SagaTerminated(BaseModel):
    saga_id: str
    status: CheckoutStatus
    payment_status: PaymentStatus | None = Field(
        default=None, description="the PaymentIntent once cancelled (None: there was none)"
    )
    refunded: bool = False
    order_status: OrderStatus | None = Field(
        default=None, description="the order after compensation (None: never created)"
    )


class SagaPurged(BaseModel):
    saga_id: str
    purged: bool = True


class RaisePaymentEvent(BaseModel):
    """The saga's `payment_result` event, raised by hand (a lost webhook)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[PaymentStatus.SUCCEEDED, PaymentStatus.FAILED]
    payment_intent_id: Annotated[str, Field(max_length=200)] = ""
    reason: Annotated[str, Field(max_length=300)] = ""


class SagaEventRaised(BaseModel):
    saga_id: str
    event: str
    status: CheckoutStatus


class RerunSaga(BaseModel):
    """Rerun a failed saga from one of its history events (default: the failed step's)."""

    model_config = ConfigDict(extra="forbid")

    event_id: Annotated[int | None, Field(ge=0)] = None


class SagaRerun(BaseModel):
    saga_id: str
    new_saga_id: str
    from_event_id: int
