"""Events of the identity app (topic `user-events`).

`UserCreated` / `UserUpdated` / `UserDeleted` describe accounts; the `...Requested` events
ask the notifications app to send an account email. They carry the single-use token the
email links to (the broker is internal to the environment; identity keeps only the token's
hash, so a token is usable once and only until `expires_at`).
"""

from datetime import datetime
from typing import Annotated

from pydantic import Field

from apps.contracts.email import Email
from apps.contracts.events import EventPayload
from apps.contracts.names import Topic


class UserEventData(EventPayload):
    TOPIC = Topic.USER_EVENTS

    user_id: str
    email: Email
    name: str = ""
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    at: datetime


class UserCreated(UserEventData):
    role: str
    auth_provider: str = "password"
    email_verified: bool = False


class UserUpdated(UserEventData):
    changed: list[str] = Field(
        default_factory=list, description="fields that changed (e.g. name, email_verified)"
    )


class UserDeleted(UserEventData):
    pass


class EmailVerificationRequested(UserEventData):
    """Send the link that verifies `email` (after sign-up, or when the user asks again)."""

    token: Annotated[str, Field(min_length=20, max_length=200)]
    expires_at: datetime


class PasswordResetRequested(UserEventData):
    """Send the link that sets a new password. Published only for an existing account, but
    the public answer is the same either way (no account enumeration)."""

    token: Annotated[str, Field(min_length=20, max_length=200)]
    expires_at: datetime


class NewDeviceSignIn(UserEventData):
    """A sign-in from a device (user agent) this account had not used before."""

    user_agent: Annotated[str, Field(max_length=300)] = ""
    ip: Annotated[str, Field(max_length=64)] = ""
