"""Row-level security cost.

1M purchase-order-like rows in 100 tenants (scaled), loaded once as the owner and copied
to a second table. One table gets the product's policies (the very SQL
migrations.support.tenant_rls emits: tenant predicate plus the restrictive supplier
CASE), ENABLE + FORCE; it is queried as the application role with the tenant set by
set_config(..., true) in the transaction. The copy has no RLS and is queried by the same
role with an explicit `WHERE tenant_id = %s`. Each iteration runs both, in alternating
order, with the same tenant and parameters: once untimed, so that both read cached pages
(at full size the two tables do not both fit in the default shared_buffers), then timed.
The statement itself is timed (BEGIN and set_config are sent before the clock starts,
COMMIT after it stops); the whole transaction is reported beside it.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import (
    CONTEXT_SQL,
    Bench,
    context_params,
    log,
    median,
    percentile,
    policies_match_product,
    tenant_rls_sql,
)
from kernel.ids import new_id

SECTION = "rls"
TENANTS = 100
SUPPLIERS = 10  # per tenant
SPAN_DAYS = 730
START = datetime(2024, 1, 1, tzinfo=UTC)

COLUMNS = "tenant_id, id, supplier_id, number, status, created_at, amount"
DDL = """
CREATE TABLE {name} (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  supplier_id uuid NOT NULL,
  number text NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL,
  amount numeric(18, 2) NOT NULL
)"""

RLS, PLAIN = "bench_po_rls", "bench_po_plain"
QUERIES = {
    # name: (with RLS, tenant in context; without RLS, explicit tenant)
    "first page": (
        f"select id, supplier_id, number, status, created_at, amount from {RLS} order by created_at desc limit 50",
        f"select id, supplier_id, number, status, created_at, amount from {PLAIN} where tenant_id = %s"
        " order by created_at desc limit 50",
    ),
    "point lookup": (
        f"select id, supplier_id, number, status, created_at, amount from {RLS} where id = %s",
        f"select id, supplier_id, number, status, created_at, amount from {PLAIN} where tenant_id = %s and id = %s",
    ),
    "range aggregate (month)": (
        f"select count(*), sum(amount) from {RLS} where created_at >= %s and created_at < %s",
        f"select count(*), sum(amount) from {PLAIN} where tenant_id = %s and created_at >= %s and created_at < %s",
    ),
    # A supplier user: the restrictive policy narrows to one supplier (information only).
    "first page, supplier user": (
        f"select id, supplier_id, number, status, created_at, amount from {RLS} order by created_at desc limit 50",
        f"select id, supplier_id, number, status, created_at, amount from {PLAIN} where tenant_id = %s and supplier_id = %s"
        " order by created_at desc limit 50",
    ),
}
TARGETS = {"first page": 1.15, "point lookup": 1.15, "range aggregate (month)": 1.3}


def run(b: Bench) -> None:
    rows = b.n(1_000_000, 10_000)
    tenants, suppliers = load(b, rows)
    measure(b, tenants, suppliers)


def load(b: Bench, rows: int) -> tuple[list[uuid.UUID], dict[uuid.UUID, list[uuid.UUID]]]:
    rng = random.Random(1)
    tenants = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(TENANTS)]
    suppliers = {t: [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(SUPPLIERS)] for t in tenants}
    log(f"rls: loading {rows:,} rows in {TENANTS} tenants as the owner (COPY), then a copy without RLS")
    started = time.perf_counter()
    # Rows arrive in time order, tenants interleaved - as a live system writes them.
    offsets = sorted(rng.random() * SPAN_DAYS * 86400 for _ in range(rows))
    statuses = ("issued", "acknowledged", "in_delivery", "received", "closed")
    with b.owner() as conn:
        for name in (RLS, PLAIN):
            conn.execute(DDL.format(name=name))
        with conn.cursor().copy(f"COPY {RLS} ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["uuid", "uuid", "uuid", "text", "text", "timestamptz", "numeric"])
            for i, offset in enumerate(offsets):
                tenant = tenants[rng.randrange(TENANTS)]
                copy.write_row(
                    (
                        tenant,
                        new_id(),
                        suppliers[tenant][rng.randrange(SUPPLIERS)],
                        f"PO-{i:08d}",
                        statuses[rng.randrange(5)],
                        START + timedelta(seconds=offset),
                        Decimal(rng.randrange(100, 10_000_000)) / 100,
                    )
                )
        conn.execute(f"INSERT INTO {PLAIN} SELECT * FROM {RLS}")
        for name in (RLS, PLAIN):
            conn.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (tenant_id, id)")
            conn.execute(f"CREATE INDEX {name}_created ON {name} (tenant_id, created_at)")
            conn.execute(f"VACUUM (ANALYZE) {name}")
        for statement in tenant_rls_sql(RLS):
            conn.execute(statement)
        conn.execute(f"GRANT SELECT ON {RLS}, {PLAIN} TO {b.urls.app_role}")
        same = policies_match_product(conn, RLS)
    log(f"rls: loaded in {time.perf_counter() - started:.1f}s; policies identical to purchase_order's: {same}")
    b.details.setdefault(SECTION, {}).update({"rows": rows, "tenants": TENANTS, "policies_match_product": same})
    if not same:
        raise RuntimeError(f"{RLS}'s policies differ from purchase_order's")
    return tenants, suppliers


def measure(b: Bench, tenants, suppliers) -> None:
    rng = random.Random(2)
    with b.owner() as conn:
        sample = conn.execute(f"select tenant_id, id, supplier_id from {PLAIN} tablesample system (1) limit 5000").fetchall()
    iterations = b.n(3000, 300)
    warmup = min(200, iterations // 5)
    stmt: dict[tuple[str, str], list[float]] = {}
    txn: dict[tuple[str, str], list[float]] = {}
    returned: dict[tuple[str, str], int] = {}
    log(f"rls: {iterations:,} iterations of {len(QUERIES)} queries, each with and without RLS")
    with b.app(autocommit=True) as conn:
        # BEGIN and COMMIT are sent explicitly, so the clock around the statement holds
        # the statement alone on both sides.
        cur = conn.cursor()

        def run(variant, sql, params, tenant, supplier):
            t0 = time.perf_counter()
            cur.execute("BEGIN")
            if variant == "rls":
                cur.execute(CONTEXT_SQL, context_params(tenant, supplier))
            t1 = time.perf_counter()
            cur.execute(sql, params)
            result = cur.fetchall()
            t2 = time.perf_counter()
            cur.execute("COMMIT")
            return t2 - t1, time.perf_counter() - t0, len(result)

        for i in range(warmup + iterations):
            tenant, row_id, supplier = sample[rng.randrange(len(sample))]
            month = START + timedelta(days=rng.randrange(SPAN_DAYS - 31))
            month_params = (month, month + timedelta(days=30))
            for name, (rls_sql, plain_sql) in QUERIES.items():
                supplier_user = name.endswith("supplier user")
                if supplier_user and i % 10:
                    continue  # information only, and its baseline is slow: one iteration in ten
                if name == "point lookup":
                    rls_params, plain_params = (row_id,), (tenant, row_id)
                elif name.startswith("range"):
                    rls_params, plain_params = month_params, (tenant, *month_params)
                elif supplier_user:
                    rls_params, plain_params = (), (tenant, supplier)
                else:
                    rls_params, plain_params = (), (tenant,)
                variants = [("rls", rls_sql, rls_params), ("plain", plain_sql, plain_params)]
                if i % 2:
                    variants.reverse()
                # At full size the two tables do not both fit in shared_buffers (128 MB by
                # default), and which one happened to be cached decided the comparison
                # (reads from the OS cache: 2-3x slower). Cache misses cost the same with or
                # without RLS, so each statement runs once untimed on both tables first and
                # the timed runs measure what RLS adds on cached pages.
                for variant, sql, params in variants:
                    run(variant, sql, params, tenant, supplier if supplier_user else None)
                for variant, sql, params in variants:
                    statement_s, transaction_s, rows = run(variant, sql, params, tenant, supplier if supplier_user else None)
                    if i >= warmup:
                        key = (name, variant)
                        stmt.setdefault(key, []).append(statement_s)
                        txn.setdefault(key, []).append(transaction_s)
                        returned[key] = returned.get(key, 0) + rows
        plans = explain(cur, sample[0], suppliers)
    details = b.details.setdefault(SECTION, {})
    details["iterations"] = iterations
    details["plans"] = plans
    details["rows_returned"] = {f"{k[0]} / {k[1]}": v for k, v in returned.items()}
    for name in QUERIES:
        if returned[(name, "rls")] != returned[(name, "plain")]:
            raise RuntimeError(
                f"rls: {name} returned {returned[(name, 'rls')]} rows with RLS, {returned[(name, 'plain')]} without"
            )
    for name in QUERIES:
        rls_ms = [x * 1000 for x in stmt[(name, "rls")]]
        plain_ms = [x * 1000 for x in stmt[(name, "plain")]]
        details[name] = {
            "statement_ms": {
                "rls": {"p50": median(rls_ms), "p90": percentile(rls_ms, 90)},
                "plain": {"p50": median(plain_ms), "p90": percentile(plain_ms, 90)},
            },
            "transaction_ms": {v: median([x * 1000 for x in txn[(name, v)]]) for v in ("rls", "plain")},
            "rls_adds_us": (median(rls_ms) - median(plain_ms)) * 1000,
        }
        if name in TARGETS:
            b.at_most(SECTION, f"{name}, median", median(rls_ms), median(plain_ms), "ms", TARGETS[name])
        else:
            b.info(SECTION, f"{name}, median", median(rls_ms), median(plain_ms), "ms")
    # The whole transaction: the RLS side also sends set_config (one more round trip).
    page = details["first page"]["transaction_ms"]
    b.info(SECTION, "first page, whole transaction", page["rls"], page["plain"], "ms", note="incl. BEGIN, set_config, COMMIT")


def explain(cur, sample_row, suppliers) -> dict[str, dict[str, str]]:
    """The plans both sides ran (EXPLAIN ANALYZE), kept in results.json for diagnosis."""
    tenant, row_id, supplier = sample_row
    month = START + timedelta(days=300)
    params = {
        "first page": ((), (tenant,)),
        "point lookup": ((row_id,), (tenant, row_id)),
        "range aggregate (month)": ((month, month + timedelta(days=30)), (tenant, month, month + timedelta(days=30))),
        "first page, supplier user": ((), (tenant, supplier)),
    }
    plans = {}
    for name, (rls_sql, plain_sql) in QUERIES.items():
        rls_params, plain_params = params[name]
        cur.execute("BEGIN")
        cur.execute(CONTEXT_SQL, context_params(tenant, supplier if name.endswith("supplier user") else None))
        rls_plan = "\n".join(r[0] for r in cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + rls_sql, rls_params))
        plain_plan = "\n".join(r[0] for r in cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + plain_sql, plain_params))
        cur.execute("COMMIT")
        plans[name] = {"rls": rls_plan, "plain": plain_plan}
    return plans
