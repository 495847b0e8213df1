"""The certificate expiry scan across tenants.

1M certificates (scaled) across 1,000 tenants (20 suppliers and 5 certificate types
each), expiry dates spread evenly over five years around the scan day (one year back,
four ahead). Past their date most are superseded by a renewal (85%), some still
approved (10%: lapsed, in use) or rejected; ahead of it most are approved (93%), the
rest pending or rejected. The daily scan ran every day until yesterday: each approved
certificate within 90 days has the notices of the thresholds it crossed before today,
except 2% (approved late, say) with none. What the scan must find is what crossed a
threshold today, and those 2%.

The figure: documents.expiry.due_notices (the security-definer function
app.certificates_due, as the application role with no tenant in context, as the job
calls it) against a plain `SELECT count(*) FROM certificate` over the same table in the
same run; median of 5 warm runs each. Target: the scan in <= 10 s; the ratio is shown.

Loaded as the owner with INSERT ... SELECT generate_series, audit triggers off and row-
level security not forced for the load (both put back after): the figure is about the scan.
"""

from __future__ import annotations

import time
from datetime import date

import sqlalchemy as sa

from bench.common import Bench, log, median

SECTION = "expiry"
TENANTS = 1_000
SUPPLIERS = 20
TYPES = 5
TARGET_S = 10.0
AS_OF = date(2027, 3, 1)
TABLES = ("tenant", "organisation", "certificate_type", "tenant_data_key", "stored_file", "certificate", "certificate_notice")


def run(b: Bench) -> None:
    from documents.expiry import THRESHOLDS, due_notices

    total = b.n(1_000_000, 10_000)
    tenants = min(TENANTS, max(10, total // 100))
    per_tenant = total // tenants
    log(f"expiry: loading {tenants * per_tenant:,} certificates across {tenants:,} tenants")
    started = time.perf_counter()
    with b.owner() as conn:
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER audit_insert, NO FORCE ROW LEVEL SECURITY")
        try:
            _load(conn, tenants, per_tenant, THRESHOLDS)
        finally:
            for table in TABLES:
                conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER audit_insert, FORCE ROW LEVEL SECURITY")
        for table in ("certificate", "certificate_notice"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        certificates, notices = conn.execute(
            "select (select count(*) from certificate), (select count(*) from certificate_notice)"
        ).fetchone()
    log(f"expiry: {certificates:,} certificates, {notices:,} notices loaded in {time.perf_counter() - started:.1f}s")

    engine = b.runtime().engine
    scans, counts, found = [], [], 0
    with engine.connect() as app, b.owner() as owner:
        due_notices(app, as_of=AS_OF)  # warm
        owner.execute("select count(*) from certificate").fetchone()
        for _ in range(5):
            t0 = time.perf_counter()
            found = len(due_notices(app, as_of=AS_OF))
            scans.append(time.perf_counter() - t0)
            app.rollback()
            t0 = time.perf_counter()
            owner.execute("select count(*) from certificate").fetchone()
            counts.append(time.perf_counter() - t0)
        plan = app.execute(
            sa.text("explain (analyze, buffers) select * from app.certificates_due(:d, cast(:t as int[]))"),
            {"d": AS_OF, "t": list(THRESHOLDS)},
        ).fetchall()
    scan, count = median(scans), median(counts)
    log(f"expiry: scan {scan:.3f}s finding {found:,} due; count(*) {count:.3f}s; {plan[-1][0]}")
    b.value_at_most(
        SECTION,
        f"due-notice scan, {certificates:,} certificates",
        scan,
        count,
        "s",
        TARGET_S,
        note=f"{tenants:,} tenants, {notices:,} notices, {found:,} due; baseline count(*)",
    )
    b.details.setdefault(SECTION, {}).update(
        {
            "certificates": certificates,
            "tenants": tenants,
            "notices": notices,
            "due": found,
            "scan_s": scans,
            "count_s": counts,
        }
    )


def _load(conn, tenants: int, per_tenant: int, thresholds) -> None:
    statements = [
        "create temp table bt as select gen_random_uuid() as tenant_id, g as n from generate_series(1, %(tenants)s) g",
        "insert into tenant (id, slug, name) select tenant_id, 'bx-' || n, 'Bench expiry ' || n from bt",
        "create temp table bs as select tenant_id, gen_random_uuid() as supplier_id, k"
        " from bt cross join generate_series(1, %(suppliers)s) k",
        "insert into organisation (tenant_id, id, code, kind, name, supplier_id)"
        " select tenant_id, supplier_id, 'S' || k, 'supplier', 'Supplier ' || k, supplier_id from bs",
        "create temp table bty as select tenant_id, gen_random_uuid() as type_id, k"
        " from bt cross join generate_series(1, %(types)s) k",
        "insert into certificate_type (tenant_id, id, code, name)"
        " select tenant_id, type_id, 'T' || k, 'Certificate type ' || k from bty",
        "create temp table bf as select tenant_id, gen_random_uuid() as key_id, gen_random_uuid() as file_id from bt",
        "insert into tenant_data_key (tenant_id, id, wrapped_key, master_key_id)"
        " select tenant_id, key_id, '\\x00'::bytea, 'bench' from bf",
        "insert into stored_file (tenant_id, id, data_key_id, storage_key, filename, content_type, size, sha256)"
        " select tenant_id, file_id, key_id, 'tenant/' || file_id, 'c.pdf', 'application/pdf', 1, repeat('0', 64) from bf",
        # One year back to four ahead of the scan day, evenly.
        "create temp table bc as select t.tenant_id, i, %(as_of)s::date - 365 + floor(random() * 1826)::int as expires_on,"
        " random() as r from bt t cross join generate_series(1, %(per)s) i",
        "insert into certificate (tenant_id, id, supplier_id, certificate_type_id, file_id, number, issuing_body,"
        " valid_from, expires_on, status, reviewed_at)"
        " select c.tenant_id, gen_random_uuid(), s.supplier_id, ty.type_id, f.file_id, 'C-' || c.i, 'Body',"
        " c.expires_on - 1095, c.expires_on,"
        " case when c.expires_on < %(as_of)s::date"
        "   then case when c.r < 0.85 then 'superseded' when c.r < 0.95 then 'approved' else 'rejected' end"
        "   else case when c.r < 0.93 then 'approved' when c.r < 0.97 then 'pending_review' else 'rejected' end end,"
        " case when c.expires_on >= %(as_of)s::date and c.r >= 0.93 and c.r < 0.97 then null else now() end"
        " from bc c join bs s on s.tenant_id = c.tenant_id and s.k = 1 + c.i %% %(suppliers)s"
        " join bty ty on ty.tenant_id = c.tenant_id and ty.k = 1 + c.i %% %(types)s"
        " join bf f on f.tenant_id = c.tenant_id",
        # The scan ran every day until yesterday; 2% of the certificates have no notice.
        "insert into certificate_notice (tenant_id, id, certificate_id, supplier_id, threshold_days, as_of, days_left,"
        " recipients)"
        " select c.tenant_id, gen_random_uuid(), c.id, c.supplier_id, t, c.expires_on - t, t, 2"
        " from certificate c cross join unnest(%(thresholds)s::int[]) t"
        " where c.status = 'approved' and c.expires_on - %(as_of)s::date < t and hashtext(c.id::text) %% 50 <> 0",
        "drop table bt, bs, bty, bf, bc",
    ]
    params = {
        "tenants": tenants,
        "suppliers": SUPPLIERS,
        "types": TYPES,
        "per": per_tenant,
        "as_of": AS_OF,
        "thresholds": list(thresholds),
    }
    with conn.transaction():
        for statement in statements:
            conn.execute(statement, params)
