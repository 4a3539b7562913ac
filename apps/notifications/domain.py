"""Pure rules of the notifications app: which event is which email, who may be sent what,
and how a record moves through the outbox (pending -> sending -> sent, retried with
backoff, dead-lettered after the last attempt).

Adding a kind is a `NotificationKind`, a `KINDS` entry (class, template, subject) and a
line in `kind_for`: the service, the outbox and the API take it from there.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from apps.contracts.notifications import Notification, NotificationKind, NotificationStatus
from apps.contracts.orders import OrderCancelled, OrderCompleted, OrderPlaced, OrderStatus
from apps.contracts.payments import PaymentFailed, PaymentStatus, RefundProcessed
from apps.contracts.returns import (
    ReturnApproved,
    ReturnReceived,
    ReturnRejected,
    ReturnRequested,
)
from apps.contracts.shipping import (
    CustomerNotificationRequested,
    DeliveryCompleted,
    ShipmentStatus,
    ShipmentStatusUpdated,
)
from apps.contracts.tickets import TicketChange, TicketResolved, TicketUpdated
from apps.contracts.user_events import (
    EmailVerificationRequested,
    NewDeviceSignIn,
    PasswordResetRequested,
)

K = NotificationKind


class Audience(StrEnum):
    """Whose consent a kind needs (README "Notifications", preferences)."""

    #: The account's own security: verification, reset, a new device. Always sent, to the
    #: address the event names (the one being verified, the account's own).
    SECURITY = "security"
    #: Receipts and money: confirmation, payment failed, cancellation, refund; and what
    #: staff wrote to the customer about their shipment. Always sent.
    TRANSACTIONAL = "transactional"
    #: Automatic shipping progress: sent unless the account turned `email_orders` off.
    ORDER_UPDATES = "order_updates"
    #: Sent only to accounts that opted in (`email_marketing`) with a verified address,
    #: never to guests; carries an unsubscribe link.
    MARKETING = "marketing"


@dataclass(frozen=True)
class KindSpec:
    audience: Audience
    template: str  # templates/<template>.html and .txt
    subject: str  # a Jinja expression over the same context
    priority: int = 3  # X-Priority: 1 highest .. 5 lowest (the binding's scale)


KINDS: dict[NotificationKind, KindSpec] = {
    K.ORDER_CONFIRMATION: KindSpec(
        Audience.TRANSACTIONAL, "order_confirmation", "Order {{ order_number }} confirmed"
    ),
    K.PAYMENT_FAILED: KindSpec(
        Audience.TRANSACTIONAL, "payment_failed", "Payment for order {{ order_number }} failed", 2
    ),
    K.ORDER_CANCELLED: KindSpec(
        Audience.TRANSACTIONAL, "order_cancelled", "Order {{ order_number }} cancelled"
    ),
    K.REFUND_ISSUED: KindSpec(
        Audience.TRANSACTIONAL,
        "refund_issued",
        "Refund issued for order {{ order_number }}",
    ),
    K.SHIPPED: KindSpec(Audience.ORDER_UPDATES, "shipment", "Order {{ order_number }} has shipped"),
    K.OUT_FOR_DELIVERY: KindSpec(
        Audience.ORDER_UPDATES, "shipment", "Order {{ order_number }} is out for delivery"
    ),
    K.SHIPMENT_DELAYED: KindSpec(
        Audience.ORDER_UPDATES, "shipment", "Order {{ order_number }} is delayed"
    ),
    K.DELIVERY_FAILED: KindSpec(
        Audience.ORDER_UPDATES, "shipment", "We could not deliver order {{ order_number }}", 2
    ),
    K.RETURNED_TO_SENDER: KindSpec(
        Audience.ORDER_UPDATES, "shipment", "Order {{ order_number }} is on its way back to us", 2
    ),
    K.DELIVERED: KindSpec(
        Audience.ORDER_UPDATES, "shipment", "Order {{ order_number }} was delivered"
    ),
    K.SHIPMENT_UPDATE: KindSpec(
        Audience.TRANSACTIONAL, "shipment", "An update on order {{ order_number }}"
    ),
    K.RETURN_REQUESTED: KindSpec(
        Audience.TRANSACTIONAL,
        "return_update",
        "We received your return request ({{ order_number }})",
    ),
    K.RETURN_APPROVED: KindSpec(
        Audience.TRANSACTIONAL,
        "return_update",
        "Your return for order {{ order_number }} is approved",
    ),
    K.RETURN_REJECTED: KindSpec(
        Audience.TRANSACTIONAL, "return_update", "About your return for order {{ order_number }}", 2
    ),
    K.RETURN_RECEIVED: KindSpec(
        Audience.TRANSACTIONAL, "return_update", "Your return for order {{ order_number }} arrived"
    ),
    K.TICKET_REPLY: KindSpec(
        Audience.TRANSACTIONAL, "ticket_update", "Re: {{ subject }} [{{ ticket_number }}]"
    ),
    K.TICKET_RESOLVED: KindSpec(
        Audience.TRANSACTIONAL, "ticket_update", "Resolved: {{ subject }} [{{ ticket_number }}]"
    ),
    K.TICKET_SLA_BREACHED: KindSpec(
        Audience.TRANSACTIONAL,
        "ticket_sla_breached",
        "SLA breached ({{ target }}): {{ ticket_number }} now {{ priority }}",
        1,
    ),
    K.REVIEW_REQUEST: KindSpec(
        Audience.MARKETING, "review_request", "How was order {{ order_number }}?", 4
    ),
    K.VERIFY_EMAIL: KindSpec(Audience.SECURITY, "verify_email", "Confirm your email address", 2),
    K.PASSWORD_RESET: KindSpec(Audience.SECURITY, "password_reset", "Reset your password", 1),
    K.NEW_DEVICE_SIGN_IN: KindSpec(
        Audience.SECURITY, "new_device_sign_in", "New sign-in to your account", 2
    ),
}

#: Shipment statuses worth an email of their own (in transit, label created: not).
SHIPMENT_STATUS_KINDS: dict[str, NotificationKind] = {
    ShipmentStatus.PICKED_UP: K.SHIPPED,
    ShipmentStatus.OUT_FOR_DELIVERY: K.OUT_FOR_DELIVERY,
    ShipmentStatus.DELAYED: K.SHIPMENT_DELAYED,
    ShipmentStatus.DELIVERY_FAILED: K.DELIVERY_FAILED,
    ShipmentStatus.RETURNED_TO_SENDER: K.RETURNED_TO_SENDER,
}

#: Return events and their emails (the refund itself is told by RefundProcessed).
RETURN_KINDS: dict[str, NotificationKind] = {
    ReturnRequested.EVENT_TYPE: K.RETURN_REQUESTED,
    ReturnApproved.EVENT_TYPE: K.RETURN_APPROVED,
    ReturnRejected.EVENT_TYPE: K.RETURN_REJECTED,
    ReturnReceived.EVENT_TYPE: K.RETURN_RECEIVED,
}

#: An order cancelled from these was never confirmed to the customer (checkout refused or
#: abandoned it, and told them there): no email.
UNCONFIRMED = {OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT}


def kind_for(event_type: str, data: dict[str, Any]) -> NotificationKind | None:
    """The email an event asks for, if any (`data` is the raw payload)."""
    if event_type == OrderPlaced.EVENT_TYPE:
        return K.ORDER_CONFIRMATION
    if event_type == OrderCancelled.EVENT_TYPE:
        return None if data.get("previous_status") in UNCONFIRMED else K.ORDER_CANCELLED
    if event_type == OrderCompleted.EVENT_TYPE:
        return K.REVIEW_REQUEST
    if event_type == PaymentFailed.EVENT_TYPE:
        # `canceled`: checkout gave up on the payment and told the shopper there.
        return K.PAYMENT_FAILED if data.get("status") == PaymentStatus.FAILED else None
    if event_type == RefundProcessed.EVENT_TYPE:
        return K.REFUND_ISSUED
    outbound = data.get("kind", "outbound") == "outbound"  # return parcels: not yet
    if event_type == ShipmentStatusUpdated.EVENT_TYPE and outbound:
        return SHIPMENT_STATUS_KINDS.get(str(data.get("status")))
    if event_type == DeliveryCompleted.EVENT_TYPE and outbound:
        return K.DELIVERED
    if event_type == CustomerNotificationRequested.EVENT_TYPE:
        return K.SHIPMENT_UPDATE
    if event_type in RETURN_KINDS:
        return RETURN_KINDS[event_type]
    if event_type == TicketResolved.EVENT_TYPE:
        return K.TICKET_RESOLVED
    if event_type == TicketUpdated.EVENT_TYPE:
        change = data.get("change")
        if change == TicketChange.STAFF_RESPONDED and data.get("message"):
            return K.TICKET_REPLY
        if change == TicketChange.SLA_BREACHED and data.get("staff_email"):
            return K.TICKET_SLA_BREACHED
        return None
    if event_type == EmailVerificationRequested.EVENT_TYPE:
        return K.VERIFY_EMAIL
    if event_type == PasswordResetRequested.EVENT_TYPE:
        return K.PASSWORD_RESET
    if event_type == NewDeviceSignIn.EVENT_TYPE:
        return K.NEW_DEVICE_SIGN_IN
    return None


#: Every event type `kind_for` may answer for (the subscriptions hand these to the service).
HANDLED_EVENTS = frozenset(
    {
        OrderPlaced.EVENT_TYPE,
        OrderCancelled.EVENT_TYPE,
        OrderCompleted.EVENT_TYPE,
        PaymentFailed.EVENT_TYPE,
        RefundProcessed.EVENT_TYPE,
        ShipmentStatusUpdated.EVENT_TYPE,
        DeliveryCompleted.EVENT_TYPE,
        CustomerNotificationRequested.EVENT_TYPE,
        EmailVerificationRequested.EVENT_TYPE,
        PasswordResetRequested.EVENT_TYPE,
        NewDeviceSignIn.EVENT_TYPE,
        *RETURN_KINDS,
        TicketUpdated.EVENT_TYPE,
        TicketResolved.EVENT_TYPE,
    }
)


# -- who gets what ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    email: str
    name: str = ""
    language: str = "en"
    #: No account (a guest order, or an account closed since): no preferences to read.
    guest: bool = True
    email_orders: bool = True
    email_marketing: bool = False
    email_verified: bool = False


@dataclass(frozen=True)
class Decision:
    send: bool
    reason: str = ""


def decide(audience: Audience, to: Recipient) -> Decision:
    """Whether this customer is sent a message of `audience` (README "Notifications")."""
    if ";" in to.email:
        # The SMTP binding splits recipients on ';' (a quoted local part may hold one).
        return Decision(False, "address cannot be sent through the SMTP binding")
    if audience in (Audience.SECURITY, Audience.TRANSACTIONAL):
        return Decision(True)
    if audience is Audience.ORDER_UPDATES:
        if to.guest or to.email_orders:
            return Decision(True)
        return Decision(False, "order updates turned off (email_orders)")
    if to.guest:
        return Decision(False, "no marketing to guests")
    if not to.email_marketing:
        return Decision(False, "marketing not opted in (email_marketing)")
    if not to.email_verified:
        return Decision(False, "marketing needs a verified address")
    return Decision(True)


# -- the outbox --------------------------------------------------------------------------------
def record_key(event_id: str, kind: NotificationKind) -> str:
    """One record per event and kind: a redelivered event finds it and sends nothing."""
    return f"notification:{event_id}:{kind.value}"


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    max_attempts: int = 20
    lease_seconds: float = 60.0


def retry_delay(attempts: int, policy: RetryPolicy) -> timedelta:
    """Exponential backoff after the `attempts`-th failed attempt: base, 2x base, 4x ...,
    capped at `max_seconds`."""
    exponent = max(0, attempts - 1)
    seconds = policy.base_seconds * (2 ** min(exponent, 40))
    return timedelta(seconds=min(policy.max_seconds, seconds))


def claimable(record: Notification, now: datetime) -> bool:
    """Due for an attempt: pending and its time has come, or claimed by a replica whose
    lease ran out (it crashed or hung mid-send)."""
    if record.status is NotificationStatus.PENDING:
        return record.next_attempt_at <= now
    if record.status is NotificationStatus.SENDING:
        return record.lease_until is not None and record.lease_until <= now
    return False


def claimed(record: Notification, now: datetime, policy: RetryPolicy) -> Notification:
    """Taken by one sender for `lease_seconds`; the attempt counts from here, so a crash
    mid-send still moves it towards the dead letter."""
    return record.model_copy(
        update={
            "status": NotificationStatus.SENDING,
            "attempts": record.attempts + 1,
            "lease_until": now + timedelta(seconds=policy.lease_seconds),
        }
    )


def delivered(record: Notification, now: datetime) -> Notification:
    return record.model_copy(
        update={
            "status": NotificationStatus.SENT,
            "sent_at": now,
            "lease_until": None,
            "last_error": "",
        }
    )


def failed(record: Notification, now: datetime, error: str, policy: RetryPolicy) -> Notification:
    """After a failed attempt: pending again after the backoff, or dead-lettered once the
    attempts are used up."""
    if record.attempts >= policy.max_attempts:
        return record.model_copy(
            update={
                "status": NotificationStatus.DEAD_LETTERED,
                "lease_until": None,
                "last_error": error[:1000],
            }
        )
    return record.model_copy(
        update={
            "status": NotificationStatus.PENDING,
            "lease_until": None,
            "next_attempt_at": now + retry_delay(record.attempts, policy),
            "last_error": error[:1000],
        }
    )


def preview(text: str, length: int = 160) -> str:
    """The start of the plain-text part, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"
