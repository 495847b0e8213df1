"""Receiving, incoming inspection and batch release.

A receipt is one arrival at a site: scanned against an ASN (or, flagged, without one),
its lines the lots and serials found, into a receiving location in quarantine. What the
ASN promised and the truck did not bring (or brought besides) is a discrepancy. Items
that need incoming inspection get an inspection per lot; rejects open a nonconformance.
Quality releases, rejects or holds a lot with an e-signature; the time from receipt to
release is the batch release time. Every table carries supplier_id (the shipper), so a
supplier may see its own receipts and their outcome, never another's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import ARRAY

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

RECEIPT_STATUSES = ("open", "closed")
DISCREPANCY_KINDS = ("short", "over", "damaged", "unexpected_lot", "unknown_serial", "missing_package", "extra_package")
INSPECTION_STATUSES = ("open", "done")
DECISIONS = ("released", "rejected", "on_hold")
# The material review board's disposition of nonconforming product (ISO 13485 §8.3).
DISPOSITIONS = ("use_as_is", "rework", "return_to_supplier", "scrap")


class Receipt(TenantOwned, Timestamps, Base):
    __tablename__ = "receipt"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        tenant_fk(["asn_id"], "asn"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["site_id"], "site"),
        tenant_fk(["location_id"], "location"),
        sa.Index("ix_receipt_asn", "tenant_id", "asn_id"),
        # A supplier's receipts by arrival: its scorecard and the evidence behind it.
        sa.Index("ix_receipt_supplier_created", "tenant_id", "supplier_id", "created_at"),
        sa.CheckConstraint(within("status", RECEIPT_STATUSES), name="status"),
    )

    number: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    asn_id: orm.Mapped[uuid.UUID | None]
    supplier_id: orm.Mapped[uuid.UUID | None]
    site_id: orm.Mapped[uuid.UUID | None]
    location_id: orm.Mapped[uuid.UUID]
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="open")
    # A receipt with no ship notice behind it is possible, and flagged.
    without_asn: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())
    # The seal found on arrival, compared with the ship notice's.
    seal_number: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    received_by: orm.Mapped[uuid.UUID | None]
    closed_at: orm.Mapped[datetime | None]


class ReceiptLine(TenantOwned, Base):
    """What was found: an item of a lot (one serial, or a quantity), from which package."""

    __tablename__ = "receipt_line"
    __table_args__ = (
        tenant_fk(["receipt_id"], "receipt", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["asn_line_id"], "asn_line"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        sa.Index("ix_receipt_line_receipt", "tenant_id", "receipt_id"),
        # Where a lot came from (a trace: every receipt of the lots found, at once).
        sa.Index("ix_receipt_line_lot", "tenant_id", "lot_id"),
        sa.Index(
            "uq_receipt_line_serial", "tenant_id", "item_id", "serial", unique=True,
            postgresql_where=sa.text("serial IS NOT NULL"),
        ),
        sa.CheckConstraint("quantity > 0", name="quantity"),
    )

    receipt_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    asn_line_id: orm.Mapped[uuid.UUID | None]
    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID | None]
    serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    package_sscc: orm.Mapped[str | None] = orm.mapped_column(sa.String(18))
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class Discrepancy(TenantOwned, Base):
    """Over, short, damaged, unexpected: a difference between the ASN and what came."""

    __tablename__ = "receipt_discrepancy"
    __table_args__ = (
        tenant_fk(["receipt_id"], "receipt", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["asn_line_id"], "asn_line"),
        tenant_fk(["item_id"], "item"),
        sa.Index("ix_receipt_discrepancy_receipt", "tenant_id", "receipt_id"),
        sa.CheckConstraint(within("kind", DISCREPANCY_KINDS), name="kind"),
    )

    receipt_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    asn_line_id: orm.Mapped[uuid.UUID | None]
    item_id: orm.Mapped[uuid.UUID | None]
    lot: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    sscc: orm.Mapped[str | None] = orm.mapped_column(sa.String(18))
    quantity: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(18, 4))
    note: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    created_by: orm.Mapped[uuid.UUID | None]
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class InspectionPlan(TenantOwned, Timestamps, Base):
    """The tenant's incoming inspection rule for an item category: inspect or not, and the
    AQL (ISO 2859-1, general inspection level II) the sample size follows."""

    __tablename__ = "inspection_plan"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "category"), sa.CheckConstraint("aql > 0 and aql <= 10", name="aql"))

    category: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    inspect: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())
    aql: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(4, 2), server_default="1.0")


class Inspection(TenantOwned, Timestamps, Base):
    """Incoming inspection of one lot of one receipt."""

    __tablename__ = "inspection"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "receipt_id", "item_id", "lot_id"),
        tenant_fk(["receipt_id"], "receipt", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        sa.Index("ix_inspection_open", "tenant_id", "status", "created_at"),
        sa.Index("ix_inspection_supplier_completed", "tenant_id", "supplier_id", "completed_at"),
        sa.CheckConstraint(within("status", INSPECTION_STATUSES), name="status"),
        sa.CheckConstraint("accepted_quantity >= 0 and rejected_quantity >= 0", name="quantities"),
    )

    receipt_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID | None]
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="open")
    received_quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    sample_size: orm.Mapped[int | None]
    accepted_quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4), server_default="0")
    rejected_quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4), server_default="0")
    defect_codes: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(40)), server_default="{}")
    note: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    inspected_by: orm.Mapped[uuid.UUID | None]
    completed_at: orm.Mapped[datetime | None]


class Nonconformance(TenantOwned, Timestamps, Base):
    """A simple nonconformance record (the quality issue extends it), and its signed
    disposition (erp.receiving.disposition): what was done with the product, how much,
    why, by whom; a disposition closes it."""

    __tablename__ = "nonconformance"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        tenant_fk(["inspection_id"], "inspection"),
        sa.Index("ix_nonconformance_supplier_created", "tenant_id", "supplier_id", "created_at"),
        sa.CheckConstraint("status in ('open', 'closed')", name="status"),
        sa.CheckConstraint(within("disposition", DISPOSITIONS), name="disposition"),
        # A disposition is made at a time, and only then: the two are set together.
        sa.CheckConstraint("(disposition IS NULL) = (disposed_at IS NULL)", name="disposed"),
        sa.CheckConstraint("disposition_quantity > 0", name="disposition_quantity"),
        # The supplier's return authorisation belongs to a return only.
        sa.CheckConstraint("rma_number IS NULL OR disposition = 'return_to_supplier'", name="rma_number"),
    )

    number: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    supplier_id: orm.Mapped[uuid.UUID | None]
    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID | None]
    inspection_id: orm.Mapped[uuid.UUID | None]
    quantity: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(18, 4))
    defect_codes: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(40)), server_default="{}")
    description: orm.Mapped[str] = orm.mapped_column(sa.Text)
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="open")
    created_by: orm.Mapped[uuid.UUID | None]
    disposition: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    disposition_quantity: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(18, 4))
    disposition_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    disposed_by: orm.Mapped[uuid.UUID | None]
    disposed_at: orm.Mapped[datetime | None]
    rma_number: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    signature_id: orm.Mapped[uuid.UUID | None]


class LotRelease(TenantOwned, Base):
    """Quality's signed decision on a lot in quarantine: released, rejected or on hold.
    Insert-only; the latest decision stands. received_at is the lot's first receipt, so
    decided_at - received_at is the batch release time."""

    __tablename__ = "lot_release"
    __table_args__ = (
        tenant_fk(["lot_id"], "lot"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_lot_release_lot", "tenant_id", "lot_id", "decided_at"),
        sa.CheckConstraint(within("decision", DECISIONS), name="decision"),
    )

    lot_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    decision: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    signature_id: orm.Mapped[uuid.UUID | None]
    decided_by: orm.Mapped[uuid.UUID | None]
    decided_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    received_at: orm.Mapped[datetime | None]
