"""Price suggestions from the trained elasticities (model.json), within guardrails."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apps.contracts.errors import NotFound
from apps.contracts.pricing import Elasticity, SuggestRequest, SuggestResponse
from apps.platform.models import read_meta
from apps.pricing.domain import explain, suggest

MODEL_FORMAT = 1


@dataclass
class PricingModel:
    version: str
    skus: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, directory: Path) -> "PricingModel":
        meta = read_meta(directory, "pricing", {"format": MODEL_FORMAT})
        return cls(str(meta["version"]), dict(meta["skus"]))


class PricingService:
    def __init__(self, model: PricingModel) -> None:
        self.model = model

    def suggest(self, req: SuggestRequest) -> SuggestResponse:
        info = self.model.skus.get(req.sku)
        if info is None:
            raise NotFound("No sales history for this SKU", sku=req.sku)
        price = req.current_price or float(info["last_price"])
        cost = req.unit_cost or float(info["unit_cost"])
        e = float(info["elasticity"])
        units_now = float(info["base_units_at_list"]) * (price / float(info["list_price"])) ** e
        s = suggest(price, cost, units_now, e, req.min_margin, req.max_change)
        source = (
            "sku" if info["promo_days"] >= 60 else "blend" if info["promo_days"] else "category"
        )
        return SuggestResponse(
            sku=req.sku,
            model_version=self.model.version,
            current_price=round(price, 2),
            suggested_price=s.price,
            change=round(s.price / price - 1, 4),
            unit_cost=round(cost, 2),
            elasticity=Elasticity(
                value=round(e, 4),
                source=source,
                sku_estimate=round(float(info["sku_estimate"]), 4),
                category_estimate=round(float(info["category_estimate"]), 4),
                promo_days=int(info["promo_days"]),
            ),
            expected_daily_units={
                "current": round(units_now, 3),
                "suggested": round(s.units_then, 3),
            },
            expected_daily_margin={
                "current": round(s.margin_now, 2),
                "suggested": round(s.margin_then, 2),
            },
            binding=s.binding,
            explanation=explain(
                price,
                s,
                e,
                {
                    "sku": "this SKU's",
                    "blend": "this SKU's and its category's",
                    "category": "its category's",
                }[source],
                cost,
            ),
        )
