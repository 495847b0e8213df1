"""HIBC LIC codes (ANSI/HIBC 2.6): primary data, secondary data, or both in one symbol.

biip reads no HIBC, so this is written here. The shapes, after the "+" flag:

- primary: LIC (a letter and 3 letters or digits), product number (1–18), unit of
  measure (1 digit), then the mod-43 check character;
- concatenated: primary "/" secondary, one check character over the whole;
- secondary alone (its own symbol): secondary, the link character (the primary's check
  character), the check character.

Secondary data: "$" lot; "$+" serial; five digits YYJJJ then the lot; or "$$" ("$$+" for a
serial) with an optional quantity ("8" + 2 digits, "9" + 5 digits), then the date as
flagged by its first character (0/1: MMYY, 2: MMDDYY, 3: YYMMDD, 4: YYMMDDHH,
5: YYJJJ, 6: YYJJJHH, 7: no date), then the lot or serial. Supplemental fields follow,
each after a "/": "S" serial, "16D" production date, "14D" expiry date (YYYYMMDD).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from erp.gs1 import errors as e
from erp.gs1.elements import shown, year_of
from erp.gs1.errors import invalid
from erp.gs1.schemas import Notice, ParsedCode
from erp.items.udi import HIBC_DI, MOD43, hibc_check_character

LOT = re.compile(r"[A-Z0-9]*")
MAX_LOT = 18  # lot and serial, ANSI/HIBC 2.6 §2.2
DATE_FLAGS = {  # flag -> (layout, length after the flag)
    "2": ("MMDDYY", 6),
    "3": ("YYMMDD", 6),
    "4": ("YYMMDDHH", 8),
    "5": ("YYJJJ", 5),
    "6": ("YYJJJHH", 7),
    "7": (None, 0),
}


def parse_hibc(text: str, *, symbology: str | None, today: dt.date) -> ParsedCode:
    """The HIBC code `text` ("+…", "*…*" around it allowed), or `Gs1Invalid`."""
    if len(text) > 2 and text[0] == text[-1] == "*":  # Code 39 caption
        text = text[1:-1]
    text = text.upper()
    for c in text[:-1]:
        if c not in MOD43:
            raise invalid("hibc-character", e.HIBC_CHARACTER, character=shown(c))
    data, check = text[:-1], text[-1:].replace(" ", "_")
    if len(data) < 2:
        raise invalid("hibc-primary", e.HIBC_PRIMARY, data=text)
    expected = hibc_check_character(data)
    if check != expected:
        raise invalid("hibc-check", e.HIBC_CHECK, data=data, expected=expected, actual=check or "_")
    body = data[1:]
    code = ParsedCode(kind="hibcc", symbology=symbology)
    if body[0].isalpha():
        primary, _, secondary = body.partition("/")
        _primary(code, primary)
    else:
        secondary = body[:-1]  # the last one links it to its primary symbol
    if secondary:
        _secondary(code, secondary, today)
    return code


def _primary(code: ParsedCode, data: str) -> None:
    if not HIBC_DI.fullmatch(data):
        raise invalid("hibc-primary", e.HIBC_PRIMARY, data=data)
    code.labeler_id, code.product_code, code.unit_of_measure = data[:4], data[4:-1], data[-1]
    code.di = data  # as the FDA's GUDID stores an HIBCC DI (erp.items.udi)


def _secondary(code: ParsedCode, data: str, today: dt.date) -> None:
    main, *supplemental = data.split("/")
    _main_fields(code, main, data, today)
    for field in supplemental:
        if field.startswith("S"):
            code.serial = _lot(field[1:], data)
        elif field[:3] in ("16D", "14D") and len(field) == 11:
            day = _date("YYYYMMDD", field[3:], today, code)
            if field[:3] == "16D":
                code.production_date = day
            else:
                code.expiry_date = day
        else:
            raise invalid("hibc-secondary", e.HIBC_SECONDARY, data=data)


def _main_fields(code: ParsedCode, main: str, data: str, today: dt.date) -> None:
    serial = main.startswith(("$+", "$$+"))
    if main.startswith("$$"):
        rest = main[3:] if serial else main[2:]
        rest = _quantity(code, rest, data)
        rest = _flagged_date(code, rest, data, today)
    elif main.startswith("$"):
        rest = main[2:] if serial else main[1:]
    elif main[:5].isdigit() and len(main) >= 5:
        code.expiry_date = _date("YYJJJ", main[:5], today, code)
        rest = main[5:]
    else:
        raise invalid("hibc-secondary", e.HIBC_SECONDARY, data=data)
    value = _lot(rest, data)
    if serial:
        code.serial = value
    else:
        code.lot = value


def _quantity(code: ParsedCode, rest: str, data: str) -> str:
    size = {"8": 2, "9": 5}.get(rest[:1])
    if size is None:
        return rest
    digits = rest[1 : 1 + size]
    if len(digits) != size or not digits.isdigit():
        raise invalid("hibc-secondary", e.HIBC_SECONDARY, data=data)
    code.quantity = int(digits)
    return rest[1 + size :]


def _flagged_date(code: ParsedCode, rest: str, data: str, today: dt.date) -> str:
    flag = rest[:1]
    if flag in ("0", "1"):  # MMYY, no flag of its own
        layout, start, length = "MMYY", 0, 4
    elif flag in DATE_FLAGS:
        (layout, length), start = DATE_FLAGS[flag], 1
    else:
        raise invalid("hibc-secondary", e.HIBC_SECONDARY, data=data)
    digits = rest[start : start + length]
    if layout is not None:
        if len(digits) != length or not digits.isdigit():
            raise invalid("hibc-secondary", e.HIBC_SECONDARY, data=data)
        code.expiry_date = _date(layout, digits, today, code)
    return rest[start + length :]


def _lot(value: str, data: str) -> str | None:
    if not LOT.fullmatch(value):
        raise invalid("hibc-secondary", e.HIBC_SECONDARY, data=data)
    if len(value) > MAX_LOT:
        raise invalid("hibc-too-long", e.HIBC_TOO_LONG, value=value, length=str(len(value)))
    return value or None


def _date(layout: str, digits: str, today: dt.date, code: ParsedCode) -> dt.date:
    """The date of `digits` laid out as `layout`; a month alone is read as its last day."""
    if not digits.isdigit():
        raise invalid("hibc-date", e.HIBC_DATE, value=digits)

    def part(name: str) -> int:
        at = layout.index(name)
        return int(digits[at : at + len(name)])

    year = part("YYYY") if "YYYY" in layout else year_of(part("YY"), today)
    try:
        if "HH" in layout and part("HH") > 23:
            raise ValueError("hour")
        if "JJJ" in layout:
            return dt.date(year, 1, 1) + dt.timedelta(days=_day_of_year(part("JJJ"), year) - 1)
        month = part("MM")
        if "DD" in layout:
            return dt.date(year, month, part("DD"))
        day = dt.date(year, month, calendar.monthrange(year, month)[1])
    except (ValueError, calendar.IllegalMonthError) as exc:
        raise invalid("hibc-date", e.HIBC_DATE, value=digits) from exc
    code.warnings.append(Notice(code="hibc-month-only", message=e.MONTH_ONLY, params={"value": digits, "date": day.isoformat()}))
    return day


def _day_of_year(day: int, year: int) -> int:
    if not 1 <= day <= (366 if calendar.isleap(year) else 365):
        raise ValueError("day of year")
    return day
