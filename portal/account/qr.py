"""QR codes as SVG images (zxing-cpp), for an authenticator app to scan."""

from __future__ import annotations

import re

import zxingcpp

_SIZE = re.compile(r'<svg width="(\d+)" height="(\d+)"')


def qr_svg(text: str) -> str:
    """The QR code of `text` as an SVG document that scales to whatever size the page
    gives it (a view box) with sharp module edges."""
    svg = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode).to_svg(add_quiet_zones=True)
    svg = _SIZE.sub(lambda m: f'<svg width="{m[1]}" height="{m[2]}" viewBox="0 0 {m[1]} {m[2]}"', svg, count=1)
    return svg.replace("<path ", '<path shape-rendering="crispEdges" ', 1)
