"""`parse_code`: a GS1 or HIBCC code in any form a scanner or a person hands over, read
into its data or refused with a message that says what is wrong.

Forms read:

- scanned GS1 data: element strings with GS (ASCII 29) after variable-length values,
  also written "<GS>" or "{GS}" (as scanner tools print it), with or without the
  symbology identifier (]C1 GS1-128, ]d2 GS1 DataMatrix, ]Q3 GS1 QR, ]e0 GS1 DataBar,
  ]J1 GS1 DotCode); an EAN/UPC or ITF-14 scan (]E0, ]E4, ]I1) is a GTIN alone;
- as printed: "(01)09506000134352(17)261231(10)ABC123";
- a GS1 Digital Link URI, on any domain;
- an HIBC LIC code, "+…" (erp.gs1.hibc).

A symbol without GS1 data (]d1 plain DataMatrix, ]Q1 plain QR, ]C0 plain Code 128) is
refused when it carries element strings; a Digital Link URI or an HIBC code in it is read,
because that is where those are encoded.

Pure: no database; the ASN form and the API call the same function.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from urllib.parse import parse_qsl, unquote, urlsplit

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.symbology import GS1Symbology, SymbologyIdentifier

from erp.gs1 import errors as e
from erp.gs1.elements import Element, element, fixed_length
from erp.gs1.errors import invalid
from erp.gs1.hibc import parse_hibc
from erp.gs1.schemas import ParsedCode
from kernel import clock

GS = "\x1d"
GS_WRITTEN = re.compile(r"<GS>|\{GS\}|\u241d", re.IGNORECASE)  # as scanner tools print the separator
HRI_ELEMENT = re.compile(r"\((\d{2,4})\)([^(]*)")
GTIN_SCANS = {GS1Symbology.EAN_13, GS1Symbology.EAN_8, GS1Symbology.ITF_14}
# Primary keys of a Digital Link path (GS1 Digital Link standard: URI syntax §4).
DIGITAL_LINK_KEYS = {"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8013", "8017", "8018"}


def parse_code(text: str, *, today: dt.date | None = None) -> ParsedCode:
    """The data of a GS1 or HIBCC code, or `Gs1Invalid` naming the first rule it breaks.

    `today` fixes the century of two-digit years (default: today, UTC)."""
    today = today or clock.today()
    data = GS_WRITTEN.sub(GS, unicodedata.normalize("NFKC", text or "")).strip()
    if not data:
        raise invalid("gs1-empty", e.EMPTY)
    symbology = None
    if data.startswith("]"):
        symbology, data = _symbology(data)
    if data.lower().startswith(("http://", "https://")):
        return _gs1(_digital_link(data), symbology, today)
    if data.startswith(("+", "*+")):
        return parse_hibc(data, symbology=symbology, today=today)
    if symbology is not None and symbology.gs1_symbology in GTIN_SCANS:
        return _gs1([("01", data.zfill(14))], symbology, today)
    if data.startswith("("):
        return _gs1(_printed(data), symbology, today)
    if data[:1].isdigit() or data.startswith(GS):
        if symbology is not None and symbology.gs1_symbology not in GS1Symbology.with_gs1_messages():
            raise invalid("gs1-not-gs1-symbol", e.NOT_GS1_SYMBOL, symbology=symbology.value)
        return _gs1(_scanned(data), symbology, today)
    raise invalid("gs1-unrecognised", e.UNRECOGNISED)


def _symbology(data: str) -> tuple[SymbologyIdentifier, str]:
    try:
        found = SymbologyIdentifier.extract(data)
    except (ParseError, IndexError) as exc:
        raise invalid("gs1-unrecognised", e.UNRECOGNISED) from exc
    return found, data[len(found) :].lstrip()


# --- the three GS1 forms, each into (AI, value) pairs ------------------------------------------


def _scanned(data: str) -> list[tuple[str, str]]:
    """Element strings as a scanner sends them: a predefined-length AI's value is that
    long; any other runs to the next GS or the end (GenSpecs §7.8.5). A variable value
    longer than the AI allows is so reported, not cut at the limit."""
    pairs = []
    rest = data.lstrip(GS)
    while rest:
        try:
            ai = GS1ApplicationIdentifier.extract(rest)
        except ParseError as exc:
            raise invalid("gs1-unknown-ai", e.NO_AI, text=rest[:12]) from exc
        body = rest[len(ai.ai) :]
        length = None if ai.separator_required else fixed_length(ai)
        if length is None:
            value, _, rest = body.partition(GS)
        else:
            value = body[:length].split(GS, 1)[0]
            rest = body[len(value) :]
        pairs.append((ai.ai, value))
        rest = rest.lstrip(GS)
    return pairs


def _printed(data: str) -> list[tuple[str, str]]:
    """The human-readable form: "(AI)value" after each other; spaces between are ignored."""
    text = "".join(data.split())
    pairs, end = [], 0
    for match in HRI_ELEMENT.finditer(text):
        if match.start() != end:
            break
        pairs.append((match.group(1), match.group(2)))
        end = match.end()
    if not pairs or end != len(text):
        raise invalid("gs1-unrecognised", e.UNRECOGNISED)
    return pairs


def _digital_link(uri: str) -> list[tuple[str, str]]:
    """The path's primary key and qualifiers (after any path prefix of the resolver), and the
    query's numeric keys; other query parameters (linkType…) are not data."""
    parts = urlsplit(uri)
    segments = parts.path.rstrip("/").split("/")
    start = next((i for i, segment in enumerate(segments) if segment in DIGITAL_LINK_KEYS), None)
    if start is None or (len(segments) - start) % 2:
        raise invalid("gs1-digital-link", e.DIGITAL_LINK_PATH)
    pairs = [(segments[i], unquote(segments[i + 1])) for i in range(start, len(segments), 2)]
    if pairs[0][0] == "01":  # a GTIN-8, -12 or -13 may stand in the path as it is
        pairs[0] = ("01", pairs[0][1].zfill(14))
    pairs += [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key.isdigit()]
    return pairs


# --- pairs into the parsed code ------------------------------------------------------------------


def _gs1(pairs: list[tuple[str, str]], symbology: SymbologyIdentifier | None, today: dt.date) -> ParsedCode:
    elements: dict[str, Element] = {}
    for ai, value in pairs:
        checked = element(ai, value, today=today)
        seen = elements.get(checked.ai.ai)
        if seen is not None and seen.ai.value != value:
            raise invalid("gs1-repeated-ai", e.REPEATED_AI, ai=checked.ai.ai)
        elements.setdefault(checked.ai.ai, checked)
    ais = [found.ai for found in elements.values()]
    values = {found.ai: found for found in ais}
    gtin = _value(values, "01")
    return ParsedCode(
        kind="gs1",
        symbology=symbology.value if symbology else None,
        element_string="".join(f"({found.ai}){found.value}" for found in ais),
        ais=ais,
        gtin=gtin,
        sscc=_value(values, "00"),
        di=gtin,
        lot=_value(values, "10"),
        serial=_value(values, "21"),
        expiry_date=_date(values, "17") or _date(values, "7003"),
        production_date=_date(values, "11"),
        quantity=_count(values),
        warnings=[notice for found in elements.values() for notice in found.notices],
    )


def _value(values: dict, ai: str) -> str | None:
    found = values.get(ai)
    return found.value if found else None


def _date(values: dict, ai: str) -> dt.date | None:
    found = values.get(ai)
    return found.date if found else None


def _count(values: dict) -> int | None:
    found = values.get("37") or values.get("30")
    return int(found.value) if found and found.value else None
