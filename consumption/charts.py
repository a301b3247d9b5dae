"""A per-day bar chart as SVG geometry, computed here so the template only draws rectangles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from consumption.selectors import DayPoint

WIDTH = 760
HEIGHT = 240
LEFT = 64  # room for the y-axis labels
RIGHT = 8
TOP = 12
BOTTOM = 28  # room for the date labels
GRIDLINES = 4
X_LABELS_MAX = 7


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    metric: str
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int
    plot_right: int
    baseline: float
    empty: bool

    @property
    def bars_svg(self) -> SafeString:
        # A year has 365 bars: drawing them here is ten times faster than a template loop that
        # localizes every coordinate.
        return format_html_join(
            "",
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
            (
                (f"{b.x:.2f}", f"{b.y:.2f}", f"{b.width:.2f}", f"{b.height:.2f}", b.title)
                for b in self.bars
            ),
        )


def daily_bar_chart(points: list[DayPoint]) -> BarChart:
    """Cost per day in USD; tokens instead when the period cost nothing (demo or unknown prices)."""
    by_cost = any(point.cost_usd for point in points)
    values = [float(point.cost_usd) if by_cost else float(point.total_tokens) for point in points]
    top = _nice_step(max(values, default=0) / GRIDLINES) * GRIDLINES
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = plot_width / max(len(points), 1)
    gap = min(2.0, slot * 0.2)

    bars = []
    for index, (point, value) in enumerate(zip(points, values, strict=True)):
        height = plot_height * value / top if top else 0
        bars.append(
            Bar(
                x=round(LEFT + index * slot + gap / 2, 2),
                y=round(baseline - height, 2),
                width=round(max(slot - gap, 0.5), 2),
                height=round(height, 2),
                title=(
                    f"{point.day:%a %b} {point.day.day}: ${_money(point.cost_usd)} USD, "
                    f"{point.total_tokens:,} tokens, {point.calls:,} calls (estimate)"
                ),
            )
        )
    y_ticks = [
        Tick(
            x=LEFT - 6,
            y=round(baseline - plot_height * step / GRIDLINES, 2),
            label=_axis_label(top * step / GRIDLINES, by_cost),
        )
        for step in range(GRIDLINES + 1)
    ]
    every = max(1, math.ceil(len(points) / X_LABELS_MAX))
    x_ticks = [
        Tick(
            x=round(LEFT + (index + 0.5) * slot, 2),
            y=HEIGHT - 8,
            label=f"{point.day:%b} {point.day.day}",
        )
        for index, point in enumerate(points)
        if index % every == 0
    ]
    return BarChart(
        width=WIDTH,
        height=HEIGHT,
        metric="Estimated cost per day (USD)" if by_cost else "Tokens per day",
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        baseline=baseline,
        empty=not any(values),
    )


def _nice_step(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value`, so gridlines fall on round numbers."""
    if value <= 0:
        return 0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _axis_label(value: float, money: bool) -> str:
    if money:
        if value >= 10 or value == 0:
            return f"${value:,.0f}" if value == int(value) else f"${value:,.2f}"
        label = f"{value:.3f}"
        return "$" + (label[:-1] if label.endswith("0") else label)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _money(value: Decimal) -> str:
    return f"{value:,.4f}"
