"""Production records (the genealogy), customers and customer shipments.

A production run says that a quantity of a finished lot of the tenant's own (a lot with
no supplier) was made from component lots and serials: the components' released stock
is consumed (an inventory "consume" movement referring to the run), a genealogy link is
written per component use, and the finished units go into stock, released, at a
production location (a "produce" movement). Finished devices are shippable at once: the
quality release of finished goods happens in the MES before it reports the run, and a
recall or excursion hold (status "on_hold") is what stops them. A customer shipment
moves released finished stock to "shipped" (a "ship" movement referring to it).

Each record comes from a screen, a CSV file or the API, and is idempotent by its
reference (a work order, a delivery number): the same reference with the same content
returns the first record, with other content it is refused. Everything is checked
before anything is written, and every problem is reported at once, keyed by field
("components.2.lot", "lines.0.quantity"); a refused record writes nothing.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy import orm

from auth.permissions import require, require_any
from erp.inventory import service as inventory
from erp.inventory.models import LOT_MAX, Location, Lot, Stock, StockMovement
from erp.items.models import Item
from erp.pagination import Page, check_limit, decode_cursor, decode_sort_cursor, encode_cursor, encode_sort_cursor
from erp.shipping.models import SERIAL_MAX
from erp.traceability.errors import CustomerNotFound, ProductionRunNotFound, ReferenceTaken, ShipmentNotFound
from erp.traceability.models import (
    REFERENCE_MAX,
    Customer,
    CustomerShipment,
    CustomerShipmentLine,
    GenealogyLink,
    ProductionRun,
)
from kernel.clock import utcnow
from kernel.errors import N_, REQUIRED, ValidationFailed, checked_text

READERS = ("production.record", "recall.run")
SOURCES = ("screen", "csv", "api", "epcis")
LOCALES = ("en", "zh_Hans_CN")
PRODUCTION_LOCATION = "PRODUCTION"
# A clock a few minutes ahead (an MES, a scanner) is not a time in the future.
CLOCK_SKEW = timedelta(minutes=5)
CODE_MAX = 40
NAME_MAX = 200
EMAIL_MAX = 254
ADDRESS_MAX = 1000
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
COUNTRY = re.compile(r"^[A-Z]{2}$")

# Field messages.
UNKNOWN_ITEM = N_("Choose an item of this organisation.")
UNKNOWN_LOT = N_("There is no lot %(lot)s of this item.")
AMBIGUOUS_LOT = N_("Several makers have a lot %(lot)s of this item: name the supplier.")
UNKNOWN_SERIAL = N_("There is no unit with serial %(serial)s of this item.")
SERIAL_OF_OTHER_LOT = N_("Serial %(serial)s belongs to lot %(other)s, not to lot %(lot)s.")
SERIAL_TWICE = N_("Serial %(serial)s is named twice.")
SERIAL_EXISTS = N_("Serial %(serial)s of this item exists already.")
SERIAL_COUNT = N_("Give one serial per unit made: %(quantity)s units, %(count)s serials.")
SERIAL_ONE = N_("A serialised unit is one: the quantity is 1.")
LOT_SERIALISED = N_("Lot %(lot)s is serialised: name the serial of each unit.")
QUANTITY_POSITIVE = N_("Enter a quantity greater than zero.")
IN_FUTURE = N_("This time is in the future.")
NEED_TIMEZONE = N_("Give the time with its time zone.")
NO_COMPONENTS = N_("Name at least one component consumed.")
NO_LINES = N_("Name at least one lot or serial shipped.")
NOT_A_RUN_SERIAL = N_("Serial %(serial)s is not one of the units this record makes.")
UNKNOWN_LOCATION = N_("Choose a location.")
UNKNOWN_SOURCE = N_("Choose one of the sources offered.")
UNKNOWN_CUSTOMER = N_("There is no such customer.")
EMAIL_ADDRESS = N_("Enter a valid email address.")
COUNTRY_CODE = N_("Enter the two-letter country code (ISO 3166), such as CN or DE.")
UNKNOWN_LOCALE = N_("Choose one of the languages offered.")
LOT_SHORT = N_("Lot %(lot)s has %(available)s released on hand; this record needs %(quantity)s.")
LOT_SHORT_HELD = N_(
    "Lot %(lot)s has %(available)s released on hand (%(held)s more are on hold or not released); this record needs %(quantity)s."
)
CYCLE_ITSELF = N_("Lot %(lot)s cannot be consumed into itself.")
CYCLE = N_("Lot %(component)s was made from lot %(lot)s (directly or through sub-assemblies): it cannot go into lot %(lot)s.")
UNIT_NOT_RELEASED = {
    "quarantine": N_("Serial %(serial)s is in quarantine: only released stock can be used."),
    "on_hold": N_("Serial %(serial)s is on hold: only released stock can be used."),
    "rejected": N_("Serial %(serial)s was rejected: only released stock can be used."),
    "consumed": N_("Serial %(serial)s was consumed already."),
    "shipped": N_("Serial %(serial)s was shipped already."),
}


@dataclass(frozen=True)
class ComponentUse:
    """One component consumed into a production run: a quantity of a lot (by number, of
    supplier_id's make when several makers use the number; or by lot_id), one serial when
    serialised (the lot may then be left out), and the finished serial it went into when
    the finished units are serialised."""

    item_id: uuid.UUID
    quantity: Decimal | int | str
    lot_number: str | None = None
    lot_id: uuid.UUID | None = None
    serial: str | None = None
    output_serial: str | None = None
    supplier_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ShippedUnit:
    """One line of a customer shipment: a quantity of a finished lot, or one serial (the
    lot may then be left out)."""

    item_id: uuid.UUID
    quantity: Decimal | int | str
    lot_number: str | None = None
    lot_id: uuid.UUID | None = None
    serial: str | None = None


@dataclass
class _Unit:
    """A component use or a shipped line, checked and resolved."""

    key: str  # "components.3", "lines.0"
    item: Item | None = None
    lot: Lot | None = None
    serial: str | None = None
    quantity: Decimal | None = None
    output_serial: str | None = None
    unit_stock: Stock | None = None  # the serial's row


@dataclass(frozen=True)
class RunRow:
    run: ProductionRun
    item: Item
    lot: Lot
    components: int


@dataclass(frozen=True)
class ComponentRow:
    link: GenealogyLink
    item: Item
    lot: Lot


@dataclass(frozen=True)
class RunDetail:
    run: ProductionRun
    item: Item
    lot: Lot
    location: Location | None
    serials: list[str]
    components: list[ComponentRow]
    shipped: Decimal  # of this run's lot, to customers so far


@dataclass(frozen=True)
class ShipmentRow:
    shipment: CustomerShipment
    customer: Customer
    lines: int
    quantity: Decimal


@dataclass(frozen=True)
class ShipmentLineRow:
    line: CustomerShipmentLine
    item: Item
    lot: Lot


@dataclass(frozen=True)
class ShipmentDetail:
    shipment: CustomerShipment
    customer: Customer
    lines: list[ShipmentLineRow] = field(default_factory=list)


class RecordInvalid(ValidationFailed):
    """Field problems with their own parameters (a lot number, an available quantity)."""

    def __init__(self, errors: dict[str, str], params: dict[str, dict]) -> None:
        super().__init__(errors=errors)
        self.params_by_field = {k: v for k, v in params.items() if k in errors}


# --- customers ----------------------------------------------------------------------------


def upsert_customer(uow, actor, *, code, name, email=None, address=None, country=None, locale="en") -> Customer:
    """The customer of this code, made or brought up to date: a name, email, address,
    country and language given replace what it had; one left out (None) is kept."""
    require(actor, "production.record")
    errors: dict[str, str] = {}
    code = checked_text(code, CODE_MAX, "code", errors, required=True)
    name = checked_text(name, NAME_MAX, "name", errors, required=True)
    email = checked_text(email, EMAIL_MAX, "email", errors)
    address = checked_text(address, ADDRESS_MAX, "address", errors)
    country = checked_text(country, 2, "country", errors)
    if email and "email" not in errors and not EMAIL.match(email):
        errors["email"] = EMAIL_ADDRESS
    if country:
        country = country.upper()
        if not COUNTRY.match(country):
            errors["country"] = COUNTRY_CODE
    locale = (locale or "en").strip()
    if locale not in LOCALES:
        errors["locale"] = UNKNOWN_LOCALE
    if errors:
        raise ValidationFailed(errors=errors)
    _lock(uow, "customer", code.upper())
    customer = uow.scalar(sa.select(Customer).where(sa.func.upper(Customer.code) == code.upper()).with_for_update())
    if customer is None:
        customer = Customer(code=code, name=name, email=email, address=address, country=country, locale=locale)
        uow.add(customer)
    else:
        customer.name = name
        for attribute, value in (("email", email), ("address", address), ("country", country)):
            if value is not None:
                setattr(customer, attribute, value)
        customer.locale = locale
    uow.flush()
    return customer


def get_customer(uow, actor, *, customer_id: uuid.UUID) -> Customer:
    require_any(actor, *READERS)
    customer = uow.scalar(sa.select(Customer).where(Customer.id == customer_id))
    if customer is None:
        raise CustomerNotFound()
    return customer


def customer_by_code(uow, actor, *, code: str) -> Customer | None:
    require_any(actor, *READERS)
    code = (code or "").strip()
    if not code:
        return None
    return uow.scalar(sa.select(Customer).where(sa.func.upper(Customer.code) == code.upper()))


def list_customers(uow, actor, *, q: str | None = None, limit: int = 50, cursor: str | None = None) -> Page[Customer]:
    """Customers by code; `q` finds the beginning of a code or a part of a name."""
    require_any(actor, *READERS)
    check_limit(limit)
    query = sa.select(Customer)
    if q and q.strip():
        text = q.strip()
        query = query.where(
            sa.or_(Customer.code.istartswith(text, autoescape=True), Customer.name.icontains(text, autoescape=True))
        )
    if cursor:
        code, row_id = decode_sort_cursor(cursor, sort="code", kind=str)
        query = query.where(sa.tuple_(Customer.code, Customer.id) > sa.tuple_(code, row_id))
    rows = list(uow.session.scalars(query.order_by(Customer.code, Customer.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_sort_cursor("code", rows[-1].code, rows[-1].id) if more else None)


# --- production ---------------------------------------------------------------------------


def record_production(
    uow,
    actor,
    *,
    reference: str,
    item_id: uuid.UUID,
    lot_number: str,
    quantity,
    produced_at: datetime,
    serials: list[str] | None = None,
    components: list[ComponentUse],
    location_id: uuid.UUID | None = None,
    expiry_date: date | None = None,
    source: str = "screen",
) -> ProductionRun:
    """Record that `quantity` of the tenant's own lot `lot_number` of `item_id` was made
    from `components` (see the module's docstring). Returns the run; the same reference
    sent again with the same content returns the first run."""
    require(actor, "production.record")
    errors: dict[str, str] = {}
    params: dict[str, dict] = {}
    reference = checked_text(reference, REFERENCE_MAX, "reference", errors, required=True)
    if source not in SOURCES:
        errors["source"] = UNKNOWN_SOURCE
    item = _item(uow, item_id, "item_id", errors)
    lot_number = checked_text(lot_number, LOT_MAX, "lot_number", errors, required=True)
    amount = _quantity(quantity, "quantity", errors)
    produced_at = _moment(produced_at, "produced_at", errors)
    finished_serials = _serials(serials or [], amount, errors, params)
    location = _location(uow, location_id, errors) if location_id else None
    if not components:
        errors["components"] = NO_COMPONENTS
    uses = [_component(uow, n, use, errors, params) for n, use in enumerate(components or [])]
    for use in uses:
        if use.output_serial is not None and use.output_serial not in finished_serials:
            errors[f"{use.key}.output_serial"] = NOT_A_RUN_SERIAL
            params[f"{use.key}.output_serial"] = {"serial": use.output_serial}
    _serials_once(uses, errors, params)
    if errors:
        _check_stock(uow, _sound(uses, errors), errors, params)  # all problems at once
        raise RecordInvalid(errors, params)

    _lock(uow, "production_run", reference)
    output_lot = uow.scalar(
        sa.select(Lot).where(Lot.item_id == item.id, Lot.supplier_id.is_(None), Lot.number == lot_number)
    )
    existing = uow.scalar(sa.select(ProductionRun).where(ProductionRun.reference == reference))
    if existing is not None:
        wanted = _run_content(item.id, lot_number, amount, produced_at, finished_serials, uses)
        if _stored_run_content(uow, existing) != wanted:
            raise ReferenceTaken(reference=reference)
        return existing

    _check_stock(uow, uses, errors, params)
    if output_lot is not None:
        _check_cycle(uow, output_lot, uses, errors, params)
    for serial in finished_serials:
        taken = uow.scalar(sa.select(Stock.id).where(Stock.item_id == item.id, Stock.serial == serial).limit(1))
        if taken is not None:
            key = f"serials.{finished_serials.index(serial)}"
            errors[key] = SERIAL_EXISTS
            params[key] = {"serial": serial}
    if errors:
        raise RecordInvalid(errors, params)

    if output_lot is None:
        output_lot = Lot(
            item_id=item.id, supplier_id=None, number=lot_number, production_date=produced_at.date(), expiry_date=expiry_date
        )
        uow.add(output_lot)
        uow.flush()
    location = location or _production_location(uow)
    run = ProductionRun(
        reference=reference,
        item_id=item.id,
        lot_id=output_lot.id,
        quantity=amount,
        location_id=location.id,
        produced_at=produced_at,
        recorded_by=actor.user_id,
        source=source,
    )
    uow.add(run)
    uow.flush()
    uow.reason = f"Production {reference}"
    link = ("production_run", run.id)
    _take(uow, actor, uses, status="consumed", kind="consume", reference=link)
    for use in uses:
        uow.add(
            GenealogyLink(
                production_run_id=run.id,
                output_lot_id=output_lot.id,
                output_serial=use.output_serial,
                input_item_id=use.item.id,
                input_lot_id=use.lot.id,
                input_serial=use.serial,
                quantity=use.quantity,
            )
        )
    status = "released"
    if finished_serials:
        for serial in finished_serials:
            inventory.add_stock(
                uow, actor, item_id=item.id, lot_id=output_lot.id, location_id=location.id, status=status,
                quantity=Decimal(1), serial=serial, reference=link,
            )
    else:
        inventory.add_stock(
            uow, actor, item_id=item.id, lot_id=output_lot.id, location_id=location.id, status=status,
            quantity=amount, reference=link,
        )
    uow.flush()
    return run


def list_production_runs(
    uow, actor, *, q: str | None = None, lot_id: uuid.UUID | None = None, limit: int = 50, cursor: str | None = None
) -> Page[RunRow]:
    """Production records, newest first; `q` finds the beginning of a reference or a
    finished lot number."""
    require_any(actor, *READERS)
    check_limit(limit)
    query = sa.select(ProductionRun)
    if q and q.strip():
        text = q.strip()
        lots = sa.select(Lot.id).where(Lot.number.istartswith(text, autoescape=True), Lot.supplier_id.is_(None))
        query = query.where(
            sa.or_(ProductionRun.reference.istartswith(text, autoescape=True), ProductionRun.lot_id.in_(lots))
        )
    if lot_id is not None:
        query = query.where(ProductionRun.lot_id == lot_id)
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(ProductionRun.created_at, ProductionRun.id) < sa.tuple_(created_at, row_id))
    runs = list(
        uow.session.scalars(query.order_by(ProductionRun.created_at.desc(), ProductionRun.id.desc()).limit(limit + 1))
    )
    more = len(runs) > limit
    runs = runs[:limit]
    counts = dict(
        uow.execute(
            sa.select(GenealogyLink.production_run_id, sa.func.count())
            .where(GenealogyLink.production_run_id.in_([r.id for r in runs]))
            .group_by(GenealogyLink.production_run_id)
        ).all()
    ) if runs else {}
    items = inventory.items_by_id(uow, ids=[r.item_id for r in runs])
    lots = inventory.lots_by_id(uow, ids=[r.lot_id for r in runs])
    rows = [RunRow(run=r, item=items[r.item_id], lot=lots[r.lot_id], components=counts.get(r.id, 0)) for r in runs]
    return Page(items=rows, next_cursor=encode_cursor(runs[-1].created_at, runs[-1].id) if more else None)


def get_production_run(uow, actor, *, run_id: uuid.UUID) -> RunDetail:
    """A production record with its finished serials and the components it consumed."""
    require_any(actor, *READERS)
    run = uow.scalar(sa.select(ProductionRun).where(ProductionRun.id == run_id))
    if run is None:
        raise ProductionRunNotFound()
    links = list(
        uow.session.scalars(
            sa.select(GenealogyLink).where(GenealogyLink.production_run_id == run.id).order_by(GenealogyLink.id)
        )
    )
    items = inventory.items_by_id(uow, ids=[run.item_id, *(k.input_item_id for k in links)])
    lots = inventory.lots_by_id(uow, ids=[run.lot_id, *(k.input_lot_id for k in links)])
    location = inventory.locations_by_id(uow, ids=[run.location_id]).get(run.location_id)
    shipped = uow.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CustomerShipmentLine.quantity), 0)).where(
            CustomerShipmentLine.lot_id == run.lot_id
        )
    )
    return RunDetail(
        run=run,
        item=items[run.item_id],
        lot=lots[run.lot_id],
        location=location,
        serials=_run_serials(uow, run),
        components=[ComponentRow(link=k, item=items[k.input_item_id], lot=lots[k.input_lot_id]) for k in links],
        shipped=Decimal(shipped),
    )


# --- customer shipments -------------------------------------------------------------------


def record_shipment(
    uow,
    actor,
    *,
    reference: str,
    customer_id: uuid.UUID,
    shipped_at: datetime,
    ship_to_address: str | None = None,
    lines: list[ShippedUnit],
    source: str = "screen",
) -> CustomerShipment:
    """Record finished lots and serials shipped to a customer: their released stock goes
    to "shipped". Stock on hold (a recall, an excursion) or not released cannot be
    shipped. The same reference sent again with the same content returns the first."""
    require(actor, "production.record")
    errors: dict[str, str] = {}
    params: dict[str, dict] = {}
    reference = checked_text(reference, REFERENCE_MAX, "reference", errors, required=True)
    if source not in SOURCES:
        errors["source"] = UNKNOWN_SOURCE
    customer = uow.scalar(sa.select(Customer).where(Customer.id == customer_id)) if customer_id else None
    if customer is None:
        errors["customer_id"] = UNKNOWN_CUSTOMER if customer_id else REQUIRED
    ship_to_address = checked_text(ship_to_address, ADDRESS_MAX, "ship_to_address", errors)
    shipped_at = _moment(shipped_at, "shipped_at", errors)
    if not lines:
        errors["lines"] = NO_LINES
    units = [_shipped(uow, n, line, errors, params) for n, line in enumerate(lines or [])]
    _serials_once(units, errors, params)
    if errors:
        _check_stock(uow, _sound(units, errors), errors, params)  # all problems at once
        raise RecordInvalid(errors, params)

    _lock(uow, "customer_shipment", reference)
    existing = uow.scalar(sa.select(CustomerShipment).where(CustomerShipment.reference == reference))
    if existing is not None:
        same = existing.customer_id == customer.id and existing.shipped_at == shipped_at
        same = same and (ship_to_address is None or ship_to_address == existing.ship_to_address)
        if not same or _stored_lines(uow, existing) != _lines_content(units):
            raise ReferenceTaken(reference=reference)
        return existing

    _check_stock(uow, units, errors, params)
    if errors:
        raise RecordInvalid(errors, params)
    shipment = CustomerShipment(
        reference=reference,
        customer_id=customer.id,
        ship_to_address=ship_to_address or customer.address,
        shipped_at=shipped_at,
        recorded_by=actor.user_id,
        source=source,
    )
    uow.add(shipment)
    uow.flush()
    uow.reason = f"Shipment {reference}"
    for unit in units:
        uow.add(
            CustomerShipmentLine(
                shipment_id=shipment.id, item_id=unit.item.id, lot_id=unit.lot.id, serial=unit.serial, quantity=unit.quantity
            )
        )
    _take(uow, actor, units, status="shipped", kind="ship", reference=("customer_shipment", shipment.id))
    uow.flush()
    return shipment


def list_shipments(
    uow,
    actor,
    *,
    customer_id: uuid.UUID | None = None,
    lot_id: uuid.UUID | None = None,
    q: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ShipmentRow]:
    """Customer shipments, newest first, of one customer or carrying one lot when given;
    `q` finds the beginning of a reference."""
    require_any(actor, *READERS)
    check_limit(limit)
    query = sa.select(CustomerShipment)
    if customer_id is not None:
        query = query.where(CustomerShipment.customer_id == customer_id)
    if lot_id is not None:
        carrying = sa.select(CustomerShipmentLine.shipment_id).where(CustomerShipmentLine.lot_id == lot_id)
        query = query.where(CustomerShipment.id.in_(carrying))
    if q and q.strip():
        query = query.where(CustomerShipment.reference.istartswith(q.strip(), autoescape=True))
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(CustomerShipment.created_at, CustomerShipment.id) < sa.tuple_(created_at, row_id))
    shipments = list(
        uow.session.scalars(
            query.order_by(CustomerShipment.created_at.desc(), CustomerShipment.id.desc()).limit(limit + 1)
        )
    )
    more = len(shipments) > limit
    shipments = shipments[:limit]
    totals = {}
    customers = {}
    if shipments:
        totals = {
            row[0]: (row[1], row[2])
            for row in uow.execute(
                sa.select(
                    CustomerShipmentLine.shipment_id, sa.func.count(), sa.func.sum(CustomerShipmentLine.quantity)
                )
                .where(CustomerShipmentLine.shipment_id.in_([s.id for s in shipments]))
                .group_by(CustomerShipmentLine.shipment_id)
            ).all()
        }
        ids = list({s.customer_id for s in shipments})
        customers = {c.id: c for c in uow.session.scalars(sa.select(Customer).where(Customer.id.in_(ids)))}
    rows = [
        ShipmentRow(
            shipment=s,
            customer=customers[s.customer_id],
            lines=totals.get(s.id, (0, Decimal(0)))[0],
            quantity=Decimal(totals.get(s.id, (0, Decimal(0)))[1]),
        )
        for s in shipments
    ]
    return Page(items=rows, next_cursor=encode_cursor(shipments[-1].created_at, shipments[-1].id) if more else None)


def get_shipment(uow, actor, *, shipment_id: uuid.UUID) -> ShipmentDetail:
    require_any(actor, *READERS)
    shipment = uow.scalar(sa.select(CustomerShipment).where(CustomerShipment.id == shipment_id))
    if shipment is None:
        raise ShipmentNotFound()
    lines = list(
        uow.session.scalars(
            sa.select(CustomerShipmentLine)
            .where(CustomerShipmentLine.shipment_id == shipment.id)
            .order_by(CustomerShipmentLine.id)
        )
    )
    items = inventory.items_by_id(uow, ids=[line.item_id for line in lines])
    lots = inventory.lots_by_id(uow, ids=[line.lot_id for line in lines])
    customer = uow.scalar(sa.select(Customer).where(Customer.id == shipment.customer_id))
    return ShipmentDetail(
        shipment=shipment,
        customer=customer,
        lines=[ShipmentLineRow(line=line, item=items[line.item_id], lot=lots[line.lot_id]) for line in lines],
    )


# --- lookups for the entry paths ---------------------------------------------------------


NO_SUCH_ID = uuid.UUID(int=0)  # an id no item has: "choose an item" for a code that names none


def item_id_for_code(uow, code: str | None) -> uuid.UUID | None:
    """The item whose part number or UDI-DI (GTIN) is `code` (None for no code; an id no
    item has for a code that names none, so the service says it is unknown)."""
    code = (code or "").strip()
    if not code:
        return None
    found = uow.scalar(
        sa.select(Item.id).where(sa.or_(sa.func.upper(Item.part_number) == code.upper(), Item.udi_di == code)).limit(1)
    )
    if found is None and code.isdigit() and len(code) < 14:
        found = uow.scalar(sa.select(Item.id).where(Item.udi_di == code.zfill(14)).limit(1))  # a GTIN-13 or -12
    return found or NO_SUCH_ID


def run_by_reference(uow, actor, *, reference: str) -> ProductionRun | None:
    require_any(actor, *READERS)
    return uow.scalar(sa.select(ProductionRun).where(ProductionRun.reference == (reference or "").strip()))


def shipment_by_reference(uow, actor, *, reference: str) -> CustomerShipment | None:
    require_any(actor, *READERS)
    return uow.scalar(sa.select(CustomerShipment).where(CustomerShipment.reference == (reference or "").strip()))


# --- checking -----------------------------------------------------------------------------


def _lock(uow, kind: str, key: str) -> None:
    """Two requests recording one reference at once: the second waits for the first,
    then finds its record (idempotent) instead of failing on the unique key."""
    uow.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"{kind}:{key}", 0))))


def _item(uow, item_id, key: str, errors: dict, *, required: bool = True) -> Item | None:
    if not item_id:
        if required:
            errors[key] = REQUIRED
        return None
    try:
        item_id = item_id if isinstance(item_id, uuid.UUID) else uuid.UUID(str(item_id))
    except ValueError:
        errors[key] = UNKNOWN_ITEM
        return None
    item = uow.scalar(sa.select(Item).where(Item.id == item_id))
    if item is None:
        errors[key] = UNKNOWN_ITEM
    return item


def _quantity(value, key: str, errors: dict) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -4 or amount >= 10**14:
        errors[key] = QUANTITY_POSITIVE
        return None
    return amount


def _moment(value, key: str, errors: dict) -> datetime | None:
    if value is None or value == "":
        errors[key] = REQUIRED
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            errors[key] = NEED_TIMEZONE
            return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        errors[key] = NEED_TIMEZONE
        return None
    if value > utcnow() + CLOCK_SKEW:
        errors[key] = IN_FUTURE
    return value


def _serials(serials: list[str], amount: Decimal | None, errors: dict, params: dict) -> list[str]:
    cleaned: list[str] = []
    for n, serial in enumerate(serials):
        serial = (serial or "").strip()
        key = f"serials.{n}"
        if not serial:
            continue
        if len(serial) > SERIAL_MAX:
            errors[key] = N_("This is too long.")
        elif serial in cleaned:
            errors[key] = SERIAL_TWICE
            params[key] = {"serial": serial}
        cleaned.append(serial)
    if cleaned and amount is not None and Decimal(len(cleaned)) != amount:
        errors["serials"] = SERIAL_COUNT
        params["serials"] = {"quantity": inventory.plain_quantity(amount), "count": str(len(cleaned))}
    return cleaned


def _location(uow, location_id, errors: dict) -> Location | None:
    try:
        location_id = location_id if isinstance(location_id, uuid.UUID) else uuid.UUID(str(location_id))
    except ValueError:
        errors["location_id"] = UNKNOWN_LOCATION
        return None
    found = inventory.locations_by_id(uow, ids=[location_id]).get(location_id)
    if found is None:
        errors["location_id"] = UNKNOWN_LOCATION
    return found


def _production_location(uow) -> Location:
    """The tenant's first production location, or one made as PRODUCTION the first time."""
    found = uow.scalar(
        sa.select(Location).where(Location.kind == "production").order_by(Location.created_at, Location.id).limit(1)
    )
    if found is not None:
        return found
    code = PRODUCTION_LOCATION
    if uow.scalar(sa.select(Location.id).where(sa.func.upper(Location.code) == code)) is not None:
        code = f"{PRODUCTION_LOCATION}-{uuid.uuid4().hex[:8].upper()}"
    location = Location(code=code, name="Production", kind="production")
    uow.add(location)
    uow.flush()
    return location


def _unit(uow, key: str, item_id, quantity, lot_number, lot_id, serial, supplier_id, errors, params) -> _Unit:
    unit = _Unit(key=key)
    unit.item = _item(uow, item_id, f"{key}.item_id", errors)
    unit.quantity = _quantity(quantity, f"{key}.quantity", errors)
    serial = (serial or "").strip() or None
    if serial is not None and len(serial) > SERIAL_MAX:
        errors[f"{key}.serial"] = N_("This is too long.")
        serial = None
    unit.serial = serial
    if serial is not None and unit.quantity is not None and unit.quantity != 1:
        errors[f"{key}.quantity"] = SERIAL_ONE
    if unit.item is None:
        return unit
    lot_number = (lot_number or "").strip() or None
    if lot_id is not None:
        unit.lot = uow.scalar(sa.select(Lot).where(Lot.id == lot_id, Lot.item_id == unit.item.id))
        if unit.lot is None:
            errors[f"{key}.lot"] = UNKNOWN_LOT
            params[f"{key}.lot"] = {"lot": lot_number or str(lot_id)}
    elif lot_number is not None:
        query = sa.select(Lot).where(Lot.item_id == unit.item.id, Lot.number == lot_number)
        if supplier_id is not None:
            query = query.where(Lot.supplier_id == supplier_id)
        found = list(uow.session.scalars(query.order_by(Lot.created_at).limit(10)))
        own = [lot for lot in found if lot.supplier_id is None]
        if len(found) == 1:
            unit.lot = found[0]
        elif len(own) == 1 and supplier_id is None and key.startswith("lines"):
            unit.lot = own[0]  # a shipment ships the tenant's own lots first
        elif found:
            errors[f"{key}.lot"] = AMBIGUOUS_LOT
            params[f"{key}.lot"] = {"lot": lot_number}
        else:
            errors[f"{key}.lot"] = UNKNOWN_LOT
            params[f"{key}.lot"] = {"lot": lot_number}
    elif serial is None:
        errors[f"{key}.lot"] = REQUIRED
    if serial is not None:
        unit.unit_stock = uow.scalar(
            sa.select(Stock).where(Stock.item_id == unit.item.id, Stock.serial == serial).limit(1)
        )
        if unit.unit_stock is None:
            errors[f"{key}.serial"] = UNKNOWN_SERIAL
            params[f"{key}.serial"] = {"serial": serial}
        elif unit.lot is None and f"{key}.lot" not in errors:
            unit.lot = inventory.lots_by_id(uow, ids=[unit.unit_stock.lot_id]).get(unit.unit_stock.lot_id)
            if unit.lot is None:
                errors[f"{key}.serial"] = UNKNOWN_SERIAL
                params[f"{key}.serial"] = {"serial": serial}
        elif unit.lot is not None and unit.unit_stock.lot_id != unit.lot.id:
            other = inventory.lots_by_id(uow, ids=[unit.unit_stock.lot_id]).get(unit.unit_stock.lot_id)
            errors[f"{key}.serial"] = SERIAL_OF_OTHER_LOT
            params[f"{key}.serial"] = {"serial": serial, "lot": unit.lot.number, "other": other.number if other else "—"}
    return unit


def _component(uow, n: int, use: ComponentUse, errors: dict, params: dict) -> _Unit:
    unit = _unit(
        uow, f"components.{n}", use.item_id, use.quantity, use.lot_number, use.lot_id, use.serial, use.supplier_id,
        errors, params,
    )
    output_serial = (use.output_serial or "").strip() or None
    unit.output_serial = output_serial
    return unit


def _shipped(uow, n: int, line: ShippedUnit, errors: dict, params: dict) -> _Unit:
    return _unit(uow, f"lines.{n}", line.item_id, line.quantity, line.lot_number, line.lot_id, line.serial, None, errors, params)


def _serials_once(units: list[_Unit], errors: dict, params: dict) -> None:
    seen: set[tuple] = set()
    for unit in units:
        if unit.serial is None or unit.item is None:
            continue
        if (unit.item.id, unit.serial) in seen:
            errors[f"{unit.key}.serial"] = SERIAL_TWICE
            params[f"{unit.key}.serial"] = {"serial": unit.serial}
        seen.add((unit.item.id, unit.serial))


def _sound(units: list[_Unit], errors: dict) -> list[_Unit]:
    """The units without a problem of their own (their stock can still be checked)."""
    return [u for u in units if u.lot is not None and not any(k.startswith(f"{u.key}.") for k in errors)]


def _check_stock(uow, units: list[_Unit], errors: dict, params: dict) -> None:
    """Every unit is released stock on hand, and each lot has enough of it (locked until
    the end of the transaction, so two records cannot take the same stock)."""
    needed: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    first_key: dict[uuid.UUID, str] = {}
    lots: dict[uuid.UUID, Lot] = {}
    for unit in units:
        if unit.serial is not None:
            row = uow.scalar(sa.select(Stock).where(Stock.id == unit.unit_stock.id).with_for_update())
            if row.status != "released" or row.quantity <= 0:
                key = f"{unit.key}.serial"
                errors[key] = UNIT_NOT_RELEASED.get(row.status, UNIT_NOT_RELEASED["consumed"])
                params[key] = {"serial": unit.serial}
            unit.unit_stock = row
            continue
        needed[unit.lot.id] += unit.quantity
        first_key.setdefault(unit.lot.id, f"{unit.key}.quantity")
        lots[unit.lot.id] = unit.lot
    for lot_id, quantity in needed.items():
        rows = inventory.stock_of_lot(uow, lot_id=lot_id, statuses=("released", "quarantine", "on_hold"), lock=True)
        loose = [r for r in rows if r.serial is None]
        available = sum((r.quantity for r in loose if r.status == "released"), Decimal(0))
        if available >= quantity:
            continue
        key = first_key[lot_id]
        held = sum((r.quantity for r in loose if r.status != "released"), Decimal(0))
        values = {
            "lot": lots[lot_id].number,
            "available": inventory.plain_quantity(available),
            "quantity": inventory.plain_quantity(quantity),
            "held": inventory.plain_quantity(held),
        }
        if not loose and rows:
            errors[key] = LOT_SERIALISED
        else:
            errors[key] = LOT_SHORT_HELD if held else LOT_SHORT
        params[key] = values


def _check_cycle(uow, output_lot: Lot, uses: list[_Unit], errors: dict, params: dict) -> None:
    """A component lot that is the output lot, or that the output lot went into (at any
    depth, walking the genealogy forward from the output lot), would close a cycle."""
    for use in uses:
        if use.lot.id == output_lot.id:
            errors[f"{use.key}.lot"] = CYCLE_ITSELF
            params[f"{use.key}.lot"] = {"lot": output_lot.number}
    component_ids = list({u.lot.id for u in uses} - {output_lot.id})
    if not component_ids:
        return
    link = orm.aliased(GenealogyLink)
    downstream = (
        sa.select(GenealogyLink.output_lot_id.label("lot_id"))
        .where(GenealogyLink.input_lot_id == output_lot.id)
        .cte("downstream", recursive=True)
    )
    downstream = downstream.union(
        sa.select(link.output_lot_id).join(downstream, link.input_lot_id == downstream.c.lot_id)
    )
    closing = set(uow.session.scalars(sa.select(downstream.c.lot_id).where(downstream.c.lot_id.in_(component_ids))))
    for use in uses:
        if use.lot.id in closing:
            errors[f"{use.key}.lot"] = CYCLE
            params[f"{use.key}.lot"] = {"component": use.lot.number, "lot": output_lot.number}


def _take(uow, actor, units: list[_Unit], *, status: str, kind: str, reference) -> None:
    """Move the units' released stock to `status` (checked and locked by _check_stock)."""
    for unit in units:
        if unit.serial is not None:
            inventory.change_status(uow, actor, stock=unit.unit_stock, status=status, kind=kind, reference=reference)
            continue
        left = unit.quantity
        for row in inventory.stock_of_lot(uow, lot_id=unit.lot.id, statuses=("released",), lock=True):
            if row.serial is not None or left <= 0:
                continue
            part = min(left, row.quantity)
            inventory.change_status(uow, actor, stock=row, status=status, kind=kind, quantity=part, reference=reference)
            left -= part


# --- idempotency: the content of a record, as sent and as stored --------------------------


def _q(value: Decimal) -> str:
    return inventory.plain_quantity(Decimal(value))


def _run_content(item_id, lot_number, amount, produced_at, serials, uses: list[_Unit]) -> tuple:
    components = sorted(
        (str(u.item.id), str(u.lot.id), u.serial or "", _q(u.quantity), u.output_serial or "") for u in uses
    )
    return (str(item_id), lot_number, _q(amount), produced_at, tuple(sorted(serials)), tuple(components))


def _stored_run_content(uow, run: ProductionRun) -> tuple:
    lot = inventory.lots_by_id(uow, ids=[run.lot_id])[run.lot_id]
    links = uow.session.scalars(sa.select(GenealogyLink).where(GenealogyLink.production_run_id == run.id))
    components = sorted(
        (str(k.input_item_id), str(k.input_lot_id), k.input_serial or "", _q(k.quantity), k.output_serial or "")
        for k in links
    )
    serials = tuple(sorted(_run_serials(uow, run)))
    return (str(run.item_id), lot.number, _q(run.quantity), run.produced_at, serials, tuple(components))


def _run_serials(uow, run: ProductionRun) -> list[str]:
    return list(
        uow.session.scalars(
            sa.select(StockMovement.serial)
            .where(
                StockMovement.reference_kind == "production_run",
                StockMovement.reference_id == run.id,
                StockMovement.kind == "produce",
                StockMovement.serial.is_not(None),
            )
            .order_by(StockMovement.serial)
        )
    )


def _lines_content(units: list[_Unit]) -> list:
    return sorted((str(u.item.id), str(u.lot.id), u.serial or "", _q(u.quantity)) for u in units)


def _stored_lines(uow, shipment: CustomerShipment) -> list:
    lines = uow.session.scalars(sa.select(CustomerShipmentLine).where(CustomerShipmentLine.shipment_id == shipment.id))
    return sorted((str(k.item_id), str(k.lot_id), k.serial or "", _q(k.quantity)) for k in lines)
