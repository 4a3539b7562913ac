"""Wire contracts: money as decimal strings, the event envelope, settings guards."""

from decimal import Decimal

import pytest
from pydantic import SecretStr, ValidationError

from apps.contracts.catalog import ProductArchived
from apps.contracts.events import EventEnvelope
from apps.contracts.money import Price
from apps.contracts.names import Topic
from apps.platform.settings import AppSettings


def test_money_is_a_two_place_decimal_string() -> None:
    price = Price(amount=Decimal("12.5"))
    assert price.model_dump(mode="json")["amount"] == "12.50"
    with pytest.raises(ValidationError):
        Price(amount=Decimal("1.001"))
    with pytest.raises(ValidationError):
        Price(amount=Decimal("-1"))


def test_envelope_carries_the_spec_fields_and_round_trips() -> None:
    env = EventEnvelope.of(ProductArchived(product_id="p1"), correlation_id="c1", source="catalog")
    data = env.model_dump(mode="json")
    assert {
        "event_id",
        "event_type",
        "event_version",
        "occurred_at",
        "correlation_id",
        "data",
    } <= set(data)
    assert data["event_type"] == "ProductArchived"
    assert ProductArchived.TOPIC == Topic.PRODUCT_EVENTS
    assert EventEnvelope.model_validate(data) == env


def test_placeholder_secrets_are_refused_in_azure() -> None:
    class S(AppSettings):
        token: SecretStr = SecretStr("change-me")

    S(environment="local")
    with pytest.raises(ValidationError):
        S(environment="azure")
