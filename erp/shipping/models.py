"""Ship notices (ASNs): the supplier's word on what is coming, in which packages, with
which lots, serials and UDIs. One ASN is one supplier and one ship-to site; its lines
name PO lines (of one or more of the supplier's orders). Packages are SSCC-labelled
pallets and cases, cases optionally on a pallet. Every table carries supplier_id, so the
supplier policy needs no join; serials are unique per item across the tenant's live
ASNs (a unique index: two suppliers racing cannot both ship one serial)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

# draft → submitted → in_transit → partially_received → received → closed, or cancelled.
STATUSES = ("draft", "submitted", "in_transit", "partially_received", "received", "closed", "cancelled")
# What the supplier may still change (a change after submit is a new revision).
EDITABLE = ("draft", "submitted", "in_transit")
# ASNs whose contents count: shipped quantities and serials taken.
LIVE = ("submitted", "in_transit", "partially_received", "received", "closed")
LEVELS = ("pallet", "case")
SERIAL_MAX = 20  # GS1 AI 21: an..20


class Asn(TenantOwned, Timestamps, Base):
    __tablename__ = "asn"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["ship_to_site_id"], "site"),
        tenant_fk(["ship_from_site_id"], "site"),
        sa.Index("ix_asn_expected", "tenant_id", "expected_arrival", "id"),
        sa.Index("ix_asn_supplier_created", "tenant_id", "supplier_id", "created_at", "id"),
        # For app.asn_exists (an id probed across tenants); ids are UUIDv7.
        sa.Index("ix_asn_id", "id", unique=True),
        sa.CheckConstraint(within("status", STATUSES), name="status"),
        sa.CheckConstraint("expected_arrival >= ship_date", name="arrival_after_shipping"),
    )

    number: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    supplier_id: orm.Mapped[uuid.UUID]
    ship_from_site_id: orm.Mapped[uuid.UUID | None]
    ship_to_site_id: orm.Mapped[uuid.UUID]
    status: orm.Mapped[str] = orm.mapped_column(sa.String(20), server_default="draft")
    carrier: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    tracking_number: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    # The truck's or container's seal: checked on receipt (a mismatch is a cold-chain alert).
    seal_number: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    ship_date: orm.Mapped[date]
    expected_arrival: orm.Mapped[date]
    # Changes after submit: each makes a new revision, the old content kept (AsnRevision).
    revision: orm.Mapped[int] = orm.mapped_column(server_default="1")
    submitted_at: orm.Mapped[datetime | None]
    created_by: orm.Mapped[uuid.UUID | None]
    # Optimistic concurrency: every write bumps it, a write from a stale copy fails.
    version: orm.Mapped[int] = orm.mapped_column(server_default="1")

    __mapper_args__ = {"version_id_col": version}


class AsnPackage(TenantOwned, Base):
    """A pallet or case, identified by its SSCC (GS1 AI 00)."""

    __tablename__ = "asn_package"
    __table_args__ = (
        # An SSCC names one logistic unit for good (GS1 General Specifications §2.2.1).
        sa.UniqueConstraint("tenant_id", "sscc"),
        tenant_fk(["asn_id"], "asn", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["parent_id"], "asn_package", ondelete="CASCADE"),
        sa.Index("ix_asn_package_asn", "tenant_id", "asn_id"),
        sa.CheckConstraint(within("level", LEVELS), name="level"),
        sa.CheckConstraint("sscc ~ '^[0-9]{18}$'", name="sscc"),
    )

    asn_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    seq: orm.Mapped[int]
    sscc: orm.Mapped[str] = orm.mapped_column(sa.String(18))
    level: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    parent_id: orm.Mapped[uuid.UUID | None]


class AsnLine(TenantOwned, Base):
    """What a package holds of one PO line: an item, a quantity, a lot and its dates."""

    __tablename__ = "asn_line"
    __table_args__ = (
        tenant_fk(["asn_id"], "asn", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["package_id"], "asn_package", ondelete="CASCADE"),
        tenant_fk(["purchase_order_id"], "purchase_order"),
        tenant_fk(["purchase_order_line_id"], "purchase_order_line"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        sa.Index("ix_asn_line_asn", "tenant_id", "asn_id", "line_no"),
        sa.Index("ix_asn_line_po_line", "tenant_id", "purchase_order_line_id"),
        sa.Index("ix_asn_line_lot", "tenant_id", "lot_id"),
        sa.CheckConstraint("quantity > 0", name="quantity"),
    )

    asn_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    line_no: orm.Mapped[int]
    package_id: orm.Mapped[uuid.UUID | None]
    purchase_order_id: orm.Mapped[uuid.UUID]
    purchase_order_line_id: orm.Mapped[uuid.UUID]
    item_id: orm.Mapped[uuid.UUID]
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    lot_id: orm.Mapped[uuid.UUID | None]
    lot: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    production_date: orm.Mapped[date | None]
    expiry_date: orm.Mapped[date | None]
    # The UDI-DI of the item as shipped (GTIN-14 for GS1), from the item master.
    udi_di: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))


class AsnSerial(TenantOwned, Base):
    """One serialised unit of an ASN line (GS1 AI 21). Rows exist only while the ASN is
    a draft or live; a cancelled ASN frees its serials (the audit trail keeps them)."""

    __tablename__ = "asn_serial"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "item_id", "serial"),
        tenant_fk(["asn_id"], "asn", ondelete="CASCADE"),
        tenant_fk(["asn_line_id"], "asn_line", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_asn_serial_line", "tenant_id", "asn_line_id"),
        sa.CheckConstraint("btrim(serial) <> ''", name="serial"),
    )

    asn_id: orm.Mapped[uuid.UUID]
    asn_line_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    item_id: orm.Mapped[uuid.UUID]
    serial: orm.Mapped[str] = orm.mapped_column(sa.String(SERIAL_MAX))


class AsnRevision(TenantOwned, Base):
    """The content of an ASN as it was before a change made after submit, with the
    reason for the change. Insert-only."""

    __tablename__ = "asn_revision"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "asn_id", "revision"),
        tenant_fk(["asn_id"], "asn", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
    )

    asn_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    revision: orm.Mapped[int]
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    content: orm.Mapped[dict] = orm.mapped_column(JSONB)
    created_by: orm.Mapped[uuid.UUID | None]
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class ShippingSetting(TenantOwned, Timestamps, Base):
    """The tenant's rules for ship notices; one row per tenant, made on first change."""

    __tablename__ = "shipping_setting"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id"),
        sa.CheckConstraint("over_delivery_pct >= 0 and over_delivery_pct <= 100", name="over_delivery_pct"),
        sa.CheckConstraint("min_shelf_life_days >= 0", name="min_shelf_life_days"),
    )

    # How far above the open PO quantity a shipment may go, in percent.
    over_delivery_pct: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(5, 2), server_default="0")
    # Days of shelf life a lot must have left on arrival; less is a warning.
    min_shelf_life_days: orm.Mapped[int] = orm.mapped_column(server_default="0")
