"""Customer requests (seed 004 "Customer Tickets Container", staff ticket endpoints): the
ticket as `TicketActor` keeps it, the commands the actor takes, the events it publishes on
`support-events` and the staff/customer wire models.

Every actor method takes and returns plain JSON (`PUT /v1.0/actors/TicketActor/{ticket_id}/
method/{create|get|reply|respond|set_status|assign}`); schemas are exported to schemas/.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from apps.contracts.events import EventPayload
from apps.contracts.names import Topic

Id = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
#: An order id as orders takes it.
OrderRef = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
]
#: A caller's id for a command: the same id applies once (a retry answers the same ticket).
RequestId = Annotated[str, Field(min_length=8, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]


class TicketStatus(StrEnum):
    OPEN = "open"  # opened by the customer, no staff answer yet
    PENDING_CUSTOMER = "pending_customer"  # staff answered; waiting for the customer
    PENDING_STAFF = "pending_staff"  # the customer wrote; waiting for staff
    RESOLVED = "resolved"
    CLOSED = "closed"


class TicketPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class TicketType(StrEnum):
    ORDER = "order"
    RETURN = "return"
    DELIVERY = "delivery"
    PAYMENT = "payment"
    PRODUCT = "product"
    OTHER = "other"


class AuthorType(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


class SlaTarget(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class TicketMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str
    author_id: str
    author_type: AuthorType
    message: str
    is_internal: bool = False
    created_at: datetime


class SlaBreach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: SlaTarget
    due_at: datetime
    at: datetime
    priority_before: TicketPriority
    priority_after: TicketPriority


class Sla(BaseModel):
    """Deadlines of the ticket's targets (from its priority when opened; a reopened ticket
    gets a new resolution deadline) and the breaches so far, each escalated once."""

    model_config = ConfigDict(extra="forbid")

    first_response_due: datetime
    resolution_due: datetime
    breaches: list[SlaBreach] = Field(default_factory=list)


class Ticket(BaseModel):
    """Seed 004's ticket document, plus its SLA and a version (one per committed change)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    ticket_id: str
    ticket_number: str
    user_id: str
    email: str
    order_id: str
    order_number: str = ""
    type: TicketType
    subject: str
    description: str
    status: TicketStatus
    priority: TicketPriority
    assigned_to: str | None = None
    category: str = ""
    messages: list[TicketMessage] = Field(default_factory=list)
    resolution: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    first_response_at: datetime | None = None
    sla: Sla
    correlation_id: str
    version: int = Field(ge=1)
    #: Request ids of the commands applied (the last 100): a retry is a no-op.
    applied: list[str] = Field(default_factory=list)


# -- actor commands ---------------------------------------------------------------------------
class CreateTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: Id
    ticket_number: str = Field(min_length=1, max_length=40)
    user_id: Id
    email: str = Field(min_length=3, max_length=254)
    order_id: Id
    order_number: str = Field("", max_length=40)
    type: TicketType = TicketType.ORDER
    subject: str = Field(min_length=1, max_length=200)
    description: Text
    priority: TicketPriority = TicketPriority.MEDIUM
    category: str = Field("", max_length=60)
    tags: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=10
    )
    correlation_id: str = Field(min_length=1, max_length=200)


class CustomerReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: RequestId
    user_id: Id
    message: Text


class StaffResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: RequestId
    staff_id: Id
    message: Text
    internal_note: bool = False


class SetStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: RequestId
    staff_id: Id
    status: TicketStatus
    resolution: str | None = Field(None, max_length=2000)


class AssignTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: RequestId
    staff_id: Id
    assignee: Id


class TicketError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class TicketReply(BaseModel):
    """What every TicketActor method answers."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    ticket: Ticket | None = None
    error: TicketError | None = None


# -- events on support-events -------------------------------------------------------------
class TicketChange(StrEnum):
    CREATED = "created"
    CUSTOMER_REPLIED = "customer_replied"
    STAFF_RESPONDED = "staff_responded"
    INTERNAL_NOTE = "internal_note"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    SLA_BREACHED = "sla_breached"


class TicketEventData(EventPayload):
    """The ticket as it is after the change (public messages only: internal notes stay in
    the back office), what changed, and for a breach whom staff asked to be told."""

    TOPIC: ClassVar[Topic] = Topic.SUPPORT_EVENTS

    ticket_id: str
    ticket_number: str
    user_id: str
    email: str
    order_id: str
    order_number: str = ""
    type: TicketType
    subject: str
    status: TicketStatus
    previous_status: TicketStatus | None = None
    priority: TicketPriority
    assigned_to: str | None = None
    change: TicketChange
    #: The public message this change added (a staff answer is emailed to the customer).
    message: str = ""
    resolution: str | None = None
    breach: SlaBreach | None = None
    #: Where an SLA breach is emailed (the back office's configured staff address).
    staff_email: str | None = None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    message_count: int = 0
    version: int


class TicketCreated(TicketEventData):
    pass


class TicketUpdated(TicketEventData):
    pass


class TicketResolved(TicketEventData):
    pass


# -- HTTP --------------------------------------------------------------------------------------
class OpenTicketIn(BaseModel):
    """A customer's request about one of their orders (a guest order: give its email)."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderRef
    email: str | None = Field(None, min_length=3, max_length=254)
    type: TicketType = TicketType.ORDER
    subject: str = Field(min_length=1, max_length=200)
    description: Text
    category: str = Field("", max_length=60)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Text


class StaffResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Text
    internal_note: bool = False


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_status: TicketStatus
    resolution: str | None = Field(None, max_length=2000)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: Id


class TicketSummary(BaseModel):
    """A row of the ticket lists (the back office's view, kept from the events)."""

    model_config = ConfigDict(extra="forbid")

    ticket_id: str
    ticket_number: str
    user_id: str
    order_id: str
    order_number: str = ""
    type: TicketType
    subject: str
    status: TicketStatus
    priority: TicketPriority
    assigned_to: str | None = None
    message_count: int = 0
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    version: int


class TicketPage(BaseModel):
    items: list[TicketSummary]
    page: int
    limit: int
    total: int
