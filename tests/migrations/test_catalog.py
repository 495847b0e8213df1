"""The database catalogue holds the isolation and audit guarantees."""

from __future__ import annotations

import pytest

from kernel import migrate
from kernel.database import APP_ROLE

# Not audited: plumbing, and the security log (itself insert-only, checked below).
INFRASTRUCTURE = {"public.outbox_message", "public.idempotency_key", "public.counter", "public.security_event"}
# Not audited: derived caches, recomputed from audited records (scoring/aggregates.py).
DERIVED = {"public.compliance_day", "public.compliance_release", "public.compliance_refresh"}
# Insert-only machine records, each covered by an audited row that counts and hashes them
# (erp/coldchain/models.py): the application role may not change or remove them.
MACHINE_RECORDS = {"public.reading": "public.reading_batch"}


def tenant_tables(admin) -> list[tuple[str, bool, bool, int]]:
    return admin.execute(
        """
        select c.oid::regclass::text, c.relrowsecurity, c.relforcerowsecurity,
               (select count(*) from pg_policy p where p.polrelid = c.oid)
        from pg_class c join pg_attribute a on a.attrelid = c.oid
        where a.attname = 'tenant_id' and not a.attisdropped and c.relkind in ('r', 'p')
          and c.relnamespace::regnamespace::text not in ('pg_catalog', 'information_schema', 'procrastinate')
        order by 1
        """
    ).fetchall()


def qualified(name: str) -> str:
    return name if "." in name else f"public.{name}"


def test_every_tenant_table_has_forced_rls_and_a_policy(admin):
    rows = tenant_tables(admin)
    assert len(rows) >= 10
    for name, enabled, forced, policies in rows:
        assert enabled and forced, f"{name}: row-level security must be enabled and forced"
        assert policies >= 1, f"{name}: no policy"


def test_every_table_with_a_supplier_column_has_the_supplier_scope(admin):
    """A supplier user sees its own rows only: every tenant table that names a supplier
    carries the restrictive supplier policy (organisation: the supplier's own company)."""
    rows = admin.execute(
        """
        select c.oid::regclass::text,
               exists (select 1 from pg_policy p where p.polrelid = c.oid and not p.polpermissive)
        from pg_class c join pg_attribute a on a.attrelid = c.oid
        where a.attname = 'supplier_id' and not a.attisdropped and c.relkind in ('r', 'p')
          and c.relnamespace::regnamespace::text = 'public'
          and exists (select 1 from pg_attribute t where t.attrelid = c.oid and t.attname = 'tenant_id')
        order by 1
        """
    ).fetchall()
    assert len(rows) >= 10
    assert [name for name, restricted in rows if not restricted] == []


def test_every_domain_tenant_table_is_audited(admin):
    triggers = {
        (qualified(table), name)
        for table, name in admin.execute(
            "select tgrelid::regclass::text, tgname from pg_trigger where not tgisinternal and tgname like 'audit_%'"
        )
    }
    for name, *_ in tenant_tables(admin):
        if name.startswith("audit.") or qualified(name) in INFRASTRUCTURE | DERIVED:
            continue
        if qualified(name) in MACHINE_RECORDS:
            assert (qualified(name), "audit_no_truncate") in triggers
            assert (MACHINE_RECORDS[qualified(name)], "audit_insert") in triggers
            continue
        for action in ("insert", "update", "delete", "no_truncate"):
            assert (qualified(name), f"audit_{action}") in triggers, f"{name} lacks audit_{action}"


def test_machine_records_cannot_be_changed_by_the_application(admin):
    for table in MACHINE_RECORDS:
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            allowed = admin.execute("select has_table_privilege(%s, %s, %s)", (APP_ROLE, table, privilege)).fetchone()[0]
            assert not allowed, f"{APP_ROLE} may {privilege} {table}"


def test_application_role_is_neither_superuser_nor_bypassing_rls(admin):
    row = admin.execute(
        "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = %s", (APP_ROLE,)
    ).fetchone()
    assert row == (False, False, False, False)


def test_application_role_owns_nothing(admin):
    owned = admin.execute(
        """
        select 'table ' || relname from pg_class where relowner = %(r)s::regrole
        union all select 'schema ' || nspname from pg_namespace where nspowner = %(r)s::regrole
        union all select 'function ' || proname from pg_proc where proowner = %(r)s::regrole
        union all select 'type ' || typname from pg_type where typowner = %(r)s::regrole
        """,
        {"r": APP_ROLE},
    ).fetchall()
    assert owned == []


@pytest.mark.parametrize("privilege", ["UPDATE", "DELETE", "TRUNCATE"])
def test_application_role_cannot_change_audit_tables(admin, privilege):
    tables = [
        r[0]
        for r in admin.execute(
            "select oid::regclass::text from pg_class where relnamespace = 'audit'::regnamespace and relkind = 'r'"
        )
    ]
    assert {"audit.event", "audit.seal", "audit.checkpoint"} <= set(tables)
    for table in tables:
        allowed = admin.execute("select has_table_privilege(%s, %s, %s)", (APP_ROLE, table, privilege)).fetchone()[0]
        assert not allowed, f"{APP_ROLE} has {privilege} on {table}"


@pytest.mark.parametrize("table", ["e_signature", "security_event"])
@pytest.mark.parametrize("privilege", ["UPDATE", "DELETE"])
def test_signatures_and_security_events_are_insert_only(admin, table, privilege):
    assert not admin.execute("select has_table_privilege(%s, %s, %s)", (APP_ROLE, table, privilege)).fetchone()[0]


def test_identity_secrets_are_redacted_in_the_trail(admin):
    args = dict(
        admin.execute(
            """select tgrelid::regclass::text, encode(tgargs, 'escape') from pg_trigger
               where tgname = 'audit_insert' and tgrelid::regclass::text in
               ('user_account', 'invitation', 'sso_config', 'api_client', 'api_token', 'recovery_code', 'password_reset')"""
        ).fetchall()
    )
    expected = {
        "user_account": "password_hash,totp_secret",
        "invitation": "token_hash",
        "sso_config": "client_secret",
        "api_client": "secret_hash",
        "api_token": "token_hash",
        "recovery_code": "code_hash",
        "password_reset": "token_hash",
    }
    for table, columns in expected.items():
        assert columns in args[table], f"{table} must redact {columns}: {args[table]!r}"


def test_application_role_has_no_truncate_anywhere(admin):
    rows = admin.execute(
        """select c.oid::regclass::text from pg_class c
           where c.relkind = 'r' and c.relnamespace::regnamespace::text in ('public', 'audit')
             and has_table_privilege(%s, c.oid, 'TRUNCATE')""",
        (APP_ROLE,),
    ).fetchall()
    assert rows == []


def test_models_and_migrations_agree(db_urls):
    migrate.check(db_urls)  # alembic check: raises when autogenerate finds a difference


BUYER_ONLY = (
    "customer", "production_run", "genealogy_link", "customer_shipment", "customer_shipment_line", "trace_snapshot",
    "epcis_event", "storage_condition", "data_logger", "logger_binding", "reading_batch", "reading", "cold_chain_alert",
)


def test_the_tenants_own_records_are_empty_to_supplier_users(admin):
    """Customers, genealogy, traces and cold-chain records carry no supplier column, so the
    supplier policy cannot apply: a restrictive policy shuts supplier sessions out."""
    restricted = {
        name
        for (name,) in admin.execute(
            "select c.relname from pg_policy p join pg_class c on c.oid = p.polrelid"
            " where p.polname = 'buyer_only' and not p.polpermissive"
        )
    }
    assert set(BUYER_ONLY) <= restricted
