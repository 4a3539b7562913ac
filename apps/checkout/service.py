"""Checkout use cases: start the saga once per order id, report its progress.

The saga engine is a port: Dapr Workflow here and in tests; Azure's Durable Task
Scheduler runs the same durabletask orchestrator (wired with the Azure issue).
"""

import uuid
from typing import Any, Protocol

from apps.contracts.catalog import Product
from apps.contracts.checkout import CheckoutInput, CheckoutState, OrderRequest
from apps.contracts.errors import NotFound
from apps.contracts.orders import Order

#: Order ids derived from an Idempotency-Key: the same key (for the same shopper) always
#: names the same order, so a retried POST cannot start a second saga.
IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0f4c8e-7f8a-4a53-9a43-2d1e0c3b9a10")


def order_id_for(idempotency_key: str | None, email: str) -> str:
    if not idempotency_key:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{email.strip().lower()}\n{idempotency_key}"))


class SagaEngine(Protocol):
    async def start(self, instance_id: str, payload: dict[str, Any]) -> bool:
        """Start unless an instance with this id exists; True if this call started it."""
        ...

    async def status(self, instance_id: str) -> CheckoutState | None: ...


class CheckoutPorts(Protocol):
    """What the saga's activities need from other apps (blocking: activities run in threads)."""

    def get_product(self, product_id: str) -> Product | None: ...

    def place_order(self, payload: dict[str, Any]) -> Order: ...

    def transition_order(self, order_id: str, payload: dict[str, Any]) -> Order: ...

    def reserve_stock(self, payload: dict[str, Any]) -> None: ...


class CheckoutService:
    def __init__(self, engine: SagaEngine) -> None:
        self.engine = engine

    async def start(
        self,
        request: OrderRequest,
        idempotency_key: str | None,
        correlation_id: str,
        user_id: str | None = None,
    ) -> tuple[str, bool]:
        order_id = order_id_for(idempotency_key, str(request.email))
        payload = CheckoutInput(
            **request.model_dump(),
            order_id=order_id,
            correlation_id=correlation_id,
            user_id=user_id,
        )
        started = await self.engine.start(order_id, payload.model_dump(mode="json"))
        return order_id, started

    async def status(self, order_id: str) -> CheckoutState:
        state = await self.engine.status(order_id)
        if state is None:
            raise NotFound("Checkout not found", order_id=order_id)
        return state
