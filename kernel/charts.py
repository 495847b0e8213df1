"""Charts as SVG text, drawn by matplotlib on the server.

Shared by the cold-chain histories, the scorecard trends and the compliance dashboard,
in pages (as <img> or inline) and in weasyprint PDFs. Text stays text (svg.fonttype
"none"): the browser or weasyprint sets it in the page's fonts, so Chinese labels need no
font on the server, and screen readers and search can read it. Each chart carries a
<title> and <desc> (role="img") as its text alternative; the pages also show the numbers
as a table.

No pyplot: a Figure per call, so nothing global is shared between threads.
"""

from __future__ import annotations

import io
import re
from html import escape

# Fonts in the order a reader's machine (or weasyprint) should try them; the CJK one
# carries the Chinese labels.
FONT_FAMILY = ["DejaVu Sans", "Noto Sans CJK SC", "sans-serif"]
# Colours readable on white and told apart without colour (lines also differ by style).
PALETTE = ["#1f5f99", "#c0392b", "#2e7d32", "#8e44ad", "#b7950b", "#555555"]
LIMIT_COLOUR = "#c0392b"
BAND_COLOUR = "#f5b7b1"

_SVG_OPEN = re.compile(r"<svg\b[^>]*>")
_SIZE = re.compile(r'width="[\d.]+pt" height="[\d.]+pt"')


def _configure() -> None:
    """Our fonts and SVG output for every chart of the process. Set in rcParams (the same
    values every time) rather than around the save: matplotlib fixes a text's font when
    the text is made, and Chinese labels measured with a Latin font come out too narrow."""
    import matplotlib

    matplotlib.rcParams.update({"font.family": FONT_FAMILY, "svg.fonttype": "none", "svg.hashsalt": "traceport"})


def figure(*, width: float = 7.0, height: float = 3.0):
    """A new matplotlib Figure (inches) with one Axes, plain styled."""
    from matplotlib.figure import Figure

    _configure()
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def to_svg(fig, *, title: str, description: str) -> str:
    """The figure as a standalone SVG document with its text alternative."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    opening = _SVG_OPEN.search(svg)
    assert opening is not None
    tag = opening.group(0)
    accessible = tag[:-1] + ' role="img" aria-labelledby="chart-title chart-desc">'
    alternative = f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>'
    return svg[: opening.start()] + accessible + alternative + svg[opening.end() :]


def fit_width(svg: str) -> str:
    """The chart as wide as its box, for a printed page (weasyprint keeps the viewBox's
    ratio)."""
    return _SIZE.sub('width="100%"', svg, count=1)
