"""Destinations checkout ships to (pure): address rules per country, the tax rate of a
destination and shipping quotes by method, weight and zone. The table is
`apps/contracts/destinations.json` (shared: the cart's tax comes from the same rates)."""

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from apps.contracts.checkout import (
    AddressInput,
    AddressValidation,
    FieldProblem,
    ShippingMethod,
    ShippingOption,
)
from apps.contracts.money import quantize
from apps.contracts.orders import Address
from apps.contracts.tax import DESTINATIONS_FILE, TaxTable

DEFAULT_FILE = DESTINATIONS_FILE
Zone = Literal["domestic", "international"]
PHONE = re.compile(r"^\+?[0-9 ().-]{7,20}$")


class Country(BaseModel):
    name: str
    timezone: str
    zone: Zone
    postal_code: str
    postal_example: str
    state_required: bool
    states: list[str] = Field(default_factory=list)
    tax: TaxTable


class MethodRate(BaseModel):
    base: Decimal = Field(ge=0)
    per_kg: Decimal = Field(ge=0)
    days: tuple[int, int]


class Shipping(BaseModel):
    free_standard_from: dict[Zone, Decimal] = Field(default_factory=dict)
    methods: dict[ShippingMethod, dict[Zone, MethodRate]]


class Rates(BaseModel):
    model_config = ConfigDict(extra="ignore")

    origin_country: str
    default_item_weight_kg: Decimal = Field(gt=0)
    countries: dict[str, Country]
    shipping: Shipping

    @model_validator(mode="after")
    def _patterns_compile(self) -> "Rates":
        for code, country in self.countries.items():
            re.compile(country.postal_code)
            ZoneInfo(country.timezone)
            unknown = set(country.tax.by_state) - set(country.states)
            if unknown:
                raise ValueError(f"{code}: tax for unknown states {sorted(unknown)}")
        return self

    @classmethod
    def load(cls, path: Path = DEFAULT_FILE) -> "Rates":
        return cls.model_validate(json.loads(path.read_text()))

    # -- addresses -------------------------------------------------------------------------
    def validate_address(self, raw: AddressInput | Address) -> AddressValidation:
        """Required fields and formats for the destination country; the address normalised
        (upper-case country, state and postal code) when it passes."""
        data = raw.model_dump()
        errors: list[FieldProblem] = []
        country_code = data["country"].strip().upper()
        country = self.countries.get(country_code)
        for field in ("name", "line1", "city", "postal_code", "country"):
            if not data[field]:
                errors.append(FieldProblem(field=field, message=f"{field} is required"))
        if data["country"] and country is None:
            errors.append(
                FieldProblem(
                    field="country",
                    message=f"We do not ship to {data['country']!r}; "
                    f"countries: {', '.join(sorted(self.countries))}",
                )
            )
        if country is not None:
            postal = data["postal_code"].upper()
            if postal and not re.fullmatch(country.postal_code, postal):
                errors.append(
                    FieldProblem(
                        field="postal_code",
                        message=f"Not a postal code of {country.name} "
                        f"(for example {country.postal_example})",
                    )
                )
            state = data["state"].upper()
            if country.state_required and not state:
                errors.append(
                    FieldProblem(field="state", message=f"state is required in {country.name}")
                )
            elif state and country.states and state not in country.states:
                errors.append(
                    FieldProblem(
                        field="state",
                        message=f"Not a state of {country.name} (use its code, e.g. "
                        f"{country.states[0]})",
                    )
                )
            data.update(country=country_code, postal_code=postal, state=state)
        if data["phone"] and not PHONE.fullmatch(data["phone"]):
            errors.append(FieldProblem(field="phone", message="Not a phone number"))
        if errors:
            return AddressValidation(valid=False, errors=errors)
        try:
            address = Address.model_validate(data)
        except ValidationError as exc:
            return AddressValidation(
                valid=False,
                errors=[
                    FieldProblem(field=".".join(map(str, e["loc"])), message=e["msg"])
                    for e in exc.errors(include_url=False)
                ],
            )
        return AddressValidation(valid=True, address=address)

    # -- tax and shipping ------------------------------------------------------------------
    def local_hour(self, address: Address, now: datetime) -> int:
        """The hour at the destination (the country's representative time zone)."""
        return now.astimezone(ZoneInfo(self.countries[address.country].timezone)).hour

    def tax_rate(self, address: Address) -> Decimal:
        return self.countries[address.country].tax.rate(address.state)

    def shipping_options(
        self, address: Address, weight_kg: Decimal, goods: Decimal, currency: str
    ) -> list[ShippingOption]:
        """Every method that ships to the address, priced for the parcel; `goods` is the
        discounted subtotal (free standard shipping above a threshold)."""
        zone = self.countries[address.country].zone
        options = []
        for method, zones in self.shipping.methods.items():
            rate = zones.get(zone)
            if rate is None:
                continue
            amount = quantize(rate.base + rate.per_kg * weight_kg)
            free_from = self.shipping.free_standard_from.get(zone)
            free = (
                method == ShippingMethod.STANDARD and free_from is not None and goods >= free_from
            )
            options.append(
                ShippingOption(
                    method=method,
                    amount=Decimal("0.00") if free else amount,
                    currency=currency,
                    days_min=rate.days[0],
                    days_max=rate.days[1],
                    description=f"{method.value.capitalize()}, {rate.days[0]}-{rate.days[1]} "
                    f"business days" + (" (free over " + f"{free_from:.2f})" if free else ""),
                )
            )
        return options
