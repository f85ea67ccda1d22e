"""Bar charts drawn on the server as SVG, each with a table of the same numbers beside it.

No script and no vendored library: a chart is a few rectangles that every browser, screen
reader and printer handles. The SVG is an image with a title and a description
(``role="img"``, ``aria-labelledby``); the table (``templates/_chart.html``) carries the
numbers for whoever cannot see the bars, and for whoever wants to copy them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# The drawing's coordinate system; the SVG scales to its container's width.
# Narrow on purpose: on a phone (about 330 px of content) the text stays readable.
WIDTH = 360
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 30, 4, 18, 34


@dataclass(frozen=True)
class Series:
    """One stacked part of every bar: its legend and a value per category; ``css`` names
    its colour in app.css (``chart-<css>``)."""

    label: str
    values: Sequence[int]
    css: str


@dataclass(frozen=True)
class Chart:
    """A stacked bar chart: one bar per category, the series stacked bottom up."""

    id: str
    title: str
    description: str
    # The header of the table's first column ("Jour").
    category_label: str
    categories: Sequence[str]
    series: Sequence[Series]

    def totals(self) -> list[int]:
        """The height of each bar."""
        return [sum(s.values[i] for s in self.series) for i in range(len(self.categories))]

    def rows(self) -> list[tuple[str, list[int], int]]:
        """The table beside the chart: (category, value of each series, total)."""
        totals = self.totals()
        return [
            (c, [s.values[i] for s in self.series], totals[i])
            for i, c in enumerate(self.categories)
        ]

    def svg(self) -> Markup:
        """The chart as an accessible inline SVG."""
        return bar_chart_svg(self)


def _scale_top(peak: int) -> int:
    """A round top for the vertical axis, at least ``peak`` (and at least 1)."""
    if peak <= 5:
        return max(peak, 1)
    step = 10 ** (len(str(peak)) - 1)
    for nice in (1, 2, 5, 10):
        if nice * step >= peak:
            return nice * step
    return peak  # pragma: no cover - the loop always returns


def bar_chart_svg(chart: Chart) -> Markup:
    """Draw ``chart``: a title and a description for assistive technology, the bars with
    their total above, the category under each bar, a baseline and the axis' top value."""
    e = escape
    n = max(len(chart.categories), 1)
    top = _scale_top(max(chart.totals(), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    bar_w = min(slot * 0.6, 56)
    base = TOP + plot_h
    parts = [
        f'<svg class="chart" id="{e(chart.id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-labelledby="{e(chart.id)}-title {e(chart.id)}-desc"'
        ' preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{e(chart.id)}-title">{e(chart.title)}</title>',
        f'<desc id="{e(chart.id)}-desc">{e(chart.description)}</desc>',
        f'<line class="chart-grid" x1="{LEFT}" y1="{TOP}" x2="{WIDTH - RIGHT}" y2="{TOP}"/>',
        f'<text class="chart-axis" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{top}</text>',
        f'<text class="chart-axis" x="{LEFT - 6}" y="{base + 4}" text-anchor="end">0</text>',
    ]
    for i, (category, total) in enumerate(zip(chart.categories, chart.totals(), strict=True)):
        x = LEFT + slot * i + (slot - bar_w) / 2
        y = float(base)
        parts.append(f'<g class="chart-bar" data-category="{e(category)}">')
        for s in chart.series:
            h = plot_h * s.values[i] / top
            if h > 0:
                y -= h
                parts.append(
                    f'<rect class="chart-{e(s.css)}" x="{x:.1f}" y="{y:.1f}"'
                    f' width="{bar_w:.1f}" height="{h:.1f}"/>'
                )
        cx = x + bar_w / 2
        parts.append(
            f'<text class="chart-value" x="{cx:.1f}" y="{y - 4:.1f}"'
            f' text-anchor="middle">{total}</text>'
        )
        # Two short lines ("lun." over "23") fit under a narrow bar on a phone.
        lines = "".join(
            f'<tspan x="{cx:.1f}" dy="{0 if n == 0 else 13}">{e(word)}</tspan>'
            for n, word in enumerate(category.split(" ", 1))
        )
        parts.append(
            f'<text class="chart-label" x="{cx:.1f}" y="{base + 15}"'
            f' text-anchor="middle">{lines}</text>'
        )
        parts.append("</g>")
    parts.append(
        f'<line class="chart-base" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
