"""Price suggestions: the margin optimum and every guardrail (pure, no model)."""

import pytest
from pydantic import ValidationError

from apps.contracts.pricing import SuggestRequest
from apps.pricing.domain import blend, explain, suggest


def test_elastic_demand_finds_the_textbook_optimum_inside_the_guardrails() -> None:
    # e = -3: the margin optimum is cost x e / (1 + e) = 1.5 x cost = 60 for cost 40.
    s = suggest(
        price=62.0, cost=40.0, units_now=10, elasticity=-3.0, min_margin=0.1, max_change=0.1
    )
    assert s.price == pytest.approx(60.0, abs=0.02)
    assert s.binding == [] and s.margin_then > s.margin_now


def test_inelastic_demand_rises_only_by_the_step_limit() -> None:
    s = suggest(price=50.0, cost=20.0, units_now=5, elasticity=-0.5, min_margin=0.1, max_change=0.1)
    assert s.price == pytest.approx(55.0) and s.binding == ["max_change_up"]


def test_very_elastic_demand_falls_only_by_the_step_limit() -> None:
    s = suggest(
        price=100.0, cost=20.0, units_now=5, elasticity=-6.0, min_margin=0.1, max_change=0.1
    )
    assert s.price == pytest.approx(90.0) and s.binding == ["max_change_down"]


def test_minimum_margin_sets_the_floor_and_prices_never_go_below_cost() -> None:
    s = suggest(
        price=50.0, cost=44.0, units_now=5, elasticity=-8.0, min_margin=0.15, max_change=0.1
    )
    assert s.price >= 44.0 / 0.85 - 0.01 and "min_margin" in s.binding
    # Under the margin floor and out of reach of one step: the largest allowed rise...
    near = suggest(
        price=50.0, cost=48.0, units_now=5, elasticity=-2.0, min_margin=0.2, max_change=0.1
    )
    assert near.price == pytest.approx(55.0) and near.binding == ["min_margin"]
    # ...but never below cost, whatever the step limit.
    far = suggest(
        price=50.0, cost=60.0, units_now=5, elasticity=-2.0, min_margin=0.2, max_change=0.1
    )
    assert far.price == pytest.approx(60.0) and far.binding == ["min_margin", "cost"]


def test_category_prior_weighs_by_promotion_days() -> None:
    assert blend(None, 0, -2.0) == -2.0
    assert blend(-1.0, 30, -2.0, prior_days=30) == pytest.approx(-1.5)
    assert blend(-1.0, 300, -2.0, prior_days=30) == pytest.approx(-1.0 * 300 / 330 - 2.0 * 30 / 330)


def test_explanation_names_the_move_and_the_binding_guardrail() -> None:
    s = suggest(price=50.0, cost=20.0, units_now=5, elasticity=-0.5, min_margin=0.1, max_change=0.1)
    text = explain(50.0, s, -0.5, "this SKU's", 20.0)
    assert text.startswith("Raise the price 10.0 % to 55.00") and "step limit" in text


@pytest.mark.parametrize(
    "bad", [{"current_price": 0}, {"min_margin": 1.0}, {"max_change": 0.9}, {"x": 1}]
)
def test_bad_requests_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SuggestRequest.model_validate({"sku": "SKU-1", **bad})
