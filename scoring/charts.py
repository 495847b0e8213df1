"""The scoring charts: a supplier's score or KPI over the last periods beside the tenant
average, and the bars of the compliance dashboard (score distribution, rates by month).

Every function takes its words already translated (titles, axis and legend labels,
the "no data" text): the caller knows the reader's language, these only draw. They
return standalone SVG text with its <title>/<desc> alternative (kernel.charts.to_svg);
pages show it through an <img> (an SVG route or a data: URI, never inline: the
portal's CSP has no 'unsafe-inline' and matplotlib's SVG carries style attributes) and
put the numbers beside it as a table. PDFs embed the same SVG.

A value of None is "no data" and leaves a gap in a line, or an empty slot in a bar
chart - never a zero.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from decimal import Decimal

from kernel.charts import FONT_FAMILY, LIMIT_COLOUR, PALETTE, figure, to_svg

Number = Decimal | float | int | None
Point = tuple[str, Number]

# Sizes in inches: wide enough for 12 period labels, short enough for a phone.
WIDTH = 7.0
HEIGHT = 3.0
AVERAGE_COLOUR = PALETTE[5]
EMPTY_COLOUR = "#777777"


def _limits(ax, limits) -> None:
    """Reference lines across the chart, named on the right-hand axis (where no data
    line runs into the names)."""
    drawn = [(float(value), text) for value, text in limits or () if value is not None]
    if not drawn:
        return
    low, high = ax.get_ylim()
    drawn = [(value, text) for value, text in drawn if low <= value <= high]
    for value, _ in drawn:
        ax.axhline(value, color=LIMIT_COLOUR, linestyle=":", linewidth=1.0)
    right = ax.twinx()
    right.set_ylim(low, high)
    right.set_yticks([value for value, _ in drawn], [text for _, text in drawn], fontsize=7, color=LIMIT_COLOUR)
    right.tick_params(axis="y", length=0)
    right.spines[["top", "right", "left", "bottom"]].set_visible(False)


def _float(value: Number) -> float:
    return math.nan if value is None else float(value)


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=EMPTY_COLOUR, fontsize=11)


def _tick_labels(ax, labels: Sequence[str]) -> None:
    ax.set_xticks(range(len(labels)))
    # Twelve month keys fit side by side at 7 inches; more are turned.
    ax.set_xticklabels(labels, rotation=0 if len(labels) <= 12 else 45, fontsize=8)


def trend_chart(
    points: Sequence[Point],
    average: Sequence[Point] = (),
    *,
    title: str,
    description: str,
    y_label: str,
    limits: Sequence[tuple[Number, str]] | None = None,
    series_label: str = "",
    average_label: str = "",
    no_data: str = "",
    y_range: tuple[float, float] | None = None,
    size: tuple[float, float] = (WIDTH, HEIGHT),
) -> str:
    """A line of `points` ((period label, value), oldest first) and, dashed, the tenant
    `average` over the same periods (matched by label). `limits`: horizontal reference
    lines (value, label), such as grade thresholds or a target. `no_data` is written
    across an empty chart when no point has a value. `size`: inches (width, height)."""
    labels = [label for label, _ in points]
    values = [_float(v) for _, v in points]
    by_label = dict(average)
    averages = [_float(by_label.get(label)) for label in labels]
    fig, ax = figure(width=size[0], height=size[1])
    x = list(range(len(labels)))
    has_data = any(not math.isnan(v) for v in values)
    if any(not math.isnan(v) for v in averages):
        ax.plot(
            x, averages, color=AVERAGE_COLOUR, linestyle="--", linewidth=1.4, marker="s", markersize=3.5,
            label=average_label or None,
        )
    if has_data:
        ax.plot(x, values, color=PALETTE[0], linewidth=2.0, marker="o", markersize=5, label=series_label or None)
        # A lone point between gaps has no line: the marker shows it.
    elif no_data:
        _no_data(ax, no_data)
    _tick_labels(ax, labels)
    if len(labels) == 1:
        ax.set_xlim(-0.5, 0.5)
    ax.set_ylabel(y_label, fontsize=9)
    if y_range is not None:
        ax.set_ylim(*y_range)
    elif not has_data and all(math.isnan(v) for v in averages):
        ax.set_ylim(0, 100)
    ax.tick_params(axis="y", labelsize=8)
    _limits(ax, limits)
    if (series_label and has_data) or (average_label and any(not math.isnan(v) for v in averages)):
        ax.legend(loc="lower left", fontsize=8, frameon=False, ncols=2)
    return to_svg(fig, title=title, description=description)


def bar_chart(
    bars: Sequence[Point],
    *,
    title: str,
    description: str,
    y_label: str,
    no_data: str = "",
    colours: Sequence[str] | None = None,
    integer: bool = False,
) -> str:
    """Vertical bars ((label, value), in the order given), each with its value written
    above it; a None value leaves its slot empty. `integer`: counts (whole ticks)."""
    labels = [label for label, _ in bars]
    values = [_float(v) for _, v in bars]
    fig, ax = figure(width=WIDTH, height=HEIGHT)
    x = list(range(len(labels)))
    present = [not math.isnan(v) for v in values]
    if any(present):
        colour = list(colours) if colours else [PALETTE[0]] * len(labels)
        drawn = ax.bar(
            [i for i, p in zip(x, present, strict=True) if p],
            [v for v, p in zip(values, present, strict=True) if p],
            color=[c for c, p in zip(colour, present, strict=True) if p],
            width=0.65,
        )
        ax.bar_label(drawn, labels=[_short(v, integer) for v, p in zip(values, present, strict=True) if p], fontsize=8, padding=2)
        ax.margins(y=0.15)
    else:
        ax.set_ylim(0, 1)
        if no_data:
            _no_data(ax, no_data)
    _tick_labels(ax, labels)
    ax.set_ylabel(y_label, fontsize=9)
    ax.tick_params(axis="y", labelsize=8)
    if integer:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return to_svg(fig, title=title, description=description)


def _short(value: float, integer: bool) -> str:
    if integer or value == int(value):
        return f"{round(value):d}"
    return f"{value:.1f}"


def data_uri(svg: str) -> str:
    """The SVG as a data: URI for an <img> (the CSP allows data: images) or a PDF."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


__all__ = ["FONT_FAMILY", "bar_chart", "data_uri", "trend_chart"]
