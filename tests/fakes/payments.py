"""Test doubles of the payments app's ports (`apps/payments/service.py`): Stripe as
stripe-mock answers it, the payment store with compare-and-set semantics, the publisher."""

from collections.abc import Callable

from apps.contracts.errors import DomainError, ErrorCode
from apps.contracts.events import EventEnvelope
from apps.contracts.payments import CreatePayment, Payment
from apps.payments.service import Confirmation

Entry = tuple[Payment, list[EventEnvelope]]


class FakeStripe:
    """Answers like stripe-mock: every confirmation the same non-final fixture status, with
    the fixture's client secret; cancels succeed unless `cancellable` is False."""

    def __init__(self, status: str = "requires_payment_method") -> None:
        self.confirm_status = status
        self.intent_status = status
        self.cancellable = True
        self.created: list[str] = []
        self.cancelled: list[str] = []

    async def create_and_confirm(self, cmd: CreatePayment, idempotency_key: str) -> Confirmation:
        self.created.append(idempotency_key)
        return Confirmation(
            intent_id=f"pi_{cmd.order_id}",
            status=self.confirm_status,
            client_secret=f"pi_{cmd.order_id}_secret_fixture",
            next_action={"type": "type"},
        )

    async def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> int:
        return amount_minor

    async def cancel(self, intent_id: str, idempotency_key: str) -> str:
        if not self.cancellable:
            raise DomainError("stripe down", code=ErrorCode.SERVICE_UNAVAILABLE)
        self.cancelled.append(intent_id)
        return "canceled"

    async def status(self, intent_id: str) -> str:
        return self.intent_status


class FakePaymentStore:
    def __init__(self) -> None:
        self.docs: dict[str, Entry] = {}
        self.intents: dict[str, str] = {}

    async def load(self, order_id: str) -> Entry | None:
        return self.docs.get(order_id)

    async def change(self, order_id: str, decide: Callable[[Entry | None], Entry | None]) -> bool:
        new = decide(self.docs.get(order_id))
        if new is None:
            return False
        self.docs[order_id] = (new[0], list(new[1]))
        return True

    async def order_of(self, intent_id: str) -> str | None:
        return self.intents.get(intent_id)

    async def link(self, intent_id: str, order_id: str) -> None:
        self.intents.setdefault(intent_id, order_id)


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, EventEnvelope]] = []

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        self.published.append((topic, event))

    def types(self) -> list[str]:
        return [e.event_type for _, e in self.published]
