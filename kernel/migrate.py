"""Run alembic as the owner role (`traceport db upgrade`, the demo, the tests)."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from kernel.database import DatabaseUrls
from kernel.settings import PROJECT_ROOT


def alembic_config(connection: sa.Connection, urls: DatabaseUrls) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    config.attributes["app_role"] = urls.app_role
    return config


@contextmanager
def owner_connection(urls: DatabaseUrls):
    engine = sa.create_engine(urls.owner, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def upgrade(urls: DatabaseUrls, revision: str = "head") -> None:
    with owner_connection(urls) as connection:
        command.upgrade(alembic_config(connection, urls), revision)
        connection.commit()


def check(urls: DatabaseUrls) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    with owner_connection(urls) as connection:
        command.check(alembic_config(connection, urls))


def current(urls: DatabaseUrls) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with owner_connection(urls) as connection:
        return MigrationContext.configure(connection).get_current_revision()
