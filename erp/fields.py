"""Checks of typed values that every ERP form and import shares: quantities in an item's
unit, dates, ids. Each takes the `errors` dict of the caller and the field's name in it,
so one pass collects every problem of a form or file."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from kernel.errors import N_, REQUIRED

INTEGER_UNITS = ("EA", "BOX", "PK", "SET", "ROLL")
MAX_DECIMALS = 3
MAX_QUANTITY = Decimal(10) ** 14  # numeric(18, 4)

QUANTITY = N_("Enter a quantity above zero.")
WHOLE_QUANTITY = N_("This unit is counted in whole numbers.")
QUANTITY_DECIMALS = N_("Use at most three decimals for this unit.")
DATE = N_("Enter a date.")
PAST_DATE = N_("This date is in the past.")


def given(value) -> bool:
    return value is not None and value != "" and value != []


def as_uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def number(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        found = Decimal(str(value).strip()) if isinstance(value, str | float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return found if found.is_finite() else None


def decimals(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)


def quantity(value, uom: str | None, errors: dict, field: str) -> Decimal | None:
    """A quantity above zero, whole for units counted in whole numbers."""
    if not given(value):
        errors[field] = REQUIRED
        return None
    found = number(value)
    if found is None or found <= 0 or found >= MAX_QUANTITY:
        errors[field] = QUANTITY
        return None
    if uom in INTEGER_UNITS and decimals(found) > 0:
        errors[field] = WHOLE_QUANTITY
        return None
    if decimals(found) > MAX_DECIMALS:
        errors[field] = QUANTITY_DECIMALS
        return None
    return found


def a_date(value, errors: dict, field: str, *, not_before: date | None = None, required: bool = True) -> date | None:
    """A date (a date or an ISO string); `not_before`: refused as past if earlier."""
    if not given(value):
        if required:
            errors[field] = REQUIRED
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date):
        errors[field] = DATE
        return None
    if not_before is not None and value < not_before:
        errors[field] = PAST_DATE
        return None
    return value


def plain(value: Decimal) -> str:
    """A quantity as people write it: 30, not 3E+1 or 30.0000."""
    return f"{value.normalize():f}"
