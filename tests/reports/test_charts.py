"""The server-side bar chart: an accessible SVG, and a table holding the same numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from flask import render_template_string

from outreach.web.charts import Chart, Series, _scale_top

SVG = "{http://www.w3.org/2000/svg}"


def _chart() -> Chart:
    return Chart(
        id="c1",
        title="Joints <et> non joints",
        description="Par jour",
        category_label="Jour",
        categories=["lun. 8", "mar. 9", "mer. 10"],
        series=[
            Series("Joints", [3, 0, 12], "reached"),
            Series("Non joints", [1, 0, 5], "unreached"),
        ],
    )


def test_svg_is_an_accessible_image():
    root = ET.fromstring(str(_chart().svg()))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == "c1-title"
    assert title.text == "Joints <et> non joints"  # escaped in the markup, whole in the text
    assert desc is not None and desc.get("id") == "c1-desc" and desc.text == "Par jour"


def test_bars_are_proportional_and_labelled():
    root = ET.fromstring(str(_chart().svg()))
    bars = root.findall(f"{SVG}g")
    assert [b.get("data-category") for b in bars] == ["lun. 8", "mar. 9", "mer. 10"]
    totals = [b.find(f"{SVG}text[@class='chart-value']").text for b in bars]
    assert totals == ["4", "0", "17"]
    # The axis tops at 20 (a round number above 17): heights scale on it.
    heights = {
        (b.get("data-category"), r.get("class")): float(r.get("height"))
        for b in bars
        for r in b.findall(f"{SVG}rect")
    }
    assert ("mar. 9", "chart-reached") not in heights  # a zero draws nothing
    one = heights[("lun. 8", "chart-unreached")]  # drawn to 0.1: compare within rounding
    assert heights[("mer. 10", "chart-reached")] == pytest.approx(12 * one, abs=0.6)
    assert heights[("lun. 8", "chart-reached")] == pytest.approx(3 * one, abs=0.2)
    plot = heights[("mer. 10", "chart-reached")] / 12 * 20
    assert round(plot) == 220 - 18 - 34


def test_table_beside_the_chart_holds_the_same_numbers(app):
    chart = _chart()
    with app.test_request_context():
        html = render_template_string(
            '{% from "_chart.html" import chart %}{{ chart(c) }}', c=chart
        )
    assert html.count('role="img"') == 1
    assert "<caption>Joints &lt;et&gt; non joints</caption>" in html
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', html)
    table = {day: re.findall(r">(\d+)</td>", cells) for day, cells in rows}
    assert table == {
        "lun. 8": ["3", "1", "4"],
        "mar. 9": ["0", "0", "0"],
        "mer. 10": ["12", "5", "17"],
    }
    svg_totals = re.findall(r'class="chart-value"[^>]*>(\d+)<', html)
    assert svg_totals == [cells[-1] for cells in table.values()]


def test_axis_top_is_round():
    assert [_scale_top(n) for n in (0, 3, 7, 17, 230, 1001)] == [1, 3, 10, 20, 500, 2000]
