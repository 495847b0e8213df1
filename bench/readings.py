"""Cold-chain readings (issue 8: ingesting 1M readings in batches of 1,000 with
excursion detection >= 50k readings/s, as a ratio to a plain COPY of the same rows).

A logger bound to a lot whose item has storage conditions (2-8 °C, 30 minutes allowed,
cumulative 600 minutes, MKT <= 25 °C) sends 1,000,000 readings (scaled) ten seconds
apart in batches of 1,000 through the product's service (erp.coldchain.readings.ingest),
each batch in its own unit of work as the application role, committed: the logger row
locked, the idempotency lookup, the audited batch row, the readings in one INSERT, and
the excursion detection against the binding's running totals (a few short excursions are
in the data, one long enough to raise an alert).

The baseline, in the same run, is COPY of the same rows in the same batches of 1,000,
each batch its own committed transaction (as many commits, so as many WAL flushes, as
the ingest), into a scratch table of the reading table's columns and primary key (CREATE
TABLE ... LIKE reading INCLUDING DEFAULTS INCLUDING INDEXES), as the owner: the cost of
getting the bytes durably into an indexed table, nothing else. It has no row-level
security - PostgreSQL refuses COPY FROM into a table under it, which is also why the
product cannot use COPY - no audit triggers, no logger lock, no idempotency lookup, no
validation, no excursion detection. The ratio (ingest / COPY) is what all of that costs.
For context the log also gives one COPY of all the rows in a single transaction.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from bench.common import Bench, log
from kernel.clock import utcnow
from kernel.ids import new_id
from kernel.uow import Actor

SECTION = "readings"
BATCH = 1_000
TARGET = 50_000.0
STEP = timedelta(seconds=10)
GATEWAY = Actor(user_id=None, name="bench gateway", kind="api", permissions=frozenset({"coldchain.record", "coldchain.view"}))


def run(b: Bench) -> None:
    from erp.coldchain import readings as ingesting

    total = b.n(1_000_000, 10_000) // BATCH * BATCH
    tenant_id = b.tenant("readings")
    runtime = b.runtime()
    start = utcnow() - STEP * (total + 360)
    code = _setup(runtime, tenant_id, start)
    batches = [_batch(start, n) for n in range(total // BATCH)]
    log(f"readings: ingesting {total:,} readings in {len(batches):,} batches of {BATCH:,}")
    alerts = 0
    began = time.perf_counter()
    for number, readings in enumerate(batches):
        with runtime.uow(tenant_id=tenant_id, actor=GATEWAY) as uow:
            got = ingesting.ingest(uow, GATEWAY, logger_code=code, key=f"bench-{number}", readings=readings)
            alerts += len(got.alerts)
            uow.commit()
    took = time.perf_counter() - began
    rate = total / took
    copy_took, copy_all_took = _copy(b, tenant_id, batches)
    copy_rate, copy_all_rate = total / copy_took, total / copy_all_took
    log(
        f"readings: ingest {rate:,.0f} readings/s ({took:.1f} s, {alerts} alerts); COPY in batches of {BATCH:,},"
        f" each committed, {copy_rate:,.0f} rows/s ({copy_took:.1f} s): ratio {rate / copy_rate:.2f};"
        f" one COPY of all {copy_all_rate:,.0f} rows/s ({copy_all_took:.1f} s)"
    )
    b.value_at_least(
        SECTION, f"ingest {total:,} readings, batches of {BATCH:,}", rate, copy_rate, "readings/s", TARGET,
        note=f"committed, audited batches, excursion detection; baseline: COPY of the same rows, batches of {BATCH:,}"
        " each committed, into an indexed scratch table (no RLS, triggers or checks)",
    )
    b.details.setdefault(SECTION, {}).update({"readings": total, "batches": len(batches), "alerts": alerts,
                                              "seconds": took, "copy_seconds": copy_took,
                                              "copy_all_seconds": copy_all_took, "ratio": rate / copy_rate})


def _batch(start, number: int) -> list[tuple]:
    first = number * BATCH
    out = []
    for n in range(first, first + BATCH):
        # 5 °C with a small wave; every 50th batch a 20-minute excursion to 9.5 °C, and
        # batch 7 an hour above 8 °C (an alert).
        temperature = 5.0 + (n % 60) / 30.0
        if (number % 50 == 3 and n - first < 120) or (number == 7 and n - first < 400):
            temperature = 9.5
        out.append((start + STEP * n, round(temperature, 2), 45.0))
    return out


def _setup(runtime, tenant_id: uuid.UUID, start) -> str:
    from erp.coldchain import service as coldchain
    from erp.inventory.models import Lot
    from erp.items.models import Item

    quality = Actor.system("bench quality")
    with runtime.uow(tenant_id=tenant_id, actor=quality) as uow:
        item = Item(part_number="BENCH-COLD", name="Bench vaccine", category="component", uom="EA")
        uow.add(item)
        uow.flush()
        coldchain.save_storage_condition(
            uow, quality, item_id=item.id, min_temperature="2", max_temperature="8", excursion_minutes=30,
            cumulative_minutes=600, max_mkt="25", gap_minutes=60,
        )
        lot = Lot(item_id=item.id, number="BENCH-LOT-1")
        uow.add(lot)
        uow.flush()
        logger = coldchain.register_logger(uow, quality, code="BENCH-LOGGER-1")
        coldchain.bind_logger(uow, quality, logger_id=logger.id, kind="lot", target_id=lot.id, starts_at=start - STEP)
        uow.commit()
        return logger.code


def _copy(b: Bench, tenant_id: uuid.UUID, batches) -> tuple[float, float]:
    """Seconds to COPY the same rows into a scratch table shaped like reading (columns,
    defaults, primary key): in batches each committed, then all in one transaction."""
    logger_id = new_id()
    batch_ids = [new_id() for _ in batches]
    columns = "tenant_id, logger_id, batch_id, recorded_at, temperature, humidity"
    try:
        with b.owner() as conn:
            took = []
            for one_transaction in (False, True):
                conn.execute("DROP TABLE IF EXISTS bench_reading_copy")
                conn.execute("CREATE TABLE bench_reading_copy (LIKE reading INCLUDING DEFAULTS INCLUDING INDEXES)")
                cursor = conn.cursor()
                began = time.perf_counter()
                if one_transaction:
                    with conn.transaction(), cursor.copy(f"COPY bench_reading_copy ({columns}) FROM STDIN") as copy:
                        for batch_id, readings in zip(batch_ids, batches, strict=True):
                            for at, t, h in readings:
                                copy.write_row((tenant_id, logger_id, batch_id, at, t, h))
                else:
                    for batch_id, readings in zip(batch_ids, batches, strict=True):
                        with conn.transaction(), cursor.copy(f"COPY bench_reading_copy ({columns}) FROM STDIN") as copy:
                            for at, t, h in readings:
                                copy.write_row((tenant_id, logger_id, batch_id, at, t, h))
                took.append(time.perf_counter() - began)
            return took[0], took[1]
    finally:
        with b.owner() as conn:
            conn.execute("DROP TABLE IF EXISTS bench_reading_copy")
