"""Suppliers: their contacts and the approved supplier list (ISO 13485 §7.4.1).

The supplier companies and their sites are tenants.models.Organisation (kind supplier)
and Site. An approved source says which items, or which categories of items, a supplier
(every site, or one site) is approved to supply, with its status and the reason and
time of the last change; approved_source_change keeps every change (insert-only). Every
table carries supplier_id, so the supplier policy needs no join.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm

from erp.items.models import CATEGORIES
from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

# approved: may supply; conditional: may supply under stated conditions (extra
# inspection, say); probation: may supply while it proves itself again; disqualified:
# no new purchase orders for what the entry covers.
STATUSES = ("approved", "conditional", "probation", "disqualified")


class SupplierContact(TenantOwned, Timestamps, Base):
    __tablename__ = "supplier_contact"
    __table_args__ = (
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_supplier_contact_supplier", "tenant_id", "supplier_id", "name"),
        # One primary contact per supplier.
        sa.Index("ix_supplier_contact_primary", "tenant_id", "supplier_id", unique=True, postgresql_where=sa.text("is_primary")),
    )

    supplier_id: orm.Mapped[uuid.UUID]
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    email: orm.Mapped[str | None] = orm.mapped_column(sa.String(254))
    phone: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    # What the person does for the tenant: sales, quality, logistics...
    role: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    is_primary: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())


class ApprovedSource(TenantOwned, Timestamps, Base):
    """One entry of the approved supplier list: a supplier (site_id null: every site of
    it) approved for one item or for a category of items."""

    __tablename__ = "approved_source"
    __table_args__ = (
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["site_id"], "site"),
        tenant_fk(["item_id"], "item"),
        sa.CheckConstraint(within("status", STATUSES), name="status"),
        sa.CheckConstraint(within("category", CATEGORIES), name="category"),
        sa.CheckConstraint("(item_id is null) <> (category is null)", name="item_or_category"),
        sa.CheckConstraint("btrim(reason) <> ''", name="reason"),
        # One entry per supplier, site (or none) and item or category: nulls count as equal.
        sa.Index(
            "ix_approved_source_scope",
            "tenant_id",
            "supplier_id",
            "site_id",
            "item_id",
            "category",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        sa.Index("ix_approved_source_item", "tenant_id", "item_id"),
    )

    supplier_id: orm.Mapped[uuid.UUID]
    site_id: orm.Mapped[uuid.UUID | None]
    item_id: orm.Mapped[uuid.UUID | None]
    category: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    status: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    changed_at: orm.Mapped[datetime]
    changed_by: orm.Mapped[uuid.UUID | None]


class ApprovedSourceChange(TenantOwned, Base):
    """A change of an approved source's status, with its reason: written once, never
    changed (the application role may only insert and read)."""

    __tablename__ = "approved_source_change"
    __table_args__ = (
        tenant_fk(["approved_source_id"], "approved_source"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.CheckConstraint(within("from_status", STATUSES), name="from_status"),
        sa.CheckConstraint(within("to_status", STATUSES), name="to_status"),
        sa.Index("ix_approved_source_change_source", "tenant_id", "approved_source_id", "changed_at"),
    )

    approved_source_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    from_status: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    to_status: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    changed_at: orm.Mapped[datetime]
    changed_by: orm.Mapped[uuid.UUID | None]


# What a certificate requirement applies to: every supplier; the suppliers (sites)
# approved for a category of items (approved_source by category, or for an item of it);
# one site; the suppliers (sites) approved for one item.
REQUIREMENT_SCOPES = ("all", "category", "site", "item")


class CertificateRequirement(TenantOwned, Timestamps, Base):
    """One cell of the requirement matrix: a certificate type that a scope needs (every
    sterile-barrier supplier site needs a valid ISO 13485 certificate, say). supplier_id
    is set for site requirements only, so a supplier sees the rules of its own sites and
    the general ones, not another supplier's."""

    __tablename__ = "certificate_requirement"
    __table_args__ = (
        tenant_fk(["certificate_type_id"], "certificate_type"),
        tenant_fk(["site_id"], "site"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.CheckConstraint(within("scope", REQUIREMENT_SCOPES), name="scope"),
        sa.CheckConstraint(within("category", CATEGORIES), name="category"),
        sa.CheckConstraint(
            "(scope = 'all' and category is null and site_id is null and item_id is null)"
            " or (scope = 'category' and category is not null and site_id is null and item_id is null)"
            " or (scope = 'site' and site_id is not null and supplier_id is not null and category is null and item_id is null)"
            " or (scope = 'item' and item_id is not null and category is null and site_id is null)",
            name="scope_target",
        ),
        sa.Index(
            "ix_certificate_requirement_cell",
            "tenant_id",
            "certificate_type_id",
            "scope",
            "category",
            "site_id",
            "item_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    certificate_type_id: orm.Mapped[uuid.UUID]
    scope: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    category: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    site_id: orm.Mapped[uuid.UUID | None]
    item_id: orm.Mapped[uuid.UUID | None]
    supplier_id: orm.Mapped[uuid.UUID | None]


# What a supplier's grade means for new purchase orders (set by the tenant per grade).
GRADE_ACTIONS = ("none", "warn", "approval", "block")


class SupplierGrade(TenantOwned, Timestamps, Base):
    """The supplier's current scorecard grade and what it means for new orders: written
    by scoring (erp.suppliers.service.set_grade) after each recompute, read by the order
    issue gate (erp.purchasing.gate). No row: no grade yet, no action."""

    __tablename__ = "supplier_grade"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "supplier_id"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.CheckConstraint(within("action", GRADE_ACTIONS), name="action"),
    )

    supplier_id: orm.Mapped[uuid.UUID]
    grade: orm.Mapped[str | None] = orm.mapped_column(sa.String(2))
    score: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(5, 2))
    action: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="none")
    # The scorecard period the grade comes from ("R12-2026-11").
    period_key: orm.Mapped[str | None] = orm.mapped_column(sa.String(12))
    graded_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
