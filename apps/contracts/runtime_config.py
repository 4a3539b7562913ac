"""Runtime settings read through the Dapr Configuration API: the known keys, their types and
bounds, what each means, its default and which app applies it, and the admin API's models.

A key absent from the configuration store means "the app's own configured default" (its
environment settings, which default to `default` below). Values are kept in the store as
JSON text; every reader and the admin writer validate them with the key's model, so a value
the model refuses is never applied (the app keeps what it had) and never written.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from apps.contracts.names import AppId

#: The PostgreSQL table configuration.postgresql reads locally, and the NOTIFY channel its
#: trigger announces changes on (scripts/stores.sh creates both).
CONFIG_TABLE = "sc_configuration"
NOTIFY_CHANNEL = "sc_configuration"
#: Azure App Configuration: the writer bumps this key after every change; the Dapr
#: component polls it and re-reads the subscribed keys when it moves.
SENTINEL_KEY = "sc.sentinel"
#: Store keys: letters, digits, dots and underscores (what both components accept).
KEY_PATTERN = r"^[a-z][a-z0-9_.]{0,99}$"


class ConfigKey(StrEnum):
    FRAUD_BANDS = "fraud.bands"
    RATE_LIMIT_ENABLED = "storefront.rate_limit.enabled"
    RATE_LIMIT_IP = "storefront.rate_limit.ip_per_minute"
    RATE_LIMIT_USER = "storefront.rate_limit.user_per_minute"
    RATE_LIMIT_AUTH_IP = "storefront.rate_limit.auth_ip_per_minute"
    RATE_LIMIT_AUTH_EMAIL = "storefront.rate_limit.auth_email_per_minute"
    CARRIER_STEP_SECONDS = "orders.carrier_step_seconds"


class FraudBands(BaseModel):
    """The fraud decision bands: approve below `review`, hold for review from it, reject from
    `reject` (probabilities)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review: float = Field(gt=0, lt=1)
    reject: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> "FraudBands":
        if self.review >= self.reject:
            raise ValueError("review must be below reject")
        return self


PerMinute = Annotated[int, Field(ge=1, le=1_000_000, strict=True)]
StepSeconds = Annotated[float, Field(gt=0, le=86_400)]
Flag = Annotated[bool, Field(strict=True)]


@dataclass(frozen=True)
class KnownKey:
    key: ConfigKey
    adapter: TypeAdapter[Any]
    type: str  # what the admin sees: the type and its bounds
    description: str
    default: Any  # JSON form
    applied_by: AppId

    def parse(self, value: Any) -> Any:
        """The value as the app uses it; ValidationError when the key's model refuses it."""
        return self.adapter.validate_python(value)

    def dump(self, value: Any) -> Any:
        return self.adapter.dump_python(self.parse(value), mode="json")


def _known(
    key: ConfigKey, kind: Any, type_: str, description: str, default: Any, app: AppId
) -> KnownKey:
    return KnownKey(key, TypeAdapter(kind), type_, description, default, app)


REGISTRY: dict[ConfigKey, KnownKey] = {
    k.key: k
    for k in (
        _known(
            ConfigKey.FRAUD_BANDS,
            FraudBands,
            "object {review: 0<p<1, reject: 0<p<1}, review < reject",
            "Fraud decision bands: a checkout scoring at least `review` is held for review, "
            "at least `reject` is rejected",
            {"review": 0.30, "reject": 0.80},
            AppId.FRAUD,
        ),
        _known(
            ConfigKey.RATE_LIMIT_ENABLED,
            Flag,
            "boolean",
            "Whether the storefront applies its rate limits at all",
            True,
            AppId.STOREFRONT,
        ),
        _known(
            ConfigKey.RATE_LIMIT_IP,
            PerMinute,
            "integer 1..1000000",
            "Any /api request, per client address, per minute",
            600,
            AppId.STOREFRONT,
        ),
        _known(
            ConfigKey.RATE_LIMIT_USER,
            PerMinute,
            "integer 1..1000000",
            "Requests per signed-in user per minute",
            1200,
            AppId.STOREFRONT,
        ),
        _known(
            ConfigKey.RATE_LIMIT_AUTH_IP,
            PerMinute,
            "integer 1..1000000",
            "Sign-in, sign-up and refresh attempts per client address per minute",
            30,
            AppId.STOREFRONT,
        ),
        _known(
            ConfigKey.RATE_LIMIT_AUTH_EMAIL,
            PerMinute,
            "integer 1..1000000",
            "Sign-in and sign-up attempts per account (email) per minute",
            10,
            AppId.STOREFRONT,
        ),
        _known(
            ConfigKey.CARRIER_STEP_SECONDS,
            StepSeconds,
            "number of seconds, 0 < s <= 86400",
            "The simulated carrier's pace: one tracking scan every step (new shipments poll "
            "at this pace unless ORDERS_CARRIER_POLL_SECONDS is set)",
            60,
            AppId.ORDERS,
        ),
    )
}


def keys_of(app: AppId) -> list[ConfigKey]:
    return [k.key for k in REGISTRY.values() if k.applied_by == app]


class UnknownKey(KeyError):
    pass


def known(key: str) -> KnownKey:
    try:
        return REGISTRY[ConfigKey(key)]
    except ValueError:
        raise UnknownKey(key) from None


def encode(key: ConfigKey, value: Any) -> str:
    """The store's text of a valid value (canonical JSON). ValidationError if invalid."""
    return json.dumps(REGISTRY[key].dump(value), sort_keys=True, separators=(",", ":"))


def decode(key: ConfigKey, text: str) -> Any:
    """A stored text as the app uses it; ValueError (ValidationError included) if it is not
    JSON or not valid for the key."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{key}: not JSON") from exc
    return REGISTRY[key].parse(raw)


def invalid_reason(key: str, value: Any) -> str | None:
    """Why `value` cannot be set for `key` (None: it can)."""
    try:
        known(key).parse(value)
    except UnknownKey:
        return f"unknown key {key!r}"
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        return str(first.get("msg", "invalid value"))
    return None


# -- admin API ------------------------------------------------------------------------------
class ConfigEntry(BaseModel):
    """One known key as the admin sees it."""

    key: ConfigKey
    value: Any = Field(description="the value in effect: the stored one, else the default")
    source: str = Field(description="`store` (set by an admin) or `default`")
    version: str | None = Field(None, description="the store's version of the stored value")
    default: Any
    type: str
    description: str
    applied_by: AppId
    updated_by: str | None = None
    updated_at: datetime | None = None


class ConfigList(BaseModel):
    items: list[ConfigEntry]


class ConfigUpdate(BaseModel):
    """`PUT /admin/config/{key}`: the new value, validated against the key's model."""

    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="JSON value of the key's type (see GET /admin/config)")


class ConfigChange(BaseModel):
    """What a PUT or DELETE changed. `before` and `after` are the values as JSON text (null:
    not set, i.e. the default), kept scalar so the audit log records both."""

    key: ConfigKey
    value: Any
    version: str | None
    before: str | None
    after: str | None
    updated_by: str
    updated_at: datetime
