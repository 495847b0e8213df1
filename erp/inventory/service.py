"""Stock: where every lot is and in what state, and the movements that put it there.

Stock rows change only through this module (and receiving's receipts, which write the
first rows). Each change writes a StockMovement: the movements are the history that
answers "where has this lot been". A serialised unit is one row of quantity 1 and moves
whole; a partial move or consumption of a quantity splits the row, the part that goes
joining a row of the same item, lot, status and place if one is there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from auth.permissions import require, require_any
from erp.inventory.models import STOCK_STATUSES, Location, Lot, Stock, StockMovement
from erp.items.models import Item
from erp.pagination import Page, check_limit, decode_cursor, encode_cursor
from kernel.errors import N_, Conflict, NotFound, ValidationFailed
from kernel.ids import new_id

# Labels of the stock statuses and movement kinds, translated where shown.
STATUS_LABELS = {
    "quarantine": N_("Quarantine"),
    "released": N_("Released"),
    "on_hold": N_("On hold"),
    "rejected": N_("Rejected"),
    "consumed": N_("Consumed"),
    "shipped": N_("Shipped"),
    "returned": N_("Returned to supplier"),
    "scrapped": N_("Scrapped"),
}
MOVEMENT_LABELS = {
    "receipt": N_("Received"),
    "move": N_("Moved"),
    "release": N_("Released"),
    "reject": N_("Rejected"),
    "hold": N_("Put on hold"),
    "consume": N_("Consumed"),
    "ship": N_("Shipped"),
    "adjust": N_("Adjusted"),
    "produce": N_("Produced"),
    "return": N_("Returned to supplier"),
    "scrap": N_("Scrapped"),
    "rework": N_("Sent to rework"),
    "concession": N_("Accepted as is (concession)"),
}
# Stock that has left: it stays as history and does not move again.
GONE = ("consumed", "shipped", "returned", "scrapped")
MAX_REFERENCE = 60

LOT_NOT_FOUND = N_("This lot does not exist.")
STOCK_NOT_FOUND = N_("This stock does not exist, or it is no longer there.")
LOCATION_NOT_FOUND = N_("Choose a location of this organisation.")
QUANTITY_POSITIVE = N_("Enter a quantity greater than zero.")
MORE_THAN_THERE = N_("Only %(available)s are there: move or consume at most that.")
SERIAL_WHOLE = N_("A serialised unit moves whole: the quantity is 1.")
SAME_LOCATION = N_("The stock is already in this location. Choose another one.")
STOCK_GONE = N_("This stock was consumed or shipped; it cannot move any more.")
STOCK_DISPOSED = N_("This stock was returned to its supplier or scrapped; it cannot move any more.")
# Why stock that is not released cannot be consumed, by its status.
NOT_RELEASED = {
    "quarantine": N_("This stock is in quarantine: quality has not released it. Only released stock can be consumed."),
    "on_hold": N_("This stock is on hold. Only released stock can be consumed."),
    "rejected": N_("This stock was rejected. Only released stock can be consumed."),
    "consumed": STOCK_GONE,
    "shipped": STOCK_GONE,
    "returned": STOCK_DISPOSED,
    "scrapped": STOCK_DISPOSED,
}


@dataclass(frozen=True)
class LotWhereabouts:
    lot: Lot
    stock: list[Stock]  # quantities on hand (zero rows left out), by location and status
    movements: list[StockMovement]  # oldest first


# --- reading -------------------------------------------------------------------------------


def locations(uow) -> list[Location]:
    return list(uow.session.scalars(sa.select(Location).order_by(Location.code)))


def locations_by_id(uow, *, ids) -> dict[uuid.UUID, Location]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {row.id: row for row in uow.session.scalars(sa.select(Location).where(Location.id.in_(ids)))}


def items_by_id(uow, *, ids) -> dict[uuid.UUID, Item]:
    """The items of stock, lots and inspections, to name them beside the rows."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {row.id: row for row in uow.session.scalars(sa.select(Item).where(Item.id.in_(ids)))}


def udi_text(item: Item | None, lot: Lot | None, serial: str | None) -> str | None:
    """A unit's UDI as people read it: for GS1, the element string in brackets with the
    UDI-DI, expiry, lot and serial; for other agencies the UDI-DI and the identifiers."""
    if item is None or not item.udi_di:
        return None
    if item.issuing_agency == "GS1":
        parts = [f"(01){item.udi_di}"]
        if lot is not None and lot.expiry_date:
            parts.append(f"(17){lot.expiry_date:%y%m%d}")
        if lot is not None:
            parts.append(f"(10){lot.number}")
        if serial:
            parts.append(f"(21){serial}")
        return "".join(parts)
    return " ".join(p for p in (item.udi_di, lot.number if lot else None, serial) if p)


def lots_by_id(uow, *, ids) -> dict[uuid.UUID, Lot]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {row.id: row for row in uow.session.scalars(sa.select(Lot).where(Lot.id.in_(ids)))}


def get_lot(uow, *, lot_id: uuid.UUID) -> Lot:
    lot = uow.session.scalars(sa.select(Lot).where(Lot.id == lot_id)).first()
    if lot is None:
        raise NotFound(LOT_NOT_FOUND)
    return lot


def stock_rows(
    uow,
    actor,
    *,
    item_id: uuid.UUID | None = None,
    lot: str | None = None,
    serial: str | None = None,
    status: str | None = None,
    location_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[Stock]:
    """Stock on hand, newest first, filtered by item, lot number (its beginning), serial,
    status and location. Rows that went to zero are left out."""
    require(actor, "stock.view")
    check_limit(limit)
    if status is not None and status not in STOCK_STATUSES:
        raise ValidationFailed(errors={"status": N_("Choose one of the statuses offered.")})
    query = sa.select(Stock).where(Stock.quantity > 0)
    if item_id is not None:
        query = query.where(Stock.item_id == item_id)
    if lot:
        numbers = sa.select(Lot.id).where(Lot.number.startswith(lot.strip(), autoescape=True))
        query = query.where(Stock.lot_id.in_(numbers))
    if serial:
        query = query.where(Stock.serial == serial.strip())
    if status is not None:
        query = query.where(Stock.status == status)
    if location_id is not None:
        query = query.where(Stock.location_id == location_id)
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(Stock.created_at, Stock.id) < sa.tuple_(created_at, row_id))
    rows = list(uow.session.scalars(query.order_by(Stock.created_at.desc(), Stock.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)


def where_is_lot(uow, actor, *, lot_id: uuid.UUID) -> LotWhereabouts:
    """A lot's stock now (by location and status) and every movement it made."""
    require_any(actor, "stock.view", "inspection.record", "lot.release")
    lot = get_lot(uow, lot_id=lot_id)
    stock = uow.session.scalars(
        sa.select(Stock)
        .where(Stock.lot_id == lot.id, Stock.quantity > 0)
        .order_by(Stock.location_id, Stock.status, Stock.serial.nulls_first(), Stock.id)
    )
    movements = uow.session.scalars(
        sa.select(StockMovement).where(StockMovement.lot_id == lot.id).order_by(StockMovement.moved_at, StockMovement.id)
    )
    return LotWhereabouts(lot=lot, stock=list(stock), movements=list(movements))


def stock_of_lot(uow, *, lot_id: uuid.UUID, statuses, lock: bool = False) -> list[Stock]:
    """The lot's rows on hand in these statuses (for receiving's inspection and release)."""
    query = (
        sa.select(Stock)
        .where(Stock.lot_id == lot_id, Stock.status.in_(statuses), Stock.quantity > 0)
        .order_by(Stock.created_at, Stock.id)
    )
    return list(uow.session.scalars(query.with_for_update() if lock else query))


def get_stock(uow, actor, *, stock_id: uuid.UUID, lock: bool = False) -> Stock:
    require_any(actor, "stock.view", "stock.move")
    query = sa.select(Stock).where(Stock.id == stock_id, Stock.quantity > 0)
    stock = uow.session.scalars(query.with_for_update() if lock else query).first()
    if stock is None:
        raise NotFound(STOCK_NOT_FOUND)
    return stock


# --- reading for a trace (erp.traceability.trace): set-based, no permission of their own --


def item_by_code(uow, *, code: str) -> Item | None:
    """The item whose UDI-DI or part number this is (a trace's start typed by hand)."""
    code = (code or "").strip()
    if not code:
        return None
    found = uow.session.scalars(sa.select(Item).where(Item.udi_di == code)).first()
    return found or uow.session.scalars(sa.select(Item).where(Item.part_number == code)).first()


def lots_numbered(uow, *, number: str, item_id: uuid.UUID | None = None, limit: int = 100) -> list[Lot]:
    """The lots of this number (of one item, or of any: several items may use a number)."""
    query = sa.select(Lot).where(Lot.number == number)
    if item_id is not None:
        query = query.where(Lot.item_id == item_id)
    return list(uow.session.scalars(query.order_by(Lot.item_id, Lot.id).limit(limit)))


def lots_of_supplier(uow, *, supplier_id: uuid.UUID, limit: int) -> list[Lot]:
    """A supplier's lots, newest first."""
    query = sa.select(Lot).where(Lot.supplier_id == supplier_id).order_by(Lot.created_at.desc(), Lot.id.desc())
    return list(uow.session.scalars(query.limit(limit)))


def serial_units(uow, *, serial: str, item_id: uuid.UUID | None = None) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    """(item, lot) of the stock rows of this serial number."""
    query = sa.select(Stock.item_id, Stock.lot_id).where(Stock.serial == serial)
    if item_id is not None:
        query = query.where(Stock.item_id == item_id)
    return {(row.item_id, row.lot_id) for row in uow.execute(query.distinct())}


def stock_by_lot(uow, *, lot_ids) -> list:
    """Rows (lot_id, status, location_id, quantity) of these lots' stock, summed by status
    and location, zero rows left out; consumed and shipped stock included (where it went)."""
    ids = list({i for i in lot_ids if i})
    if not ids:
        return []
    query = (
        sa.select(Stock.lot_id, Stock.status, Stock.location_id, sa.func.sum(Stock.quantity).label("quantity"))
        .where(Stock.lot_id.in_(ids), Stock.quantity > 0)
        .group_by(Stock.lot_id, Stock.status, Stock.location_id)
    )
    return uow.execute(query).all()


def stock_by_serial(uow, *, units) -> list:
    """Rows (item_id, serial, lot_id, status, location_id, quantity) of these (item, serial) units."""
    units = list({(i, s) for i, s in units if i and s})
    if not units:
        return []
    query = sa.select(Stock.item_id, Stock.serial, Stock.lot_id, Stock.status, Stock.location_id, Stock.quantity).where(
        sa.tuple_(Stock.item_id, Stock.serial).in_(units), Stock.quantity > 0
    )
    return uow.execute(query).all()


# --- changing ------------------------------------------------------------------------------


def move_stock(uow, actor, *, stock_id: uuid.UUID, to_location_id: uuid.UUID | None, quantity) -> Stock:
    """Move stock (all of a row, or part of a quantity) to another location; the status
    stays. Returns the row at the destination."""
    require(actor, "stock.move")
    stock = get_stock(uow, actor, stock_id=stock_id, lock=True)
    if stock.status in GONE:
        raise Conflict(NOT_RELEASED[stock.status])
    amount = _amount(stock, quantity)
    target = locations_by_id(uow, ids=[to_location_id]).get(to_location_id) if to_location_id else None
    if target is None:
        raise ValidationFailed(errors={"to_location_id": LOCATION_NOT_FOUND})
    if target.id == stock.location_id:
        raise ValidationFailed(errors={"to_location_id": SAME_LOCATION})
    origin = (stock.location_id, stock.status)
    moved = _take(uow, stock, amount, location_id=target.id, status=stock.status)
    _record(uow, actor, moved, kind="move", quantity=amount, origin=origin)
    return moved


def consume(uow, actor, *, stock_id: uuid.UUID, quantity, reference: str | None = None) -> Stock:
    """Production used released stock: the quantity is consumed where it stood. The
    reference (a work order) goes into the audit trail with the movement."""
    require(actor, "stock.move")
    errors: dict[str, str] = {}
    reference = (reference or "").strip() or None
    if reference and len(reference) > MAX_REFERENCE:
        errors["reference"] = N_("At most 60 characters.")
    stock = get_stock(uow, actor, stock_id=stock_id, lock=True)
    if stock.status != "released":
        raise Conflict(NOT_RELEASED[stock.status])
    amount = _amount(stock, quantity, errors=errors)
    if reference:
        uow.reason = f"Consumed for {reference}"
    origin = (stock.location_id, stock.status)
    consumed = _take(uow, stock, amount, location_id=stock.location_id, status="consumed")
    _record(uow, actor, consumed, kind="consume", quantity=amount, origin=origin)
    return consumed


def change_status(
    uow,
    actor,
    *,
    stock: Stock,
    status: str,
    kind: str,
    quantity: Decimal | None = None,
    reference: tuple[str | None, uuid.UUID | None] = (None, None),
) -> Stock:
    """Quality's change of state (release, reject, hold; a nonconformance's return, scrap,
    rework or concession) of a locked row, all of it or `quantity` of it, where it
    stands. The caller checked its own permission."""
    amount = stock.quantity if quantity is None else min(quantity, stock.quantity)
    origin = (stock.location_id, stock.status)
    changed = _take(uow, stock, amount, location_id=stock.location_id, status=status)
    _record(uow, actor, changed, kind=kind, quantity=amount, origin=origin, reference=reference)
    return changed


def add_stock(
    uow,
    actor,
    *,
    item_id: uuid.UUID,
    lot_id: uuid.UUID | None,
    location_id: uuid.UUID,
    status: str,
    quantity: Decimal,
    serial: str | None = None,
    supplier_id: uuid.UUID | None = None,
    kind: str = "produce",
    reference: tuple[str | None, uuid.UUID | None] = (None, None),
) -> Stock:
    """Stock that enters other than by a receipt: a production run's finished units (one
    row per serial; a quantity joins the lot's row there in that status). The caller
    checked its own permission and the values."""
    target = None
    if serial is None:
        target = uow.session.scalars(
            sa.select(Stock)
            .where(
                Stock.item_id == item_id,
                Stock.lot_id.is_not_distinct_from(lot_id),
                Stock.serial.is_(None),
                Stock.location_id == location_id,
                Stock.status == status,
            )
            .with_for_update()
        ).first()
    if target is None:
        target = Stock(
            id=new_id(), item_id=item_id, lot_id=lot_id, serial=serial, location_id=location_id, status=status,
            quantity=quantity, supplier_id=supplier_id,
        )
        uow.add(target)
    else:
        target.quantity += quantity
    uow.flush()
    _record(uow, actor, target, kind=kind, quantity=quantity, origin=(None, None), reference=reference)
    return target


def _amount(stock: Stock, quantity, *, errors: dict[str, str] | None = None) -> Decimal:
    errors = errors if errors is not None else {}
    try:
        amount = Decimal(str(quantity).strip().replace(",", "")) if quantity not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        errors["quantity"] = QUANTITY_POSITIVE
    elif stock.serial is not None and amount != 1:
        errors["quantity"] = SERIAL_WHOLE
    elif amount > stock.quantity:
        errors["quantity"] = MORE_THAN_THERE
    if errors:
        raise ValidationFailed(errors=errors, available=plain_quantity(stock.quantity))
    return amount


def plain_quantity(quantity: Decimal) -> str:
    """A quantity as people write it: 12.5, not 12.5000."""
    text = format(quantity, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _take(uow, stock: Stock, amount: Decimal, *, location_id: uuid.UUID, status: str) -> Stock:
    """`amount` of the row to (location, status): the whole row changes in place;
    part of it joins a matching row there, or starts one."""
    if amount == stock.quantity:
        stock.location_id, stock.status = location_id, status
        uow.flush()
        return stock
    stock.quantity -= amount
    target = uow.session.scalars(
        sa.select(Stock)
        .where(
            Stock.item_id == stock.item_id,
            Stock.lot_id.is_not_distinct_from(stock.lot_id),
            Stock.serial.is_(None),
            Stock.location_id == location_id,
            Stock.status == status,
            Stock.id != stock.id,
        )
        .with_for_update()
    ).first()
    if target is None:
        target = Stock(
            id=new_id(),
            item_id=stock.item_id,
            lot_id=stock.lot_id,
            serial=None,
            location_id=location_id,
            status=status,
            quantity=amount,
            supplier_id=stock.supplier_id,
        )
        uow.add(target)
    else:
        target.quantity += amount
    uow.flush()
    return target


def _record(uow, actor, moved: Stock, *, kind: str, quantity: Decimal, origin, reference=(None, None)) -> StockMovement:
    from_location, from_status = origin
    movement = StockMovement(
        kind=kind,
        item_id=moved.item_id,
        lot_id=moved.lot_id,
        serial=moved.serial,
        quantity=quantity,
        from_location_id=from_location,
        to_location_id=moved.location_id,
        from_status=from_status,
        to_status=moved.status,
        reference_kind=reference[0],
        reference_id=reference[1],
        supplier_id=moved.supplier_id,
        moved_by=actor.user_id,
    )
    uow.add(movement)
    uow.flush()
    return movement
