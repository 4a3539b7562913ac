"""Runtime settings (pure parts): the known-keys registry validates what may be stored, the
defaults are the apps' own, the client applies only valid, newer values and falls back to
the default when a key goes, and the simulated carrier follows a new step."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from apps.contracts.names import AppId
from apps.contracts.runtime_config import (
    REGISTRY,
    ConfigKey,
    FraudBands,
    decode,
    encode,
    invalid_reason,
    keys_of,
)
from apps.fraud.settings import FraudSettings
from apps.orders.settings import OrdersSettings
from apps.platform.runtime_config import RuntimeConfig
from apps.storefront.config_api import FIELDS
from apps.storefront.settings import StorefrontSettings


def test_every_default_is_valid_and_round_trips() -> None:
    for key, spec in REGISTRY.items():
        assert invalid_reason(key, spec.default) is None, key
        assert spec.dump(decode(key, encode(key, spec.default))) == spec.default


def test_registry_defaults_are_the_apps_own_defaults() -> None:
    fraud = FraudSettings.model_fields
    assert REGISTRY[ConfigKey.FRAUD_BANDS].default == {
        "review": fraud["review_threshold"].default,
        "reject": fraud["reject_threshold"].default,
    }
    orders = OrdersSettings.model_fields["carrier_step_seconds"].default
    assert REGISTRY[ConfigKey.CARRIER_STEP_SECONDS].default == orders
    for key, field in FIELDS.items():
        assert REGISTRY[key].default == StorefrontSettings.model_fields[field].default, key
    assert set(FIELDS) == set(keys_of(AppId.STOREFRONT))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("no.such.key", 1),
        ("fraud.bands", {"review": 0.9, "reject": 0.5}),  # review must be below reject
        ("fraud.bands", {"review": 0.3, "reject": 1.0}),
        ("fraud.bands", {"review": 0.3}),
        ("fraud.bands", {"review": 0.3, "reject": 0.8, "extra": 1}),
        ("fraud.bands", 0.5),
        ("storefront.rate_limit.ip_per_minute", 0),
        ("storefront.rate_limit.ip_per_minute", 1_000_001),
        ("storefront.rate_limit.ip_per_minute", "600"),  # strict: a number, not text
        ("storefront.rate_limit.ip_per_minute", 10.5),
        ("storefront.rate_limit.ip_per_minute", True),
        ("storefront.rate_limit.enabled", "yes"),
        ("storefront.rate_limit.enabled", None),
        ("orders.carrier_step_seconds", 0),
        ("orders.carrier_step_seconds", -1),
        ("orders.carrier_step_seconds", 86_401),
        ("orders.carrier_step_seconds", "fast"),
    ],
)
def test_invalid_values_are_refused_with_a_reason(key: str, value: Any) -> None:
    reason = invalid_reason(key, value)
    assert reason
    if key == "no.such.key":
        assert "unknown" in reason


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("fraud.bands", {"review": 0.1, "reject": 0.2}),
        ("storefront.rate_limit.auth_email_per_minute", 1),
        ("storefront.rate_limit.enabled", False),
        ("orders.carrier_step_seconds", 0.5),
        ("orders.carrier_step_seconds", 3600),
    ],
)
def test_valid_values_are_accepted(key: str, value: Any) -> None:
    assert invalid_reason(key, value) is None


def test_stored_text_must_be_json_of_the_right_shape() -> None:
    with pytest.raises(ValueError):
        decode(ConfigKey.CARRIER_STEP_SECONDS, "not json")
    with pytest.raises(ValueError):
        decode(ConfigKey.FRAUD_BANDS, '{"review": 0.9, "reject": 0.1}')
    assert decode(ConfigKey.FRAUD_BANDS, '{"reject":0.8,"review":0.3}') == FraudBands(
        review=0.3, reject=0.8
    )
    assert encode(ConfigKey.FRAUD_BANDS, {"review": 0.3, "reject": 0.8}) == (
        '{"reject":0.8,"review":0.3}'
    )


def _client(applied: list[tuple[ConfigKey, Any]]) -> RuntimeConfig:
    http = httpx.AsyncClient(base_url="http://127.0.0.1:9")  # never called by _settle
    return RuntimeConfig(
        http, keys_of(AppId.ORDERS), lambda k, v: applied.append((k, v)), resync_seconds=1
    )


def test_client_applies_new_valid_values_and_falls_back_to_the_default() -> None:
    applied: list[tuple[ConfigKey, Any]] = []
    config = _client(applied)
    key = ConfigKey.CARRIER_STEP_SECONDS
    config._settle(key, None)  # absent at start: the app keeps its default, nothing applied
    assert applied == []
    config._settle(key, {"value": "5", "version": "3"})
    config._settle(key, {"value": "5", "version": "3"})  # the same version again: no-op
    config._settle(key, {"value": "7", "version": "2"})  # older than what is applied
    config._settle(key, {"value": "-1", "version": "4"})  # invalid: kept what it had
    config._settle(key, {"value": "not json", "version": "5"})
    assert applied == [(key, 5.0)] and config.value(key) == 5.0
    config._settle(key, {"value": "9", "version": "6"})
    config._settle(key, {"value": "", "version": "7", "metadata": {"deleted": "true"}})
    assert applied == [(key, 5.0), (key, 9.0), (key, None)]
    assert config.value(key) is None


def test_simulated_carrier_follows_a_new_step() -> None:
    from apps.contracts.shipping import ShipmentStatus
    from tests.unit.test_shipments import booked, carrier, paid_order

    sim = carrier()
    sim.step = timedelta(hours=1)
    shipment = booked(paid_order(), sim)
    later = shipment.created_at + timedelta(seconds=30)
    assert sim.history(shipment, later) == []
    sim.step = timedelta(seconds=5)  # what orders does when the setting changes
    assert [e.status for e in sim.history(shipment, later)][-1] == ShipmentStatus.DELIVERED
