"""Purchase order queries for the home pages, lists and the API.

Row-level security decides which rows a caller sees (the tenant's, or a supplier
user's own); nothing here filters by tenant or supplier.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from auth.permissions import require
from erp.pagination import Page, check_limit, decode_cursor, encode_cursor
from erp.purchasing import reminders
from erp.purchasing.errors import PurchaseOrderNotFound
from erp.purchasing.models import STATUSES, PurchaseOrder, PurchaseOrderLine
from kernel.errors import N_
from tenants import service as tenants

# Display names of the statuses (the lifecycle: erp.purchasing.confirmation).
STATUS_LABELS = {
    "draft": N_("Draft"),
    "issued": N_("Issued"),
    "partially_acknowledged": N_("Partially acknowledged"),
    "acknowledged": N_("Acknowledged"),
    "in_delivery": N_("In delivery"),
    "received": N_("Received"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
assert set(STATUS_LABELS) == set(STATUSES)
# A PO is open until it is closed or cancelled: goods may still arrive or be returned.
CLOSED_STATUSES = ("closed", "cancelled")


@dataclass(frozen=True)
class PurchaseOrderRow:
    id: uuid.UUID
    number: str
    status: str
    order_date: date
    created_at: datetime
    currency: str
    supplier_id: uuid.UUID
    supplier_name: str
    supplier_name_zh: str | None
    line_count: int
    total: Decimal
    issued_at: datetime | None = None
    # Waiting for the supplier's acknowledgement longer than the tenant allows.
    overdue: bool = False


@dataclass(frozen=True)
class PurchaseOrderSummary:
    open_count: int
    supplier_count: int


def list_purchase_orders(uow, *, after: str | None = None, limit: int = 50) -> Page[PurchaseOrderRow]:
    """Newest first, `limit` at a time; `after` is the previous page's next_cursor."""
    require(uow.actor, "po.view")
    check_limit(limit)
    stmt = (
        _with_totals()
        .order_by(PurchaseOrder.created_at.desc(), PurchaseOrder.id.desc())
        .limit(limit + 1)  # one more than shown tells whether a next page exists
    )
    if uow.actor.supplier_id is not None:
        # Row-level security already limits a supplier to its own orders; its restrictive
        # policy (a CASE, see migrations/support.py) cannot pick an index, so the supplier
        # is named here too, for ix_purchase_order_supplier_created. Without it a small
        # supplier's first page read the tenant's whole history (bench supplier_pos).
        stmt = stmt.where(PurchaseOrder.supplier_id == uow.actor.supplier_id)
    if after:
        created_at, row_id = decode_cursor(after)
        stmt = stmt.where(sa.tuple_(PurchaseOrder.created_at, PurchaseOrder.id) < sa.tuple_(created_at, row_id))
    rows = uow.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    suppliers = tenants.organisations_by_id(uow, ids={po.supplier_id for po, _, _ in rows})
    days = reminders.reminder_days(uow)
    items = [_row(po, count, total, suppliers.get(po.supplier_id), days) for po, count, total in rows]
    next_cursor = encode_cursor(rows[-1][0].created_at, rows[-1][0].id) if more else None
    return Page(items=items, next_cursor=next_cursor)


def get_purchase_order(uow, *, po_id: uuid.UUID) -> PurchaseOrderRow:
    """One order, if the caller may see it (PurchaseOrderNotFound otherwise: an order of
    another tenant or supplier is not there for them)."""
    require(uow.actor, "po.view")
    found = uow.execute(_with_totals().where(PurchaseOrder.id == po_id)).one_or_none()
    if found is None:
        raise PurchaseOrderNotFound()
    po, count, total = found
    supplier = tenants.organisations_by_id(uow, ids={po.supplier_id}).get(po.supplier_id)
    return _row(po, count, total, supplier, reminders.reminder_days(uow))


def purchase_order_exists_elsewhere(uow, *, po_id: uuid.UUID) -> bool:
    """After get_purchase_order found nothing: whether the id is an order of another
    tenant or supplier (so the caller can note the probe); never what it is."""
    return bool(uow.scalar(sa.text("SELECT app.purchase_order_exists(:po)"), {"po": po_id}))


def _with_totals():
    """Orders with their line count and total (a lateral subquery per order)."""
    line = PurchaseOrderLine
    totals = (
        sa.select(
            sa.func.count().label("line_count"),
            sa.func.coalesce(sa.func.sum(line.quantity * line.unit_price), 0).label("total"),
        )
        .where(line.tenant_id == PurchaseOrder.tenant_id, line.purchase_order_id == PurchaseOrder.id)
        .lateral("totals")
    )
    return sa.select(PurchaseOrder, totals.c.line_count, totals.c.total).join(totals, sa.true())


def _row(po: PurchaseOrder, line_count: int, total: Decimal, supplier, reminder_days: int = 0) -> PurchaseOrderRow:
    return PurchaseOrderRow(
        id=po.id,
        number=po.number,
        status=po.status,
        order_date=po.order_date,
        created_at=po.created_at,
        currency=po.currency,
        supplier_id=po.supplier_id,
        supplier_name=supplier.name if supplier else "",
        supplier_name_zh=supplier.name_zh if supplier else None,
        line_count=line_count,
        total=Decimal(total),
        issued_at=po.issued_at,
        overdue=reminders.is_overdue(po.status, po.issued_at, reminder_days),
    )


def purchase_order_summary(uow) -> PurchaseOrderSummary:
    require(uow.actor, "po.view")
    open_count = uow.scalar(
        sa.select(sa.func.count()).select_from(PurchaseOrder).where(PurchaseOrder.status.not_in(CLOSED_STATUSES))
    )
    return PurchaseOrderSummary(open_count=open_count, supplier_count=tenants.count_suppliers(uow))
