from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from apps.contracts.orders import Address
from apps.orders.carrier import Scenario
from apps.platform.settings import AppSettings


class OrdersSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore")

    payment_timeout_seconds: int = Field(
        30 * 60,
        ge=1,
        le=7 * 24 * 3600,
        description="Unpaid orders are cancelled (and their stock released) after this",
    )
    actor_idle_timeout_seconds: int = Field(15 * 60, ge=10)
    # -- fulfilment ------------------------------------------------------------------------
    fulfilment_hold_seconds: float = Field(
        60,
        ge=0,
        le=7 * 24 * 3600,
        description="A paid order waits this long before it goes to the warehouse (the "
        "shopper can cancel it for free; staff can release it early)",
    )
    return_window_days: float = Field(
        30,
        gt=0,
        le=365,
        description="Returns are accepted this long after delivery; then the order completes",
    )
    refund_shipping_on_full_return: bool = Field(
        True, description="A return of every unit of an order refunds its shipping too"
    )
    carrier_step_seconds: float = Field(
        60,
        gt=0,
        le=86400,
        description="The simulated carrier's pace: one scan every step (a demo order is "
        "delivered in about four steps; tests use a second)",
    )
    carrier_poll_seconds: float | None = Field(
        None, gt=0, description="How often a shipment asks its carrier (default: one step)"
    )
    carrier_exception_rate: float = Field(
        0.1, ge=0, le=1, description="Share of simulated shipments delayed, failed or returned"
    )
    carrier_scenario: Scenario | None = Field(
        None, description="Force one simulated scenario on every shipment (demos and tests)"
    )
    carrier_tracking_url: str = Field(
        "http://localhost:8080/track/{tracking_number}",
        description="Where a tracking number is looked up ({tracking_number} is replaced)",
    )
    warehouse: Address = Field(
        default_factory=lambda: Address(
            name="SmartCommerce Warehouse",
            line1="500 Industrial Blvd",
            city="Memphis",
            state="TN",
            postal_code="38125",
            country="US",
        ),
        description="Where outbound shipments leave from and returns go back to",
    )


@lru_cache(maxsize=1)
def get_settings() -> OrdersSettings:
    return OrdersSettings()
