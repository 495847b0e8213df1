"""The disposition of a nonconformance (ISO 13485 §8.3; the material review board's
decision), e-signed by quality and executed on the stock.

A nonconformance (opened by a rejected inspection, or by a cold-chain excursion) stands
for nonconforming product: its lot's stock of the item that is rejected or on hold.
`dispose_nonconformance` decides what happens to that much of it:

- return_to_supplier: a "return" movement; the stock leaves as returned (as a "ship"
  leaves as shipped), with the supplier's return authorisation (RMA) if there is one;
- scrap: a "scrap" movement; the stock leaves as scrapped;
- rework: a "rework" movement back to quarantine: reworked product is inspected and
  released again;
- use_as_is: a "concession" movement back to quarantine: the concession does not
  release the lot; quality's signed lot release (erp.receiving.release) still does.

What it may take (`takes_of`): a nonconformance from an incoming inspection acts on its
lot's rejected stock only (stock on hold is held for another reason: a recall, an
excursion); any other on held stock and stock rejected since, rejected first; oldest
rows first; serialised units go whole, so their quantity is a whole number. Every
movement names ("nonconformance", id). The quality engineer signs with the meaning
"approved"; the signature covers the nonconformance, the disposition, its quantity,
reason and RMA, and the stock it moves, so the page can tell later whether the record
still is what was signed. A disposition closes the nonconformance: it is made once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from auth import signatures
from auth.permissions import require, require_any
from erp.inventory import service as inventory
from erp.inventory.models import Lot, Stock, StockMovement
from erp.items.models import Item
from erp.pagination import Page, check_limit, decode_sort_cursor, encode_sort_cursor
from erp.receiving.errors import AlreadyDisposed, NoLotToDispose, NonconformanceNotFound, NothingToDispose
from erp.receiving.models import DISPOSITIONS, Nonconformance
from kernel.errors import N_, Forbidden, ValidationFailed
from kernel.outbox import emit

DISPOSITION_LABELS = {
    "use_as_is": N_("Use as is (concession)"),
    "rework": N_("Rework"),
    "return_to_supplier": N_("Return to supplier"),
    "scrap": N_("Scrap"),
}
NC_STATUSES = ("open", "closed")
NC_STATUS_LABELS = {"open": N_("Open"), "closed": N_("Closed")}
# The stock a disposition acts on, in the order it is taken, and what each makes of it.
TAKES = ("rejected", "on_hold")


def takes_of(nc: Nonconformance) -> tuple[str, ...]:
    """The stock a nonconformance's disposition may act on. One from an incoming
    inspection: its lot's rejected stock only - stock on hold is held for another
    reason (a recall, an excursion) that this decision does not cover. Any other (a
    cold-chain excursion puts the lot on hold): held stock, and stock quality rejected
    since."""
    return ("rejected",) if nc.inspection_id is not None else TAKES
KIND = {"use_as_is": "concession", "rework": "rework", "return_to_supplier": "return", "scrap": "scrap"}
BECOMES = {"use_as_is": "quarantine", "rework": "quarantine", "return_to_supplier": "returned", "scrap": "scrapped"}
MEANING = "approved"
MAX_REASON = 2000
MAX_RMA = 40
SORT = "nonconformances"

UNKNOWN_DISPOSITION = N_("Choose use as is, rework, return to supplier or scrap.")
QUANTITY_NEEDED = N_("Enter a quantity greater than zero.")
MORE_THAN_NONCONFORMING = N_("Only %(available)s of lot %(lot)s are rejected or on hold: dispose of at most that.")
WHOLE_UNITS = N_("Lot %(lot)s is serialised: dispose of whole units.")
REASON_NEEDED = N_("Say why: the reason is part of the signed record.")
REASON_TOO_LONG = N_("At most 2,000 characters.")
RMA_FOR_RETURNS = N_("An RMA number goes with a return to the supplier only.")
RMA_TOO_LONG = N_("At most 40 characters.")
STATUS_UNKNOWN = N_("Choose one of the statuses offered.")
BAD_CURSOR = N_("This page link is not valid. Start again from the first page.")


@dataclass(frozen=True)
class NonconformanceView:
    nonconformance: Nonconformance
    lot: Lot | None
    item: Item | None
    lot_number: str | None
    part_number: str | None
    available: Decimal  # the lot's stock of the item that is rejected or on hold now
    serialised: bool  # that stock is serialised units: dispose of whole ones
    movements: list[StockMovement]  # every movement naming the nonconformance, oldest first
    signature: signatures.SignatureView | None  # the disposition's, with `matches`


# --- disposing -----------------------------------------------------------------------------


def dispose_nonconformance(
    uow,
    actor,
    *,
    nonconformance_id: uuid.UUID,
    disposition: str,
    quantity,
    reason: str | None,
    rma_number: str | None = None,
    password: str,
    otp: str | None = None,
    settings,
    cipher,
) -> Nonconformance:
    """Decide and carry out what happens to `quantity` of the nonconforming stock, signed
    by the quality engineer; the nonconformance closes. Every check comes before the
    signature and the signature before any change: a refusal writes nothing (a refused
    signature leaves only its own trace, see auth.signatures)."""
    require(actor, "lot.release")
    if actor.supplier_id is not None:
        raise Forbidden(N_("A supplier cannot dispose of nonconforming product."))
    # Locked: a second disposition at the same time waits, then finds this one made.
    nc = _get(uow, nonconformance_id, lock=True)
    if nc.disposition is not None:
        raise AlreadyDisposed(number=nc.number)
    if nc.lot_id is None:
        raise NoLotToDispose(number=nc.number)
    lot = inventory.get_lot(uow, lot_id=nc.lot_id)
    stock = _nonconforming(uow, nc, lock=True)
    if not stock:
        raise NothingToDispose(number=nc.number, lot=lot.number)
    available = sum((row.quantity for row in stock), Decimal(0))
    serialised = any(row.serial is not None for row in stock)
    disposition, amount, reason, rma_number = _checked(
        disposition, quantity, reason, rma_number, available=available, serialised=serialised, lot=lot
    )
    takes = _plan(stock, amount)
    content = signed_content(nc, disposition, amount, reason, rma_number, [_signed(row, part) for row, part in takes])
    signature = signatures.sign(
        uow,
        actor,
        record_type="nonconformance",
        record_id=nc.id,
        content=content,
        meaning=MEANING,
        password=password,
        otp=otp,
        settings=settings,
        cipher=cipher,
        supplier_id=nc.supplier_id,
    )
    nc.disposition, nc.disposition_quantity, nc.disposition_reason = disposition, amount, reason
    nc.rma_number, nc.signature_id = rma_number, signature.id
    nc.disposed_by, nc.disposed_at, nc.status = actor.user_id, signature.signed_at, "closed"
    uow.flush()
    for row, part in takes:
        inventory.change_status(
            uow,
            actor,
            stock=row,
            status=BECOMES[disposition],
            kind=KIND[disposition],
            quantity=part,
            reference=("nonconformance", nc.id),
        )
    emit(
        uow,
        "nonconformance.disposed",
        {
            "nonconformance_id": str(nc.id),
            "number": nc.number,
            "disposition": disposition,
            "quantity": inventory.plain_quantity(amount),
            "lot_id": str(nc.lot_id),
            "item_id": str(nc.item_id),
            "supplier_id": str(nc.supplier_id) if nc.supplier_id else None,
            "rma_number": rma_number,
            "signature_id": str(signature.id),
        },
    )
    return nc


def _checked(disposition, quantity, reason, rma_number, *, available: Decimal, serialised: bool, lot: Lot):
    errors: dict[str, str] = {}
    if disposition not in DISPOSITIONS:
        errors["disposition"] = UNKNOWN_DISPOSITION
    amount = _amount(quantity)
    if amount is None:
        errors["quantity"] = QUANTITY_NEEDED
    elif amount > available:
        errors["quantity"] = MORE_THAN_NONCONFORMING
    elif serialised and amount != amount.to_integral_value():
        errors["quantity"] = WHOLE_UNITS
    reason = (reason or "").strip() or None
    if not reason:
        errors["reason"] = REASON_NEEDED
    elif len(reason) > MAX_REASON:
        errors["reason"] = REASON_TOO_LONG
    rma_number = (rma_number or "").strip() or None
    if rma_number and disposition in DISPOSITIONS and disposition != "return_to_supplier":
        errors["rma_number"] = RMA_FOR_RETURNS
    elif rma_number and len(rma_number) > MAX_RMA:
        errors["rma_number"] = RMA_TOO_LONG
    if errors:
        raise ValidationFailed(errors=errors, available=inventory.plain_quantity(available), lot=lot.number)
    return disposition, amount, reason, rma_number


def _amount(value) -> Decimal | None:
    """A positive finite quantity, or None."""
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None
    if amount is None or not amount.is_finite() or amount <= 0:
        return None
    return amount


def _plan(stock: list[Stock], amount: Decimal) -> list[tuple[Stock, Decimal]]:
    """Which rows give how much: rejected before on hold, oldest first; a serialised unit
    whole (the amount is a whole number of them, checked)."""
    takes, left = [], amount
    for row in stock:
        if left <= 0:
            break
        part = min(left, row.quantity)
        if row.serial is not None and part < row.quantity:
            continue  # cannot split a unit (an item is serialised or not: this is not reached)
        takes.append((row, part))
        left -= part
    return takes


def _nonconforming(uow, nc: Nonconformance, *, lock: bool = False) -> list[Stock]:
    """The lot's stock of the nonconformance's item that is rejected or on hold, in the
    order a disposition takes it."""
    if nc.lot_id is None:
        return []
    takes = takes_of(nc)
    rows = [row for row in inventory.stock_of_lot(uow, lot_id=nc.lot_id, statuses=takes, lock=lock) if row.item_id == nc.item_id]
    return sorted(rows, key=lambda row: takes.index(row.status))  # stable: oldest first within a status


def signed_content(
    nc: Nonconformance, disposition: str, quantity: Decimal, reason: str | None, rma_number: str | None, stock: list[dict]
) -> dict:
    """What the signature is bound to: the nonconformance, the disposition and the stock
    it moves."""
    return {
        "nonconformance_id": str(nc.id),
        "number": nc.number,
        "item_id": str(nc.item_id),
        "lot_id": str(nc.lot_id) if nc.lot_id else None,
        "supplier_id": str(nc.supplier_id) if nc.supplier_id else None,
        "disposition": disposition,
        "quantity": inventory.plain_quantity(quantity),
        "reason": reason,
        "rma_number": rma_number,
        "stock": sorted(stock, key=lambda s: (s["location_id"], s["status"], s["serial"] or "", s["quantity"])),
    }


def _signed(row: Stock, part: Decimal) -> dict:
    return {
        "location_id": str(row.location_id),
        "status": row.status,
        "serial": row.serial,
        "quantity": inventory.plain_quantity(part),
    }


# --- reading -------------------------------------------------------------------------------


def _get(uow, nonconformance_id: uuid.UUID, *, lock: bool = False) -> Nonconformance:
    query = sa.select(Nonconformance).where(Nonconformance.id == nonconformance_id)
    found = uow.session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NonconformanceNotFound()
    return found


def get_nonconformance(uow, actor, *, nonconformance_id: uuid.UUID) -> NonconformanceView:
    """A nonconformance with its lot and item, the nonconforming stock left, the movements
    naming it and its disposition's signature (matching the record as it is now)."""
    require_any(actor, "inspection.record", "lot.release", "stock.view")
    nc = _get(uow, nonconformance_id)
    lot = inventory.lots_by_id(uow, ids=[nc.lot_id]).get(nc.lot_id)
    item = inventory.items_by_id(uow, ids=[nc.item_id]).get(nc.item_id)
    stock = _nonconforming(uow, nc)
    movements = list(
        uow.session.scalars(
            sa.select(StockMovement)
            .where(StockMovement.reference_kind == "nonconformance", StockMovement.reference_id == nc.id)
            .order_by(StockMovement.moved_at, StockMovement.id)
        )
    )
    signature = None
    if nc.signature_id is not None:
        signed = {s.id: s for s in signatures.signatures_for(uow, record_type="nonconformance", record_id=nc.id, content={})}
        signature = signed.get(nc.signature_id)
        if signature is not None:
            moved = [
                {
                    "location_id": str(m.from_location_id),
                    "status": m.from_status,
                    "serial": m.serial,
                    "quantity": inventory.plain_quantity(m.quantity),
                }
                for m in movements
                if m.kind == KIND.get(nc.disposition)
            ]
            content = signed_content(nc, nc.disposition, nc.disposition_quantity, nc.disposition_reason, nc.rma_number, moved)
            signature = replace(signature, matches=signature.content_hash == signatures.content_hash(content))
    return NonconformanceView(
        nonconformance=nc,
        lot=lot,
        item=item,
        lot_number=lot.number if lot else None,
        part_number=item.part_number if item else None,
        available=sum((row.quantity for row in stock), Decimal(0)),
        serialised=any(row.serial is not None for row in stock),
        movements=movements,
        signature=signature,
    )


def list_nonconformances(
    uow, actor, *, status: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page[Nonconformance]:
    """Open nonconformances first, then closed ones; newest first within each."""
    require_any(actor, "inspection.record", "lot.release", "stock.view")
    check_limit(limit)
    if status is not None and status not in NC_STATUSES:
        raise ValidationFailed(errors={"status": STATUS_UNKNOWN})
    rank = sa.case((Nonconformance.status == "open", 0), else_=1)
    query = sa.select(Nonconformance, rank.label("rank"))
    if status is not None:
        query = query.where(Nonconformance.status == status)
    if cursor:
        value, row_id = decode_sort_cursor(cursor, sort=SORT, kind=str)
        try:
            after_rank, created = int(value[0]), datetime.fromisoformat(value[2:])
        except (ValueError, IndexError) as exc:
            raise ValidationFailed(errors={"cursor": BAD_CURSOR}) from exc
        if created.tzinfo is None:
            raise ValidationFailed(errors={"cursor": BAD_CURSOR})
        query = query.where(
            sa.or_(
                rank > after_rank,
                sa.and_(
                    rank == after_rank, sa.tuple_(Nonconformance.created_at, Nonconformance.id) < sa.tuple_(created, row_id)
                ),
            )
        )
    order = (rank, Nonconformance.created_at.desc(), Nonconformance.id.desc())
    rows = uow.execute(query.order_by(*order).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last, last_rank = rows[-1]
        next_cursor = encode_sort_cursor(SORT, f"{last_rank}|{last.created_at.isoformat()}", last.id)
    return Page(items=[row[0] for row in rows], next_cursor=next_cursor)


def available_by_nonconformance(uow, *, nonconformances) -> dict[uuid.UUID, Decimal]:
    """The nonconforming stock left for each of these (the list's column), in one query."""
    keys = {(nc.lot_id, nc.item_id) for nc in nonconformances if nc.lot_id is not None}
    if not keys:
        return {}
    rows = uow.execute(
        sa.select(Stock.lot_id, Stock.item_id, Stock.status, sa.func.sum(Stock.quantity))
        .where(sa.tuple_(Stock.lot_id, Stock.item_id).in_(list(keys)), Stock.status.in_(TAKES), Stock.quantity > 0)
        .group_by(Stock.lot_id, Stock.item_id, Stock.status)
    ).all()
    left = {(lot_id, item_id, status): amount for lot_id, item_id, status, amount in rows}
    return {
        nc.id: sum((left.get((nc.lot_id, nc.item_id, status), Decimal(0)) for status in takes_of(nc)), Decimal(0))
        for nc in nonconformances
        if nc.lot_id is not None
    }
