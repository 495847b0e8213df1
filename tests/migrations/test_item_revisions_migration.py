"""0008: existing items get revision "A" from the day they were created; the revision
history is insert-only for the application role, and only a revision still to come can
be deleted (cancelled)."""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from kernel import migrate
from kernel.database import APP_ROLE, drop_database, provision
from tests.conftest import TEST_PASSWORD


@pytest.mark.parametrize(("privilege", "granted"), [("SELECT", True), ("INSERT", True), ("DELETE", True), ("UPDATE", False)])
def test_the_application_role_never_changes_a_revision(admin, privilege, granted):
    allowed = admin.execute("select has_table_privilege(%s, 'item_revision', %s)", (APP_ROLE, privilege)).fetchone()[0]
    assert allowed is granted


def test_existing_items_get_revision_a_and_the_downgrade_removes_the_table(admin_url, db_urls):
    database = f"traceport_test_revisions_{os.getpid()}"
    urls = provision(admin_url, database, password=TEST_PASSWORD, recreate=True)
    tenants = [uuid.uuid4(), uuid.uuid4()]
    try:
        migrate.upgrade(urls, "0007")
        with migrate.owner_connection(urls) as db:
            for n, tenant in enumerate(tenants):
                db.execute(sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
                db.execute(sa.text("insert into tenant (id, slug, name) values (:t, :s, 'Old')"), {"t": tenant, "s": f"old{n}"})
                for part, created in ((f"OLD-{n}", "2025-03-04 23:30:00+00"), (f"NEW-{n}", "2026-01-02 00:10:00+08")):
                    db.execute(
                        sa.text(
                            "insert into item (tenant_id, id, part_number, name, category, uom, created_at)"
                            " values (:t, gen_random_uuid(), :p, 'Part', 'component', 'EA', :c)"
                        ),
                        {"t": tenant, "p": part, "c": created},
                    )
            db.commit()
        migrate.upgrade(urls, "0008")
        with migrate.owner_connection(urls) as db:
            db.execute(sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenants[0])})
            rows = db.execute(
                sa.text(
                    "select i.part_number, r.revision, r.effective_from, r.description, r.created_by, r.tenant_id"
                    " from item_revision r join item i on i.tenant_id = r.tenant_id and i.id = r.item_id order by 1"
                )
            ).all()
            trail = db.execute(
                sa.text("select count(*) from audit.event where table_name = 'item_revision' and tenant_id = :t"),
                {"t": tenants[0]},
            ).scalar()
            # FORCE RLS holds for the owner too: a revision in effect is not deleted.
            deleted = db.execute(sa.text("delete from item_revision")).rowcount
        assert rows == [
            ("NEW-0", "A", date(2026, 1, 1), "Initial release", None, tenants[0]),  # the day in UTC
            ("OLD-0", "A", date(2025, 3, 4), "Initial release", None, tenants[0]),
        ]
        assert trail == 2 and deleted == 0
        _downgrade(urls, "0007")
        with migrate.owner_connection(urls) as db:
            assert db.execute(sa.text("select to_regclass('item_revision')")).scalar() is None
    finally:
        drop_database(admin_url, database)


def _downgrade(urls, revision: str) -> None:
    from alembic import command

    with migrate.owner_connection(urls) as connection:
        command.downgrade(migrate.alembic_config(connection, urls), revision)
        connection.commit()
