"""Declarative base and the column shapes every domain shares."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import UUID

from kernel.ids import new_id

# The platform's own rows (its audit chain, mail with no tenant in context) carry the nil
# UUID as their tenant; the policies admit it only when no tenant is in context.
NIL_TENANT_ID = uuid.UUID(int=0)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {uuid.UUID: UUID(as_uuid=True), datetime: sa.DateTime(timezone=True)}


class TenantOwned:
    """Keys lead with tenant_id so the schema can be distributed by tenant (Citus)."""

    tenant_id: orm.Mapped[uuid.UUID] = orm.mapped_column(
        primary_key=True, server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")
    )
    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=new_id)


class Timestamps:
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    updated_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now(), onupdate=sa.func.now())


def within(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's text: the column takes one of the values."""
    return f"{column} in ({', '.join(repr(v) for v in values)})"


def tenant_fk(columns: list[str], target: str, target_columns: list[str] | None = None, **kw) -> sa.ForeignKeyConstraint:
    """A foreign key within one tenant: (tenant_id, x) -> target(tenant_id, id)."""
    target_columns = target_columns or ["id"]
    return sa.ForeignKeyConstraint(
        ["tenant_id", *columns], [f"{target}.tenant_id", *(f"{target}.{c}" for c in target_columns)], **kw
    )
