"""Receiving facts for supplier performance: one row per transaction, as SQL selects
that the caller filters and groups (scoring builds its KPIs and their evidence on
them). Nothing here scores; row-level security scopes every row as usual.

Days are UTC days of the timestamps. A receipt's arrival is when it was started (the
truck at the dock), not when it was closed.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp.inventory.models import Location, Lot, StockMovement
from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.receiving.models import Discrepancy, Inspection, Nonconformance, Receipt, ReceiptLine
from erp.shipping.models import Asn, AsnLine


def utc_day(column):
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def _suppliers(stmt, column, supplier_ids):
    return stmt if supplier_ids is None else stmt.where(column.in_(list(supplier_ids)))


def items_of(category: str):
    """The ids of the items of a category (a subquery for `in_`)."""
    return sa.select(Item.id).where(Item.category == category)


def receipts_at(site_id):
    """The ids of the receipts at one receiving site (a subquery for `in_`)."""
    return sa.select(Receipt.id).where(Receipt.site_id == site_id)


def deliveries(*, supplier_ids=None, before=None, site_id=None, category=None) -> sa.Select:
    """One row per closed receipt and purchase order line received on it (through the
    ship notice's lines): supplier_id, receipt_id, receipt_number, day (arrival),
    line_id, po_number, line_no, due (the confirmed date, else the requested one),
    ordered, quantity (received on this receipt) and received_to_date (on this receipt
    and those before it), site_id (where received). `before`: only arrivals before that
    day (the running total still counts every earlier receipt). `site_id`: received at
    that site only (the running total still counts what the line received elsewhere);
    `category`: order lines of items of that category only."""
    per = (
        sa.select(
            Receipt.supplier_id,
            Receipt.id.label("receipt_id"),
            Receipt.number.label("receipt_number"),
            Receipt.created_at.label("arrived_at"),
            Receipt.site_id,
            AsnLine.purchase_order_line_id.label("line_id"),
            sa.func.sum(ReceiptLine.quantity).label("quantity"),
        )
        .join(ReceiptLine, ReceiptLine.receipt_id == Receipt.id)
        .join(AsnLine, AsnLine.id == ReceiptLine.asn_line_id)
        .where(Receipt.status == "closed", Receipt.supplier_id.is_not(None))
        .group_by(
            Receipt.supplier_id, Receipt.id, Receipt.number, Receipt.created_at, Receipt.site_id, AsnLine.purchase_order_line_id
        )
    )
    per = _suppliers(per, Receipt.supplier_id, supplier_ids)
    if before is not None:
        per = per.where(utc_day(Receipt.created_at) < before)
    if category is not None:
        # A line has one item: every receipt of it stays in, the running total whole.
        per = per.where(AsnLine.item_id.in_(items_of(category)))
    per = per.subquery("per")
    to_date = sa.func.sum(per.c.quantity).over(partition_by=per.c.line_id, order_by=(per.c.arrived_at, per.c.receipt_id))
    stmt = (
        sa.select(
            per.c.supplier_id,
            per.c.receipt_id,
            per.c.receipt_number,
            utc_day(per.c.arrived_at).label("day"),
            per.c.line_id,
            PurchaseOrder.number.label("po_number"),
            PurchaseOrderLine.line_no,
            sa.func.coalesce(PurchaseOrderLine.promised_date, PurchaseOrderLine.requested_date).label("due"),
            PurchaseOrderLine.quantity.label("ordered"),
            per.c.quantity,
            to_date.label("received_to_date"),
            per.c.site_id,
        )
        .join(PurchaseOrderLine, PurchaseOrderLine.id == per.c.line_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
    )
    if site_id is None:
        return stmt
    # Filtered after the running total: a line received partly at another site is
    # complete (in full) here once the two together make the ordered quantity.
    every = stmt.subquery("every_site")
    return sa.select(every).where(every.c.site_id == site_id)


def inspections(*, supplier_ids=None, detail: bool = False, site_id=None, category=None) -> sa.Select:
    """One row per completed incoming inspection of a supplier's lot: supplier_id,
    inspection_id, day (completed), received_quantity, rejected_quantity; with detail,
    also receipt_number, lot_number, part_number and defect_codes. `site_id`: lots
    received at that site; `category`: lots of items of that category."""
    columns = [
        Inspection.supplier_id,
        Inspection.id.label("inspection_id"),
        utc_day(Inspection.completed_at).label("day"),
        Inspection.received_quantity,
        Inspection.rejected_quantity,
    ]
    stmt = sa.select(*columns)
    if detail:
        stmt = (
            sa.select(
                *columns,
                Receipt.number.label("receipt_number"),
                Lot.number.label("lot_number"),
                Item.part_number,
                Inspection.defect_codes,
            )
            .join(Receipt, Receipt.id == Inspection.receipt_id)
            .join(Item, Item.id == Inspection.item_id)
            .outerjoin(Lot, Lot.id == Inspection.lot_id)
        )
    stmt = stmt.where(Inspection.status == "done", Inspection.supplier_id.is_not(None), Inspection.completed_at.is_not(None))
    if site_id is not None:
        stmt = stmt.where(Inspection.receipt_id.in_(receipts_at(site_id)))
    if category is not None:
        stmt = stmt.where(Inspection.item_id.in_(items_of(category)))
    return _suppliers(stmt, Inspection.supplier_id, supplier_ids)


def receipts(*, supplier_ids=None, detail: bool = False, site_id=None, category=None) -> sa.Select:
    """One row per closed receipt from a supplier: supplier_id, receipt_id, day
    (arrival), started_at, has_asn, asn_submitted_at, discrepancies (how many were
    recorded on it) and quantity (received on its lines; of the category's items when
    sliced by category); with detail, also receipt_number and asn_number. `site_id`: at
    that site; `category`: receipts with a line of an item of that category (a receipt
    of several categories counts in each)."""
    flagged = (
        sa.select(Discrepancy.receipt_id, sa.func.count().label("discrepancies"))
        .group_by(Discrepancy.receipt_id)
        .subquery("flagged")
    )
    # The lines joined and summed here (not a subquery summing every receipt's lines), so
    # that one supplier's receipts read only their own lines.
    in_category = ReceiptLine.item_id.in_(items_of(category)) if category is not None else None
    quantity = sa.func.sum(ReceiptLine.quantity)
    if in_category is not None:
        quantity = quantity.filter(in_category)
    columns = [
        Receipt.supplier_id,
        Receipt.id.label("receipt_id"),
        utc_day(Receipt.created_at).label("day"),
        Receipt.created_at.label("started_at"),
        Receipt.asn_id.is_not(None).label("has_asn"),
        Asn.submitted_at.label("asn_submitted_at"),
        sa.func.coalesce(flagged.c.discrepancies, 0).label("discrepancies"),
        sa.func.coalesce(quantity, 0).label("quantity"),
    ]
    if detail:
        columns += [Receipt.number.label("receipt_number"), Asn.number.label("asn_number")]
    stmt = (
        sa.select(*columns)
        .outerjoin(Asn, Asn.id == Receipt.asn_id)
        .outerjoin(flagged, flagged.c.receipt_id == Receipt.id)
        .outerjoin(ReceiptLine, ReceiptLine.receipt_id == Receipt.id)
        .where(Receipt.status == "closed", Receipt.supplier_id.is_not(None))
        .group_by(Receipt.tenant_id, Receipt.id, Asn.tenant_id, Asn.id, flagged.c.discrepancies)
    )
    if site_id is not None:
        stmt = stmt.where(Receipt.site_id == site_id)
    if in_category is not None:
        stmt = stmt.having(sa.func.count().filter(in_category) > 0)
    return _suppliers(stmt, Receipt.supplier_id, supplier_ids)


def sites_and_categories(uow, *, supplier_id, start, end) -> dict[str, list]:
    """The receiving sites and item categories of a supplier's business from `start` to
    `end` (days, end exclusive): of its closed receipts and of the orders issued to it.
    {"sites": [site id, ...], "categories": [category, ...]}, each sorted."""
    arrived = sa.and_(utc_day(Receipt.created_at) >= start, utc_day(Receipt.created_at) < end)
    issued_day = utc_day(PurchaseOrder.issued_at)
    issued = sa.and_(PurchaseOrder.supplier_id == supplier_id, issued_day >= start, issued_day < end)
    receipts_of = sa.select(Receipt.id).where(Receipt.supplier_id == supplier_id, Receipt.status == "closed", arrived)
    sites = sa.union(
        sa.select(Receipt.site_id).where(Receipt.id.in_(receipts_of)),
        sa.select(PurchaseOrderLine.ship_to_site_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(issued),
    )
    categories = sa.union(
        sa.select(Item.category).join(ReceiptLine, ReceiptLine.item_id == Item.id).where(ReceiptLine.receipt_id.in_(receipts_of)),
        sa.select(Item.category)
        .join(PurchaseOrderLine, PurchaseOrderLine.item_id == Item.id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(issued),
    )
    return {
        "sites": sorted((s for s in uow.session.scalars(sites) if s is not None), key=str),
        "categories": sorted(c for c in uow.session.scalars(categories) if c is not None),
    }


def discrepancy_kinds(uow, *, receipt_ids) -> dict:
    """The kinds of discrepancy recorded on each receipt: {receipt_id: [kind, ...]}."""
    ids = list(receipt_ids)
    found: dict = {}
    if not ids:
        return found
    rows = uow.execute(
        sa.select(Discrepancy.receipt_id, Discrepancy.kind)
        .where(Discrepancy.receipt_id.in_(ids))
        .order_by(Discrepancy.created_at)
    )
    for receipt_id, kind in rows:
        found.setdefault(receipt_id, []).append(kind)
    return found


def nonconformances(*, supplier_ids=None, site_id=None, category=None) -> sa.Select:
    """One row per nonconformance of a supplier: supplier_id, nonconformance_id, number,
    day (opened), quantity. `site_id`: those from inspections of lots received at that
    site (a nonconformance raised elsewhere, by a cold-chain excursion say, has no
    receiving site); `category`: of items of that category."""
    stmt = sa.select(
        Nonconformance.supplier_id,
        Nonconformance.id.label("nonconformance_id"),
        Nonconformance.number,
        utc_day(Nonconformance.created_at).label("day"),
        Nonconformance.quantity,
    ).where(Nonconformance.supplier_id.is_not(None))
    if site_id is not None:
        inspected_there = sa.select(Inspection.id).where(Inspection.receipt_id.in_(receipts_at(site_id)))
        stmt = stmt.where(Nonconformance.inspection_id.in_(inspected_there))
    if category is not None:
        stmt = stmt.where(Nonconformance.item_id.in_(items_of(category)))
    return _suppliers(stmt, Nonconformance.supplier_id, supplier_ids)


def _disposed(kind: str, supplier_ids, site_id=None, category=None):
    stmt = (
        sa.select(
            StockMovement.supplier_id,
            StockMovement.id.label("movement_id"),
            Nonconformance.id.label("nonconformance_id"),
            Nonconformance.number.label("nonconformance_number"),
            utc_day(StockMovement.moved_at).label("day"),
            StockMovement.quantity,
            Lot.number.label("lot_number"),
            Item.part_number,
            Nonconformance.rma_number,
        )
        .join(Nonconformance, Nonconformance.id == StockMovement.reference_id)
        .join(Item, Item.id == StockMovement.item_id)
        .outerjoin(Lot, Lot.id == StockMovement.lot_id)
        .where(
            StockMovement.kind == kind,
            StockMovement.reference_kind == "nonconformance",
            StockMovement.supplier_id.is_not(None),
        )
    )
    if site_id is not None:
        # Where the stock was when it left: a location of that site.
        stmt = stmt.where(StockMovement.from_location_id.in_(sa.select(Location.id).where(Location.site_id == site_id)))
    if category is not None:
        stmt = stmt.where(Item.category == category)
    return _suppliers(stmt, StockMovement.supplier_id, supplier_ids)


def returns(*, supplier_ids=None, site_id=None, category=None) -> sa.Select:
    """One row per return of nonconforming stock to its supplier (a nonconformance's
    disposition, erp.receiving.disposition): supplier_id (the lot's maker, to whom it
    went), movement_id, nonconformance_id, nonconformance_number, day (of the movement),
    quantity, lot_number, part_number and rma_number (the supplier's authorisation, if
    given). `site_id`: stock that left a location of that site; `category`: of items
    of that category."""
    return _disposed("return", supplier_ids, site_id, category)


def reworks(*, supplier_ids=None, site_id=None, category=None) -> sa.Select:
    """One row per rework of nonconforming stock, with the columns of `returns`
    (rma_number is null: it belongs to returns)."""
    return _disposed("rework", supplier_ids, site_id, category)
