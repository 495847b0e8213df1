"""Migration 0003 on existing data: GTINs become GS1 UDI-DIs, as GTIN-14."""

from __future__ import annotations

import os
import uuid

import psycopg

from kernel import migrate
from kernel.database import drop_database, libpq_url, provision
from tests.conftest import TEST_PASSWORD


def test_existing_gtins_become_gs1_udi_dis(admin_url):
    database = f"traceport_migration_{os.getpid()}"
    urls = provision(admin_url, database, password=TEST_PASSWORD, recreate=True)
    tenant = uuid.uuid4()
    try:
        migrate.upgrade(urls, "0002")
        with psycopg.connect(libpq_url(urls.owner)) as conn:
            conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
            conn.execute("insert into tenant (id, slug, name) values (%s, 'old', 'Old tenant')", (tenant,))
            for part, gtin in (("A", "4006381333931"), ("B", "09506000134352"), ("C", None)):
                conn.execute(
                    "insert into item (tenant_id, id, part_number, name, category, uom, gtin)"
                    " values (%s, gen_random_uuid(), %s, 'Part', 'component', 'EA', %s)",
                    (tenant, part, gtin),
                )
        migrate.upgrade(urls, "0003")
        with psycopg.connect(libpq_url(urls.owner)) as conn:
            conn.execute("select set_config('app.tenant_id', %s, true)", (str(tenant),))
            rows = conn.execute("select part_number, issuing_agency, udi_di from item order by 1").fetchall()
            forced = conn.execute("select relforcerowsecurity from pg_class where relname = 'tenant'").fetchone()[0]
        assert rows == [("A", "GS1", "04006381333931"), ("B", "GS1", "09506000134352"), ("C", None, None)]
        assert forced
    finally:
        drop_database(admin_url, database)
