"""Receiving facts for supplier performance: one row per transaction, as SQL selects
that the caller filters and groups (scoring builds its KPIs and their evidence on
them). Nothing here scores; row-level security scopes every row as usual.

Days are UTC days of the timestamps. A receipt's arrival is when it was started (the
truck at the dock), not when it was closed.
"""

from __future__ import annotations

import sqlalchemy as sa

from erp.inventory.models import Lot
from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.receiving.models import Discrepancy, Inspection, Nonconformance, Receipt, ReceiptLine
from erp.shipping.models import Asn, AsnLine


def utc_day(column):
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def _suppliers(stmt, column, supplier_ids):
    return stmt if supplier_ids is None else stmt.where(column.in_(list(supplier_ids)))


def deliveries(*, supplier_ids=None, before=None) -> sa.Select:
    """One row per closed receipt and purchase order line received on it (through the
    ship notice's lines): supplier_id, receipt_id, receipt_number, day (arrival),
    line_id, po_number, line_no, due (the confirmed date, else the requested one),
    ordered, quantity (received on this receipt) and received_to_date (on this receipt
    and those before it). `before`: only arrivals before that day (the running total
    still counts every earlier receipt)."""
    per = (
        sa.select(
            Receipt.supplier_id,
            Receipt.id.label("receipt_id"),
            Receipt.number.label("receipt_number"),
            Receipt.created_at.label("arrived_at"),
            AsnLine.purchase_order_line_id.label("line_id"),
            sa.func.sum(ReceiptLine.quantity).label("quantity"),
        )
        .join(ReceiptLine, ReceiptLine.receipt_id == Receipt.id)
        .join(AsnLine, AsnLine.id == ReceiptLine.asn_line_id)
        .where(Receipt.status == "closed", Receipt.supplier_id.is_not(None))
        .group_by(Receipt.supplier_id, Receipt.id, Receipt.number, Receipt.created_at, AsnLine.purchase_order_line_id)
    )
    per = _suppliers(per, Receipt.supplier_id, supplier_ids)
    if before is not None:
        per = per.where(utc_day(Receipt.created_at) < before)
    per = per.subquery("per")
    to_date = sa.func.sum(per.c.quantity).over(partition_by=per.c.line_id, order_by=(per.c.arrived_at, per.c.receipt_id))
    return (
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
        )
        .join(PurchaseOrderLine, PurchaseOrderLine.id == per.c.line_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
    )


def inspections(*, supplier_ids=None, detail: bool = False) -> sa.Select:
    """One row per completed incoming inspection of a supplier's lot: supplier_id,
    inspection_id, day (completed), received_quantity, rejected_quantity; with detail,
    also receipt_number, lot_number, part_number and defect_codes."""
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
    return _suppliers(stmt, Inspection.supplier_id, supplier_ids)


def receipts(*, supplier_ids=None, detail: bool = False) -> sa.Select:
    """One row per closed receipt from a supplier: supplier_id, receipt_id, day
    (arrival), started_at, has_asn, asn_submitted_at and discrepancies (how many were
    recorded on it); with detail, also receipt_number and asn_number."""
    flagged = (
        sa.select(Discrepancy.receipt_id, sa.func.count().label("discrepancies"))
        .group_by(Discrepancy.receipt_id)
        .subquery("flagged")
    )
    columns = [
        Receipt.supplier_id,
        Receipt.id.label("receipt_id"),
        utc_day(Receipt.created_at).label("day"),
        Receipt.created_at.label("started_at"),
        Receipt.asn_id.is_not(None).label("has_asn"),
        Asn.submitted_at.label("asn_submitted_at"),
        sa.func.coalesce(flagged.c.discrepancies, 0).label("discrepancies"),
    ]
    if detail:
        columns += [Receipt.number.label("receipt_number"), Asn.number.label("asn_number")]
    stmt = (
        sa.select(*columns)
        .outerjoin(Asn, Asn.id == Receipt.asn_id)
        .outerjoin(flagged, flagged.c.receipt_id == Receipt.id)
        .where(Receipt.status == "closed", Receipt.supplier_id.is_not(None))
    )
    return _suppliers(stmt, Receipt.supplier_id, supplier_ids)


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


def nonconformances(*, supplier_ids=None) -> sa.Select:
    """One row per nonconformance of a supplier: supplier_id, nonconformance_id, number,
    day (opened), quantity."""
    stmt = sa.select(
        Nonconformance.supplier_id,
        Nonconformance.id.label("nonconformance_id"),
        Nonconformance.number,
        utc_day(Nonconformance.created_at).label("day"),
        Nonconformance.quantity,
    ).where(Nonconformance.supplier_id.is_not(None))
    return _suppliers(stmt, Nonconformance.supplier_id, supplier_ids)
