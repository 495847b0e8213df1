"""The running system's handles: settings, database URLs, engine, session factory.

Built once by the entry point (web app factory, worker, CLI, tests), never at import.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from kernel.database import DatabaseUrls, create_app_engine, resolve_urls
from kernel.settings import Settings
from kernel.uow import Actor, UnitOfWork, make_sessionmaker


@dataclass
class Runtime:
    settings: Settings
    urls: DatabaseUrls
    engine: sa.Engine
    sessions: orm.sessionmaker
    # Wakes outbox delivery after a commit (the job app's defer); None: the periodic sweep only.
    on_outbox: Callable[[uuid.UUID], None] | None = None

    @classmethod
    def start(cls, settings: Settings, urls: DatabaseUrls | None = None) -> Runtime:
        settings.check_production()
        urls = urls or resolve_urls(settings)
        engine = create_app_engine(urls, pool_size=settings.db_pool_size)
        return cls(settings=settings, urls=urls, engine=engine, sessions=make_sessionmaker(engine))

    def uow(
        self,
        *,
        tenant_id: uuid.UUID | None = None,
        actor: Actor | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> UnitOfWork:
        return UnitOfWork(
            self.sessions, tenant_id=tenant_id, actor=actor, reason=reason, request_id=request_id, on_outbox=self.on_outbox
        )

    def close(self) -> None:
        self.engine.dispose()
