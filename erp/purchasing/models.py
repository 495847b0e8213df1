"""Purchase orders (the header and lines the demo needs; the lifecycle comes with the
purchasing issue). Lines carry supplier_id too, so the supplier policy needs no join."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk


class PurchaseOrder(TenantOwned, Timestamps, Base):
    __tablename__ = "purchase_order"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_purchase_order_created", "tenant_id", "created_at", "id"),
        # For app.purchase_order_exists (an id probed across tenants); ids are UUIDv7.
        sa.Index("ix_purchase_order_id", "id", unique=True),
    )

    number: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    supplier_id: orm.Mapped[uuid.UUID]
    status: orm.Mapped[str] = orm.mapped_column(sa.String(20), server_default="draft")
    currency: orm.Mapped[str] = orm.mapped_column(sa.String(3))
    order_date: orm.Mapped[date]


class PurchaseOrderLine(TenantOwned, Timestamps, Base):
    __tablename__ = "purchase_order_line"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "purchase_order_id", "line_no"),
        tenant_fk(["purchase_order_id"], "purchase_order", ondelete="CASCADE"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["supplier_id"], "organisation"),
    )

    purchase_order_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    line_no: orm.Mapped[int]
    item_id: orm.Mapped[uuid.UUID]
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    uom: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    unit_price: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 6))
    requested_date: orm.Mapped[date]
