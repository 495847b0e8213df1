"""Scoring periods: a calendar month, a calendar quarter, or the rolling twelve months
ending with a month. Start is inclusive, end exclusive; both are dates (the tenant's
transactions are compared in UTC days).

Keys: "2026-11" (month), "2026-Q4" (quarter), "R12-2026-11" (the twelve months
December 2025 to November 2026)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kernel.errors import N_, ValidationFailed

KINDS = ("month", "quarter", "rolling12")
KIND_LABELS = {"month": N_("Month"), "quarter": N_("Quarter"), "rolling12": N_("Rolling 12 months")}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_ROLLING = re.compile(r"^R12-(\d{4})-(\d{2})$")
BAD_PERIOD = N_("Choose a period such as 2026-11, 2026-Q4 or R12-2026-11.")


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        last = add_months(self.end, -1)
        return f"R12-{last:%Y-%m}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __str__(self) -> str:
        return self.key


def _month(year: int, month: int) -> Period:
    start = date(year, month, 1)
    return Period("month", start, add_months(start, 1))


def _quarter(year: int, quarter: int) -> Period:
    start = date(year, 3 * (quarter - 1) + 1, 1)
    return Period("quarter", start, add_months(start, 3))


def _rolling(year: int, month: int) -> Period:
    end = add_months(date(year, month, 1), 1)
    return Period("rolling12", add_months(end, -12), end)


def parse_key(key: str) -> Period:
    """The period a key names, whatever its kind; bad input otherwise."""
    key = (key or "").strip().upper()
    try:
        if m := _MONTH.match(key):
            return _month(int(m[1]), int(m[2]))
        if m := _QUARTER.match(key):
            return _quarter(int(m[1]), int(m[2]))
        if m := _ROLLING.match(key):
            return _rolling(int(m[1]), int(m[2]))
    except ValueError:
        pass
    raise ValidationFailed(errors={"period": BAD_PERIOD})


def period_of(kind: str, key_or_day) -> Period:
    """The period of `kind` a key names (a month key for a quarter or rolling period
    names the one containing / ending with that month), or the one containing a day."""
    if kind not in KINDS:
        raise ValidationFailed(errors={"kind": N_("Choose month, quarter or rolling 12 months.")})
    if isinstance(key_or_day, date):
        day = key_or_day
    else:
        parsed = parse_key(str(key_or_day))
        if parsed.kind == kind:
            return parsed
        day = add_months(parsed.end, -1)
    if kind == "month":
        return _month(day.year, day.month)
    if kind == "quarter":
        return _quarter(day.year, (day.month - 1) // 3 + 1)
    return _rolling(day.year, day.month)


def last_periods(kind: str, *, until: date, count: int = 12) -> list[Period]:
    """`count` consecutive periods of `kind`, oldest first, the last containing `until`."""
    last = period_of(kind, until)
    step = 3 if kind == "quarter" else 1
    out = []
    for back in range(count - 1, -1, -1):
        day = add_months(last.start if kind != "rolling12" else add_months(last.end, -1), -step * back)
        out.append(period_of(kind, day))
    return out
