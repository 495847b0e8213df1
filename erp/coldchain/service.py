"""Storage conditions per item, data loggers, and their bindings to what they watch.

A logger is in one place at a time: binding it locks its row and refuses a period that
overlaps another binding of it (two shipments at once, or a shipment and a shelf). A
binding's lots are what its readings are about (erp.coldchain.excursions).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from auth.permissions import require
from erp.coldchain.errors import BindingNotFound, LoggerBusy, LoggerNotFound
from erp.coldchain.models import BINDING_KINDS, DEFAULT_ACTIVATION_ENERGY, DataLogger, LoggerBinding, StorageCondition
from erp.inventory import service as inventory
from erp.items.models import Item
from erp.pagination import Page, check_limit, decode_cursor, encode_cursor
from erp.shipping.models import Asn, AsnPackage
from kernel.clock import utcnow
from kernel.errors import N_, REQUIRED, Forbidden, ValidationFailed, checked_text
from kernel.ids import new_id

MAX_CODE = 60
DEFAULT_GAP_MINUTES = 60  # the model's default: a logger silent an hour is an alert
MAX_NAME = 200
MAX_MODEL = 100
# Plausible limits of what a logger measures: cryogenic shipments to hot trucks.
LOWEST, HIGHEST = Decimal("-200"), Decimal("200")
MAX_MINUTES = 525_600  # a year

BINDING_LABELS = {
    "asn": N_("Ship notice"),
    "package": N_("Package (SSCC)"),
    "location": N_("Storage location"),
    "lot": N_("Lot"),
}

NOT_A_TEMPERATURE = N_("Enter a temperature in °C from -200 to 200, such as 2 or 8.5.")
NOT_A_HUMIDITY = N_("Enter a relative humidity from 0 to 100 %.")
RANGE_ORDER = N_("The upper limit must be above the lower limit.")
NOT_MINUTES = N_("Enter a whole number of minutes, 0 or more.")
NOT_GAP = N_("Enter a whole number of minutes greater than 0.")
NOT_ENERGY = N_("Enter an activation energy above 0 kJ/mol, such as 83.144.")
NO_ITEM = N_("Choose an item.")
CODE_TAKEN = N_("A logger with this code is registered already.")
NO_KIND = N_("Choose what the logger watches: a ship notice, a package, a location or a lot.")
NO_TARGET = N_("Choose the ship notice, package, location or lot the logger watches.")
NOT_A_TIME = N_("Enter a date and time with its time zone, such as 2026-12-01T08:00:00+08:00.")
ENDS_BEFORE = N_("The end must be after the start.")
ENDED_ALREADY = N_("This binding has ended already.")


@dataclass(frozen=True)
class BindingView:
    binding: LoggerBinding
    logger: DataLogger
    label: str  # what it watches: ASN number, SSCC, location code or lot number


# --- storage conditions --------------------------------------------------------------------


def storage_conditions(uow, actor) -> list[StorageCondition]:
    require(actor, "coldchain.view")
    return list(uow.session.scalars(sa.select(StorageCondition).order_by(StorageCondition.created_at, StorageCondition.id)))


def condition_of_item(uow, *, item_id: uuid.UUID) -> StorageCondition | None:
    return uow.session.scalars(sa.select(StorageCondition).where(StorageCondition.item_id == item_id)).first()


def conditions_by_item(uow, *, item_ids) -> dict[uuid.UUID, StorageCondition]:
    """Each item's monitoring rule: its saved storage condition, else the storage
    conditions of its label (the item's master data, erp.items) - so an item whose label
    says 15-25 °C is watched without anyone entering the range twice."""
    ids = [i for i in set(item_ids) if i]
    if not ids:
        return {}
    found = {c.item_id: c for c in uow.session.scalars(sa.select(StorageCondition).where(StorageCondition.item_id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        labelled = sa.or_(
            Item.storage_temp_min_c.is_not(None), Item.storage_temp_max_c.is_not(None),
            Item.storage_humidity_min_pct.is_not(None), Item.storage_humidity_max_pct.is_not(None),
        )  # fmt: skip
        for item in uow.session.scalars(sa.select(Item).where(Item.id.in_(missing), labelled)):
            found[item.id] = labelled_condition(item)
    return found


def labelled_condition(item: Item) -> StorageCondition:
    """The label's conditions as a rule (never stored): its ranges and the single
    excursion it tolerates; no cumulative or MKT limit, the default gap. Its id is the
    item's, so its running totals stay apart from any saved condition's."""
    return StorageCondition(
        id=item.id,
        item_id=item.id,
        min_temperature=item.storage_temp_min_c,
        max_temperature=item.storage_temp_max_c,
        min_humidity=item.storage_humidity_min_pct,
        max_humidity=item.storage_humidity_max_pct,
        excursion_minutes=item.max_excursion_minutes or 0,
        cumulative_minutes=0,
        max_mkt=None,
        activation_energy=DEFAULT_ACTIVATION_ENERGY,
        gap_minutes=DEFAULT_GAP_MINUTES,
    )


def save_storage_condition(
    uow,
    actor,
    *,
    item_id,
    min_temperature=None,
    max_temperature=None,
    min_humidity=None,
    max_humidity=None,
    excursion_minutes=0,
    cumulative_minutes=0,
    max_mkt=None,
    activation_energy=None,
    gap_minutes=60,
) -> StorageCondition:
    """The item's storage and transport conditions (created or replaced). Temperatures in
    °C, humidity in %RH; an empty limit is not checked. A single excursion up to
    `excursion_minutes` is tolerated (0: none is); `cumulative_minutes` bounds them all
    together (0: not checked); `gap_minutes` is how long a logger may stay silent."""
    require(actor, "coldchain.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    errors: dict[str, str] = {}
    item = _item(uow, item_id)
    if item is None:
        errors["item_id"] = NO_ITEM
    values = {
        "min_temperature": _number(min_temperature, "min_temperature", LOWEST, HIGHEST, NOT_A_TEMPERATURE, errors),
        "max_temperature": _number(max_temperature, "max_temperature", LOWEST, HIGHEST, NOT_A_TEMPERATURE, errors),
        "min_humidity": _number(min_humidity, "min_humidity", Decimal(0), Decimal(100), NOT_A_HUMIDITY, errors),
        "max_humidity": _number(max_humidity, "max_humidity", Decimal(0), Decimal(100), NOT_A_HUMIDITY, errors),
        "max_mkt": _number(max_mkt, "max_mkt", LOWEST, HIGHEST, NOT_A_TEMPERATURE, errors),
        "excursion_minutes": _minutes(excursion_minutes, "excursion_minutes", 0, NOT_MINUTES, errors),
        "cumulative_minutes": _minutes(cumulative_minutes, "cumulative_minutes", 0, NOT_MINUTES, errors),
        "gap_minutes": _minutes(gap_minutes, "gap_minutes", 1, NOT_GAP, errors),
    }
    energy = _number(activation_energy, "activation_energy", Decimal("0.001"), Decimal("99999"), NOT_ENERGY, errors)
    values["activation_energy"] = energy if energy is not None else DEFAULT_ACTIVATION_ENERGY
    for low, high in (("min_temperature", "max_temperature"), ("min_humidity", "max_humidity")):
        if values[low] is not None and values[high] is not None and values[low] >= values[high] and high not in errors:
            errors[high] = RANGE_ORDER
    if errors:
        raise ValidationFailed(errors=errors)
    uow.execute(
        insert(StorageCondition)
        .values(tenant_id=uow.tenant_id, id=new_id(), item_id=item.id, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "item_id"], set_={**values, "updated_at": sa.func.now()})
    )
    return uow.session.scalars(
        sa.select(StorageCondition).where(StorageCondition.item_id == item.id).execution_options(populate_existing=True)
    ).one()


def _item(uow, item_id) -> Item | None:
    try:
        key = item_id if isinstance(item_id, uuid.UUID) else uuid.UUID(str(item_id))
    except (TypeError, ValueError):
        return None
    return uow.session.scalars(sa.select(Item).where(Item.id == key)).first()


def _number(value, field: str, low: Decimal, high: Decimal, message: str, errors: dict) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or not low <= number <= high:
        errors[field] = message
        return None
    return number.quantize(Decimal("0.001") if field == "activation_energy" else Decimal("0.01"))


def _minutes(value, field: str, least: int, message: str, errors: dict) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        value = 60 if field == "gap_minutes" else 0  # the column defaults
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not least <= number <= MAX_MINUTES:
        errors[field] = message
        return None
    return number


# --- loggers -------------------------------------------------------------------------------


def register_logger(uow, actor, *, code: str, name: str | None = None, model: str | None = None) -> DataLogger:
    require(actor, "coldchain.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    errors: dict[str, str] = {}
    code = checked_text(code, MAX_CODE, "code", errors, required=True)
    name = checked_text(name, MAX_NAME, "name", errors)
    model = checked_text(model, MAX_MODEL, "model", errors)
    if code and "code" not in errors and logger_by_code(uow, code=code) is not None:
        errors["code"] = CODE_TAKEN
    if errors:
        raise ValidationFailed(errors=errors)
    logger = DataLogger(code=code, name=name, model=model)
    try:
        with uow.session.begin_nested():
            uow.add(logger)
            uow.flush()
    except sa.exc.IntegrityError as exc:  # registered at the same moment by someone else
        raise ValidationFailed(errors={"code": CODE_TAKEN}) from exc
    return logger


def logger_by_code(uow, *, code: str, lock: bool = False) -> DataLogger | None:
    query = sa.select(DataLogger).where(DataLogger.code == code)
    return uow.session.scalars(query.with_for_update() if lock else query).first()


def get_logger(uow, actor, *, logger_id: uuid.UUID, lock: bool = False) -> DataLogger:
    require(actor, "coldchain.view")
    query = sa.select(DataLogger).where(DataLogger.id == logger_id)
    found = uow.session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise LoggerNotFound()
    return found


def loggers_by_id(uow, *, ids) -> dict[uuid.UUID, DataLogger]:
    ids = list({i for i in ids if i})
    if not ids:
        return {}
    return {row.id: row for row in uow.session.scalars(sa.select(DataLogger).where(DataLogger.id.in_(ids)))}


def list_loggers(uow, actor, *, limit: int = 50, cursor: str | None = None) -> Page[DataLogger]:
    require(actor, "coldchain.view")
    check_limit(limit)
    query = sa.select(DataLogger)
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(DataLogger.created_at, DataLogger.id) < sa.tuple_(created_at, row_id))
    rows = list(uow.session.scalars(query.order_by(DataLogger.created_at.desc(), DataLogger.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)


# --- bindings ------------------------------------------------------------------------------


def parse_time(value) -> datetime | None:
    """An aware datetime from a datetime or ISO 8601 text ("Z" or an offset); None when
    it is neither or has no time zone."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def bind_logger(
    uow,
    actor,
    *,
    logger_id: uuid.UUID,
    kind: str,
    target_id,
    starts_at,
    ends_at=None,
) -> LoggerBinding:
    """Bind the logger to an ASN, one package (SSCC) of one, a storage location or a lot
    from `starts_at` until `ends_at` (open while None). Refused when the period overlaps
    another binding of the logger: its row is locked first, so two binds racing for one
    logger are decided one after the other."""
    require(actor, "coldchain.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    logger = get_logger(uow, actor, logger_id=logger_id, lock=True)
    errors: dict[str, str] = {}
    if kind not in BINDING_KINDS:
        errors["kind"] = NO_KIND
    target = _target(uow, kind, target_id) if kind in BINDING_KINDS else None
    if kind in BINDING_KINDS and target is None:
        errors["target_id"] = NO_TARGET
    start = parse_time(starts_at)
    if start is None:
        errors["starts_at"] = REQUIRED if not starts_at else NOT_A_TIME
    end = parse_time(ends_at) if ends_at not in (None, "") else None
    if ends_at not in (None, "") and end is None:
        errors["ends_at"] = NOT_A_TIME
    elif start is not None and end is not None and end <= start:
        errors["ends_at"] = ENDS_BEFORE
    if errors:
        raise ValidationFailed(errors=errors)
    clash = uow.session.scalars(
        sa.select(LoggerBinding)
        .where(
            LoggerBinding.logger_id == logger.id,
            LoggerBinding.starts_at < (end if end is not None else sa.literal("infinity", sa.DateTime(timezone=True))),
            sa.func.coalesce(LoggerBinding.ends_at, sa.literal("infinity", sa.DateTime(timezone=True))) > start,
        )
        .order_by(LoggerBinding.starts_at)
    ).first()
    if clash is not None:
        raise LoggerBusy(
            logger=logger.code,
            target=describe(uow, clash),
            starts=clash.starts_at.isoformat(timespec="minutes"),
            ends=clash.ends_at.isoformat(timespec="minutes") if clash.ends_at else "—",
        )
    binding = LoggerBinding(logger_id=logger.id, kind=kind, starts_at=start, ends_at=end, bound_by=actor.user_id)
    setattr(binding, f"{kind}_id", target)
    if kind == "package":
        binding.asn_id = uow.scalar(sa.select(AsnPackage.asn_id).where(AsnPackage.id == target))
    uow.add(binding)
    uow.flush()
    if logger.last_reading_at is not None and start <= logger.last_reading_at:
        # Bound after the fact (the logger's export arrived first): its stored readings of
        # the period are read against the binding now, as a new batch would be.
        from erp.coldchain import excursions, readings  # they import this module

        stored = readings.stored_between(uow, logger_id=logger.id, starts_at=start, ends_at=end)
        excursions.evaluate(uow, actor, logger=logger, readings=stored)
    return binding


def _target(uow, kind: str, target_id) -> uuid.UUID | None:
    try:
        key = target_id if isinstance(target_id, uuid.UUID) else uuid.UUID(str(target_id))
    except (TypeError, ValueError):
        return None
    model = {"asn": Asn, "package": AsnPackage, "lot": None, "location": None}[kind]
    if kind == "lot":
        return key if inventory.lots_by_id(uow, ids=[key]) else None
    if kind == "location":
        return key if inventory.locations_by_id(uow, ids=[key]) else None
    return uow.scalar(sa.select(model.id).where(model.id == key))


def end_binding(uow, actor, *, binding_id: uuid.UUID, ends_at=None) -> LoggerBinding:
    """End an open binding at `ends_at` (now by default)."""
    require(actor, "coldchain.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    binding = get_binding(uow, actor, binding_id=binding_id, lock=True)
    if binding.ends_at is not None:
        raise ValidationFailed(errors={"ends_at": ENDED_ALREADY})
    end = parse_time(ends_at) if ends_at not in (None, "") else utcnow()
    if end is None:
        raise ValidationFailed(errors={"ends_at": NOT_A_TIME})
    if end <= binding.starts_at:
        raise ValidationFailed(errors={"ends_at": ENDS_BEFORE})
    binding.ends_at = end
    uow.flush()
    return binding


def get_binding(uow, actor, *, binding_id: uuid.UUID, lock: bool = False) -> LoggerBinding:
    require(actor, "coldchain.view")
    query = sa.select(LoggerBinding).where(LoggerBinding.id == binding_id)
    found = uow.session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise BindingNotFound()
    return found


def bindings_of_logger(uow, actor, *, logger_id: uuid.UUID) -> list[LoggerBinding]:
    require(actor, "coldchain.view")
    return list(
        uow.session.scalars(
            sa.select(LoggerBinding).where(LoggerBinding.logger_id == logger_id).order_by(LoggerBinding.starts_at.desc())
        )
    )


def bindings_of_asn(uow, *, asn_id: uuid.UUID) -> list[LoggerBinding]:
    """Bindings to the ASN or one of its packages."""
    return list(
        uow.session.scalars(
            sa.select(LoggerBinding).where(LoggerBinding.asn_id == asn_id).order_by(LoggerBinding.starts_at)
        )
    )


def describe(uow, binding: LoggerBinding) -> str:
    """What a binding watches, as people name it: the ASN number, the SSCC, the location
    code or the lot number."""
    return labels(uow, [binding]).get(binding.id, "")


def labels(uow, bindings) -> dict[uuid.UUID, str]:
    bindings = list(bindings)
    asns = {b.asn_id for b in bindings if b.kind == "asn"}
    packages = {b.package_id for b in bindings if b.kind == "package"}
    found: dict[uuid.UUID, str] = {}
    numbers = dict(uow.execute(sa.select(Asn.id, Asn.number).where(Asn.id.in_(list(asns)))).all()) if asns else {}
    ssccs = (
        dict(uow.execute(sa.select(AsnPackage.id, AsnPackage.sscc).where(AsnPackage.id.in_(list(packages)))).all())
        if packages
        else {}
    )
    lots = inventory.lots_by_id(uow, ids={b.lot_id for b in bindings if b.kind == "lot"})
    places = inventory.locations_by_id(uow, ids={b.location_id for b in bindings if b.kind == "location"})
    for b in bindings:
        if b.kind == "asn":
            found[b.id] = numbers.get(b.asn_id, "")
        elif b.kind == "package":
            found[b.id] = ssccs.get(b.package_id, "")
        elif b.kind == "lot":
            found[b.id] = lots[b.lot_id].number if b.lot_id in lots else ""
        else:
            found[b.id] = places[b.location_id].code if b.location_id in places else ""
    return found


def asn_number(uow, *, asn_id: uuid.UUID) -> str | None:
    return uow.scalar(sa.select(Asn.number).where(Asn.id == asn_id))
