"""Settings of the tickets area (env prefix `BACKOFFICE_`, like the app's own): SLA targets
per priority in seconds and where breaches are emailed. Kept beside the area so the other
back-office areas' settings do not grow one class."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.contracts.tickets import TicketPriority

P = TicketPriority
HOUR = 3600.0


class TicketSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKOFFICE_", extra="ignore")

    #: First staff answer, by priority (BACKOFFICE_TICKET_FIRST_RESPONSE_SECONDS as JSON).
    ticket_first_response_seconds: dict[TicketPriority, float] = Field(
        default={P.URGENT: 1 * HOUR, P.HIGH: 4 * HOUR, P.MEDIUM: 8 * HOUR, P.LOW: 24 * HOUR}
    )
    #: Resolved, by priority (BACKOFFICE_TICKET_RESOLUTION_SECONDS as JSON).
    ticket_resolution_seconds: dict[TicketPriority, float] = Field(
        default={P.URGENT: 8 * HOUR, P.HIGH: 24 * HOUR, P.MEDIUM: 72 * HOUR, P.LOW: 120 * HOUR}
    )
    #: Staff are emailed here when a ticket breaches its SLA (empty: the event only).
    ticket_staff_email: str = "support@smartcommerce.example"
    ticket_default_priority: TicketPriority = P.MEDIUM


@lru_cache(maxsize=1)
def get_ticket_settings() -> TicketSettings:
    return TicketSettings()
