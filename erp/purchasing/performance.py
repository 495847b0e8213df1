"""Purchasing facts for supplier performance: one row per issued order, as an SQL select
that the caller filters and groups (scoring's acknowledgement KPIs). Nothing here scores."""

from __future__ import annotations

import sqlalchemy as sa

from erp.purchasing.models import PurchaseOrder


def acknowledgements(*, supplier_ids=None) -> sa.Select:
    """One row per issued order (an order cancelled before its acknowledgement is left
    out): supplier_id, order_id, number, day (issued, UTC), issued_at, acknowledged_at
    (every line first accepted; null until then)."""
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
    return stmt
