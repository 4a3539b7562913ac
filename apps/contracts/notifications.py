"""Customer notifications (the `notifications` app): what was sent to whom, and the event it
publishes when a message cannot be sent.

One record per (event, kind), keyed by both, is the outbox and the history at once: it is
saved `pending` before the mail server is asked, then marked `sent`; a send that keeps
failing ends `dead_lettered` with a `NotificationDeadLettered` on `dead-letter-events`.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.events import EventPayload
from apps.contracts.names import Topic


class NotificationKind(StrEnum):
    # orders and payments
    ORDER_CONFIRMATION = "order_confirmation"
    PAYMENT_FAILED = "payment_failed"
    ORDER_CANCELLED = "order_cancelled"
    REFUND_ISSUED = "refund_issued"
    # shipping progress
    SHIPPED = "shipped"
    OUT_FOR_DELIVERY = "out_for_delivery"
    SHIPMENT_DELAYED = "shipment_delayed"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"
    DELIVERED = "delivered"
    SHIPMENT_UPDATE = "shipment_update"  # written by staff (notify-customer)
    # returns
    RETURN_REQUESTED = "return_requested"
    RETURN_APPROVED = "return_approved"
    RETURN_REJECTED = "return_rejected"
    RETURN_RECEIVED = "return_received"
    # customer requests (tickets)
    TICKET_REPLY = "ticket_reply"  # staff answered the customer
    TICKET_RESOLVED = "ticket_resolved"
    TICKET_SLA_BREACHED = "ticket_sla_breached"  # to the staff address, not the customer
    # marketing
    REVIEW_REQUEST = "review_request"
    # the account
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"
    NEW_DEVICE_SIGN_IN = "new_device_sign_in"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # in the outbox: to be sent (now, or at `next_attempt_at`)
    SENDING = "sending"  # claimed by one replica until `lease_until`
    SENT = "sent"
    SKIPPED = "skipped"  # the customer's preferences say no (the reason is kept)
    DEAD_LETTERED = "dead_lettered"  # every attempt failed; published to dead-letter-events


class Notification(BaseModel):
    """The stored record: the message as rendered when the event arrived, and its delivery."""

    model_config = ConfigDict(extra="forbid")

    notification_id: str
    kind: NotificationKind
    status: NotificationStatus
    event_id: str
    event_type: str
    correlation_id: str
    user_id: str | None = None
    order_id: str | None = None
    to: str
    subject: str
    html: str
    text: str
    priority: int = Field(3, ge=1, le=5)
    attempts: int = Field(0, ge=0)
    next_attempt_at: datetime
    lease_until: datetime | None = None
    last_error: str = ""
    skip_reason: str = ""
    created_at: datetime
    sent_at: datetime | None = None


class NotificationSummary(BaseModel):
    """One line of `GET /api/users/me/notifications`."""

    notification_id: str
    kind: NotificationKind
    status: NotificationStatus
    subject: str
    preview: str = Field(description="the start of the plain-text part")
    order_id: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


class NotificationPage(BaseModel):
    items: list[NotificationSummary]
    total: int
    page: int
    limit: int


class NotificationDeadLettered(EventPayload):
    """A notification that could not be sent after every retry (operators replay or drop
    it; the customer's history shows it as `dead_lettered`)."""

    TOPIC = Topic.DEAD_LETTER

    notification_id: str
    kind: NotificationKind
    event_id: str
    event_type: str
    user_id: str | None = None
    order_id: str | None = None
    attempts: int
    last_error: Annotated[str, Field(max_length=1000)]
    at: datetime
