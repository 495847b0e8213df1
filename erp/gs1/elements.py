"""GS1 element strings: each AI and its value checked against the GS1 General
Specifications, one rule at a time, so the message can say which rule and where.

biip holds the AI table (format, title, whether a separator follows) and reads each
checked element (GTIN, SSCC, dates, decimals). The checks before it are written here
because biip answers every problem with one English sentence, and a supplier needs to
know whether the lot is too long, a character is not allowed or the month is 13.
Dates are read here too: the century depends on the day (`today`), which biip takes from
the clock."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from erp.gs1 import errors as e
from erp.gs1.errors import invalid
from erp.gs1.schemas import AiValue, Notice
from erp.items.udi import CSET82

# Character sets of the AI formats (GenSpecs §7.11): N digits, X set 82, Y set 39, Z set 64.
CHARSETS = {
    "N": (frozenset("0123456789"), e.CHARACTER_DIGITS),
    "X": (frozenset(CSET82), e.CHARACTER_82),
    "Y": (frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"), e.CHARACTER_39),
    "Z": (frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"), e.CHARACTER_64),
}

# Date AIs (YYMMDD first); in those of GenSpecs §3.4 (11–17) day 00 means the month's last day.
DATE_AIS = {"11", "12", "13", "15", "16", "17", "4324", "4325", "4326", "7003", "7006", "7007", "7011", "8008"}
DAY_00_AIS = {"11", "12", "13", "15", "16", "17"}
NO_TIME = {"4324": "9999", "4325": "9999"}  # "no time of day" in these (GenSpecs §3.8.36)

# Identification keys with a mod-10 check digit: the identifier's name and how many of the
# value's leading digits it spans (the check digit is the last of those).
CHECKED_KEYS = {
    "00": ("SSCC", 18),
    "01": ("GTIN", 14),
    "02": ("GTIN", 14),
    "03": ("GTIN", 14),
    "253": ("GDTI", 13),
    "255": ("GCN", 13),
    "402": ("GSIN", 17),
    **{f"41{n}": ("GLN", 13) for n in range(8)},
    "8003": ("GRAI", 14),  # "0" + the 13-digit GRAI
    "8006": ("GTIN", 14),  # ITIP: the GTIN, then piece and total
    "8017": ("GSRN", 18),
    "8018": ("GSRN", 18),
}


@dataclass(frozen=True)
class Component:
    charset: str
    length: int  # the maximum for a variable one
    variable: bool
    optional: bool


@dataclass(frozen=True)
class Element:
    ai: AiValue
    notices: list[Notice]


COMPONENT = re.compile(r"(\[)?([NXYZ])(\.\.)?(\d+)\]?")


def components(ai: GS1ApplicationIdentifier) -> list[Component] | None:
    """The parts of the AI's data format ("N6[+N4]" -> N6, optional N4); None for the few
    formats of another shape, which biip's pattern alone checks."""
    parts = []
    for token in ai.format.split("+", 1)[1].replace("[+", "+[").split("+"):
        match = COMPONENT.fullmatch(token)
        if match is None:
            return None
        optional, charset, variable, length = match.groups()
        parts.append(Component(charset, int(length), bool(variable), bool(optional)))
    return parts


def fixed_length(ai: GS1ApplicationIdentifier) -> int | None:
    """The length of a predefined-length AI's value (no separator follows it)."""
    parts = components(ai)
    if parts is None or any(p.variable or p.optional for p in parts):
        return None
    return sum(p.length for p in parts)


def lookup(ai: str) -> GS1ApplicationIdentifier:
    """The AI from biip's table (GS1 GenSpecs §3)."""
    try:
        found = GS1ApplicationIdentifier.extract(ai)
    except ParseError:
        found = None
    if found is None or found.ai != ai:
        raise invalid("gs1-unknown-ai", e.UNKNOWN_AI, ai=ai)
    return found


def element(ai_code: str, value: str, *, today: dt.date) -> Element:
    """One AI and its value, checked: characters and length, the date, the check digit,
    then biip's pattern. The first rule broken is raised as `Gs1Invalid`."""
    ai = lookup(ai_code)
    if not value:
        raise invalid("gs1-length", e.NO_VALUE, ai=ai.ai)
    _check_shape(ai, value)
    date, notices = _date(ai.ai, value, today) if ai.ai in DATE_AIS else (None, [])
    _check_digit(ai, value)
    try:
        GS1ElementString.parse(ai.ai + value)
    except ParseError as exc:  # a rule of the AI's own (e.g. 4321 is 0 or 1) that the checks above do not know
        raise invalid("gs1-format", e.FORMAT, ai=ai.ai, value=value, format=ai.format) from exc
    out = AiValue(ai=ai.ai, title=ai.data_title, description=ai.description, value=value, date=date)
    return Element(ai=out, notices=notices)


def _check_shape(ai: GS1ApplicationIdentifier, value: str) -> None:
    parts = components(ai)
    if parts is None:
        return
    most = sum(p.length for p in parts)
    if all(not p.variable and not p.optional for p in parts) and len(value) != most:
        raise invalid("gs1-length", e.WRONG_LENGTH, ai=ai.ai, value=value, expected=str(most), length=str(len(value)))
    if len(value) > most:
        raise invalid("gs1-too-long", e.TOO_LONG, ai=ai.ai, value=value, max=str(most), length=str(len(value)))
    start = 0
    for part in parts:
        allowed, message = CHARSETS[part.charset]
        for c in value[start : start + part.length]:
            if c not in allowed:
                raise invalid("gs1-character", message, ai=ai.ai, character=shown(c))
        start += part.length


def shown(character: str) -> str:
    """A character as a message can show it: quoted when visible, else its code point."""
    return f"“{character}”" if character.isprintable() and not character.isspace() else f"U+{ord(character):04X}"


# --- dates ------------------------------------------------------------------------------------


def year_of(two_digits: int, today: dt.date) -> int:
    """The four-digit year of a two-digit one (GenSpecs §7.12): 51 to 99 years ahead of
    today belongs to the previous century, 50 to 99 behind to the next."""
    century = today.year - today.year % 100
    ahead = two_digits - today.year % 100
    if 51 <= ahead <= 99:
        return century - 100 + two_digits
    if -99 <= ahead <= -50:
        return century + 100 + two_digits
    return century + two_digits


def _date(ai: str, value: str, today: dt.date) -> tuple[dt.date, list[Notice]]:
    date, notices = _yymmdd(ai, value[:6], value, today)
    rest = value[6:]
    if ai == "7007" and rest:  # a harvest date range: a second date
        _yymmdd(ai, rest, value, today)
    elif rest and rest != NO_TIME.get(ai) and not _is_time(rest):
        raise invalid("gs1-date", e.DATE_TIME, ai=ai, value=value)
    return date, notices


def _yymmdd(ai: str, digits: str, value: str, today: dt.date) -> tuple[dt.date, list[Notice]]:
    year, month, day = year_of(int(digits[:2]), today), int(digits[2:4]), int(digits[4:6])
    if not 1 <= month <= 12:
        raise invalid("gs1-date", e.DATE_MONTH, ai=ai, value=value, month=digits[2:4])
    last = calendar.monthrange(year, month)[1]
    if day == 0 and ai in DAY_00_AIS:
        date = dt.date(year, month, last)
        return date, [Notice(code="gs1-day-00", message=e.DAY_00, params={"ai": ai, "date": date.isoformat()})]
    if not 1 <= day <= last:
        raise invalid("gs1-date", e.DATE_DAY, ai=ai, value=value, day=digits[4:6])
    return dt.date(year, month, day), []


def _is_time(digits: str) -> bool:
    """HH, HHMM or HHMMSS of a real time of day."""
    limits = (23, 59, 59)
    pairs = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    return len(digits) % 2 == 0 and len(pairs) <= 3 and all(p <= lim for p, lim in zip(pairs, limits, strict=False))


# --- check digits --------------------------------------------------------------------------------


def _check_digit(ai: GS1ApplicationIdentifier, value: str) -> None:
    key = CHECKED_KEYS.get(ai.ai)
    if key is None:
        return
    identifier, length = key
    digits = value[:length]
    expected = str(gs1_standard_check_digit(digits[:-1]))
    if digits[-1] != expected:
        raise invalid("gs1-check-digit", e.CHECK_DIGIT, identifier=identifier, value=value, ai=ai.ai, expected=expected)
