"""Which orders a caller may see: row-level security limits a supplier to its own
orders, and a draft is not the supplier's to see until it is issued. Every read and
write of one order goes through here, so the rule is in one place."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from erp.purchasing.errors import PurchaseOrderNotFound
from erp.purchasing.models import PurchaseOrder


def hidden(actor, po: PurchaseOrder | None) -> bool:
    """Whether the order (as row-level security let it through) is not the caller's to see."""
    return po is None or (actor.is_supplier and po.status == "draft")


def visible_order(uow, actor, po_id: uuid.UUID, *, lock: bool = False) -> PurchaseOrder:
    """The order, or PurchaseOrderNotFound. `lock`: locked for this transaction and read
    afresh (never a stale copy from the session)."""
    stmt = sa.select(PurchaseOrder).where(PurchaseOrder.id == po_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    po = uow.scalar(stmt)
    if hidden(actor, po):
        raise PurchaseOrderNotFound()
    return po
