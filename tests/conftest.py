"""Test fixtures: real PostgreSQL as the application role.

With no DATABASE_URL the embedded server is used; with one, DATABASE_URL names a
server and a role allowed to create roles and databases (CI uses the machine's own
PostgreSQL 15 this way): the suite provisions a throwaway database there, runs the
migrations as the owner role and connects as the application role.

Two tenants, each with two suppliers, are always present (`world`), so a leak fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

import psycopg
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import orm

from documents.crypto import MasterKeys
from documents.storage import LocalStorage
from documents.vault import Vault
from kernel import migrate
from kernel.database import drop_database, embedded_admin_url, libpq_url, provision, start_embedded
from kernel.runtime import Runtime
from kernel.settings import load_settings
from tests.factories import make_tenant_world

TEST_PASSWORD = "traceport-test-only"


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def settings(tmp_path_factory, signing_key, smtp_server):
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return load_settings(
        TRACEPORT_ENV="test", AUDIT_SIGNING_KEY=pem, SECRET_KEY="test-secret-" + uuid.uuid4().hex, SMTP_URL=smtp_server.url
    )


# --- mail: a real SMTP server (aiosmtpd) for the whole run ------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpServer:
    url: str
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=email_policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on a free local port; settings.smtp_url points at it. What it
    receives is parsed (email.message.EmailMessage) into `.messages`; read it through
    `mailbox`."""
    port = free_port()
    server = SmtpServer(url=f"smtp://127.0.0.1:{port}")
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    yield server
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> list[EmailMessage]:
    """The messages the SMTP server receives during this test, oldest first."""
    smtp_server.messages.clear()
    return smtp_server.messages


# -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def admin_url(settings) -> str:
    """An administrator's URL - for provisioning and tamper tests only, never the app."""
    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        return server_url
    start_embedded(settings)
    return embedded_admin_url(settings)


@pytest.fixture(scope="session")
def db_urls(admin_url):
    # One database per run, so parallel runs on one server never disturb each other.
    database = f"traceport_test_{os.getpid()}"
    urls = provision(admin_url, database, password=TEST_PASSWORD, recreate=True)
    migrate.upgrade(urls)
    yield urls
    drop_database(admin_url, database)


@pytest.fixture(scope="session")
def runtime(settings, db_urls):
    """Committing runtime (the app role, real transactions)."""
    rt = Runtime.start(settings, db_urls)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def worlds(runtime):
    """Two tenants, two suppliers each, users for every role; committed once."""
    with runtime.uow() as uow:
        a = make_tenant_world(uow, slug="alpha")
        b = make_tenant_world(uow, slug="beta")
        uow.commit()
    return a, b


@pytest.fixture
def world(worlds):
    return worlds[0]


@pytest.fixture
def other_world(worlds):
    return worlds[1]


@pytest.fixture
def tx(runtime, worlds):
    """A runtime whose units of work run inside one outer transaction that is rolled
    back after the test; `uow.commit()` commits a savepoint."""
    connection = runtime.engine.connect()
    outer = connection.begin()
    sessions = orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield Runtime(settings=runtime.settings, urls=runtime.urls, engine=runtime.engine, sessions=sessions)
    outer.rollback()
    connection.close()


@pytest.fixture
def admin(admin_url, db_urls):
    """A superuser psycopg connection to the test database, for tampering and catalog checks."""
    from sqlalchemy.engine import make_url

    database = make_url(db_urls.app).database
    url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        yield conn


@pytest.fixture
def vault(settings, tmp_path) -> Vault:
    """Encrypted file storage on local disk under the test's tmp_path, with the master keys
    of the settings and a 5 MB upload limit."""
    return Vault(LocalStorage(tmp_path / "files"), MasterKeys.from_settings(settings), max_upload_bytes=5 * 1024 * 1024)
