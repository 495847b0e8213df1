"""Lots: a batch of one item, made by a supplier (supplier_id) or by the tenant itself
(supplier_id null: finished devices, from the traceability issue). A lot is named once
per item and maker; ship notices, receipts, stock and documents (certificates of
conformance and analysis, as `attachment` rows with owner_kind "lot") point at it."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy import orm

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk

LOT_MAX = 20  # GS1 AI 10: an..20


class Lot(TenantOwned, Timestamps, Base):
    __tablename__ = "lot"
    __table_args__ = (
        tenant_fk(["item_id"], "item"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index(
            "uq_lot_item_supplier_number", "tenant_id", "item_id", "supplier_id", "number",
            unique=True, postgresql_nulls_not_distinct=True,
        ),
        sa.CheckConstraint("btrim(number) <> ''", name="number"),
    )

    item_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    number: orm.Mapped[str] = orm.mapped_column(sa.String(LOT_MAX))
    production_date: orm.Mapped[date | None]
    expiry_date: orm.Mapped[date | None]
