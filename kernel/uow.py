"""The unit of work: one transaction per request, job or command.

It opens a SQLAlchemy session on the application role's engine and, at the start of
every transaction, sets the tenant context with `set_config(..., true)` - local to the
transaction, so a pooled connection carries nothing into the next one
(notes/postgres.md). Row-level security policies and the audit triggers read it.
Services receive the unit of work and never commit; the caller does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import event, orm

SYSTEM_ACTOR_NAME = "system"


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user in one membership, an API client, or the system."""

    user_id: uuid.UUID | None
    name: str
    kind: str = "user"  # user | api | system
    role: str | None = None
    supplier_id: uuid.UUID | None = None
    membership_id: uuid.UUID | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls, name: str = SYSTEM_ACTOR_NAME) -> Actor:
        return cls(user_id=None, name=name, kind="system")

    @property
    def is_supplier(self) -> bool:
        return self.supplier_id is not None


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for security events (set by the web layer)."""

    ip: str | None = None
    user_agent: str | None = None


_CONTEXT_SQL = sa.text(
    "select set_config('app.tenant_id', :tenant, true), set_config('app.supplier_id', :supplier, true),"
    " set_config('app.user_id', :user, true), set_config('app.actor', :actor, true),"
    " set_config('app.reason', :reason, true), set_config('app.request_id', :request, true)"
)


class UnitOfWork:
    """`with UnitOfWork(sessions, tenant_id=..., actor=...) as uow: ...; uow.commit()`.

    Leaving the block without `commit()` rolls back. After a commit, callbacks queued
    with `after_commit` run (wake the outbox, defer jobs) - never before.
    """

    def __init__(
        self,
        sessions: orm.sessionmaker,
        *,
        tenant_id: uuid.UUID | None = None,
        actor: Actor | None = None,
        reason: str | None = None,
        request_id: str | None = None,
        on_outbox: Callable[[uuid.UUID], None] | None = None,
    ) -> None:
        self._sessions = sessions
        # Called after a commit that wrote outbox messages (wakes the delivery job).
        self.on_outbox = on_outbox
        self._outbox_pending = False
        self.tenant_id = tenant_id
        self.actor = actor or Actor.system()
        self._reason = reason
        self.request_id = request_id
        self.origin = Origin()
        self.session: orm.Session | None = None
        self._after_commit: list[Callable[[], None]] = []

    # -- context -----------------------------------------------------------------
    @property
    def supplier_id(self) -> uuid.UUID | None:
        return self.actor.supplier_id

    def _context_params(self) -> dict[str, str]:
        return {
            "tenant": str(self.tenant_id or ""),
            "supplier": str(self.actor.supplier_id or ""),
            "user": str(self.actor.user_id or ""),
            "actor": self.actor.name,
            "reason": self._reason or "",
            "request": self.request_id or "",
        }

    def _set_context(self, session, transaction, connection) -> None:
        connection.execute(_CONTEXT_SQL, self._context_params())

    @property
    def reason(self) -> str | None:
        return self._reason

    @reason.setter
    def reason(self, value: str | None) -> None:
        """Reason for the changes that follow; the audit trail records it."""
        self._reason = value
        if self.session is not None and self.session.in_transaction():
            self.session.execute(sa.text("select set_config('app.reason', :r, true)"), {"r": value or ""})

    def switch_tenant(self, tenant_id: uuid.UUID | None, actor: Actor | None = None) -> None:
        """Change context for the rest of this transaction (sign-in picks a tenant)."""
        self.tenant_id = tenant_id
        if actor is not None:
            self.actor = actor
        if self.session is not None and self.session.in_transaction():
            self.session.execute(_CONTEXT_SQL, self._context_params())

    # -- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        event.listen(self.session, "after_begin", self._set_context)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()
        self._after_commit.clear()
        self._outbox_pending = False

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def outbox_written(self) -> None:
        """Note that this transaction queued outbox messages; wake delivery after commit."""
        if self._outbox_pending or self.on_outbox is None or self.tenant_id is None:
            return
        self._outbox_pending = True
        tenant_id, wake = self.tenant_id, self.on_outbox

        def _wake() -> None:
            self._outbox_pending = False
            wake(tenant_id)

        self.after_commit(_wake)

    # -- helpers -------------------------------------------------------------------
    def execute(self, statement, params=None):
        assert self.session is not None
        return self.session.execute(statement, params)

    def scalar(self, statement, params=None):
        assert self.session is not None
        return self.session.scalar(statement, params)

    def add(self, obj) -> None:
        assert self.session is not None
        self.session.add(obj)

    def flush(self) -> None:
        assert self.session is not None
        self.session.flush()


def make_sessionmaker(engine: sa.Engine) -> orm.sessionmaker:
    return orm.sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
