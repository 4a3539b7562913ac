"""Dapr I/O of the orders app: the OrderActor proxy and the order-number sequence."""

import json
from datetime import timedelta
from typing import Any

from dapr.actor import ActorId, ActorProxy, ActorProxyFactory

from actors.order.interface import OrderActorInterface
from apps.contracts.events import EventEnvelope
from apps.contracts.names import ActorType
from apps.contracts.orders import ActorReply
from apps.platform.dapr import Sidecar
from apps.platform.state import EtagMismatch, JsonStateStore

SEQUENCE_KEY = "sequence:{name}"
MAX_SEQUENCE_ATTEMPTS = 50


class DaprOrderActors:
    """Calls OrderActor through the Dapr actor API (the same JSON any language would send)."""

    def __init__(self) -> None:
        self._factory = ActorProxyFactory()

    def _proxy(self, order_id: str) -> ActorProxy:
        return ActorProxy.create(
            ActorType.ORDER.value, ActorId(order_id), OrderActorInterface, self._factory
        )

    async def _call(self, order_id: str, method: str, payload: Any = None) -> ActorReply:
        # invoke_method, not attribute calls: `create` would hit ActorProxy.create.
        body = json.dumps(payload).encode() if payload is not None else None
        raw = await self._proxy(order_id).invoke_method(method, body)
        return ActorReply.model_validate_json(raw)

    async def create(self, order_id: str, payload: dict[str, Any]) -> ActorReply:
        return await self._call(order_id, "create", payload)

    async def transition(self, order_id: str, payload: dict[str, Any]) -> ActorReply:
        return await self._call(order_id, "transition", payload)

    async def get(self, order_id: str) -> ActorReply:
        return await self._call(order_id, "get")


class StateSequences:
    """Gap-tolerant, strictly unique counters: compare-and-set on one key with its ETag."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def next(self, name: str) -> int:
        key = SEQUENCE_KEY.format(name=name)
        for _ in range(MAX_SEQUENCE_ATTEMPTS):
            current = await self.store.get(key)
            try:
                if current is None:
                    await self.store.insert(key, 1)
                    return 1
                value = int(current.value) + 1
                await self.store.replace(key, value, current.etag)
                return value
            except EtagMismatch:
                continue  # another instance took this number; read again
        raise RuntimeError(f"sequence {name!r} too contended")


class OrderActorHost:
    """What OrderActor needs from its hosting app (see actors.order.actor.OrderActorHost)."""

    def __init__(self, sidecar: Sidecar, source_app_id: str, payment_timeout: timedelta) -> None:
        self.sidecar = sidecar
        self.source_app_id = source_app_id
        self.default_payment_timeout = payment_timeout

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        await self.sidecar.publish(topic, event)
