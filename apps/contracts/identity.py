"""Who is calling: roles (SPEC "Roles"), the principal the gateway derives from a token, and
the identity app's account models."""

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from apps.contracts.email import Email
from apps.contracts.money import Amount
from apps.contracts.orders import Address
from apps.contracts.schema import StrippedInput


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: "Role") -> bool:
        return self.rank >= other.rank


_RANK = {Role.ANONYMOUS: 0, Role.CUSTOMER: 1, Role.STAFF: 2, Role.ADMIN: 3}


class Principal(BaseModel):
    """The caller as the storefront verified it; apps trust it only from the gateway."""

    user_id: str | None = None
    role: Role = Role.ANONYMOUS
    email: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None and self.role.at_least(Role.CUSTOMER)


ANONYMOUS = Principal()


# -- accounts (identity app; seed 004 "Users/Addresses/Payment Methods Containers") -------------

#: 13-19 digits, optionally grouped by spaces or dashes: what a card number looks like.
CARD_NUMBER = re.compile(r"(?:\d[ -]?){12,18}\d")
Name = Annotated[str, Field(min_length=1, max_length=120)]
#: Passwords are taken exactly as typed (never stripped), wherever they are sent.
Password = Annotated[
    str, StringConstraints(strip_whitespace=False), Field(min_length=1, max_length=256)
]
#: A password being chosen: 10 to 256 characters with a letter and a digit (the schema says
#: so; identity also refuses well-known passwords and the email's own name, with a 422).
NewPassword = Annotated[
    str,
    StringConstraints(strip_whitespace=False),
    Field(
        min_length=10,
        max_length=256,
        pattern=r"^[^\u0000]*(?:[A-Za-z][^\u0000]*[0-9]|[0-9][^\u0000]*[A-Za-z])[^\u0000]*$",
        description="10+ characters with a letter and a digit; not a well-known password "
        "and not the email's name",
    ),
]


def looks_like_card_number(value: str) -> bool:
    return bool(CARD_NUMBER.search(value))


class SignupRequest(StrippedInput):
    email: Email
    name: Name
    password: NewPassword


class LoginRequest(StrippedInput):
    email: Email
    password: Password


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=20, max_length=200)]


class ExternalLogin(BaseModel):
    """`POST /api/auth/entra`: a Microsoft Entra ID token, validated by issuer, audience and
    the tenant's JWKS; the local profile is created on first sign-in."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=20, max_length=20000)]


class Notifications(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_marketing: bool = False
    email_orders: bool = True
    sms_shipping: bool = False


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] = "en"
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    notifications: Notifications = Field(default_factory=Notifications)


class Rewards(BaseModel):
    points: int = 0
    tier: Literal["bronze", "silver", "gold", "platinum"] = "bronze"
    lifetime_spend: Amount = Decimal("0.00")


class UserProfile(BaseModel):
    """What a user sees of themselves (no password hash, no token data)."""

    user_id: str
    email: Email
    name: str
    role: Role
    phone: str = ""
    email_verified: bool = False
    two_factor_enabled: bool = False
    newsletter_opt_in: bool = False
    auth_provider: Literal["password", "entra"] = "password"
    preferences: Preferences = Field(default_factory=Preferences)
    rewards: Rewards = Field(default_factory=Rewards)
    created_at: datetime
    updated_at: datetime
    last_login: datetime | None = None


class ProfileUpdate(StrippedInput):
    name: Name | None = None
    phone: Annotated[str, Field(max_length=30, pattern=r"^\+?[0-9 ().-]{0,20}$")] | None = None
    newsletter_opt_in: bool | None = None


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Password
    new_password: NewPassword


class TokenPair(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserProfile


class AddressIn(Address):
    """An address book entry (seed 004 Addresses): the address plus its use."""

    type: Literal["shipping", "billing"] = "shipping"
    is_default: bool = False


class SavedAddress(AddressIn):
    address_id: str
    created_at: datetime
    updated_at: datetime


class PaymentMethodIn(StrippedInput):
    """A saved payment method: the Stripe id only (never a card number: anything that
    looks like one is refused)."""

    stripe_payment_method_id: Annotated[str, Field(pattern=r"^pm_[A-Za-z0-9_]{1,100}$")]
    type: Literal["credit_card", "debit_card", "wallet"] = "credit_card"
    brand: Annotated[str, Field(max_length=30, pattern=r"^([A-Za-z][A-Za-z .&-]*)?$")] = ""
    last4: Annotated[str, Field(pattern=r"^\d{4}$")] | None = None
    exp_month: int | None = Field(default=None, ge=1, le=12)
    exp_year: int | None = Field(default=None, ge=2000, le=2100)
    billing_address_id: Annotated[str, Field(pattern=r"^addr-[0-9a-f]{12}$")] | None = None
    is_default: bool = False

    @field_validator("brand", "billing_address_id", "stripe_payment_method_id", mode="before")
    @classmethod
    def _no_card_numbers(cls, value: object) -> object:
        if isinstance(value, str) and looks_like_card_number(value):
            raise ValueError("Card numbers are never accepted; send the Stripe payment method id")
        return value


class SavedPaymentMethod(PaymentMethodIn):
    payment_method_id: str
    created_at: datetime
    updated_at: datetime


class WishlistItem(BaseModel):
    product_id: str
    added_at: datetime


class WishlistAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    ]


class Dashboard(BaseModel):
    user: UserProfile
    order_count: int
    recent_orders: list[dict[str, object]]
    rewards: Rewards
    wishlist_count: int
    addresses_count: int


class AdminUserCreate(SignupRequest):
    role: Role = Role.CUSTOMER


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class UserPage(BaseModel):
    items: list[UserProfile]
    total: int
    page: int
    limit: int


class AuditEntry(BaseModel):
    audit_id: str
    at: datetime
    actor_id: str
    action: str
    target_id: str
    details: dict[str, object] = Field(default_factory=dict)


class GuestSession(BaseModel):
    session_id: str
    expires_in: int


class TokenStatusRequest(BaseModel):
    """Which access token the gateway asks about: its user, sign-in (`sid`) and role."""

    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=64)]
    sid: Annotated[str, Field(min_length=1, max_length=64)]
    role: Annotated[str, Field(min_length=1, max_length=32)]


class TokenStatus(BaseModel):
    """Whether a signed, unexpired access token still speaks for its user: not if the user
    signed out of that session, changed password, was given another role or was deleted."""

    valid: bool
    reason: str = ""


class AccountStanding(BaseModel):
    """`GET /users/{user_id}/standing` on identity (internal: fraud scoring at checkout):
    how long the account has existed and since when it has kept the payment method used."""

    user_id: str
    created_at: datetime
    payment_method_added_at: datetime | None = Field(
        default=None, description="when the payment method asked about was saved (None: not saved)"
    )


class ContactDetails(BaseModel):
    """`GET /users/{user_id}/contact` on identity (internal: the notifications app): where
    and how an active account wants to be told things."""

    user_id: str
    email: Email
    name: str
    language: str = "en"
    currency: str = "USD"
    email_verified: bool = False
    notifications: Notifications = Field(default_factory=Notifications)
