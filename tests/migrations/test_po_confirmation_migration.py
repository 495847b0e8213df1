"""0004 on a database with data: old statuses map onto the lifecycle, existing tenants
get the default reason codes, and the downgrade goes back."""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa

from kernel import migrate
from kernel.database import drop_database, provision
from tests.conftest import TEST_PASSWORD


def test_upgrade_and_downgrade_with_a_tenant_present(admin_url, db_urls):
    database = f"traceport_test_po_{os.getpid()}"
    urls = provision(admin_url, database, password=TEST_PASSWORD, recreate=True)
    tenant, supplier, order = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        migrate.upgrade(urls, "0003")
        with migrate.owner_connection(urls) as db:
            db.execute(sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
            db.execute(sa.text("insert into tenant (id, slug, name) values (:t, 'mig', 'Migrated')"), {"t": tenant})
            db.execute(
                sa.text(
                    "insert into organisation (tenant_id, id, code, kind, name, supplier_id)"
                    " values (:t, :s, 'S1', 'supplier', 'Supplier', :s)"
                ),
                {"t": tenant, "s": supplier},
            )
            db.execute(
                sa.text(
                    "insert into purchase_order (tenant_id, id, number, supplier_id, status, currency, order_date)"
                    " values (:t, :o, 'PO-1', :s, 'confirmed', 'EUR', current_date)"
                ),
                {"t": tenant, "o": order, "s": supplier},
            )
            db.commit()
        migrate.upgrade(urls)
        with migrate.owner_connection(urls) as db:
            db.execute(sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
            status, version = db.execute(sa.text("select status, version from purchase_order")).one()
            codes = db.execute(sa.text("select code, name_zh from po_reason_code order by created_at")).all()
        assert (status, version) == ("acknowledged", 1)
        assert [c for c, _ in codes] == ["capacity", "price", "lead_time", "discontinued", "spec", "other"]
        assert dict(codes)["other"] == "其他"
        _downgrade(urls, "0003")
        with migrate.owner_connection(urls) as db:
            db.execute(sa.text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
            assert db.execute(sa.text("select status from purchase_order")).scalar() == "confirmed"
    finally:
        drop_database(admin_url, database)


def _downgrade(urls, revision: str) -> None:
    from alembic import command

    with migrate.owner_connection(urls) as connection:
        command.downgrade(migrate.alembic_config(connection, urls), revision)
        connection.commit()
