"""scoring.charts: SVG with its text alternative, words as given (Chinese too), gaps
for "no data", never zeros."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree

from scoring import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str):
    return ElementTree.fromstring(svg)  # noqa: S314 - our own SVG


def texts(svg: str) -> str:
    return " ".join(t.text or "" for t in parse(svg).iter(f"{SVG}text"))


def test_a_trend_chart_carries_its_title_and_description_first():
    svg = charts.trend_chart(
        [("2026-10", Decimal("80")), ("2026-11", Decimal("85.5"))],
        [("2026-10", Decimal("78")), ("2026-11", Decimal("79"))],
        title="Score over the last 12 periods",
        description="Solid: the supplier; dashed: the average.",
        y_label="Score",
        series_label="Acme",
        average_label="Tenant average",
        limits=[(Decimal(90), "Grade A"), (Decimal(120), "Off the scale")],
        y_range=(0, 100),
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    assert root[0].tag == f"{SVG}title" and root[0].text == "Score over the last 12 periods"
    assert root[1].tag == f"{SVG}desc" and root[1].text == "Solid: the supplier; dashed: the average."
    words = texts(svg)
    for expected in ("2026-10", "2026-11", "Score", "Acme", "Tenant average", "Grade A"):
        assert expected in words
    assert "Off the scale" not in words  # a limit outside the axis is left out


def test_chinese_words_stay_text():
    svg = charts.trend_chart(
        [("2026-11", Decimal("85"))], [], title="得分趋势", description="供应商的得分", y_label="得分",
        series_label="深圳无菌", no_data="无数据",
    )
    assert "得分趋势" in svg
    # Text elements, not glyph outlines: the reader's fonts set them, screen readers read them.
    assert "深圳无菌" in texts(svg) and "得分" in texts(svg)


def test_no_data_is_a_gap_and_says_so():
    empty = charts.trend_chart([("2026-10", None), ("2026-11", None)], [], title="t", description="d", y_label="%",
                               no_data="No data")
    assert "No data" in texts(empty)
    bars = charts.bar_chart([("A", None), ("B", None)], title="t", description="d", y_label="n", no_data="No data")
    assert "No data" in texts(bars)


def test_bars_write_their_values_and_leave_none_out():
    svg = charts.bar_chart([("A", 3), ("B", None), ("C", 0)], title="t", description="d", y_label="Suppliers", integer=True)
    words = texts(svg).split()
    assert "3" in words and "0" in words  # a real zero is a zero
    assert charts.data_uri(svg).startswith("data:image/svg+xml;base64,")


def test_the_same_input_gives_the_same_svg():
    points = [("2026-10", Decimal("80")), ("2026-11", Decimal("81"))]
    first = charts.trend_chart(points, [], title="t", description="d", y_label="y")
    assert charts.trend_chart(points, [], title="t", description="d", y_label="y") == first
