"""The audit trail's tables (schema `audit`). The application role may INSERT and
SELECT here, never UPDATE, DELETE or TRUNCATE (granted in migrations, checked in tests).

- event: written by triggers for every change of an audited table, unchained, so
  writers never wait on one another. Each carries its transaction's id (`xact`): every
  event of a transaction older than the oldest one still running is final, so the
  sealer chains events by ranges of transaction ids and needs no queue table;
- seal: the chain, insert-only: per tenant a gapless seq, each hash covering the
  previous hash and the canonical event;
- checkpoint: the chain head signed with Ed25519 after each sealing run, with the
  transaction horizon below which every event is sealed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from kernel.models import Base

SCHEMA = "audit"


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (sa.Index("ix_event_xact", "tenant_id", "xact", "id"), {"schema": SCHEMA})

    tenant_id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True)
    id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    occurred_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.clock_timestamp())
    xact: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)  # pg_current_xact_id() of the writer
    actor_id: orm.Mapped[uuid.UUID | None]
    actor: orm.Mapped[str] = orm.mapped_column(sa.Text)
    action: orm.Mapped[str] = orm.mapped_column(sa.String(1))
    table_name: orm.Mapped[str] = orm.mapped_column(sa.Text)
    row_id: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    old_values: orm.Mapped[dict | None] = orm.mapped_column(JSONB)
    new_values: orm.Mapped[dict | None] = orm.mapped_column(JSONB)
    reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    request_id: orm.Mapped[str | None] = orm.mapped_column(sa.Text)


class Seal(Base):
    __tablename__ = "seal"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "event_id"), {"schema": SCHEMA})

    tenant_id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True)
    seq: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    event_id: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    hash: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary)
    sealed_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.clock_timestamp())


class Checkpoint(Base):
    __tablename__ = "checkpoint"
    __table_args__ = {"schema": SCHEMA}

    tenant_id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True)
    seq: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    hash: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary)
    signed_at: orm.Mapped[datetime]
    key_id: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    # Every event of a transaction below this id is sealed (the sealer's snapshot xmin).
    horizon: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    signature: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary)
