"""Dapr I/O of the orders app: the OrderActor proxy, the order-number sequence and the
order projection."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apps.contracts.events import EventEnvelope
from apps.contracts.inventory import ReturnStock
from apps.contracts.names import ActorType, AppId
from apps.contracts.orders import ActorReply, OrderStatus, OrderSummary
from apps.contracts.payments import RefundRequest
from apps.contracts.returns import ReturnView
from apps.contracts.shipping import Shipment, ShipmentReply
from apps.orders.carrier import Carrier
from apps.platform.dapr import Sidecar
from apps.platform.state import EtagMismatch, JsonStateStore

SEQUENCE_KEY = "sequence:{name}"
MAX_SEQUENCE_ATTEMPTS = 50


class DaprOrderActors:
    """Calls OrderActor through the Dapr actor API (the same JSON any language would send)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def _call(self, order_id: str, method: str, payload: Any = None) -> ActorReply:
        res = await self.sidecar.invoke_actor(ActorType.ORDER, order_id, method, payload)
        return ActorReply.model_validate(res.body_or_raise())

    async def create(self, order_id: str, payload: dict[str, Any]) -> ActorReply:
        return await self._call(order_id, "create", payload)

    async def transition(self, order_id: str, payload: dict[str, Any]) -> ActorReply:
        return await self._call(order_id, "transition", payload)

    async def get(self, order_id: str) -> ActorReply:
        return await self._call(order_id, "get")

    async def returns(self, order_id: str, method: str, payload: dict[str, Any]) -> ActorReply:
        """`request_return`, `decide_return` or `return_progress`."""
        return await self._call(order_id, method, payload)


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

    def __init__(
        self,
        sidecar: Sidecar,
        source_app_id: str,
        payment_timeout: timedelta,
        complete_after: timedelta,
        refund_shipping_on_full_return: bool = True,
        fulfilment_hold: timedelta = timedelta(0),
    ) -> None:
        self.sidecar = sidecar
        self.source_app_id = source_app_id
        self.default_payment_timeout = payment_timeout
        self.fulfilment_hold = fulfilment_hold
        self.complete_after = complete_after
        self.refund_shipping_on_full_return = refund_shipping_on_full_return

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        await self.sidecar.publish(topic, event)


VIEW_KEY = "order-view:{order_id}"
VIEW_KIND = "order_view"


class StateOrderViews:
    """The order projection as JSON documents in the state store (queryable)."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def save_if_newer(
        self, order_id: str, build: Callable[[OrderSummary | None], OrderSummary | None]
    ) -> bool:
        """Compare-and-set: `build(stored)` answers the new view, or None to keep it."""

        def decide(raw: Any | None) -> Any | None:
            view = build(OrderSummary.model_validate(raw) if raw is not None else None)
            return {**view.model_dump(mode="json"), "kind": VIEW_KIND} if view else None

        return await self.store.compare_and_set(VIEW_KEY.format(order_id=order_id), decide)

    async def find(
        self, user_id: str | None, statuses: list[OrderStatus] | None
    ) -> list[OrderSummary]:
        """Matching views, newest first."""
        clauses: list[dict[str, Any]] = [{"EQ": {"kind": VIEW_KIND}}]
        if user_id is not None:
            clauses.append({"EQ": {"user_id": user_id}})
        if statuses:
            clauses.append({"IN": {"status": [s.value for s in statuses]}})
        # Dapr's query language wants two or more entries under AND.
        filter_ = clauses[0] if len(clauses) == 1 else {"AND": clauses}
        found = [
            OrderSummary.model_validate(doc.value)
            for doc in await self.store.scan(filter_, "order_id")
        ]
        found.sort(key=lambda o: o.order_id, reverse=True)
        found.sort(key=lambda o: o.created_at, reverse=True)  # stable: ties by id
        return found

    async def by_number(self, order_number: str) -> OrderSummary | None:
        query = {"AND": [{"EQ": {"kind": VIEW_KIND}}, {"EQ": {"order_number": order_number}}]}
        for doc in await self.store.scan(query, "order_id"):
            return OrderSummary.model_validate(doc.value)
        return None

    async def ids(self) -> list[str]:
        return [
            str(doc.value["order_id"])
            for doc in await self.store.scan({"EQ": {"kind": VIEW_KIND}}, "order_id")
        ]


class ShipmentActorHost:
    """What ShipmentActor needs from its hosting app (actors.shipment.actor)."""

    def __init__(
        self, sidecar: Sidecar, source_app_id: str, carrier: Carrier, poll_every: timedelta
    ) -> None:
        self.sidecar = sidecar
        self.source_app_id = source_app_id
        self.carrier = carrier
        self.poll_every = poll_every

    async def publish(self, topic: str, event: EventEnvelope) -> None:
        await self.sidecar.publish(topic, event)


class DaprShipmentActors:
    """Calls ShipmentActor through the Dapr actor API (plain JSON)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def call(self, shipment_id: str, method: str, payload: Any = None) -> ShipmentReply:
        res = await self.sidecar.invoke_actor(ActorType.SHIPMENT, shipment_id, method, payload)
        return ShipmentReply.model_validate(res.body_or_raise())


SHIPMENT_VIEW_KEY = "shipment-view:{shipment_id}"
SHIPMENT_VIEW_KIND = "shipment_view"


class StateShipmentViews:
    """Shipments as queryable JSON documents (staff lists, an order's shipments), kept from
    shipping events; a view is replaced only by a higher version."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def save(self, shipment: Shipment) -> bool:
        def decide(raw: Any | None) -> Any | None:
            if raw is not None and int(raw.get("version", 0)) >= shipment.version:
                return None
            return {**shipment.model_dump(mode="json"), "kind_of_doc": SHIPMENT_VIEW_KIND}

        key = SHIPMENT_VIEW_KEY.format(shipment_id=shipment.shipment_id)
        return await self.store.compare_and_set(key, decide)

    async def find(self, **equal: str) -> list[Shipment]:
        """Views whose fields equal `equal` (e.g. order_id, status, carrier), newest first."""
        clauses: list[dict[str, Any]] = [{"EQ": {"kind_of_doc": SHIPMENT_VIEW_KIND}}]
        clauses += [{"EQ": {field: value}} for field, value in equal.items()]
        filter_ = clauses[0] if len(clauses) == 1 else {"AND": clauses}
        found = [
            Shipment.model_validate({k: v for k, v in doc.value.items() if k != "kind_of_doc"})
            for doc in await self.store.scan(filter_, "shipment_id")
        ]
        found.sort(key=lambda s: s.shipment_id, reverse=True)
        found.sort(key=lambda s: s.created_at, reverse=True)
        return found


RETURN_VIEW_KEY = "return-view:{return_id}"
RETURN_VIEW_KIND = "return_view"


class StateReturnViews:
    """Returns as queryable JSON documents (the staff list), refreshed after every step and
    from support-events; an older view never replaces a newer one."""

    def __init__(self, store: JsonStateStore) -> None:
        self.store = store

    async def save(self, view: ReturnView) -> bool:
        def decide(raw: Any | None) -> Any | None:
            if (
                raw is not None
                and ReturnView.model_validate(
                    {k: v for k, v in raw.items() if k != "kind_of_doc"}
                ).updated_at
                > view.updated_at
            ):
                return None
            return {**view.model_dump(mode="json"), "kind_of_doc": RETURN_VIEW_KIND}

        key = RETURN_VIEW_KEY.format(return_id=view.return_id)
        return await self.store.compare_and_set(key, decide)

    async def find(self, **equal: str) -> list[ReturnView]:
        """Views whose fields equal `equal` (status, order_id), newest first."""
        clauses: list[dict[str, Any]] = [{"EQ": {"kind_of_doc": RETURN_VIEW_KIND}}]
        clauses += [{"EQ": {field: value}} for field, value in equal.items()]
        filter_ = clauses[0] if len(clauses) == 1 else {"AND": clauses}
        found = [
            ReturnView.model_validate({k: v for k, v in doc.value.items() if k != "kind_of_doc"})
            for doc in await self.store.scan(filter_, "return_id")
        ]
        found.sort(key=lambda r: r.return_id, reverse=True)
        found.sort(key=lambda r: r.created_at, reverse=True)
        return found


class DaprStock:
    """Catalog's inventory through service invocation."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def return_units(self, order_id: str, req: ReturnStock) -> None:
        res = await self.sidecar.invoke(
            AppId.CATALOG,
            f"inventory/{order_id}/returns",
            method="POST",
            json_body=req.model_dump(mode="json"),
        )
        res.body_or_raise()


class DaprRefunds:
    """Payments' refunds through service invocation (once per key)."""

    def __init__(self, sidecar: Sidecar) -> None:
        self.sidecar = sidecar

    async def refund(self, order_id: str, req: RefundRequest) -> None:
        res = await self.sidecar.invoke(
            AppId.PAYMENTS,
            f"payments/{order_id}/refund",
            method="POST",
            json_body=req.model_dump(mode="json"),
        )
        res.body_or_raise()
