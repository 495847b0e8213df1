"""Audit trail cost.

Two identical purchase-order-like tables, both with the product's RLS policies; one also
has the product's audit triggers (the SQL migrations.support.audited emits: statement
level, transition tables, audit.on_insert/on_update/on_delete). Everything runs as the
application role, each transaction setting the context as the unit of work does.

(a) single-row transactions (context + 1 insert + commit), alternating tables;
(b) a 10k-row insert in one transaction: one multi-row INSERT ... SELECT FROM unnest,
    and a pipelined executemany of 10k single-row INSERTs (each on its own connection;
    and, for information, executemany on a connection that began with a bulk insert);
(c) 16 concurrent writers in one tenant, own connections, N single-row transactions each,
    with the WAL each transaction wrote and how busy the machine was;
(d) the same writers with the sealer running (audit.tasks.SealerLoop at
    settings.audit_seal_interval): time from each transaction's commit until its event
    is sealed (audit.seal.sealed_at, joined through audit.event).

The bench tenants are real tenants (tenants.service.create_tenant): the sealer seals the
tenants it finds in the tenant table.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from audit import service as audit_service
from audit.tasks import SealerLoop, seal_all
from bench.common import CONTEXT_SQL, Bench, audited_sql, context_params, log, median, percentile, tenant_rls_sql
from kernel.ids import new_id
from kernel.uow import Actor

SECTION = "audit"
AUDITED, UNAUDITED = "bench_audited", "bench_unaudited"
DDL = """
CREATE TABLE {name} (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  supplier_id uuid NOT NULL,
  number text NOT NULL,
  status text NOT NULL DEFAULT 'issued',
  created_at timestamptz NOT NULL DEFAULT now(),
  amount numeric(18, 2) NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX {name}_created ON {name} (tenant_id, created_at)"""
INSERT_ONE = "insert into {table} (tenant_id, id, supplier_id, number, amount) values (%s, %s, %s, %s, %s)"
INSERT_MANY = (
    "insert into {table} (tenant_id, id, supplier_id, number, amount)"
    " select %s, u.id, u.supplier_id, u.number, u.amount"
    " from unnest(%s::uuid[], %s::uuid[], %s::text[], %s::numeric[]) as u(id, supplier_id, number, amount)"
)
# Rows first..last of one tenant in one statement (as the application role, tenant in context).
INSERT_SERIES = (
    f"insert into {AUDITED} (tenant_id, id, supplier_id, number, amount)"
    " select %s, gen_random_uuid(), %s, 'PO-' || lpad(g::text, 9, '0'), (g %% 100000) / 100.0"
    " from generate_series(%s::bigint, %s::bigint) as g"
)
WRITERS = 16
SEAL_P99_TARGET_S = 2.0


def create_tables(b: Bench) -> None:
    with b.owner() as conn:
        for table in (AUDITED, UNAUDITED):
            conn.execute(DDL.format(name=table))
            for statement in tenant_rls_sql(table):
                conn.execute(statement)
            conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {b.urls.app_role}")
        for statement in audited_sql(AUDITED):
            conn.execute(statement)
        triggers = conn.execute(
            "select count(*) from pg_trigger where tgrelid = %s::regclass and not tgisinternal", (AUDITED,)
        ).fetchone()[0]
    assert triggers == 4, f"{AUDITED} should have the product's 4 audit triggers, has {triggers}"


def run(b: Bench) -> None:
    create_tables(b)
    tenant = b.tenant("bench-audit")
    suppliers = [uuid.uuid4() for _ in range(10)]
    user = uuid.uuid4()
    counter = iter(range(10**9))

    def row():
        return (
            tenant,
            new_id(),
            random.choice(suppliers),
            f"PO-{next(counter):09d}",
            Decimal(random.randrange(100, 10**7)) / 100,
        )

    ctx = context_params(tenant, None, user, "buyer@bench", "", "bench")
    single_row(b, ctx, row)
    bulk(b, tenant, ctx, suppliers, counter)
    writers(b, ctx, row)
    seal_latency(b, tenant, ctx, row)


# --- (a) single-row transactions --------------------------------------------------------


def single_row(b: Bench, ctx, row) -> None:
    n = b.n(3000, 300)
    warmup = min(200, n // 5)
    log(f"audit: {n:,} single-row transactions on each table, alternating")
    times: dict[str, list[float]] = {AUDITED: [], UNAUDITED: []}
    with b.app() as conn:
        cur = conn.cursor()
        for i in range(warmup + n):
            order = [AUDITED, UNAUDITED] if i % 2 else [UNAUDITED, AUDITED]
            for table in order:
                t0 = time.perf_counter()
                cur.execute(CONTEXT_SQL, ctx)
                cur.execute(INSERT_ONE.format(table=table), row())
                conn.commit()
                if i >= warmup:
                    times[table].append(time.perf_counter() - t0)
    audited_ms = median(times[AUDITED]) * 1000
    plain_ms = median(times[UNAUDITED]) * 1000
    b.details.setdefault(SECTION, {})["single_row_ms"] = {
        "audited": {"p50": audited_ms, "p90": percentile(times[AUDITED], 90) * 1000},
        "unaudited": {"p50": plain_ms, "p90": percentile(times[UNAUDITED], 90) * 1000},
        "transactions": n,
    }
    b.at_most(SECTION, "(a) single-row transaction, median", audited_ms, plain_ms, "ms", 1.15)


# --- (b) bulk insert --------------------------------------------------------------------


def bulk(b: Bench, tenant, ctx, suppliers, counter) -> None:
    """Each way of inserting on its own connection: PostgreSQL caches the trigger's plan per
    session at the first statement's transition-table size, and on PG 18 a session whose
    first audited statement inserted 10k rows runs later single-row statements several
    times slower (reported separately below)."""
    rows = b.n(10_000, 500)
    reps = 5
    log(f"audit: {rows:,}-row insert in one transaction, {reps} times on each table (multi-row, then executemany)")
    multi: dict[str, list[float]] = {AUDITED: [], UNAUDITED: []}
    many: dict[str, list[float]] = {AUDITED: [], UNAUDITED: []}
    after_bulk: dict[str, list[float]] = {AUDITED: [], UNAUDITED: []}

    def columns():
        return (
            [new_id() for _ in range(rows)],
            [random.choice(suppliers) for _ in range(rows)],
            [f"PO-{next(counter):09d}" for _ in range(rows)],
            [Decimal(random.randrange(100, 10**7)) / 100 for _ in range(rows)],
        )

    def insert_multi(conn, table) -> float:
        values = columns()
        t0 = time.perf_counter()
        conn.execute(CONTEXT_SQL, ctx)
        conn.execute(INSERT_MANY.format(table=table), (tenant, *values))
        conn.commit()
        return time.perf_counter() - t0

    def insert_many(conn, table) -> float:
        params = list(zip([tenant] * rows, *columns(), strict=True))
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(CONTEXT_SQL, ctx)
            cur.executemany(INSERT_ONE.format(table=table), params)
        conn.commit()
        return time.perf_counter() - t0

    with b.app() as multi_conn, b.app() as many_conn:
        for rep in range(reps + 1):  # the first round warms up
            for table in [AUDITED, UNAUDITED] if rep % 2 else [UNAUDITED, AUDITED]:
                elapsed = insert_multi(multi_conn, table), insert_many(many_conn, table)
                if rep:
                    multi[table].append(elapsed[0])
                    many[table].append(elapsed[1])
        for rep in range(3):
            for table in [AUDITED, UNAUDITED] if rep % 2 else [UNAUDITED, AUDITED]:
                after_bulk[table].append(insert_many(multi_conn, table))
    details = b.details.setdefault(SECTION, {})
    details["bulk_s"] = {
        "rows": rows,
        "multi_row": {t: median(v) for t, v in multi.items()},
        "executemany": {t: median(v) for t, v in many.items()},
        "executemany_on_a_connection_that_began_with_a_bulk_statement": {t: median(v) for t, v in after_bulk.items()},
    }
    ms = {
        name: {t: median(v) * 1000 for t, v in d.items()} for name, d in (("multi", multi), ("many", many), ("after", after_bulk))
    }
    b.at_most(SECTION, f"(b) {rows:,} rows, one multi-row INSERT", ms["multi"][AUDITED], ms["multi"][UNAUDITED], "ms", 2.5)
    b.at_most(
        SECTION,
        f"(b) {rows:,} rows, executemany (pipelined)",
        ms["many"][AUDITED],
        ms["many"][UNAUDITED],
        "ms",
        2.5,
        note="one statement-level trigger run per row",
    )
    b.info(
        SECTION,
        "(b) executemany, connection began with bulk",
        ms["after"][AUDITED],
        ms["after"][UNAUDITED],
        "ms",
        note="its first audited statement inserted 10k rows",
    )


# --- (c) concurrent writers -------------------------------------------------------------


def _write(b: Bench, table: str, ctx, row, per_writer: int | None, seconds: float | None, out: list, start: threading.Barrier):
    """One writer: its own connection, single-row transactions; records (row id, commit time)."""
    done = []
    with b.app() as conn:
        cur = conn.cursor()
        sql = INSERT_ONE.format(table=table)
        start.wait()
        until = time.time() + seconds if seconds is not None else None
        n = 0
        while (per_writer is not None and n < per_writer) or (until is not None and time.time() < until):
            values = row()
            cur.execute(CONTEXT_SQL, ctx)
            cur.execute(sql, values)
            conn.commit()
            done.append((str(values[1]), time.time()))
            n += 1
    out.extend(done)


def run_writers(b: Bench, table: str, ctx, row, *, per_writer: int | None = None, seconds: float | None = None):
    """WRITERS threads released together; returns their (row id, commit time)s and the wall time."""
    committed: list[tuple[str, float]] = []
    start = threading.Barrier(WRITERS + 1)
    threads = [
        threading.Thread(target=_write, args=(b, table, ctx, row, per_writer, seconds, committed, start)) for _ in range(WRITERS)
    ]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return committed, time.perf_counter() - t0


def _cpu() -> tuple[int, int]:
    """(all, idle) jiffies of the machine: how busy both cores were during a round."""
    try:
        with open("/proc/stat") as f:
            values = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0, 0
    return sum(values), values[3] + values[4]


def writers(b: Bench, ctx, row) -> None:
    per_writer = b.n(500, 50)
    rounds = 3
    log(f"audit: {WRITERS} concurrent writers x {per_writer} single-row transactions, {rounds} rounds per table")
    rate: dict[str, list[float]] = {AUDITED: [], UNAUDITED: []}
    wal: dict[str, list[float]] = {AUDITED: [], UNAUDITED: []}
    busy: dict[str, list[float]] = {AUDITED: [], UNAUDITED: []}
    with b.owner() as owner:
        for r in range(rounds):
            for table in [UNAUDITED, AUDITED] if r % 2 == 0 else [AUDITED, UNAUDITED]:
                lsn = owner.execute("select pg_current_wal_lsn()").fetchone()[0]
                cpu0 = _cpu()
                committed, elapsed = run_writers(b, table, ctx, row, per_writer=per_writer)
                cpu1 = _cpu()
                # WAL is the whole server's: other databases' writes would count too.
                written = owner.execute("select pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (lsn,)).fetchone()[0]
                rate[table].append(len(committed) / elapsed)
                wal[table].append(float(written) / len(committed))
                if cpu1[0] > cpu0[0]:
                    busy[table].append(1 - (cpu1[1] - cpu0[1]) / (cpu1[0] - cpu0[0]))
    b.details.setdefault(SECTION, {})["writers"] = {
        "writers": WRITERS,
        "per_writer": per_writer,
        "tps": rate,
        "wal_bytes_per_txn": wal,
        "cpu_busy": busy,
    }
    b.at_least(
        SECTION,
        f"(c) {WRITERS} writers, one tenant, throughput",
        median(rate[AUDITED]),
        median(rate[UNAUDITED]),
        "txn/s",
        0.8,
        note=f"median of {rounds}; CPU busy {median(busy[AUDITED] or [0]):.0%}",
    )
    b.info(SECTION, "(c) WAL written per transaction", median(wal[AUDITED]), median(wal[UNAUDITED]), "B")


# --- (d) commit-to-sealed latency ----------------------------------------------------------


def seal_latency(b: Bench, tenant, ctx, row) -> None:
    runtime = b.runtime()
    key_pem = b.settings.audit_signing_key
    assert key_pem
    log("audit: sealing the backlog of (a)-(c) before measuring")
    t0 = time.perf_counter()
    backlog = seal_all(runtime)
    backlog_s = time.perf_counter() - t0
    seconds = max(5.0, 20 * b.scale)
    interval = b.settings.audit_seal_interval
    log(f"audit: {WRITERS} writers for {seconds:.0f}s with the sealer running every {interval}s")
    sealer = SealerLoop(runtime, interval)
    sealer.start()
    try:
        committed, elapsed = run_writers(b, AUDITED, ctx, row, seconds=seconds)
        deadline = time.time() + 60
        while time.time() < deadline:
            with runtime.uow(tenant_id=tenant, actor=Actor.system("bench")) as uow:
                _, pending = audit_service.counts(uow)
            if not pending:
                break
            time.sleep(0.2)
    finally:
        sealer.stop()
        sealer.join(30)
    commit_at = dict(committed)
    with b.app() as conn:
        conn.execute(CONTEXT_SQL, ctx)
        rows = conn.execute(
            "select e.row_id, s.sealed_at from audit.event e"
            " join audit.seal s on s.tenant_id = e.tenant_id and s.event_id = e.id"
            " where e.tenant_id = %s and e.table_name = %s and e.row_id = any(%s)",
            (tenant, AUDITED, list(commit_at)),
        ).fetchall()
        conn.rollback()
    latencies = [sealed_at.timestamp() - commit_at[row_id] for row_id, sealed_at in rows]
    missing = len(commit_at) - len(latencies)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    b.details.setdefault(SECTION, {})["seal_latency"] = {
        "transactions": len(committed),
        "throughput_tps": len(committed) / elapsed,
        "unsealed_after_60s": missing,
        "p50_s": p50,
        "p90_s": percentile(latencies, 90),
        "p99_s": p99,
        "max_s": max(latencies) if latencies else None,
        "interval_s": interval,
        "backlog_sealed": backlog,
        "backlog_seconds": backlog_s,
        "measured_at": datetime.now(UTC).isoformat(),
    }
    b.info(SECTION, "(d) commit -> sealed, p50", p50, SEAL_P99_TARGET_S, "s", note=f"sealer every {interval}s")
    figure = b.at_most(
        SECTION, "(d) commit -> sealed, p99", p99, SEAL_P99_TARGET_S, "s", 1.0, note=f"{len(committed):,} txns under load"
    )
    if missing:
        figure.passed = False
        figure.note += f"; {missing} never sealed"
