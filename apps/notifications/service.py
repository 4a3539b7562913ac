"""Use cases of the notifications app: turn an event into a stored message (the outbox),
send what is due exactly once per record, list a customer's history.

Exactly once, no loss (README "Notifications"):
- the record key is the event id + the kind, and it is inserted only if absent: a
  redelivered or republished event finds it and sends nothing;
- the message is rendered and saved `pending` before the mail server is asked, so an event
  is acknowledged only once its email is safe in the store; the first attempt follows at
  once, the sweeper retries what failed (exponential backoff) and dead-letters it after the
  last attempt;
- a sender claims a record with an ETag-guarded write (`sending`, a lease): of two replicas
  (a handler and a sweeper, or two sweepers) exactly one wins the claim and sends.
The one window left is a crash between the SMTP server's "250 OK" and the `sent` write:
the lease runs out and the record is sent again. SMTP has no idempotency key and daprd's
binding sets no Message-ID we could choose, so that window cannot be closed here.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import structlog

from apps.contracts.errors import NotFound
from apps.contracts.events import EventEnvelope, topic_of, utcnow
from apps.contracts.identity import ContactDetails
from apps.contracts.names import Topic
from apps.contracts.notifications import (
    Notification,
    NotificationKind,
    NotificationPage,
    NotificationStatus,
    NotificationSummary,
)
from apps.contracts.orders import Order, OrderEventData, OrderStatus
from apps.contracts.payments import PaymentEventData
from apps.contracts.returns import ReturnEventData
from apps.contracts.shipping import CustomerNotificationRequested, ShipmentEventData
from apps.contracts.tickets import TicketEventData, TicketResolved, TicketUpdated
from apps.contracts.user_events import (
    EmailVerificationRequested,
    NewDeviceSignIn,
    PasswordResetRequested,
    UserEventData,
)
from apps.notifications import domain
from apps.notifications.domain import KINDS, Recipient, RetryPolicy
from apps.notifications.render import render

log = structlog.stdlib.get_logger("notifications")

K = NotificationKind
#: A cancelled order that had been paid is refunded (orders' cancel rule).
PAID_STATES = {OrderStatus.PAID, OrderStatus.FULFILLING}


class Contacts(Protocol):
    async def contact(self, user_id: str) -> ContactDetails | None: ...


class Orders(Protocol):
    async def get(self, order_id: str) -> Order | None: ...


class Mailer(Protocol):
    async def send(self, to: str, subject: str, html: str, priority: int) -> None: ...


class Outbox(Protocol):
    async def get(self, key: str) -> tuple[Notification, str] | None: ...
    async def insert(self, key: str, record: Notification) -> bool: ...
    async def replace(self, key: str, record: Notification, etag: str) -> bool: ...
    async def update(
        self, key: str, decide: Callable[[Notification], Notification | None]
    ) -> bool: ...
    async def due(self) -> list[str]: ...
    async def for_user(self, user_id: str) -> list[Notification]: ...


class DeadLetters(Protocol):
    async def publish(self, record: Notification) -> None: ...


@dataclass(frozen=True)
class Links:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


@dataclass(frozen=True)
class Composed:
    """Who gets the message and what the template is given."""

    to: Recipient
    context: dict[str, Any]
    user_id: str | None = None
    order_id: str | None = None


class NotificationService:
    def __init__(
        self,
        outbox: Outbox,
        mailer: Mailer,
        contacts: Contacts,
        orders: Orders,
        dead_letters: DeadLetters,
        links: Links,
        policy: RetryPolicy,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.outbox = outbox
        self.mailer = mailer
        self.contacts = contacts
        self.orders = orders
        self.dead_letters = dead_letters
        self.links = links
        self.policy = policy
        self.clock = clock

    # -- events -> outbox -------------------------------------------------------------------
    async def handle(self, envelope: EventEnvelope) -> NotificationStatus | None:
        """Store the message an event asks for (once) and try to send it at once. Raises only
        while nothing is stored (the event is then redelivered); a failed send stays in the
        outbox for the sweeper."""
        kind = domain.kind_for(envelope.event_type, envelope.data)
        if kind is None:
            return None
        key = domain.record_key(envelope.event_id, kind)
        if await self.outbox.get(key) is not None:
            return None  # a redelivery: this event's message exists already
        composed = await self._compose(kind, envelope)
        decision = domain.decide(KINDS[kind].audience, composed.to)
        rendered = render(kind, composed.context, composed.to.language)
        now = self.clock()
        record = Notification(
            notification_id=key,
            kind=kind,
            status=NotificationStatus.PENDING if decision.send else NotificationStatus.SKIPPED,
            event_id=envelope.event_id,
            event_type=envelope.event_type,
            correlation_id=envelope.correlation_id,
            user_id=composed.user_id,
            order_id=composed.order_id,
            to=composed.to.email,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            priority=KINDS[kind].priority,
            next_attempt_at=now,
            skip_reason=decision.reason,
            created_at=now,
        )
        if not await self.outbox.insert(key, record):
            return None  # the same event, handled concurrently elsewhere
        log.info("notification stored", kind=kind.value, status=record.status.value, key=key)
        if not decision.send:
            return record.status
        return await self.deliver(key)

    async def _compose(self, kind: NotificationKind, envelope: EventEnvelope) -> Composed:
        event_type = envelope.event_type
        if event_type in (
            EmailVerificationRequested.EVENT_TYPE,
            PasswordResetRequested.EVENT_TYPE,
            NewDeviceSignIn.EVENT_TYPE,
        ):
            return self._account_message(kind, envelope)
        topic = topic_of(envelope)
        if topic == Topic.SHIPPING_EVENTS:
            shipment = ShipmentEventData.model_validate(envelope.data)
            return await self._shipment_message(envelope, shipment)
        if event_type in (TicketUpdated.EVENT_TYPE, TicketResolved.EVENT_TYPE):
            return await self._ticket_message(kind, TicketEventData.model_validate(envelope.data))
        if topic == Topic.SUPPORT_EVENTS:
            return await self._return_message(ReturnEventData.model_validate(envelope.data))
        if topic == Topic.PAYMENT_EVENTS:
            return await self._payment_message(kind, PaymentEventData.model_validate(envelope.data))
        return await self._order_message(kind, OrderEventData.model_validate(envelope.data))

    async def _recipient(self, user_id: str | None, email: str) -> Recipient:
        """The account's address, language and preferences; a guest (or an account closed
        since) is written to at the order's address with no preferences to honour."""
        if user_id:
            contact = await self.contacts.contact(user_id)
            if contact is not None:
                return Recipient(
                    email=contact.email,
                    name=contact.name,
                    language=contact.language,
                    guest=False,
                    email_orders=contact.notifications.email_orders,
                    email_marketing=contact.notifications.email_marketing,
                    email_verified=contact.email_verified,
                )
        return Recipient(email=email)

    def _order_links(self, order_id: str) -> dict[str, str]:
        return {
            "base_url": self.links.url(""),
            "order_url": self.links.url(f"/orders/{order_id}"),
            "cart_url": self.links.url("/cart"),
        }

    async def _order_message(self, kind: NotificationKind, event: OrderEventData) -> Composed:
        to = await self._recipient(event.user_id, event.email)
        order = await self.orders.get(event.order_id) if kind is K.ORDER_CONFIRMATION else None
        address = order.shipping_address if order is not None else None
        refund = event.totals.total if event.previous_status in PAID_STATES else None
        context: dict[str, Any] = {
            "name": to.name or (address.name if address else ""),
            "order_number": event.order_number,
            "items": [line.model_dump() for line in event.items],
            "totals": event.totals.model_dump(),
            "currency": event.totals.currency,
            "address": address.model_dump() if address else None,
            "reason": event.reason,
            "refund_amount": refund,
            **self._order_links(event.order_id),
        }
        if KINDS[kind].audience is domain.Audience.MARKETING:
            context["unsubscribe_url"] = self.links.url(
                "/account/preferences?unsubscribe=email_marketing"
            )
        return Composed(to, context, event.user_id, event.order_id)

    async def _payment_message(self, kind: NotificationKind, event: PaymentEventData) -> Composed:
        order = await self.orders.get(event.order_id)
        if order is None:
            raise NotFound("No order for this payment", order_id=event.order_id)
        to = await self._recipient(order.user_id, order.email)
        context: dict[str, Any] = {
            "name": to.name,
            "order_number": order.order_number,
            "amount": event.amount,
            "currency": event.currency,
            "refunded_total": event.refunded_amount,
            "reason": event.reason if kind is K.PAYMENT_FAILED else "",
            **self._order_links(order.order_id),
        }
        return Composed(to, context, order.user_id, order.order_id)

    async def _return_message(self, event: ReturnEventData) -> Composed:
        order = await self.orders.get(event.order_id)
        if order is None:
            raise NotFound("No order for this return", order_id=event.order_id)
        to = await self._recipient(event.user_id, event.email)
        context: dict[str, Any] = {
            "name": to.name,
            "order_number": event.order_number,
            "return_id": event.return_id,
            "status": event.status.value,
            "lines": [line.model_dump() for line in event.lines],
            "refund_amount": event.refund_amount,
            "shipping_refund": event.shipping_refund,
            "refund_total": event.refund_amount + event.shipping_refund,
            "currency": order.totals.currency,
            "reason": event.reason,
            **self._order_links(event.order_id),
        }
        return Composed(to, context, event.user_id, event.order_id)

    async def _ticket_message(self, kind: NotificationKind, event: TicketEventData) -> Composed:
        """A staff answer or a resolution goes to the customer; an SLA breach to the staff
        address the back office put in the event (no customer, no history of theirs)."""
        context: dict[str, Any] = {
            "ticket_number": event.ticket_number,
            "subject": event.subject,
            "order_number": event.order_number,
            "status": event.status.value,
            "priority": event.priority.value,
            "message": event.message,
            "resolution": event.resolution or "",
            "target": event.breach.target.value.replace("_", " ") if event.breach else "",
            "due_at": event.breach.due_at if event.breach else None,
            "ticket_url": self.links.url(f"/account/requests/{event.ticket_id}"),
            **self._order_links(event.order_id),
        }
        if kind is K.TICKET_SLA_BREACHED:
            if not event.staff_email:
                raise NotFound("No staff address for this breach", ticket_id=event.ticket_id)
            to = Recipient(email=event.staff_email, guest=False)
            context["name"] = "support team"
            return Composed(to, context)
        to = await self._recipient(event.user_id, event.email)
        context["name"] = to.name
        return Composed(to, context, event.user_id, event.order_id)

    async def _shipment_message(
        self, envelope: EventEnvelope, event: ShipmentEventData
    ) -> Composed:
        to = await self._recipient(event.user_id, event.email)
        staff: dict[str, Any] = {"message": "", "notification_type": "status_update"}
        if envelope.event_type == CustomerNotificationRequested.EVENT_TYPE:
            request = CustomerNotificationRequested.model_validate(envelope.data)
            staff = {"message": request.message, "notification_type": request.notification_type}
        context: dict[str, Any] = {
            "name": to.name,
            "order_number": event.order_number,
            "carrier": event.carrier,
            "tracking_number": event.tracking_number,
            "tracking_url": event.tracking_url,
            "estimated_delivery": event.estimated_delivery,
            "status": event.status.value,
            "location": event.location,
            "description": event.description,
            "lines": [line.model_dump() for line in event.lines],
            **staff,
            **self._order_links(event.order_id),
        }
        return Composed(to, context, event.user_id, event.order_id)

    def _account_message(self, kind: NotificationKind, envelope: EventEnvelope) -> Composed:
        """Account email goes to the address the event names (the one being verified), in
        the account's language; security kinds need no preference."""
        event = UserEventData.model_validate(
            {k: v for k, v in envelope.data.items() if k in UserEventData.model_fields}
        )
        context: dict[str, Any] = {"name": event.name, "at": event.at}
        if kind is K.VERIFY_EMAIL:
            verify = EmailVerificationRequested.model_validate(envelope.data)
            context |= {
                "link": self.links.url(f"/verify-email?token={verify.token}"),
                "expires_at": verify.expires_at,
            }
        elif kind is K.PASSWORD_RESET:
            reset = PasswordResetRequested.model_validate(envelope.data)
            context |= {
                "link": self.links.url(f"/reset-password?token={reset.token}"),
                "expires_at": reset.expires_at,
            }
        else:
            device = NewDeviceSignIn.model_validate(envelope.data)
            context |= {
                "user_agent": device.user_agent,
                "ip": device.ip,
                "reset_url": self.links.url("/forgot-password"),
            }
        to = Recipient(email=event.email, name=event.name, language=event.language, guest=False)
        return Composed(to, context, event.user_id)

    # -- outbox -> mail server ----------------------------------------------------------------
    async def deliver(self, key: str) -> NotificationStatus | None:
        """One attempt at a due record, if this caller wins its claim. The status it left, or
        None when there was nothing to do (not due, gone, or claimed by someone else)."""
        found = await self.outbox.get(key)
        if found is None:
            return None
        record, etag = found
        if not domain.claimable(record, self.clock()):
            return None
        mine = domain.claimed(record, self.clock(), self.policy)
        if not await self.outbox.replace(key, mine, etag):
            return None  # another replica claimed it first
        try:
            await self.mailer.send(mine.to, mine.subject, mine.html, mine.priority)
        except Exception as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            after = domain.failed(mine, self.clock(), error, self.policy)
            if after.status is NotificationStatus.DEAD_LETTERED:
                after = await self._dead_letter(after, mine, error)
            log.warning(
                "notification not sent",
                key=key,
                attempts=mine.attempts,
                status=after.status.value,
                error=error[:300],
            )
        else:
            after = domain.delivered(mine, self.clock())
            log.info("notification sent", key=key, kind=mine.kind.value, attempts=mine.attempts)
        await self.outbox.update(key, _if_still(mine, after))
        return after.status

    async def _dead_letter(
        self, after: Notification, mine: Notification, error: str
    ) -> Notification:
        try:
            await self.dead_letters.publish(after)
        except Exception as exc:  # kept pending: the next failure dead-letters it again
            log.warning("dead letter not published", key=after.notification_id, error=str(exc))
            retry = replace(self.policy, max_attempts=mine.attempts + 1)
            return domain.failed(mine, self.clock(), error, retry)
        return after

    async def sweep(self) -> dict[str, int]:
        """Every due record once (the sweeper's round). Counts by resulting status."""
        counts: dict[str, int] = {}
        for key in await self.outbox.due():
            try:
                status = await self.deliver(key)
            except Exception:
                log.exception("sweep: delivery round failed", key=key)
                continue
            if status is not None:
                counts[status.value] = counts.get(status.value, 0) + 1
        return counts

    # -- the customer's history -------------------------------------------------------------
    async def history(self, user_id: str, page: int, limit: int) -> NotificationPage:
        records = sorted(
            await self.outbox.for_user(user_id),
            key=lambda r: (r.created_at, r.notification_id),
            reverse=True,
        )
        start = (page - 1) * limit
        return NotificationPage(
            items=[_summary(r) for r in records[start : start + limit]],
            total=len(records),
            page=page,
            limit=limit,
        )


def _if_still(mine: Notification, after: Notification) -> Callable[[Notification], Any]:
    """Write `after` only over our own claim (same attempt, still `sending`): a claim that
    outlived its lease and was taken over is not overwritten."""

    def decide(current: Notification) -> Notification | None:
        same = current.status is NotificationStatus.SENDING and current.attempts == mine.attempts
        return after if same else None

    return decide


def _summary(record: Notification) -> NotificationSummary:
    return NotificationSummary(
        notification_id=record.notification_id,
        kind=record.kind,
        status=record.status,
        subject=record.subject,
        preview=domain.preview(record.text),
        order_id=record.order_id,
        created_at=record.created_at,
        sent_at=record.sent_at,
    )
