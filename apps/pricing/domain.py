"""Price suggestions, pure: constant-elasticity demand, margin maximised within guardrails.

Demand at price p: units(p) = units_now x (p / p_now) ** elasticity. Daily margin:
(p - cost) x units(p). Allowed prices: within +/- `max_change` of the current price, at
least `cost / (1 - min_margin)` (so never below cost; when a step cannot reach that floor,
the largest step, and never less than the cost itself), searched on a fine grid (the optimum
of a constant elasticity e < -1 is cost x e / (1 + e); with |e| <= 1 margin grows with price
and the step guardrail decides).
"""

from dataclasses import dataclass

import numpy as np

GRID = 401


@dataclass(frozen=True)
class Suggestion:
    price: float
    units_now: float
    units_then: float
    margin_now: float
    margin_then: float
    binding: list[str]


def blend(sku: float | None, sku_days: int, category: float, prior_days: int = 30) -> float:
    """Shrink a SKU's estimate toward its category's: weight by promo days seen."""
    if sku is None or sku_days <= 0:
        return category
    w = sku_days / (sku_days + prior_days)
    return w * sku + (1 - w) * category


def suggest(
    price: float,
    cost: float,
    units_now: float,
    elasticity: float,
    min_margin: float,
    max_change: float,
) -> Suggestion:
    low_step, high_step = price * (1 - max_change), price * (1 + max_change)
    floor = cost / (1 - min_margin)
    low = max(low_step, floor)
    binding: list[str] = []
    if floor >= high_step:  # even the largest step keeps the margin below its minimum
        binding.append("min_margin")
        if cost > high_step:  # never below cost: that floor outranks the step limit
            binding.append("cost")
        candidates = np.array([max(high_step, cost)])
    else:
        candidates = np.linspace(low, high_step, GRID)
    units = units_now * (candidates / price) ** elasticity
    margins = (candidates - cost) * units
    best = int(np.argmax(margins))
    chosen = float(candidates[best])
    if len(candidates) > 1:
        if best == len(candidates) - 1:
            binding.append("max_change_up")
        elif best == 0:
            binding.append("min_margin" if floor > low_step else "max_change_down")
    return Suggestion(
        price=round(chosen, 2),
        units_now=units_now,
        units_then=float(units[best]),
        margin_now=(price - cost) * units_now,
        margin_then=float(margins[best]),
        binding=binding,
    )


def explain(current: float, s: Suggestion, elasticity: float, source: str, cost: float) -> str:
    move = (s.price / current - 1) * 100
    verb = "raise" if move > 0.05 else "lower" if move < -0.05 else "keep"
    why = (
        f"demand here is elastic ({elasticity:.2f}: 1 % more on price loses "
        f"{abs(elasticity):.2f} % of units)"
        if elasticity < -1
        else f"demand here is inelastic ({elasticity:.2f}): a higher price loses few units"
    )
    limits = {
        "max_change_up": "the step limit caps the rise",
        "max_change_down": "the step limit caps the cut",
        "min_margin": "the minimum margin sets the floor",
        "cost": "the price may not stay below cost, whatever the step limit",
    }
    bound = "; ".join(limits[b] for b in s.binding)
    return (
        f"{verb.capitalize()} the price {abs(move):.1f} % to {s.price:.2f}: {why} "
        f"(estimated from {source} sales history). Expected daily margin "
        f"{s.margin_now:.2f} -> {s.margin_then:.2f} at cost {cost:.2f}"
        + (f"; {bound}." if bound else ".")
    )
