"""Verification speed: 1M audit events (scaled) in one tenant, sealed, then
audit.service.verify_database straight from the database.

The events come from the product's triggers on an audited bench table (multi-row
inserts as the application role, tenant in context), sealed by audit.service.seal.
Baseline: streaming the same seal rows (`select seq, hash`) with the cursor settings of
audit.service._links (SQLAlchemy stream_results, max_row_buffer and partitions of
CHUNK), so the ratio is the verifier's overhead over plain fetching. BENCH_PROFILE=
cprofile|pyinstrument profiles one more, untimed verification.
"""

from __future__ import annotations

import os
import time
import uuid

import sqlalchemy as sa

from audit import service as audit_service
from audit.signing import load_private_key
from bench.audit_cost import INSERT_SERIES, create_tables
from bench.common import CONTEXT_SQL, Bench, context_params, log
from kernel.uow import Actor

SECTION = "verify"
BATCH = 50_000
TARGET = 100_000  # events/s
CHUNK = 20_000  # audit.service._links' default chunk
BASELINE_SQL = "select s.seq, s.hash from audit.seal s where s.tenant_id = :t order by s.seq"


def _ensure_tables(b: Bench) -> None:
    with b.owner() as conn:
        exists = conn.execute("select to_regclass('bench_audited')").fetchone()[0]
    if exists is None:
        create_tables(b)


def run(b: Bench) -> None:
    _ensure_tables(b)
    events = b.n(1_000_000, 10_000)
    tenant = b.tenant("bench-verify")
    supplier = uuid.uuid4()
    runtime = b.runtime()
    key = load_private_key(b.settings.audit_signing_key or "")
    log(f"verify: writing {events:,} audited rows in one tenant ({BATCH:,} per statement)")
    t0 = time.perf_counter()
    with b.app() as conn:
        for first in range(1, events + 1, BATCH):
            conn.execute(CONTEXT_SQL, context_params(tenant, None, None, "bench-loader"))
            conn.execute(INSERT_SERIES, (tenant, supplier, first, min(events, first + BATCH - 1)))
            conn.commit()
    write_s = time.perf_counter() - t0
    log(f"verify: written in {write_s:.1f}s; sealing")
    # One run seals everything unless a write transaction elsewhere on the server holds the
    # horizon back (events of later transactions wait for it to end): then run again.
    sealed, seal_s, deadline = 0, 0.0, time.time() + 120
    while True:
        t0 = time.perf_counter()
        with runtime.uow(tenant_id=tenant, actor=Actor.system("audit-sealer")) as uow:
            sealed += audit_service.seal(uow, key=key).sealed
            uow.commit()
        seal_s += time.perf_counter() - t0
        with runtime.uow(tenant_id=tenant, actor=Actor.system("bench")) as uow:
            chain, unsealed = audit_service.counts(uow)
        if not unsealed or time.time() > deadline:
            break
        time.sleep(0.5)
    if unsealed or sealed < events:
        raise RuntimeError(f"verify: {unsealed} events still unsealed after 120 s (a long write transaction on the server?)")
    with b.owner() as conn:
        conn.execute("VACUUM (ANALYZE) audit.event, audit.seal")
    details = b.details.setdefault(SECTION, {})
    details.update({"events": chain, "write_s": write_s, "seal_s": seal_s, "seal_events_per_s": sealed / seal_s})
    b.info(SECTION, "sealer throughput (1M backlog, 1 tenant)", sealed / seal_s, None, "events/s")

    reps = 2
    verify_rates, baseline_rates = [], []
    profile = os.environ.get("BENCH_PROFILE")
    for rep in range(reps):
        log(f"verify: round {rep + 1}/{reps}: stream seal rows (baseline), then verify_database")
        baseline_rates.append(chain / stream_baseline(runtime, tenant, chain))
        with runtime.uow(tenant_id=tenant, actor=Actor.system("bench")) as uow:
            t0 = time.perf_counter()
            report = audit_service.verify_database(uow, public_key=key.public_key())
            elapsed = time.perf_counter() - t0
        if not report.intact or report.events != chain:
            raise RuntimeError(f"verify: {report.events} events verified, problems: {report.problems[:3]}")
        verify_rates.append(chain / elapsed)
    if profile:  # an extra, untimed run
        with runtime.uow(tenant_id=tenant, actor=Actor.system("bench")) as uow:
            _profiled(profile, lambda: audit_service.verify_database(uow, public_key=key.public_key()))
    details.update({"verify_events_per_s": verify_rates, "baseline_rows_per_s": baseline_rates})
    b.value_at_least(
        SECTION,
        "verify_database, events/s",
        max(verify_rates),
        max(baseline_rates),
        "ev/s",
        TARGET,
        note=f"best of {reps}; baseline: select seq, hash streamed alike",
    )


def stream_baseline(runtime, tenant, expected: int) -> float:
    """Seconds to stream (seq, hash) of every seal row with the verifier's cursor settings."""
    with runtime.uow(tenant_id=tenant, actor=Actor.system("bench")) as uow:
        t0 = time.perf_counter()
        n = 0
        result = (
            uow.session.connection()
            .execution_options(stream_results=True, max_row_buffer=CHUNK)
            .execute(sa.text(BASELINE_SQL), {"t": tenant})
        )
        for part in result.partitions(CHUNK):
            for _seq, _hash in part:
                n += 1
        elapsed = time.perf_counter() - t0
    assert n == expected, f"baseline streamed {n} rows, expected {expected}"
    return elapsed


def _profiled(kind: str, fn):
    """BENCH_PROFILE=pyinstrument|cprofile: profile a verification, print the hot spots."""
    if kind == "pyinstrument":
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("pyinstrument is not installed (uv add --group dev pyinstrument); using cProfile")
            return _profiled("cprofile", fn)

        profiler = Profiler(interval=0.0005)
        profiler.start()
        try:
            return fn()
        finally:
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(fn)
    finally:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
