"""The outbox: side effects (mail, webhooks, jobs) are written in the same transaction
as the change and leave only after the commit, through the delivery job."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from kernel.ids import new_id
from kernel.models import NIL_TENANT_ID, Base, TenantOwned

Handler = Callable[["object", dict], None]


class OutboxMessage(TenantOwned, Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        sa.Index("ix_outbox_message_undelivered", "tenant_id", "id", postgresql_where=sa.text("delivered_at is null")),
    )

    topic: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    payload: orm.Mapped[dict] = orm.mapped_column(JSONB)
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    attempts: orm.Mapped[int] = orm.mapped_column(server_default="0")
    last_error: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    delivered_at: orm.Mapped[datetime | None]


def emit(uow, topic: str, payload: dict) -> OutboxMessage:
    """Queue a side effect in the caller's transaction.

    With no tenant in context (platform mail: a password reset before sign-in) the row
    belongs to the nil tenant, NIL_TENANT_ID, whose delivery job runs with that id as
    its tenant context."""
    if uow.tenant_id is None:
        return _emit_platform(uow, topic, payload)
    message = OutboxMessage(topic=topic, payload=payload, tenant_id=uow.tenant_id)
    uow.add(message)
    uow.flush()
    uow.outbox_written()
    return message


def _emit_platform(uow, topic: str, payload: dict) -> OutboxMessage:
    """The nil tenant's row, written with a plain INSERT: the ORM's INSERT ... RETURNING
    (for the server defaults) would need the row to pass the policy's USING clause too, and
    platform mail is visible only in the nil tenant's context (its delivery job), not to
    every transaction that has no tenant. Returns the message unattached to the session."""
    message = OutboxMessage(id=new_id(), tenant_id=NIL_TENANT_ID, topic=topic, payload=payload, attempts=0)
    uow.execute(sa.insert(OutboxMessage.__table__).values(id=message.id, tenant_id=NIL_TENANT_ID, topic=topic, payload=payload))
    # UnitOfWork.outbox_written wakes only a tenant in context; a rollback drops this
    # callback with the others.
    wake = uow.on_outbox
    if wake is not None:
        uow.after_commit(lambda: wake(NIL_TENANT_ID))
    return message


class Dispatcher:
    """Topic -> handler. Handlers run inside the delivery job's unit of work."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, topic: str, handler: Handler) -> None:
        self._handlers[topic] = handler

    def deliver_pending(self, uow, *, limit: int = 100) -> int:
        """Deliver this tenant's undelivered messages; each one in a savepoint so one
        failing handler neither loses nor blocks the others. Returns how many were sent."""
        rows = uow.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.delivered_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        sent = 0
        for message in rows:
            handler = self._handlers.get(message.topic)
            try:
                with uow.session.begin_nested():
                    if handler is None:
                        raise LookupError(f"no handler for topic {message.topic!r}")
                    handler(uow, message.payload)
            except Exception as exc:  # noqa: BLE001 - recorded on the message, retried later
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"
                continue
            message.delivered_at = sa.func.now()
            message.attempts += 1
            sent += 1
        uow.flush()
        return sent


def tenants_with_pending(connection) -> list[uuid.UUID]:
    """Tenants that have undelivered messages (security-definer function: the sweeper
    runs with no tenant context)."""
    return [row[0] for row in connection.execute(sa.text("select * from app.outbox_tenants()"))]
