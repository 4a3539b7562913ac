"""Fulfilment use cases of the orders app: a paid order is shipped, the shipments' progress
moves the order, staff look after shipments. Dapr stays behind the protocols below.

Why inside `orders` (README "Fulfilment"): a shipment's life is driven by its order's
(scheduled when paid, cancelled with it, moving it to shipped and delivered), both are
actors on the same placement host, and one fewer app means one fewer sidecar.
"""

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from actors.order.logic import release
from apps.contracts.errors import Conflict, DomainError, ErrorCode, InvalidRequest, NotFound
from apps.contracts.events import EventEnvelope
from apps.contracts.orders import ActorReply, Order, OrderEventData, OrderStatus, Tracking
from apps.contracts.shipping import (
    CarrierTracking,
    ContactCarrier,
    CustomerNotificationRequested,
    NotifyCustomer,
    OpenCarrierCase,
    ServiceLevel,
    Shipment,
    ShipmentEventData,
    ShipmentPage,
    ShipmentReply,
    ShipmentStatus,
    StatusUpdate,
    UpdateShipmentStatus,
)
from apps.orders.carrier import Carrier
from apps.orders.fulfilment_rules import (
    first_shipment,
    first_shipment_id,
    progress,
    with_shipments,
)

log = structlog.stdlib.get_logger("fulfilment")


class OrderActors(Protocol):
    async def transition(self, order_id: str, payload: dict[str, Any]) -> ActorReply: ...
    async def get(self, order_id: str) -> ActorReply: ...


class ShipmentActors(Protocol):
    async def call(self, shipment_id: str, method: str, payload: Any = None) -> ShipmentReply: ...


class ShipmentViews(Protocol):
    async def save(self, shipment: Shipment) -> bool: ...
    async def find(self, **equal: str) -> list[Shipment]: ...


class Publisher(Protocol):
    async def publish(self, topic: str, event: EventEnvelope) -> None: ...


class ReturnReceiver(Protocol):
    async def received(self, return_id: str) -> Any: ...


class FulfilmentService:
    def __init__(
        self,
        orders: OrderActors,
        shipments: ShipmentActors,
        views: ShipmentViews,
        carrier: Carrier,
        publisher: Publisher,
        source_app_id: str,
        returns: ReturnReceiver,
    ) -> None:
        self.orders = orders
        self.shipments = shipments
        self.views = views
        self.carrier = carrier
        self.publisher = publisher
        self.source_app_id = source_app_id
        self.returns = returns

    # -- order events ------------------------------------------------------------------
    async def on_order_event(self, event: EventEnvelope) -> None:
        data = OrderEventData.model_validate(event.data)
        if data.status == OrderStatus.FULFILLING:
            await self.schedule(data.order_id)
        elif data.status == OrderStatus.CANCELLED:
            await self.cancel_unshipped(data.order_id)

    async def release(self, order_id: str, by: str) -> Order:
        """Staff send a paid order to the warehouse before its hold ends (the same
        transition the hold's reminder makes: whichever is second changes nothing)."""
        order = await self._order(order_id)
        req = release(order, by)
        if req is None:
            if order.status == OrderStatus.FULFILLING:
                return order  # released already
            raise Conflict(
                f"An order in status '{order.status}' cannot be released to the warehouse",
                current_status=order.status,
            )
        reply = await self.orders.transition(order_id, req.model_dump(mode="json"))
        if not reply.ok or reply.order is None:
            raise Conflict(
                reply.error.message if reply.error else "Not released",
                current_status=reply.order.status if reply.order else None,
            )
        return reply.order

    async def schedule(self, order_id: str) -> Shipment | None:
        """An order released to the warehouse (`fulfilling`) gets its shipment (idempotent:
        the shipment id is fixed per order). Fraud review happens before payment and the
        hold before release, so a fulfilling order is cleared to ship."""
        order = await self._order(order_id)
        if order.status != OrderStatus.FULFILLING:
            return None  # cancelled meanwhile, or already further along
        cmd = first_shipment(order, ServiceLevel.STANDARD)
        if cmd is None:
            log.warning("order has no shipping address; not shipped", order_id=order_id)
            return None
        shipment = _shipment(await self.shipments.call(cmd.shipment_id, "create", _json(cmd)))
        await self.views.save(shipment)
        after = await self._order(order_id)
        if after.status == OrderStatus.CANCELLED:
            # Cancelled while the label was booked: the label goes too.
            await self.cancel_unshipped(order_id)
        return shipment

    async def cancel_unshipped(self, order_id: str) -> None:
        """The order was cancelled: void every shipment of it the carrier has not picked up
        (one already picked up keeps travelling; staff see it in the list)."""
        known = {s.shipment_id for s in await self.views.find(order_id=order_id)}
        for shipment_id in sorted(known | {first_shipment_id(order_id)}):
            reply = await self.shipments.call(shipment_id, "get")
            if not reply.ok or reply.shipment is None:
                continue
            if reply.shipment.status != ShipmentStatus.LABEL_CREATED:
                continue
            update = UpdateShipmentStatus(
                update=StatusUpdate(status=ShipmentStatus.CANCELLED, notes="Order cancelled"),
                event_id="order-cancelled",
            )
            done = await self.shipments.call(shipment_id, "update_status", _json(update))
            if done.shipment is not None:
                await self.views.save(done.shipment)

    # -- shipping events ---------------------------------------------------------------
    async def on_shipping_event(self, event: EventEnvelope) -> None:
        """Keep the shipment's view, then let the order follow its shipments."""
        data = ShipmentEventData.model_validate(event.data)
        shipment = _shipment(await self.shipments.call(data.shipment_id, "get"))
        await self.views.save(shipment)
        if shipment.kind == "return":
            if shipment.status == ShipmentStatus.DELIVERED:
                # Back at the warehouse: stock and money go back (idempotent per return).
                await self.returns.received(shipment.shipment_id.removeprefix("shp-"))
            return
        order = await self._order(shipment.order_id)
        shipments = await self._of_order(order.order_id, fresh=shipment)
        for _ in range(2):  # fulfilling → shipped → delivered when events come late
            step = progress(order, shipments)
            if step is None:
                return
            reply = await self.orders.transition(order.order_id, step.model_dump(mode="json"))
            if not reply.ok or reply.order is None:
                log.warning(
                    "order did not follow its shipment",
                    order_id=order.order_id,
                    shipment_id=shipment.shipment_id,
                    error=reply.error.message if reply.error else "",
                )
                return
            order = reply.order

    # -- reads -------------------------------------------------------------------------
    async def tracking(self, tracking: Tracking) -> Tracking:
        return with_shipments(tracking, await self._of_order(tracking.order_id))

    async def list_shipments(
        self,
        status: ShipmentStatus | None,
        carrier: str | None,
        order_id: str | None,
        page: int,
        limit: int,
    ) -> ShipmentPage:
        equal = {
            k: v for k, v in (("status", status), ("carrier", carrier), ("order_id", order_id)) if v
        }
        found = await self.views.find(**equal)
        start = (page - 1) * limit
        return ShipmentPage(
            items=found[start : start + limit], total=len(found), page=page, limit=limit
        )

    async def get(self, shipment_id: str) -> Shipment:
        return _shipment(await self.shipments.call(shipment_id, "get"))

    # -- staff actions -----------------------------------------------------------------
    async def update_status(
        self, shipment_id: str, update: StatusUpdate, key: str | None
    ) -> Shipment:
        """A status set by staff; `key` (the Idempotency-Key) makes a retry a no-op."""
        req = UpdateShipmentStatus(update=update, event_id=f"staff:{key or uuid.uuid4()}")
        shipment = _shipment(await self.shipments.call(shipment_id, "update_status", _json(req)))
        await self.views.save(shipment)
        return shipment

    async def carrier_tracking(self, shipment_id: str) -> CarrierTracking:
        shipment = await self.get(shipment_id)
        return await self.carrier.track(shipment, datetime.now(UTC))

    async def contact_carrier(self, shipment_id: str, req: ContactCarrier, by: str) -> Shipment:
        body = OpenCarrierCase(request=req, by=by)
        shipment = _shipment(await self.shipments.call(shipment_id, "contact", _json(body)))
        await self.views.save(shipment)
        return shipment

    async def notify_customer(self, shipment_id: str, req: NotifyCustomer, key: str | None) -> str:
        """Ask notifications to email the customer about this shipment (one email per
        Idempotency-Key: the event id is derived from it)."""
        s = await self.get(shipment_id)
        last = s.events[-1]
        payload = CustomerNotificationRequested(
            shipment_id=s.shipment_id,
            order_id=s.order_id,
            order_number=s.order_number,
            user_id=s.user_id,
            email=s.email,
            kind=s.kind,
            carrier=s.carrier,
            tracking_number=s.tracking_number,
            tracking_url=s.tracking_url,
            status=s.status,
            location=s.current_location,
            description=last.description,
            estimated_delivery=s.estimated_delivery,
            lines=s.lines,
            version=s.version,
            at=datetime.now(UTC),
            notification_type=req.notification_type,
            message=req.message,
        )
        event_id = f"{s.shipment_id}:notify:{key or uuid.uuid4()}"
        envelope = EventEnvelope.of(
            payload, correlation_id=s.order_id, source=self.source_app_id, event_id=event_id
        )
        await self.publisher.publish(payload.TOPIC, envelope)
        return event_id

    # -- internals ---------------------------------------------------------------------
    async def _order(self, order_id: str) -> Order:
        reply = await self.orders.get(order_id)
        if not reply.ok or reply.order is None:
            raise NotFound("Order not found", order_id=order_id)
        return reply.order

    async def _of_order(self, order_id: str, fresh: Shipment | None = None) -> list[Shipment]:
        found = {s.shipment_id: s for s in await self.views.find(order_id=order_id)}
        if fresh is not None:
            stored = found.get(fresh.shipment_id)
            if stored is None or stored.version < fresh.version:
                found[fresh.shipment_id] = fresh
        return list(found.values())


def _json(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json"))


def _shipment(reply: ShipmentReply) -> Shipment:
    if reply.ok and reply.shipment is not None:
        return reply.shipment
    err = reply.error
    if err is None:
        raise DomainError("Shipment actor gave no answer", code=ErrorCode.INTERNAL_SERVER_ERROR)
    if err.code == "CONFLICT":
        raise Conflict(err.message, current_status=err.current_status, **err.details)
    if err.code == "RESOURCE_NOT_FOUND":
        raise NotFound(err.message, **err.details)
    raise InvalidRequest(err.message, **err.details)
