"""Identity rules, pure: emails, the password policy, the stored user record and what each
change does to it (profile, addresses, payment methods, wishlist, rewards, erasure), the
account events it carries until they are published, refresh token rotation with reuse
detection, and the mapping of Entra ID app roles to ours. Tokens, TOTP and devices:
`credentials.py`."""

import hashlib
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field
from zxcvbn import zxcvbn

from apps.contracts.errors import Conflict, NotFound, UnprocessableError
from apps.contracts.events import EventEnvelope, EventPayload
from apps.contracts.identity import (
    AddressIn,
    PaymentMethodIn,
    Preferences,
    ProfileUpdate,
    Rewards,
    Role,
    SavedAddress,
    SavedPaymentMethod,
    UserProfile,
    WishlistItem,
)
from apps.contracts.money import quantize
from apps.contracts.names import AppId
from apps.identity.credentials import OneTimeToken, TwoFactor

MAX_ADDRESSES = 20
MAX_PAYMENT_METHODS = 10
MAX_WISHLIST = 200
EVENTS_KEPT = 200
#: Orders whose points a refund can still take back (the newest kept).
LEDGER_KEPT = 500
COMMON_PASSWORDS = frozenset(
    {"password123", "password1234", "qwerty12345", "1234567890a", "letmein1234", "welcome1234"}
)
TIERS: list[tuple[Decimal, Literal["bronze", "silver", "gold", "platinum"]]] = [
    (Decimal("10000"), "platinum"),
    (Decimal("2000"), "gold"),
    (Decimal("500"), "silver"),
    (Decimal("0"), "bronze"),
]


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_key(email: str) -> str:
    return f"email:{normalize_email(email)}"


#: zxcvbn's score (0-4) a password needs: 3 is "safely unguessable: moderate protection
#: from offline slow-hash scenario" (~10^8 guesses and more).
MIN_PASSWORD_SCORE = 3
#: zxcvbn looks at this many leading characters (its own cap; a longer password is only
#: stronger than its prefix).
SCORED_CHARS = 72


def password_problem(password: str, email: str, name: str = "") -> str | None:
    """Why a password is refused (None: accepted): 10 to 256 characters, a letter and a
    digit, not the email's name, and not guessable: zxcvbn (its lists of the most used
    passwords, names and words, keyboard patterns, repeats, sequences and dates, and the
    person's own email and name) must score it at least `MIN_PASSWORD_SCORE`."""
    if len(password) < 10:
        return "Use at least 10 characters"
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return "Use at least one letter and one digit"
    if password.lower() in COMMON_PASSWORDS:
        return "This password is too common"
    local = normalize_email(email).split("@")[0]
    if len(local) >= 4 and local in password.lower():
        return "Do not use your email address in the password"
    own = [normalize_email(email), local, *name.split()]
    verdict = zxcvbn(password[:SCORED_CHARS], user_inputs=own)
    if verdict["score"] < MIN_PASSWORD_SCORE:
        hint = verdict["feedback"].get("warning") or "it is too easy to guess"
        return f"Choose a stronger password: {hint.rstrip('.')}"
    return None


class OrderPoints(BaseModel):
    """What one paid order did to the rewards, and what refunds took back of it."""

    paid: Decimal
    points: int
    refunded: Decimal = Decimal("0")
    reversed_points: int = 0
    written_off: int = Field(default=0, description="taken back but already spent")


class UserRecord(BaseModel):
    """`user:{user_id}` in the identity store: one document per user, changed by
    compare-and-set, so every change to an account is atomic."""

    kind: Literal["user"] = "user"
    profile: UserProfile
    status: Literal["active", "deleted"] = "active"
    password_hash: str | None = None
    entra_oid: str | None = None
    addresses: list[SavedAddress] = Field(default_factory=list)
    payment_methods: list[SavedPaymentMethod] = Field(default_factory=list)
    wishlist: list[WishlistItem] = Field(default_factory=list)
    families: list[str] = Field(default_factory=list, description="refresh-token families")
    events: list[str] = Field(default_factory=list, description="order events applied")
    points_ledger: dict[str, "OrderPoints"] = Field(
        default_factory=dict, description="points each paid order gave, and what was taken back"
    )
    tokens: dict[str, OneTimeToken] = Field(
        default_factory=dict, description="outstanding single-use tokens by purpose (hashes)"
    )
    two_factor: TwoFactor = Field(default_factory=TwoFactor)
    devices: list[str] = Field(default_factory=list, description="user-agent hashes seen")
    # The outbox: account events committed with the change they describe, published after
    # the write and removed once out (`apps.platform.outbox`).
    outbox: list[dict[str, Any]] = Field(default_factory=list)
    outbox_state: Literal["pending", "clear"] = "clear"
    event_seq: int = Field(default=0, description="events recorded so far (their ids)")
    # Flat copies for the state query API (admin listing).
    role: Role = Role.CUSTOMER
    email: str = ""
    created_at: datetime | None = None

    def token_problem(self, family: "Family | None", sid: str, role: str) -> str:
        """Why an access token of this user's sign-in `sid` carrying `role` no longer
        speaks for them ("" when it still does)."""
        if self.status != "active":
            return "account closed"
        if family is None or family.user_id != self.profile.user_id or family.family_id != sid:
            return "unknown session"
        if family.revoked_at is not None:
            return f"session ended ({family.revoked_reason or 'revoked'})"
        if role != self.profile.role.value:
            return "the account's role has changed"
        return ""

    def touch(self, now: datetime, **profile: object) -> "UserRecord":
        updated = self.profile.model_copy(update={**profile, "updated_at": now})
        return self.model_copy(
            update={"profile": updated, "role": updated.role, "email": updated.email}
        )


def new_user(
    user_id: str,
    email: str,
    name: str,
    role: Role,
    now: datetime,
    password_hash: str | None = None,
    entra_oid: str | None = None,
) -> UserRecord:
    profile = UserProfile(
        user_id=user_id,
        email=normalize_email(email),
        name=name,
        role=role,
        auth_provider="entra" if entra_oid else "password",
        email_verified=entra_oid is not None,
        created_at=now,
        updated_at=now,
    )
    return UserRecord(
        profile=profile,
        password_hash=password_hash,
        entra_oid=entra_oid,
        role=role,
        email=profile.email,
        created_at=now,
    )


def update_profile(user: UserRecord, change: ProfileUpdate, now: datetime) -> UserRecord:
    return user.touch(now, **change.model_dump(exclude_none=True))


def set_preferences(user: UserRecord, prefs: Preferences, now: datetime) -> UserRecord:
    return user.touch(now, preferences=prefs)


# -- address book ------------------------------------------------------------------------
def add_address(user: UserRecord, address_id: str, body: AddressIn, now: datetime) -> UserRecord:
    if len(user.addresses) >= MAX_ADDRESSES:
        raise UnprocessableError(f"At most {MAX_ADDRESSES} addresses")
    first_of_type = not any(a.type == body.type for a in user.addresses)
    saved = SavedAddress(
        **body.model_dump(exclude={"is_default"}),
        is_default=body.is_default or first_of_type,
        address_id=address_id,
        created_at=now,
        updated_at=now,
    )
    return _with_addresses(user, [*user.addresses, saved], saved, now)


def replace_address(
    user: UserRecord, address_id: str, body: AddressIn, now: datetime
) -> UserRecord:
    old = _address(user, address_id)
    saved = SavedAddress(
        **body.model_dump(exclude={"is_default"}),
        is_default=body.is_default or old.is_default,
        address_id=address_id,
        created_at=old.created_at,
        updated_at=now,
    )
    rest = [saved if a.address_id == address_id else a for a in user.addresses]
    return _with_addresses(user, rest, saved, now)


def remove_address(user: UserRecord, address_id: str, now: datetime) -> UserRecord:
    gone = _address(user, address_id)
    rest = [a for a in user.addresses if a.address_id != address_id]
    if gone.is_default:  # the oldest of the same type becomes the default
        same = [a for a in rest if a.type == gone.type]
        if same:
            rest = [
                a.model_copy(update={"is_default": a is same[0]}) if a.type == gone.type else a
                for a in rest
            ]
    return user.model_copy(update={"addresses": rest}).touch(now)


def make_default_address(user: UserRecord, address_id: str, now: datetime) -> UserRecord:
    chosen = _address(user, address_id)
    return _with_addresses(
        user, user.addresses, chosen.model_copy(update={"is_default": True}), now
    )


def _with_addresses(
    user: UserRecord, addresses: list[SavedAddress], changed: SavedAddress, now: datetime
) -> UserRecord:
    """One default per type: a new default unsets the others of its type."""
    out = []
    for a in addresses:
        if a.address_id == changed.address_id:
            out.append(changed)
        elif changed.is_default and a.type == changed.type and a.is_default:
            out.append(a.model_copy(update={"is_default": False}))
        else:
            out.append(a)
    return user.model_copy(update={"addresses": out}).touch(now)


def _address(user: UserRecord, address_id: str) -> SavedAddress:
    found = next((a for a in user.addresses if a.address_id == address_id), None)
    if found is None:
        raise NotFound("Address not found", address_id=address_id)
    return found


# -- payment methods -----------------------------------------------------------------------
def add_payment_method(
    user: UserRecord, method_id: str, body: PaymentMethodIn, now: datetime
) -> UserRecord:
    if any(
        m.stripe_payment_method_id == body.stripe_payment_method_id for m in user.payment_methods
    ):
        raise Conflict("This payment method is saved already")
    if len(user.payment_methods) >= MAX_PAYMENT_METHODS:
        raise UnprocessableError(f"At most {MAX_PAYMENT_METHODS} payment methods")
    if body.billing_address_id and body.billing_address_id not in {
        a.address_id for a in user.addresses
    }:
        raise UnprocessableError("Unknown billing address", address_id=body.billing_address_id)
    default = body.is_default or not user.payment_methods
    saved = SavedPaymentMethod(
        **body.model_dump(exclude={"is_default"}),
        is_default=default,
        payment_method_id=method_id,
        created_at=now,
        updated_at=now,
    )
    others = [
        m.model_copy(update={"is_default": False}) if default else m for m in user.payment_methods
    ]
    return user.model_copy(update={"payment_methods": [*others, saved]}).touch(now)


def remove_payment_method(user: UserRecord, method_id: str, now: datetime) -> UserRecord:
    if not any(m.payment_method_id == method_id for m in user.payment_methods):
        raise NotFound("Payment method not found", payment_method_id=method_id)
    rest = [m for m in user.payment_methods if m.payment_method_id != method_id]
    if rest and not any(m.is_default for m in rest):
        rest[0] = rest[0].model_copy(update={"is_default": True})
    return user.model_copy(update={"payment_methods": rest}).touch(now)


# -- wishlist ------------------------------------------------------------------------------
def add_to_wishlist(user: UserRecord, product_id: str, now: datetime) -> UserRecord | None:
    """None when it is there already (adding twice changes nothing)."""
    if any(w.product_id == product_id for w in user.wishlist):
        return None
    if len(user.wishlist) >= MAX_WISHLIST:
        raise UnprocessableError(f"At most {MAX_WISHLIST} wishlist items")
    item = WishlistItem(product_id=product_id, added_at=now)
    return user.model_copy(update={"wishlist": [*user.wishlist, item]}).touch(now)


def remove_from_wishlist(user: UserRecord, product_id: str, now: datetime) -> UserRecord:
    if not any(w.product_id == product_id for w in user.wishlist):
        raise NotFound("Not on your wishlist", product_id=product_id)
    rest = [w for w in user.wishlist if w.product_id != product_id]
    return user.model_copy(update={"wishlist": rest}).touch(now)


# -- rewards -------------------------------------------------------------------------------
def tier_of(lifetime_spend: Decimal) -> Literal["bronze", "silver", "gold", "platinum"]:
    return next(name for floor, name in TIERS if lifetime_spend >= floor)


def earn(
    user: UserRecord,
    event_id: str,
    paid: Decimal,
    points_per_unit: int,
    now: datetime,
    order_id: str | None = None,
) -> UserRecord | None:
    """Points for a paid order, once per event and once per order (None: applied before).
    With `order_id` the order's points are kept in the ledger, so a refund can take back
    what this order gave."""
    if event_id in user.events or (order_id is not None and order_id in user.points_ledger):
        return None
    points = int(paid) * points_per_unit
    spend = quantize(user.profile.rewards.lifetime_spend + paid)
    rewards = Rewards(
        points=user.profile.rewards.points + points, tier=tier_of(spend), lifetime_spend=spend
    )
    events = [*user.events, event_id][-EVENTS_KEPT:]
    ledger = dict(user.points_ledger)
    if order_id is not None:
        ledger[order_id] = OrderPoints(paid=paid, points=points)
        ledger = dict(list(ledger.items())[-LEDGER_KEPT:])
    return user.model_copy(update={"events": events, "points_ledger": ledger}).touch(
        now, rewards=rewards
    )


def take_back(
    user: UserRecord, order_id: str, refunded: Decimal, now: datetime
) -> UserRecord | None:
    """Points and spend of an order's refunded share taken back: pro rata, the points of
    `floor(points x refunded / paid)` (a full refund or a cancellation takes them all).
    `refunded` is the order's total refunded so far, so a redelivered or repeated event
    takes nothing more (None: nothing to change).

    Policy: the balance never goes below zero. Points already spent elsewhere cannot be
    taken twice; what cannot be taken is written off and recorded on the order's entry
    (`written_off`), so the ledger still adds up."""
    entry = user.points_ledger.get(order_id)
    if entry is None:
        return None
    refunded = min(max(refunded, Decimal("0")), entry.paid)
    target = int(entry.points * refunded / entry.paid) if entry.paid > 0 else entry.points
    owed = target - entry.reversed_points
    more_refunded = refunded - entry.refunded
    if owed <= 0 and more_refunded <= 0:
        return None
    balance = user.profile.rewards.points
    taken = min(max(owed, 0), balance)
    spend = quantize(max(user.profile.rewards.lifetime_spend - max(more_refunded, 0), 0))
    updated = entry.model_copy(
        update={
            "reversed_points": entry.reversed_points + max(owed, 0),
            "written_off": entry.written_off + max(owed, 0) - taken,
            "refunded": max(refunded, entry.refunded),
        }
    )
    rewards = Rewards(points=balance - taken, tier=tier_of(spend), lifetime_spend=spend)
    ledger = {**user.points_ledger, order_id: updated}
    return user.model_copy(update={"points_ledger": ledger}).touch(now, rewards=rewards)


# -- account events ------------------------------------------------------------------------
def event_fields(user: UserRecord, now: datetime) -> dict[str, Any]:
    """Who an account event is about (`UserEventData`'s fields)."""
    p = user.profile
    return {
        "user_id": p.user_id,
        "email": p.email,
        "name": p.name,
        "language": p.preferences.language,
        "at": now,
    }


def record_event(
    user: UserRecord, payload: EventPayload, now: datetime, correlation_id: str
) -> UserRecord:
    """The account with `payload` in its outbox: it is saved with the change it describes
    and published after. Its id is the account's id and sequence number, so a re-publish
    (a retry, the sweeper) carries the same id and consumers drop the duplicate."""
    seq = user.event_seq + 1
    envelope = EventEnvelope.of(
        payload,
        correlation_id=correlation_id,
        source=AppId.IDENTITY,
        event_id=f"{user.profile.user_id}:{seq}",
        occurred_at=now,
    )
    entry = {"topic": payload.TOPIC.value, "event": envelope.model_dump(mode="json")}
    return user.model_copy(
        update={"outbox": [*user.outbox, entry], "outbox_state": "pending", "event_seq": seq}
    )


def profile_changes(before: UserRecord, after: UserRecord) -> list[str]:
    """The profile fields a change touched (what `UserUpdated.changed` lists)."""
    fields = (
        "name",
        "phone",
        "newsletter_opt_in",
        "preferences",
        "role",
        "email_verified",
        "two_factor_enabled",
    )
    return [f for f in fields if getattr(before.profile, f) != getattr(after.profile, f)]


# -- erasure -------------------------------------------------------------------------------
def erase(user: UserRecord, now: datetime) -> UserRecord:
    """Soft delete: the account stays as a tombstone (its id may be in orders) with every
    piece of personal data removed (its unpublished events stay until they are out)."""
    profile = UserProfile(
        user_id=user.profile.user_id,
        email=f"deleted-{user.profile.user_id}@erased.example",
        name="Deleted user",
        role=Role.CUSTOMER,
        created_at=user.profile.created_at,
        updated_at=now,
    )
    return UserRecord(
        profile=profile,
        status="deleted",
        role=Role.CUSTOMER,
        email=profile.email,
        created_at=user.created_at,
        families=user.families,
        outbox=user.outbox,
        outbox_state=user.outbox_state,
        event_seq=user.event_seq,
    )


# -- refresh tokens ------------------------------------------------------------------------
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshRecord(BaseModel):
    """`refresh:{sha256(token)}`: a refresh token is used once; its successor belongs to
    the same family (one sign-in)."""

    kind: Literal["refresh"] = "refresh"
    family_id: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None = None


class Family(BaseModel):
    """`family:{id}`: one sign-in and the refresh tokens rotated from it."""

    kind: Literal["family"] = "family"
    family_id: str
    user_id: str
    created_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str = ""


RefreshVerdict = Literal["rotate", "reuse", "expired", "revoked"]


def judge_refresh(record: RefreshRecord, family: Family | None, now: datetime) -> RefreshVerdict:
    if family is None or family.revoked_at is not None:
        return "revoked"
    if record.used_at is not None:
        return "reuse"
    if record.expires_at <= now:
        return "expired"
    return "rotate"


def refresh_expiry(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)


# -- external identity ---------------------------------------------------------------------
def role_from_entra(roles: object, role_map: dict[str, str]) -> Role:
    """The highest of our roles the token's app roles map to; a customer otherwise."""
    mapped = [Role(role_map[r]) for r in roles if r in role_map] if isinstance(roles, list) else []
    return max(mapped, key=lambda r: r.rank, default=Role.CUSTOMER)
