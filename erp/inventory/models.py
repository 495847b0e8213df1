"""Lots: a batch of one item, made by a supplier (supplier_id) or by the tenant itself
(supplier_id null: finished devices, from the traceability issue). A lot is named once
per item and maker; ship notices, receipts, stock and documents (certificates of
conformance and analysis, as `attachment` rows with owner_kind "lot") point at it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

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
        # A lot number typed or scanned alone (a trace's start): found without the item.
        sa.Index("ix_lot_number", "tenant_id", "number"),
        sa.CheckConstraint("btrim(number) <> ''", name="number"),
    )

    item_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    number: orm.Mapped[str] = orm.mapped_column(sa.String(LOT_MAX))
    production_date: orm.Mapped[date | None]
    expiry_date: orm.Mapped[date | None]


# Where stock stands and in what state: quarantine on receipt, released or rejected by
# quality, on hold (a recall, a cold-chain excursion), consumed by production, shipped;
# returned to its supplier or scrapped by a nonconformance's disposition.
STOCK_STATUSES = ("quarantine", "released", "on_hold", "rejected", "consumed", "shipped", "returned", "scrapped")
LOCATION_KINDS = ("receiving", "storage", "quarantine", "production", "shipping")


class Location(TenantOwned, Timestamps, Base):
    """A place stock stands in, at one of the tenant's sites."""

    __tablename__ = "location"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        tenant_fk(["site_id"], "site"),
        sa.CheckConstraint(within("kind", LOCATION_KINDS), name="kind"),
    )

    code: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    site_id: orm.Mapped[uuid.UUID | None]
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20), server_default="storage")


class Stock(TenantOwned, Timestamps, Base):
    """A quantity of one item (of one lot, one serial where serialised) in one location
    and status. A serialised unit is one row of quantity 1. supplier_id is the lot's
    maker: a supplier sees the stock of its own lots only."""

    __tablename__ = "stock"
    __table_args__ = (
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        tenant_fk(["location_id"], "location"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_stock_lot", "tenant_id", "lot_id"),
        sa.Index("ix_stock_item_status", "tenant_id", "item_id", "status"),
        sa.Index(
            "uq_stock_serial", "tenant_id", "item_id", "serial", unique=True, postgresql_where=sa.text("serial IS NOT NULL")
        ),
        sa.CheckConstraint(within("status", STOCK_STATUSES), name="status"),
        sa.CheckConstraint("quantity >= 0", name="quantity"),
    )

    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID | None]
    serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    location_id: orm.Mapped[uuid.UUID]
    status: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    supplier_id: orm.Mapped[uuid.UUID | None]


# return, scrap, rework, concession: a nonconformance's disposition (use as is is a
# concession) executed on the stock.
MOVEMENT_KINDS = (
    "receipt", "move", "release", "reject", "hold", "consume", "ship", "adjust", "produce",
    "return", "scrap", "rework", "concession",
)


class StockMovement(TenantOwned, Base):
    """One change of stock: where from and to, which status from and to, why. Insert-only:
    the movements are the history that says where every lot has been."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        tenant_fk(["from_location_id"], "location"),
        tenant_fk(["to_location_id"], "location"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_stock_movement_lot", "tenant_id", "lot_id", "moved_at"),
        sa.CheckConstraint(within("kind", MOVEMENT_KINDS), name="kind"),
    )

    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID | None]
    serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    from_location_id: orm.Mapped[uuid.UUID | None]
    to_location_id: orm.Mapped[uuid.UUID | None]
    from_status: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    to_status: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    # What caused it: a receipt, a release, a recall (kind of record and its id).
    reference_kind: orm.Mapped[str | None] = orm.mapped_column(sa.String(30))
    reference_id: orm.Mapped[uuid.UUID | None]
    supplier_id: orm.Mapped[uuid.UUID | None]
    moved_by: orm.Mapped[uuid.UUID | None]
    moved_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
