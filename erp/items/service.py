"""Items (part master)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from auth.permissions import require
from erp.items.errors import DuplicatePartNumber
from erp.items.models import CATEGORIES, UNITS, Item
from kernel.errors import N_, ValidationFailed

# Limits come from the columns, so the API schema, the checks and the table agree.
MAX_PART_NUMBER = Item.__table__.c.part_number.type.length
MAX_NAME = Item.__table__.c.name.type.length
# Part numbers end up in barcodes and file names: no spaces or symbols beyond these.
# Anchored: JSON Schema (and pydantic) patterns match anywhere in the string.
PART_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")

REQUIRED = N_("This field is required.")
TOO_LONG = N_("This is too long.")


def create_item(uow, actor, *, part_number: str, name: str, name_zh: str | None = None, category: str, uom: str) -> Item:
    require(actor, "items.manage")
    part_number, name, name_zh = _clean(part_number), _clean(name), _clean(name_zh) or None
    _validate(part_number=part_number, name=name, name_zh=name_zh, category=category, uom=uom)
    item = Item(part_number=part_number, name=name, name_zh=name_zh, category=category, uom=uom)
    try:
        # The unique constraint decides, so two concurrent creates cannot both pass. The
        # item is added inside the savepoint: begin_nested() flushes what is pending first.
        with uow.session.begin_nested():
            uow.add(item)
            uow.flush()
    except sa.exc.IntegrityError as exc:
        raise DuplicatePartNumber(part_number=part_number) from exc
    return item


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _validate(*, part_number: str, name: str, name_zh: str | None, category: str, uom: str) -> None:
    errors: dict[str, str] = {}
    if not part_number:
        errors["part_number"] = REQUIRED
    elif len(part_number) > MAX_PART_NUMBER:
        errors["part_number"] = TOO_LONG
    elif not PART_NUMBER.fullmatch(part_number):
        errors["part_number"] = N_("Use letters, digits and . _ / - only, starting with a letter or digit.")
    if not name:
        errors["name"] = REQUIRED
    elif len(name) > MAX_NAME:
        errors["name"] = TOO_LONG
    if name_zh and len(name_zh) > MAX_NAME:
        errors["name_zh"] = TOO_LONG
    if category not in CATEGORIES:
        errors["category"] = N_("Choose one of the item categories.")
    if uom not in UNITS:
        errors["uom"] = N_("Choose one of the units of measure.")
    if errors:
        raise ValidationFailed(errors=errors)
