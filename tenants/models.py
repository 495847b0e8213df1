"""Tenants, organisations (the tenant's own company and its suppliers), sites, memberships."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from kernel.ids import new_id
from kernel.models import Base, TenantOwned, Timestamps, tenant_fk


class Tenant(Timestamps, Base):
    __tablename__ = "tenant"

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=new_id)
    slug: orm.Mapped[str] = orm.mapped_column(sa.String(40), unique=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    name_zh: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    default_locale: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="en")
    is_active: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())
    # Second factor required for: none, supplier users, or everyone in the tenant.
    mfa_policy: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="none")
    __table_args__ = (sa.CheckConstraint("mfa_policy in ('none', 'suppliers', 'all')", name="mfa_policy"),)


class OrganisationKind(enum.StrEnum):
    TENANT = "tenant"
    SUPPLIER = "supplier"


class Organisation(TenantOwned, Timestamps, Base):
    __tablename__ = "organisation"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.CheckConstraint("kind in ('tenant', 'supplier')", name="kind"),
        # A supplier organisation scopes itself; the tenant's own company has no supplier_id.
        sa.CheckConstraint("(kind = 'supplier') = (supplier_id is not null)", name="supplier_scope"),
    )

    code: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    name_zh: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    country: orm.Mapped[str | None] = orm.mapped_column(sa.String(2))
    # For supplier organisations: its own id, so the supplier policy applies uniformly.
    supplier_id: orm.Mapped[uuid.UUID | None]


class Site(TenantOwned, Timestamps, Base):
    __tablename__ = "site"
    __table_args__ = (
        tenant_fk(["organisation_id"], "organisation"),
        sa.CheckConstraint("kind in ('manufacturing', 'distribution', 'warehouse', 'office')", name="kind"),
    )

    organisation_id: orm.Mapped[uuid.UUID]
    # Null for the tenant's own sites (ship-to addresses every supplier may see).
    supplier_id: orm.Mapped[uuid.UUID | None]
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    address: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    country: orm.Mapped[str | None] = orm.mapped_column(sa.String(2))


class Membership(TenantOwned, Timestamps, Base):
    __tablename__ = "membership"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "user_id"),
        tenant_fk(["organisation_id"], "organisation"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"]),
        tenant_fk(["role"], "role", ["key"]),
        sa.Index("ix_membership_user", "user_id"),
    )

    user_id: orm.Mapped[uuid.UUID]
    organisation_id: orm.Mapped[uuid.UUID]
    # Set for supplier users: the restrictive supplier policies read it.
    supplier_id: orm.Mapped[uuid.UUID | None]
    role: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    is_active: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())


class Invitation(TenantOwned, Timestamps, Base):
    """An invitation to join the tenant (a supplier's contact, or a colleague).

    The emailed link carries a random token; only its SHA-256 is stored. It is good
    once, until it expires or is revoked."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.UniqueConstraint("token_hash"),
        tenant_fk(["organisation_id"], "organisation"),
        tenant_fk(["role"], "role", ["key"]),
    )

    email: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    full_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    organisation_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    role: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    token_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    invited_by: orm.Mapped[uuid.UUID | None]
    expires_at: orm.Mapped[datetime]
    accepted_at: orm.Mapped[datetime | None]
    accepted_by: orm.Mapped[uuid.UUID | None]
    revoked_at: orm.Mapped[datetime | None]


class Counter(Base):
    """Gapless per-tenant counters for human numbers (PO-2026-000123)."""

    __tablename__ = "counter"

    tenant_id: orm.Mapped[uuid.UUID] = orm.mapped_column(
        primary_key=True, server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")
    )
    name: orm.Mapped[str] = orm.mapped_column(sa.String(40), primary_key=True)
    value: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, server_default="0")
