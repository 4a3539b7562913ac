"""Charts of the staff analytics page, drawn on the server as inline SVG: no script, no
third-party library, readable by a screen reader (`role="img"` named by the chart's
`<title>` and `<desc>`, a `<title>` per bar or point) and printed with a data table next to
them by the page. Pure functions: data in, markup out (tests/unit/test_web_staff.py)."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

Format = Callable[[float], str]


@dataclass(frozen=True)
class Point:
    """One bar or point: its label on the axis and its value."""

    label: str
    value: float


def to_float(value: Any) -> float:
    """A number from the API (decimal strings, ints, None) as a float (0 when unusable)."""
    if value is None or value == "":
        return 0.0
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def points(rows: Sequence[dict[str, Any]], label: str, value: str) -> list[Point]:
    """`Point`s from API rows (`points(series, "period", "revenue")`)."""
    return [Point(str(r.get(label, "")), to_float(r.get(value))) for r in rows]


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 covering `top` (1-2-2.5-5 x 10^n steps); [0, 1] for nothing."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def compact(value: float) -> str:
    """An axis label: 1200 -> '1.2k', 3_400_000 -> '3.4M', 0.5 -> '0.5'."""
    sign = "-" if value < 0 else ""
    v = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= limit:
            text = f"{v / limit:.1f}".rstrip("0").rstrip(".")
            return f"{sign}{text}{suffix}"
    if v == int(v):
        return f"{sign}{int(v)}"
    return f"{sign}{v:.2f}".rstrip("0").rstrip(".")


def _plain(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"


def _label_step(n: int, room: float, per_label: float) -> int:
    """Show every k-th label on the x axis so they do not overlap."""
    if n <= 0:
        return 1
    fits = max(1, int(room // per_label))
    return max(1, math.ceil(n / fits))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(chart_id: str, title: str, desc: str, width: int, height: int, kind: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg class="chart chart-{kind}" id="{cid}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet" '
        'xmlns="http://www.w3.org/2000/svg" focusable="false">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


def _empty(parts: list[str], width: int, height: int) -> Markup:
    parts.append(
        f'<text class="chart-empty" x="{width / 2:.0f}" y="{height / 2:.0f}" '
        'text-anchor="middle" fill="#4b5563">No data for this period</text></svg>'
    )
    return Markup("".join(parts))


def column_chart(
    data: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    desc: str,
    fmt: Format = _plain,
    line: bool = False,
    width: int = 760,
    height: int = 280,
) -> Markup:
    """Values over time: vertical bars (or a line with points, `line=True`) with a y axis
    of round ticks and gridlines and the periods on the x axis (thinned when crowded)."""
    parts = _open(chart_id, title, desc, width, height, "line" if line else "bars")
    if not data:
        return _empty(parts, width, height)
    left, right, top, bottom = 64, 12, 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max(max(p.value for p in data), 0.0)
    ticks = nice_ticks(top_value)
    scale = ticks[-1] or 1.0

    def y_of(v: float) -> float:
        return top + plot_h - max(v, 0.0) / scale * plot_h

    parts.append('<g class="axis y-axis" aria-hidden="true">')
    for t in ticks:
        y = y_of(t)
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d1d5db" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563" '
            f'font-size="12">{escape(compact(t))}</text>'
        )
    parts.append("</g>")
    n = len(data)
    slot = plot_w / n
    widest = max(len(_short(p.label, 12)) for p in data)
    step = _label_step(n, plot_w, widest * 7.5 + 16)
    parts.append('<g class="axis x-axis" aria-hidden="true">')
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#6b7280" stroke-width="1"/>'
    )
    for i, p in enumerate(data):
        if i % step == 0:
            x = left + slot * i + slot / 2
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle" fill="#4b5563" '
                f'font-size="12">{escape(_short(p.label, 12))}</text>'
            )
    parts.append("</g>")
    parts.append('<g class="series">')
    if line:
        coords = [(left + slot * i + slot / 2, y_of(p.value)) for i, p in enumerate(data)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline class="line" points="{path}" fill="none" stroke="#1d4ed8" '
            'stroke-width="2.5"/>'
        )
        for (x, y), p in zip(coords, data, strict=True):
            parts.append(
                f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#1d4ed8">'
                f"<title>{escape(p.label)}: {escape(fmt(p.value))}</title></circle>"
            )
    else:
        bar_w = max(1.0, slot * 0.7)
        for i, p in enumerate(data):
            x = left + slot * i + (slot - bar_w) / 2
            y = y_of(p.value)
            h = top + plot_h - y
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="#1d4ed8">'
                f"<title>{escape(p.label)}: {escape(fmt(p.value))}</title></rect>"
            )
    parts.append("</g></svg>")
    return Markup("".join(parts))


def bar_list_chart(
    data: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    desc: str,
    fmt: Format = _plain,
    width: int = 760,
    row: int = 28,
) -> Markup:
    """Ranked values: a horizontal bar per item, its label on the left and its value at the
    bar's end (top products, categories, the conversion funnel)."""
    height = max(row * len(data) + 34, 80)
    parts = _open(chart_id, title, desc, width, height, "hbars")
    if not data:
        return _empty(parts, width, height)
    left, right, top = 200, 110, 8
    plot_w = width - left - right
    top_value = max(max(p.value for p in data), 0.0)
    ticks = nice_ticks(top_value, 4)
    scale = ticks[-1] or 1.0
    bottom = top + row * len(data)
    parts.append('<g class="axis" aria-hidden="true">')
    for t in ticks:
        x = left + t / scale * plot_w
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" '
            'stroke="#d1d5db" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#4b5563" '
            f'font-size="12">{escape(compact(t))}</text>'
        )
    parts.append("</g>")
    parts.append('<g class="series">')
    for i, p in enumerate(data):
        y = top + row * i
        w = max(p.value, 0.0) / scale * plot_w
        parts.append(
            f'<text x="{left - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" fill="#1f2937" '
            f'font-size="13" aria-hidden="true">{escape(_short(p.label, 28))}</text>'
            f'<rect class="bar" x="{left}" y="{y + 4:.1f}" width="{w:.1f}" '
            f'height="{row - 8}" fill="#1d4ed8">'
            f"<title>{escape(p.label)}: {escape(fmt(p.value))}</title></rect>"
            f'<text x="{left + w + 6:.1f}" y="{y + row / 2 + 4:.1f}" fill="#1f2937" '
            f'font-size="12" aria-hidden="true">{escape(fmt(p.value))}</text>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))


def describe_series(data: Sequence[Point], what: str, fmt: Format = _plain) -> str:
    """A one-sentence summary for the chart's `<desc>`: range, total, highest and lowest."""
    if not data:
        return f"No {what} in this period."
    high = max(data, key=lambda p: p.value)
    low = min(data, key=lambda p: p.value)
    total = sum(p.value for p in data)
    return (
        f"{what.capitalize()} for {len(data)} periods from {data[0].label} to {data[-1].label}: "
        f"total {fmt(total)}, highest {fmt(high.value)} on {high.label}, "
        f"lowest {fmt(low.value)} on {low.label}."
    )


def describe_ranking(data: Sequence[Point], what: str, fmt: Format = _plain) -> str:
    if not data:
        return f"No {what} in this period."
    first = data[0]
    return f"{len(data)} {what}, led by {first.label} with {fmt(first.value)}."
