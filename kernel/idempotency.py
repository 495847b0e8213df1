"""Idempotency keys for API creates: the first response is stored and replayed."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from kernel.models import Base


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"

    tenant_id: orm.Mapped[uuid.UUID] = orm.mapped_column(
        primary_key=True, server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")
    )
    principal: orm.Mapped[str] = orm.mapped_column(sa.String(80), primary_key=True)
    key: orm.Mapped[str] = orm.mapped_column(sa.String(200), primary_key=True)
    request_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    status: orm.Mapped[int]
    body: orm.Mapped[dict | list | None] = orm.mapped_column(JSONB)
    headers: orm.Mapped[dict | None] = orm.mapped_column(JSONB)
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


def lookup(uow, *, principal: str, key: str) -> IdempotencyKey | None:
    return uow.session.get(IdempotencyKey, (uow.tenant_id, principal, key))


def remember(uow, *, principal: str, key: str, request_hash: str, status: int, body, headers: dict | None = None) -> None:
    uow.add(
        IdempotencyKey(
            tenant_id=uow.tenant_id,
            principal=principal,
            key=key,
            request_hash=request_hash,
            status=status,
            body=body,
            headers=headers,
        )
    )
    uow.flush()
