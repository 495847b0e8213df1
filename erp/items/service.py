"""Items (part master): creating and changing them, with their device (UDI) data and
storage conditions."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from auth.permissions import require
from erp.items import revisions
from erp.items.errors import DuplicatePartNumber, DuplicateUdiDi, ItemNotFound
from erp.items.models import CATEGORIES, DEVICE_CATEGORIES, DEVICE_CLASSES, UNITS, Item
from erp.items.udi import ISSUING_AGENCIES, UNKNOWN_AGENCY, InvalidUdiDi, normalise_basic_udi_di, normalise_udi_di
from erp.pagination import Page, check_limit, decode_cursor, encode_cursor
from kernel.errors import N_, REQUIRED, TOO_LONG, ValidationFailed

# Limits come from the columns, so the API schema, the checks and the table agree.
MAX_PART_NUMBER = Item.__table__.c.part_number.type.length
MAX_NAME = Item.__table__.c.name.type.length
# Part numbers end up in barcodes and file names: no spaces or symbols beyond these.
# Anchored: JSON Schema (and pydantic) patterns match anywhere in the string.
PART_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
# Storage conditions: what numeric(5,1) and numeric(4,1) hold, within physics.
MIN_TEMPERATURE, MAX_TEMPERATURE = Decimal("-273.0"), Decimal("999.9")
MIN_HUMIDITY, MAX_HUMIDITY = Decimal("0"), Decimal("100")
MAX_EXCURSION_MINUTES = 2**31 - 1  # integer column

# Everything create_item takes and update_item may change.
FIELDS = (
    "part_number",
    "name",
    "name_zh",
    "category",
    "uom",
    "issuing_agency",
    "udi_di",
    "basic_udi_di",
    "device_class",
    "label_lot",
    "label_serial",
    "label_manufacture_date",
    "label_expiry_date",
    "storage_temp_min_c",
    "storage_temp_max_c",
    "storage_humidity_min_pct",
    "storage_humidity_max_pct",
    "max_excursion_minutes",
)
LABEL_FIELDS = ("label_lot", "label_serial", "label_manufacture_date", "label_expiry_date")
UDI_INDEX = "ix_item_tenant_id_udi_di"
PART_NUMBER_CONSTRAINT = "uq_item_tenant_id_part_number"

DEVICE_CLASS = N_("Choose one of the device classes.")
DEVICE_CLASS_NEEDED = N_("A finished or contract-manufactured device with a UDI-DI needs its device class.")
YES_OR_NO = N_("Choose yes or no.")
TEMPERATURE = N_("Enter a temperature from -273.0 to 999.9 °C, with at most one decimal.")
HUMIDITY = N_("Enter a relative humidity from 0 to 100 percent, with at most one decimal.")
TEMPERATURE_BOTH_ENDS = N_("A temperature range needs both ends: enter the minimum and the maximum.")
MAX_BELOW_MIN = N_("The maximum is below the minimum.")
EXCURSION = N_("Enter a whole number of minutes, 0 or more.")


def create_item(
    uow,
    actor,
    *,
    part_number: str,
    name: str,
    name_zh: str | None = None,
    category: str,
    uom: str,
    issuing_agency: str | None = None,
    udi_di: str | None = None,
    basic_udi_di: str | None = None,
    device_class: str | None = None,
    label_lot: bool = False,
    label_serial: bool = False,
    label_manufacture_date: bool = False,
    label_expiry_date: bool = False,
    storage_temp_min_c: Decimal | float | str | None = None,
    storage_temp_max_c: Decimal | float | str | None = None,
    storage_humidity_min_pct: Decimal | float | str | None = None,
    storage_humidity_max_pct: Decimal | float | str | None = None,
    max_excursion_minutes: int | None = None,
    revision: str | None = None,
) -> Item:
    """A new item, with its first revision (`revision`; "A" when not given) in effect
    from today (erp.items.revisions)."""
    require(actor, "items.manage")
    raw = {field: value for field, value in locals().items() if field in FIELDS}
    blank = revision is None or (isinstance(revision, str) and not revision.strip())
    code, code_error = revisions.checked_code(revisions.INITIAL_REVISION if blank else revision)
    try:
        values = checked_values(raw)
    except ValidationFailed as failed:
        if code_error:
            failed.errors["revision"] = code_error
        raise
    if code_error:
        raise ValidationFailed(errors={"revision": code_error})
    item = Item(**values)

    def write() -> None:
        uow.add(item)
        uow.flush()  # the item's id, for its revision
        uow.add(revisions.first_revision(actor, item_id=item.id, revision=code))

    _save(uow, write, values, item_id=None)
    return item


def get_item(uow, *, item_id: uuid.UUID) -> Item:
    """One item of the tenant in context (ItemNotFound otherwise)."""
    require(uow.actor, "items.view")
    item = uow.scalar(sa.select(Item).where(Item.id == item_id))
    if item is None:
        raise ItemNotFound()
    return item


def update_item(uow, actor, *, item_id: uuid.UUID, **changes) -> Item:
    """Change the fields given (any of FIELDS; None clears an optional one). The item as
    it would be is checked as a whole, like a new one, so every error is named at once."""
    require(actor, "items.manage")
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise TypeError(f"update_item() got fields it does not know: {', '.join(unknown)}")
    # Locked: two concurrent updates are checked one after the other.
    item = uow.scalar(sa.select(Item).where(Item.id == item_id).with_for_update())
    if item is None:
        raise ItemNotFound()
    current = {field: getattr(item, field) for field in FIELDS}
    values = checked_values(changes, current=current)
    changed = {field: value for field, value in values.items() if current[field] != value}
    if changed:

        def write() -> None:
            for field, value in changed.items():
                setattr(item, field, value)

        _save(uow, write, values, item_id=item.id)
    return item


def list_items(uow, actor, *, after: str | None = None, limit: int = 50, query: str | None = None) -> Page[Item]:
    """Newest first, `limit` at a time; `after` is the previous page's next_cursor.
    `query`: part numbers starting with it (as typed or in capitals)."""
    require(actor, "items.view")
    check_limit(limit)
    stmt = sa.select(Item).order_by(Item.created_at.desc(), Item.id.desc()).limit(limit + 1)
    prefix = _clean(query)
    if prefix:
        stmt = stmt.where(sa.or_(*(_starting_with(p) for p in sorted({prefix, prefix.upper()}))))
    if after:
        created_at, row_id = decode_cursor(after)
        stmt = stmt.where(sa.tuple_(Item.created_at, Item.id) < sa.tuple_(created_at, row_id))
    rows = list(uow.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)


def _starting_with(prefix: str):
    # A range, not LIKE: LIKE is not leakproof, so under row-level security it cannot use
    # the (tenant_id, part_number) index (notes/postgres.md). The database collates "C"
    # (code point order), so every string starting with `prefix` is in [prefix, next).
    if not PART_NUMBER.fullmatch(prefix):
        return sa.false()  # no part number has other characters
    following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(Item.part_number >= prefix, Item.part_number < following)


def categories_of(uow, *, item_ids) -> dict[uuid.UUID, str]:
    """Each item's category by id (those of the tenant), for other domains' rules; no
    permission of its own: the caller's operation checks one."""
    return _column_by_id(uow, Item.category, item_ids)


def part_numbers(uow, *, item_ids) -> dict[uuid.UUID, str]:
    """Each item's part number by id, for naming items beside other domains' rows."""
    return _column_by_id(uow, Item.part_number, item_ids)


def _column_by_id(uow, column, item_ids) -> dict:
    ids = {i for i in item_ids if i is not None}
    if not ids:
        return {}
    return dict(uow.execute(sa.select(Item.id, column).where(Item.id.in_(ids))).all())


def all_items(uow, actor) -> list[Item]:
    """Every item of the tenant, by part number (exports)."""
    require(actor, "items.view")
    return list(uow.session.scalars(sa.select(Item).order_by(Item.part_number)))


# What create_item takes when a field is not given.
DEFAULTS = dict.fromkeys(FIELDS) | dict.fromkeys(LABEL_FIELDS, False)


def checked_values(fields: dict, *, current: dict | None = None) -> dict:
    """The values an item would be stored with - after create_item(**fields) when
    `current` is None, else after update_item(**fields) of the item whose values are
    `current` - cleaned and normalised; or ValidationFailed naming every bad field.
    Nothing is read or written: the unique part number and UDI-DI are the caller's."""
    if current is None:
        return _checked(DEFAULTS | fields)
    return _checked(current | fields, unchanged={f for f in FIELDS if f not in fields})


def _save(uow, write, values: dict, *, item_id: uuid.UUID | None) -> None:
    try:
        # The unique constraints decide, so two concurrent writes cannot both pass. The
        # change is made inside the savepoint: begin_nested() flushes what is pending first.
        with uow.session.begin_nested():
            write()
            uow.flush()
    except sa.exc.IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint == PART_NUMBER_CONSTRAINT:
            raise DuplicatePartNumber(part_number=values["part_number"]) from exc
        if constraint == UDI_INDEX:
            other = sa.select(Item.part_number).where(Item.udi_di == values["udi_di"])
            if item_id is not None:
                other = other.where(Item.id != item_id)
            raise DuplicateUdiDi(udi_di=values["udi_di"], part_number=uow.scalar(other.limit(1)) or "?") from exc
        raise


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _checked(raw: dict, *, unchanged: frozenset[str] | set[str] = frozenset()) -> dict:
    """The values to store, cleaned and normalised; or ValidationFailed naming every bad
    field. Stored identifiers that are not being changed (`unchanged`) are kept as they are."""
    errors: dict[str, str] = {}
    values = dict(raw)
    values["part_number"] = part_number = _clean(raw["part_number"])
    values["name"] = name = _clean(raw["name"])
    values["name_zh"] = name_zh = _clean(raw["name_zh"]) or None
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
    if raw["category"] not in CATEGORIES:
        errors["category"] = N_("Choose one of the item categories.")
    if raw["uom"] not in UNITS:
        errors["uom"] = N_("Choose one of the units of measure.")
    _check_device(raw, values, errors, unchanged)
    for field in LABEL_FIELDS:
        if not isinstance(raw[field], bool):
            errors[field] = YES_OR_NO
    _check_storage(raw, values, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return values


def _check_device(raw: dict, values: dict, errors: dict[str, str], unchanged) -> None:
    values["issuing_agency"] = agency = _clean(raw["issuing_agency"]).upper() or None
    if agency is not None and agency not in ISSUING_AGENCIES:
        errors["issuing_agency"] = UNKNOWN_AGENCY
    for field, normalise in (("udi_di", normalise_udi_di), ("basic_udi_di", normalise_basic_udi_di)):
        text = _clean(raw[field])
        if not text:
            values[field] = None
        elif {field, "issuing_agency"} <= unchanged:
            values[field] = raw[field]
        else:
            try:
                values[field] = normalise(agency or "", text, field=field)
            except InvalidUdiDi as exc:
                for name, message in exc.errors.items():
                    errors.setdefault(name, message)
    values["device_class"] = device_class = _clean(raw["device_class"]) or None
    if device_class is not None and device_class not in DEVICE_CLASSES:
        errors["device_class"] = DEVICE_CLASS
    elif device_class is None and raw["category"] in DEVICE_CATEGORIES and _clean(raw["udi_di"]):
        errors["device_class"] = DEVICE_CLASS_NEEDED


def _check_storage(raw: dict, values: dict, errors: dict[str, str]) -> None:
    low_t, high_t = "storage_temp_min_c", "storage_temp_max_c"
    low_h, high_h = "storage_humidity_min_pct", "storage_humidity_max_pct"
    for field, low, high, message in (
        (low_t, MIN_TEMPERATURE, MAX_TEMPERATURE, TEMPERATURE),
        (high_t, MIN_TEMPERATURE, MAX_TEMPERATURE, TEMPERATURE),
        (low_h, MIN_HUMIDITY, MAX_HUMIDITY, HUMIDITY),
        (high_h, MIN_HUMIDITY, MAX_HUMIDITY, HUMIDITY),
    ):
        try:
            values[field] = _decimal(raw[field], low, high)
        except ValueError:
            values[field] = None
            errors[field] = message
    if _given(raw[low_t]) != _given(raw[high_t]):
        errors.setdefault(high_t if _given(raw[low_t]) else low_t, TEMPERATURE_BOTH_ENDS)
    for low, high in ((low_t, high_t), (low_h, high_h)):
        if values[low] is not None and values[high] is not None and values[low] > values[high]:
            errors.setdefault(high, MAX_BELOW_MIN)
    minutes = raw["max_excursion_minutes"]
    if minutes is not None:
        whole = isinstance(minutes, int) and not isinstance(minutes, bool)
        if not whole or not 0 <= minutes <= MAX_EXCURSION_MINUTES:
            errors["max_excursion_minutes"] = EXCURSION


def _given(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _decimal(value, low: Decimal, high: Decimal) -> Decimal | None:
    """`value` as a Decimal with one decimal place (None when not given); ValueError when
    it is not a number in [low, high] with at most one decimal."""
    if not _given(value):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if not number.is_finite() or not low <= number <= high:
        raise ValueError(value)
    tenth = number.quantize(Decimal("0.1"))
    if tenth != number:
        raise ValueError(value)
    return tenth
