"""GS1 labels a supplier prints for a ship notice: the GS1 logistic label of each pallet
or case (SSCC) and the UDI label of each unit, as one PDF, and each symbol as PNG.

Pure functions over plain dataclasses (no database), so the ship notice pages, the API,
the demo and tests can all print labels from whatever rows they hold.

Symbols are real GS1 symbols drawn by zxing-cpp (zint inside) in GS1 mode: GS1-128
(Code 128 with FNC1 in first position, symbology identifier ]C1) on logistic labels,
GS1 DataMatrix (]d2) on unit labels. What a symbol holds is its GS1 element string:
AIs and values concatenated, predefined-length AIs first, the others separated by FNC1,
which a scanner transmits as GS (ASCII 29) - the same string `element_string` returns,
so a scan can be compared with it as it is.

Logistic label (GS1 Logistic Label Guideline: three blocks, top to bottom):
  top     free format: ship from, ship to, PO and ship notice numbers
  middle  text with data titles: SSCC, content GTIN, count, batch/lot, dates
  bottom  GS1-128 symbols, the SSCC symbol lowest, each with its human readable
          interpretation (AIs in parentheses) under it
A homogeneous unit (one content line) also carries (02) content GTIN, (17) expiry and
(37) count in one symbol and (11) production date and (10) batch/lot in another: at the
logistic X-dimension (0.495 mm) they do not fit one symbol's width. A symbol still too
wide (a 20-character batch) is drawn with narrower modules to fit the label. A mixed
unit carries only the SSCC; its contents are listed as text.
Labels with a content symbol are A5 (148 x 210 mm), SSCC-only labels A6 (105 x 148 mm),
the two sizes the guideline names.

Unit label (100 x 50 mm): GS1 DataMatrix with (01) GTIN, (11) production date,
(17) expiry date, (10) lot, (21) serial; the item name (Chinese names print with the
Noto Sans CJK font, `make pdf`); the UDI in human readable form under the symbol.

Captions are N_() messages translated with the portal's catalogs through the kernel's
non-Flask translated Jinja environment (kernel.mail), in the language asked for.
Nothing is fetched while laying out: symbols are inline SVG, fonts the system's.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

import weasyprint
import zxingcpp
from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_messages import GS1Message
from biip.sscc import Sscc
from markupsafe import Markup
from PIL import Image
from weasyprint.urls import URLFetcher

from erp.items.udi import CSET82, GS1, normalise_udi_di
from kernel.errors import N_, REQUIRED, ValidationFailed
from kernel.mail import default_templates, normalise_locale
from kernel.settings import PROJECT_ROOT

GS = "\x1d"
"""What a scanner sends for FNC1 used as a separator (GS1 General Specifications)."""

GS1_128 = "gs1-128"
GS1_DATAMATRIX = "gs1-datamatrix"
KINDS = {GS1_128: zxingcpp.BarcodeFormat.Code128, GS1_DATAMATRIX: zxingcpp.BarcodeFormat.DataMatrix}

PALLET = "pallet"
CASE = "case"
LEVELS = (PALLET, CASE)

# Print sizes. GS1 logistic labels: X-dimension 0.495 mm (the minimum for GS1-128 on
# logistic units), bar height 31.75 mm. Unit labels: DataMatrix X-dimension 0.6 mm, in
# the healthcare range of the GS1 symbol specification tables (0.254-0.990 mm).
LOGISTIC_X_MM = 0.495
LOGISTIC_BAR_HEIGHT_MM = 31.75
UNIT_X_MM = 0.6
# Printable widths inside the page margins of the template (labels.html, @page rules).
A5_WIDTH_MM = 148 - 2 * 5
A6_WIDTH_MM = 105 - 2 * 4
UNIT_WIDTH_MM = 100 - 2 * 3  # 100 x 50 mm
PNG_SCALE = 4  # pixels per module: decodes from a file and prints sharp at 300 dpi

TEMPLATE = "erp/shipping/templates/labels.html"
LABEL_PDF_BASE = PROJECT_ROOT / "erp" / "shipping" / "templates"


class InvalidLabel(ValidationFailed):
    """Label data that would print a wrong or unreadable symbol. Raised before anything
    is drawn; `errors` names the field."""

    code = "invalid-label"
    message = N_("These labels cannot be printed: some data is not valid.")


SSCC_FORMAT = N_("An SSCC has 18 digits.")
SSCC_CHECK = N_("The SSCC check digit is wrong: expected %(expected)s.")
SSCC_CHECK_FIELD = N_("The SSCC check digit is wrong.")
LEVEL_UNKNOWN = N_("A logistic label is for a pallet or a case.")
NO_CONTENTS = N_("A logistic label lists at least one content line.")
LOT_FORMAT = N_("Use at most 20 letters, digits and the symbols ! \" % & ' ( ) * + , - . / : ; < = > ? _ only.")
COUNT_RANGE = N_("The count is a whole number from 1 to 99999999.")
UNKNOWN_AI = N_("Unknown GS1 application identifier %(ai)s.")
UNKNOWN_AI_FIELD = N_("Unknown GS1 application identifier.")
AI_VALUE = N_("The value of GS1 application identifier %(ai)s is not valid.")
AI_VALUE_FIELD = N_("This value does not fit its GS1 application identifier.")
UNKNOWN_KIND = N_("Unknown symbol kind.")

# Captions (GS1 data titles in the middle block, and the label's other texts).
CAPTIONS = {
    "ship_from": N_("Ship from"),
    "ship_to": N_("Ship to"),
    "purchase_orders": N_("Purchase orders"),
    "ship_notice": N_("Ship notice"),
    "pallet": N_("Pallet"),
    "case": N_("Case"),
    "sscc": N_("SSCC"),
    "content": N_("Content (GTIN)"),
    "count": N_("Count"),
    "batch": N_("Batch/lot"),
    "expiry": N_("Use by"),
    "production": N_("Production date"),
    "item": N_("Item"),
    "serial": N_("Serial number"),
    "gtin": N_("GTIN"),
    "unit_label": N_("UDI label"),
}


# --- input ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentLine:
    """Trade items of one GTIN and lot on a logistic unit. An item without a GTIN (a
    raw material, a part with no GS1 identifier) has gtin None: it is listed on the
    label as text, and the label carries the SSCC only."""

    gtin: str | None
    item_name: str
    lot: str | None
    expiry: date | None
    production_date: date | None
    quantity: int


@dataclass(frozen=True)
class LogisticLabel:
    """A pallet or case: its SSCC, where it goes, and what it holds."""

    sscc: str
    ship_from: str
    ship_to: str
    po_numbers: Sequence[str]
    asn_number: str
    contents: Sequence[ContentLine]
    level: str = PALLET


@dataclass(frozen=True)
class UnitLabel:
    """One device (or its package) with its UDI: DI (GTIN) and production identifiers."""

    gtin: str
    item_name: str
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    production_date: date | None = None


# --- element strings -------------------------------------------------------------------


def _application_identifier(ai: str) -> GS1ApplicationIdentifier:
    try:
        found = GS1ApplicationIdentifier.extract(ai)
    except ParseError:
        found = None
    if found is None or found.ai != ai:
        raise InvalidLabel(UNKNOWN_AI, errors={"ai": UNKNOWN_AI_FIELD}, ai=ai)
    return found


def element_string(ais: Iterable[tuple[str, str]]) -> str:
    """The GS1 element string of (AI, value) pairs, as a symbol encodes it and a scanner
    sends it: AIs of predefined length first (they need no separator), then the others,
    each but the last followed by GS (FNC1). Pairs keep their given order within each
    group. Each value is checked against its AI's format (biip's GS1 AI table);
    `InvalidLabel` for an unknown AI or a value that does not fit it."""
    fixed, variable = [], []
    for ai, value in ais:
        definition = _application_identifier(ai)
        if not re.fullmatch(definition.pattern, ai + value):
            raise InvalidLabel(AI_VALUE, errors={"ai": AI_VALUE_FIELD}, ai=ai)
        (variable if definition.separator_required else fixed).append(ai + value)
    return "".join(fixed) + GS.join(variable)


def _pairs(element: str) -> list[tuple[str, str]]:
    try:
        message = GS1Message.parse(element)
    except ParseError as exc:
        raise InvalidLabel(errors={"element": AI_VALUE_FIELD}) from exc
    return [(e.ai.ai, e.value) for e in message.element_strings]


def hri(element: str) -> str:
    """The human readable interpretation printed under a symbol: each AI in parentheses
    before its value. The SSCC is grouped as extension digit, GS1 company prefix, serial
    reference and check digit (biip finds the prefix length from GS1's prefix table)."""
    return " ".join(_hri_parts(element))


def _hri_parts(element: str) -> list[str]:
    return [f"({ai}) {Sscc.parse(value).as_hri() if ai == '00' else value}" for ai, value in _pairs(element)]


# --- symbols ---------------------------------------------------------------------------


def _barcode(element: str, kind: str) -> zxingcpp.Barcode:
    if kind not in KINDS:
        raise InvalidLabel(UNKNOWN_KIND, errors={"kind": UNKNOWN_KIND})
    # zint's GS1 mode takes "[AI]value..." and inserts FNC1 where one is needed. A
    # DataMatrix is kept square (ECC 200 square sizes), as healthcare labels print it.
    bracketed = "".join(f"[{ai}]{value}" for ai, value in _pairs(element))
    if kind == GS1_DATAMATRIX:
        return zxingcpp.create_barcode(bracketed, KINDS[kind], gs1=True, forceSquare=True)
    return zxingcpp.create_barcode(bracketed, KINDS[kind], gs1=True)


def symbol_png(element: str, kind: str) -> bytes:
    """The symbol of `element` as a PNG, with its quiet zones, `PNG_SCALE` pixels a module."""
    image = _barcode(element, kind).to_image(scale=PNG_SCALE)
    height, width = image.shape
    out = io.BytesIO()
    Image.frombuffer("L", (width, height), bytes(memoryview(image)), "raw", "L", 0, 1).save(out, format="PNG")
    return out.getvalue()


_SVG_SIZE = re.compile(r'<svg width="(?P<w>\d+)" height="(?P<h>\d+)"')


def symbol_svg(
    element: str,
    kind: str,
    *,
    module_mm: float | None = None,
    height_mm: float | None = None,
    max_width_mm: float | None = None,
) -> str:
    """The symbol of `element` as an SVG element (no XML prolog, so it can sit inline in
    HTML), with its quiet zones. With `module_mm` it is sized in millimetres, one module
    that wide, or narrower where the symbol would be wider than `max_width_mm`;
    `height_mm` sets a linear symbol's bar height."""
    svg = _barcode(element, kind).to_svg()
    svg = svg[svg.index("<svg") :]
    match = _SVG_SIZE.search(svg)
    if match is None or module_mm is None:
        return svg
    modules, rows = int(match["w"]), int(match["h"])
    if max_width_mm is not None:
        module_mm = min(module_mm, max_width_mm / modules)
    width = modules * module_mm
    height = height_mm if height_mm is not None else rows * module_mm
    sized = f'<svg viewBox="0 0 {modules} {rows}" width="{width:.3f}mm" height="{height:.3f}mm" preserveAspectRatio="none"'
    return svg[: match.start()] + sized + svg[match.end() :]


@dataclass(frozen=True)
class Symbol:
    kind: str
    element: str


def symbols_of(label: LogisticLabel | UnitLabel) -> list[tuple[str, bytes]]:
    """Each symbol of the label as (element string, PNG), top to bottom as printed."""
    return [(s.element, symbol_png(s.element, s.kind)) for s in _symbols(label)]


def _symbols(label: LogisticLabel | UnitLabel) -> list[Symbol]:
    if isinstance(label, UnitLabel):
        return [_symbol(GS1_DATAMATRIX, _unit_ais(_checked_unit(label)))]
    label = _checked_logistic(label)
    symbols = []
    if len(label.contents) == 1 and label.contents[0].gtin:  # homogeneous: content and count (AI 02 + 37)
        # Two symbols, each within the label's width: content, expiry and count, then
        # production date and batch/lot.
        line = label.contents[0]
        content = [("02", line.gtin), *_dates(None, line.expiry), ("37", str(line.quantity))]
        symbols.append(_symbol(GS1_128, content))
        batch = _dates(line.production_date, None) + ([("10", line.lot)] if line.lot else [])
        if batch:
            symbols.append(_symbol(GS1_128, batch))
    symbols.append(_symbol(GS1_128, [("00", label.sscc)]))  # always the lowest
    return symbols


def _symbol(kind: str, ais: list[tuple[str, str]]) -> Symbol:
    return Symbol(kind=kind, element=element_string(ais))


def _yymmdd(value: date) -> str:
    return value.strftime("%y%m%d")


def _dates(production: date | None, expiry: date | None) -> list[tuple[str, str]]:
    ais = []
    if production:
        ais.append(("11", _yymmdd(production)))
    if expiry:
        ais.append(("17", _yymmdd(expiry)))
    return ais


def _unit_ais(label: UnitLabel) -> list[tuple[str, str]]:
    ais = [("01", label.gtin), *_dates(label.production_date, label.expiry)]
    if label.lot:
        ais.append(("10", label.lot))
    if label.serial:
        ais.append(("21", label.serial))
    return ais


# --- checks --------------------------------------------------------------------------


def _sscc(value: str, field_name: str) -> str:
    text = "".join((value or "").split())
    if not re.fullmatch(r"[0-9]{18}", text):
        raise InvalidLabel(SSCC_FORMAT, errors={field_name: SSCC_FORMAT})
    try:
        Sscc.parse(text)
    except ParseError as exc:
        expected = str(gs1_standard_check_digit(text[:-1]))
        raise InvalidLabel(SSCC_CHECK, errors={field_name: SSCC_CHECK_FIELD}, expected=expected) from exc
    return text


def _attribute(value: str | None, field_name: str) -> str | None:
    """A lot or serial number: 1 to 20 characters of GS1 character set 82, or None."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 20 or any(c not in CSET82 for c in text):
        raise InvalidLabel(LOT_FORMAT, errors={field_name: LOT_FORMAT})
    return text


def _content_line(line: ContentLine, prefix: str) -> ContentLine:
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or not 1 <= line.quantity <= 99_999_999:
        raise InvalidLabel(COUNT_RANGE, errors={f"{prefix}.quantity": COUNT_RANGE})
    return ContentLine(
        gtin=normalise_udi_di(GS1, line.gtin, field=f"{prefix}.gtin") if line.gtin else None,
        item_name=line.item_name,
        lot=_attribute(line.lot, f"{prefix}.lot"),
        expiry=line.expiry,
        production_date=line.production_date,
        quantity=line.quantity,
    )


def _checked_logistic(label: LogisticLabel) -> LogisticLabel:
    if label.level not in LEVELS:
        raise InvalidLabel(LEVEL_UNKNOWN, errors={"level": LEVEL_UNKNOWN})
    if not label.contents:
        raise InvalidLabel(NO_CONTENTS, errors={"contents": NO_CONTENTS})
    for name in ("ship_from", "ship_to", "asn_number"):
        if not (getattr(label, name) or "").strip():
            raise InvalidLabel(REQUIRED, errors={name: REQUIRED})
    return LogisticLabel(
        sscc=_sscc(label.sscc, "sscc"),
        ship_from=label.ship_from,
        ship_to=label.ship_to,
        po_numbers=list(label.po_numbers),
        asn_number=label.asn_number,
        contents=[_content_line(line, f"contents.{i}") for i, line in enumerate(label.contents)],
        level=label.level,
    )


def _checked_unit(label: UnitLabel) -> UnitLabel:
    return UnitLabel(
        gtin=normalise_udi_di(GS1, label.gtin, field="gtin"),
        item_name=label.item_name,
        lot=_attribute(label.lot, "lot"),
        serial=_attribute(label.serial, "serial"),
        expiry=label.expiry,
        production_date=label.production_date,
    )


# --- PDF -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Drawn:
    """A symbol ready for the page: inline SVG and its caption."""

    svg: Markup
    hri_parts: list[str]  # "(AI) value" each, kept on one line


def _drawn(symbol: Symbol, width_mm: float) -> _Drawn:
    """The symbol at its target X-dimension, narrower where that would not fit the
    label's `width_mm` (a long batch/lot number)."""
    if symbol.kind == GS1_DATAMATRIX:
        svg = symbol_svg(symbol.element, symbol.kind, module_mm=UNIT_X_MM, max_width_mm=width_mm)
    else:
        svg = symbol_svg(
            symbol.element, symbol.kind, module_mm=LOGISTIC_X_MM, height_mm=LOGISTIC_BAR_HEIGHT_MM, max_width_mm=width_mm
        )
    return _Drawn(svg=Markup(svg), hri_parts=_hri_parts(symbol.element))  # noqa: S704 - zint's SVG: no user text in it


def _logistic_page(label: LogisticLabel) -> tuple[LogisticLabel, list[_Drawn]]:
    symbols = _symbols(label)
    width = A5_WIDTH_MM if len(symbols) > 1 else A6_WIDTH_MM
    return label, [_drawn(s, width) for s in symbols]


def labels_pdf(logistic: Sequence[LogisticLabel], units: Sequence[UnitLabel], *, language: str = "en") -> bytes:
    """One PDF with a page per label: the logistic labels, then the unit labels, with
    captions in `language` ("en" or "zh"). Every label is checked before anything is
    drawn; `InvalidLabel` (or `InvalidUdiDi` for a GTIN) names the first bad field."""
    checked_logistic = [_checked_logistic(label) for label in logistic]
    checked_units = [_checked_unit(label) for label in units]
    pages_logistic = [_logistic_page(label) for label in checked_logistic]
    pages_units = [(label, _drawn(_symbols(label)[0], UNIT_WIDTH_MM)) for label in checked_units]
    locale = normalise_locale(language)
    html = (
        default_templates()
        .environment(locale)
        .get_template(TEMPLATE)
        .render(
            logistic=pages_logistic,
            units=pages_units,
            captions=CAPTIONS,
            lang="zh-Hans-CN" if locale.startswith("zh") else "en",
        )
    )
    # Nothing is fetched: the stylesheet and symbols are inline, the fonts the system's,
    # so no text on a label can make the server request a URL.
    document = weasyprint.HTML(string=html, base_url=str(LABEL_PDF_BASE), url_fetcher=URLFetcher(allowed_protocols=()))
    return document.write_pdf()


# --- from a ship notice ------------------------------------------------------------------


def elements_of(label: LogisticLabel | UnitLabel) -> list[tuple[str, str]]:
    """Each symbol of the label as (kind, element string), top to bottom: what
    `symbols_of` draws, without drawing it (a page lists them, a PNG is drawn on demand)."""
    return [(s.kind, s.element) for s in _symbols(label)]


@dataclass(frozen=True)
class AsnLabels:
    logistic: list[LogisticLabel]
    units: list[UnitLabel]
    # Packages with nothing countable in them (empty, or only fractional quantities).
    unlabelled: list[str]


def _gtin_of(line) -> str | None:
    udi = (line.udi_di or "").strip()
    return udi if re.fullmatch(r"[0-9]{8,14}", udi) else None


def _count(quantity) -> int | None:
    return int(quantity) if quantity == int(quantity) and 1 <= quantity <= 99_999_999 else None


def labels_of(detail, *, ship_from: str, ship_to: str, name_of) -> AsnLabels:
    """The labels of a ship notice (an erp.shipping.service.AsnDetail): a logistic label
    per package, its contents the lines in it (a pallet's also those of its cases), and a
    unit label per serial - one per line where the item is not serialised. Lines whose
    item has no GTIN (or an HIBC UDI-DI) carry no GS1 content. `name_of(item)` names an
    item in the label's language."""
    asn = detail.asn
    children: dict = {}
    for package in detail.packages:
        if package.parent_id is not None:
            children.setdefault(package.parent_id, []).append(package.id)
    by_package: dict = {}
    for line in detail.lines:
        by_package.setdefault(line.package_id, []).append(line)
    logistic, unlabelled = [], []
    for package in detail.packages:
        lines = [*by_package.get(package.id, [])]
        for child in children.get(package.id, []):
            lines.extend(by_package.get(child, []))
        contents = _contents(lines, detail.items, name_of)
        if not contents:
            unlabelled.append(package.sscc)
            continue
        orders = detail.orders
        numbers = sorted({orders[line.purchase_order_id].number for line in lines if line.purchase_order_id in orders})
        logistic.append(
            LogisticLabel(
                sscc=package.sscc, ship_from=ship_from, ship_to=ship_to, po_numbers=numbers,
                asn_number=asn.number, contents=contents, level=package.level,
            )
        )
    units = []
    for line in detail.lines:
        gtin = _gtin_of(line)
        if gtin is None:
            continue
        name = name_of(detail.items[line.item_id])
        base = UnitLabel(gtin=gtin, item_name=name, lot=line.lot, expiry=line.expiry_date, production_date=line.production_date)
        serials = detail.serials.get(line.id, [])
        if serials:
            units.extend(replace(base, serial=serial) for serial in serials)
        else:
            units.append(base)
    return AsnLabels(logistic, units, unlabelled)


def _contents(lines, items: dict, name_of) -> list[ContentLine]:
    """Lines of one GTIN, lot and dates as one content line, their quantities added."""
    merged: dict[tuple, int] = {}
    for line in lines:
        gtin, count = _gtin_of(line), _count(line.quantity)
        if count is None:
            continue
        key = (gtin, line.item_id, line.lot, line.expiry_date, line.production_date)
        merged[key] = merged.get(key, 0) + count
    return [
        ContentLine(gtin=gtin, item_name=name_of(items[item_id]), lot=lot, expiry=expiry, production_date=made, quantity=count)
        for (gtin, item_id, lot, expiry, made), count in merged.items()
    ]
