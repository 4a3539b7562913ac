"""The one sales-tax rule, for the cart's figure and the checkout's charge alike (pure).

Tax is the destination's rate (the country's, or its state's or province's where that
differs) on the goods after any discount, rounded to the cent half-to-even. Shipping is not
taxed. The rates are the `tax` entries of `destinations.json` (the destinations checkout
ships to). Until a shopper gives a destination, the cart can only estimate, from each
product's own rate (`estimated_tax`), and says so (`CartTotals.tax_basis`)."""

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

from apps.contracts.money import quantize

DESTINATIONS_FILE = Path(__file__).with_name("destinations.json")
ZERO = Decimal("0")


class TaxTable(BaseModel):
    """A country's rate, and the states or provinces whose rate is another."""

    default: Decimal = Field(ge=0, le=1)
    by_state: dict[str, Decimal] = Field(default_factory=dict)

    def rate(self, state: str = "") -> Decimal:
        return self.by_state.get(state, self.default)


def sales_tax(taxable: Decimal, rate: Decimal) -> Decimal:
    """Tax on `taxable` (goods after discount) at `rate`, to the cent, half-to-even."""
    return quantize(taxable * rate)


def destination_rate(tables: Mapping[str, TaxTable], country: str, state: str = "") -> Decimal:
    """The rate of a destination (KeyError for a country nobody ships to)."""
    return tables[country].rate(state)


def estimated_tax(
    lines: Iterable[tuple[Decimal, Decimal]], subtotal: Decimal, taxable: Decimal
) -> Decimal:
    """Without a destination: each line's own rate on its share of the taxable amount
    (`lines` are (line total, rate)), rounded once, as `sales_tax` rounds."""
    if subtotal <= 0:
        return quantize(ZERO)
    share = taxable / subtotal
    return quantize(sum((total * rate * share for total, rate in lines), ZERO))


@lru_cache(maxsize=4)
def tax_tables(path: Path = DESTINATIONS_FILE) -> dict[str, TaxTable]:
    """Every destination's tax table, by ISO country code."""
    countries = json.loads(path.read_text())["countries"]
    return {code: TaxTable.model_validate(c["tax"]) for code, c in countries.items()}
