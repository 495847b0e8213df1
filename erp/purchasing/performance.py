"""Purchasing facts for supplier performance: one row per issued order, as an SQL select
that the caller filters and groups (scoring's acknowledgement KPIs). Nothing here scores."""

from __future__ import annotations

import sqlalchemy as sa

from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine


def acknowledgements(*, supplier_ids=None, site_id=None, category=None) -> sa.Select:
    """One row per issued order (an order cancelled before its acknowledgement is left
    out): supplier_id, order_id, number, day (issued, UTC), issued_at, acknowledged_at
    (every line first accepted; null until then). `site_id`: orders with a line to be
    shipped to that site; `category`: orders with a line of an item of that category."""
    stmt = sa.select(
        PurchaseOrder.supplier_id,
        PurchaseOrder.id.label("order_id"),
        PurchaseOrder.number,
        sa.cast(sa.func.timezone("UTC", PurchaseOrder.issued_at), sa.Date).label("day"),
        PurchaseOrder.issued_at,
        PurchaseOrder.acknowledged_at,
    ).where(
        PurchaseOrder.issued_at.is_not(None),
        sa.or_(PurchaseOrder.status != "cancelled", PurchaseOrder.acknowledged_at.is_not(None)),
    )
    if supplier_ids is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id.in_(list(supplier_ids)))
    if site_id is not None:
        lines = sa.select(PurchaseOrderLine.purchase_order_id).where(PurchaseOrderLine.ship_to_site_id == site_id)
        stmt = stmt.where(PurchaseOrder.id.in_(lines))
    if category is not None:
        items = sa.select(Item.id).where(Item.category == category)
        lines = sa.select(PurchaseOrderLine.purchase_order_id).where(PurchaseOrderLine.item_id.in_(items))
        stmt = stmt.where(PurchaseOrder.id.in_(lines))
    return stmt
