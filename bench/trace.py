"""A lot's full trace (issue 8: forward and backward through 5 levels with 10M serials and
1M lots in the tenant, p95 <= 50 ms, recursive SQL on indexes; the ratio to a single
indexed lookup).

The tenant holds 1,000,000 lots (scaled) in five levels of 200,000: supplier lots of a
component (level 0, each on a ship notice line against an order and a receipt line),
then four levels of the tenant's own lots, each made by a production run from two lots
of the level below (so each lot is also consumed into two of the level above), the last
level shipped to customers. Every lot has 10 serialised units in stock: 10,000,000 stock
rows. A trace from any lot reaches about 30 lots, their sources and their customers.
Loaded with COPY as the administrator in replica mode (no audit, foreign-key or RLS
triggers: the rows are consistent by construction), then analysed.

Timed: a lot's full trace (both directions) through the product's code as the
application role in a unit of work: the recursive walk and the set-based lookups (lots,
items, stock by status and place, receipts, ship notices and orders, suppliers, customer
shipments) - `erp.traceability.trace.build_trace`, without keeping the snapshot. Keeping
it (the JSON insert, its audit event and the commit) is timed apart, for information. The
baseline is one indexed lookup of a lot by its number in a unit of work, in the same run.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from decimal import Decimal

from bench.common import Bench, log, percentile
from kernel.clock import utcnow
from kernel.ids import new_id
from kernel.uow import Actor

SECTION = "trace"
LEVELS = 5
SERIALS_PER_LOT = 10
LOTS_PER_ASN = 100
TARGET_MS = 50.0
QUALITY = Actor(user_id=None, name="bench quality", permissions=frozenset({"recall.run"}))
TABLES = ("lot", "stock", "production_run", "genealogy_link", "asn", "asn_line", "receipt", "receipt_line",
          "customer_shipment", "customer_shipment_line")


def run(b: Bench) -> None:
    per_level = max(2, b.n(1_000_000, 5_000) // LEVELS // 2 * 2)
    tenant_id = b.tenant("trace")
    runtime = b.runtime()
    refs = _references(runtime, tenant_id)
    log(f"trace: loading {per_level * LEVELS:,} lots in {LEVELS} levels, {per_level * LEVELS * SERIALS_PER_LOT:,} serials")
    started = time.perf_counter()
    lots = _load(b, tenant_id, refs, per_level)
    log(f"trace: loaded in {time.perf_counter() - started:.1f}s; analysing")
    with b.owner() as conn:
        for table in TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")

    rng = random.Random(8)
    iterations = b.n(200, 60)
    chosen = [(rng.randrange(LEVELS), rng.randrange(per_level)) for _ in range(iterations)]
    timings = {"trace": [], "lookup": []}
    sizes = []
    for level, n in chosen:
        timings["lookup"].append(_lookup_ms(runtime, tenant_id, _number(level, n)))
        elapsed, size = _trace_ms(runtime, tenant_id, lots[level][n], _number(level, n))
        timings["trace"].append(elapsed)
        sizes.append(size)
    kept = [_kept_ms(runtime, tenant_id, lots[level][n], _number(level, n)) for level, n in chosen[: max(10, iterations // 4)]]
    warm = max(5, iterations // 20)  # the first rounds warm caches and the pool
    p95 = {name: percentile(values[warm:], 95) for name, values in timings.items()}
    kept_p95 = percentile(kept[2:], 95)
    log(f"trace: p95 {p95['trace']:.2f} ms (nodes {min(sizes)}-{max(sizes)}) vs lot lookup {p95['lookup']:.2f} ms;"
        f" kept as a snapshot {kept_p95:.2f} ms")
    total = per_level * LEVELS
    note = (f"{total:,} lots, {total * SERIALS_PER_LOT:,} serials, {LEVELS} levels; both directions, walk + lookups, "
            "no snapshot; baseline: one indexed lot lookup by number")
    b.value_at_most(SECTION, f"lot's full trace p95, {total:,} lots", p95["trace"], p95["lookup"], "ms", TARGET_MS, note=note)
    b.info(SECTION, "the same, kept as a snapshot (insert, commit) p95", kept_p95, p95["lookup"], "ms",
           note="JSON snapshot insert with its audit event, committed")
    b.details.setdefault(SECTION, {}).update({
        "lots": total, "serials": total * SERIALS_PER_LOT, "levels": LEVELS, "traces": iterations,
        "nodes_min": min(sizes), "nodes_max": max(sizes), "p95_ms": p95["trace"], "lookup_p95_ms": p95["lookup"],
        "kept_p95_ms": kept_p95,
    })


def _number(level: int, n: int) -> str:
    return f"T{level}-{n:07d}"


def _references(runtime, tenant_id) -> dict:
    """A supplier, a site, a location, an item per level, an issued order line for the
    component and two customers, through the product's services."""
    from erp.inventory.models import Location
    from erp.items.models import Item
    from erp.purchasing import confirmation
    from erp.traceability.models import Customer
    from tenants import service as tenants

    buyer = Actor.system("bench buyer")
    with runtime.uow(tenant_id=tenant_id, actor=buyer) as uow:
        supplier_id = tenants.create_supplier(uow, code="TRC", name="Trace supplier").id
        site = tenants.create_site(uow, organisation=tenants.own_organisation(uow), name="Bench plant", kind="manufacturing")
        location = Location(code="BENCH-STORE", name="Bench store", kind="storage")
        items = [Item(part_number=f"BENCH-T{level}", name=f"Level {level}", category="component" if level == 0 else
                      "finished_device", uom="EA", label_lot=True, label_serial=True) for level in range(LEVELS)]
        customers = [Customer(code=f"BC{n}", name=f"Bench customer {n}") for n in range(2)]
        for row in [location, *items, *customers]:
            uow.add(row)
        uow.flush()
        lines = [{"item_id": items[0].id, "quantity": Decimal(10**9), "unit_price": Decimal(1),
                  "requested_date": utcnow().date() + timedelta(days=30)}]
        po = confirmation.create_purchase_order(uow, buyer, supplier_id=supplier_id, currency="EUR", lines=lines)
        confirmation.issue_purchase_order(uow, buyer, po_id=po.id, version=po.version)
        uow.flush()
        po_line_id = confirmation.get_purchase_order_detail(uow, po_id=po.id).lines[0].line.id
        uow.commit()
        return {"supplier": supplier_id, "site": site.id, "location": location.id, "items": [i.id for i in items],
                "po": po.id, "po_line": po_line_id, "customers": [c.id for c in customers]}


def _admin(b: Bench):
    import psycopg
    from sqlalchemy.engine import make_url

    from bench.common import DATABASE
    from kernel.database import libpq_url

    url = make_url(b.admin_url).set(database=DATABASE).render_as_string(hide_password=False)
    return psycopg.connect(libpq_url(url), autocommit=True, application_name="traceport-bench-load")


def _load(b: Bench, tenant_id, refs: dict, per_level: int) -> list[list]:
    """The rows, with COPY (binary) as the administrator in replica mode."""
    now = utcnow()
    today = now.date()
    supplier, location, items = refs["supplier"], refs["location"], refs["items"]
    lots = [[new_id() for _ in range(per_level)] for _ in range(LEVELS)]
    with _admin(b) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        cur = conn.cursor()

        def copy(table: str, columns: str, types: list[str], rows) -> None:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as out:
                out.set_types(types)
                for row in rows:
                    out.write_row(row)

        copy("lot", "tenant_id, id, item_id, supplier_id, number", ["uuid", "uuid", "uuid", "uuid", "text"], (
            (tenant_id, lots[level][n], items[level], supplier if level == 0 else None, _number(level, n))
            for level in range(LEVELS) for n in range(per_level)
        ))
        log("trace: lots loaded; stock (one row per serial)")
        copy("stock", "tenant_id, id, item_id, lot_id, serial, location_id, status, quantity, supplier_id",
             ["uuid", "uuid", "uuid", "uuid", "text", "uuid", "text", "numeric", "uuid"], (
                 (tenant_id, new_id(), items[level], lots[level][n], f"S{level}{n:07d}-{u}", location,
                  "shipped" if level == LEVELS - 1 else "consumed" if u < 2 else "released", Decimal(1),
                  supplier if level == 0 else None)
                 for level in range(LEVELS) for n in range(per_level) for u in range(SERIALS_PER_LOT)
             ))
        log("trace: stock loaded; production runs and genealogy")
        runs = {}
        copy("production_run", "tenant_id, id, reference, item_id, lot_id, quantity, location_id, produced_at",
             ["uuid", "uuid", "text", "uuid", "uuid", "numeric", "uuid", "timestamptz"], (
                 (tenant_id, runs.setdefault((level, n), new_id()), f"WO-{level}-{n:07d}", items[level], lots[level][n],
                  Decimal(SERIALS_PER_LOT), location, now)
                 for level in range(1, LEVELS) for n in range(per_level)
             ))
        # Lot n of a level is made of lots 2n and 2n+1 (mod the level's size) of the level below.
        copy("genealogy_link", "tenant_id, id, production_run_id, output_lot_id, input_item_id, input_lot_id, quantity",
             ["uuid", "uuid", "uuid", "uuid", "uuid", "uuid", "numeric"], (
                 (tenant_id, new_id(), runs[(level, n)], lots[level][n], items[level - 1],
                  lots[level - 1][(2 * n + k) % per_level], Decimal(1))
                 for level in range(1, LEVELS) for n in range(per_level) for k in (0, 1)
             ))
        log("trace: genealogy loaded; ship notices, receipts, customer shipments")
        groups = range(0, per_level, LOTS_PER_ASN)
        asns = [new_id() for _ in groups]
        receipts = [new_id() for _ in groups]
        copy("asn", "tenant_id, id, number, supplier_id, ship_to_site_id, status, ship_date, expected_arrival",
             ["uuid", "uuid", "text", "uuid", "uuid", "text", "date", "date"], (
                 (tenant_id, asn, f"ASN-T-{g:07d}", supplier, refs["site"], "received", today, today)
                 for g, asn in enumerate(asns)
             ))
        lines = [new_id() for _ in range(per_level)]
        copy("asn_line", "tenant_id, id, asn_id, supplier_id, line_no, purchase_order_id, purchase_order_line_id, item_id,"
             " quantity, lot_id, lot",
             ["uuid", "uuid", "uuid", "uuid", "int4", "uuid", "uuid", "uuid", "numeric", "uuid", "text"], (
                 (tenant_id, lines[n], asns[n // LOTS_PER_ASN], supplier, n % LOTS_PER_ASN + 1, refs["po"], refs["po_line"],
                  items[0], Decimal(SERIALS_PER_LOT), lots[0][n], _number(0, n))
                 for n in range(per_level)
             ))
        copy("receipt", "tenant_id, id, number, asn_id, supplier_id, location_id, status",
             ["uuid", "uuid", "text", "uuid", "uuid", "uuid", "text"], (
                 (tenant_id, receipt, f"GR-T-{g:07d}", asns[g], supplier, location, "closed")
                 for g, receipt in enumerate(receipts)
             ))
        copy("receipt_line", "tenant_id, id, receipt_id, supplier_id, asn_line_id, item_id, lot_id, quantity",
             ["uuid", "uuid", "uuid", "uuid", "uuid", "uuid", "uuid", "numeric"], (
                 (tenant_id, new_id(), receipts[n // LOTS_PER_ASN], supplier, lines[n], items[0], lots[0][n],
                  Decimal(SERIALS_PER_LOT))
                 for n in range(per_level)
             ))
        shipments = [new_id() for _ in groups]
        copy("customer_shipment", "tenant_id, id, reference, customer_id, shipped_at",
             ["uuid", "uuid", "text", "uuid", "timestamptz"], (
                 (tenant_id, shipment, f"DN-T-{g:07d}", refs["customers"][g % 2], now) for g, shipment in enumerate(shipments)
             ))
        last = LEVELS - 1
        copy("customer_shipment_line", "tenant_id, id, shipment_id, item_id, lot_id, quantity",
             ["uuid", "uuid", "uuid", "uuid", "uuid", "numeric"], (
                 (tenant_id, new_id(), shipments[n // LOTS_PER_ASN], items[last], lots[last][n], Decimal(SERIALS_PER_LOT))
                 for n in range(per_level)
             ))
    return lots


def _lookup_ms(runtime, tenant_id, number: str) -> float:
    import sqlalchemy as sa

    from erp.inventory.models import Lot

    started = time.perf_counter()
    with runtime.uow(tenant_id=tenant_id, actor=QUALITY) as uow:
        found = uow.scalar(sa.select(Lot.id).where(Lot.number == number))
        uow.commit()
    elapsed = (time.perf_counter() - started) * 1000
    assert found is not None, "the lot was not found"
    return elapsed


def _trace_ms(runtime, tenant_id, lot_id, number: str) -> tuple[float, int]:
    from erp.traceability import trace

    start = trace.Start(code=number, kind="lot", label=number, roots=((lot_id, None),))
    started = time.perf_counter()
    with runtime.uow(tenant_id=tenant_id, actor=QUALITY) as uow:
        result = trace.build_trace(uow, start, direction="both")
        uow.commit()
    elapsed = (time.perf_counter() - started) * 1000
    assert not result["truncated"] and len(result["nodes"]) > 1, "the trace found nothing"
    return elapsed, len(result["nodes"])


def _kept_ms(runtime, tenant_id, lot_id, number: str) -> float:
    from erp.traceability import trace
    from erp.traceability.models import TraceSnapshot

    start = trace.Start(code=number, kind="lot", label=number, roots=((lot_id, None),))
    started = time.perf_counter()
    with runtime.uow(tenant_id=tenant_id, actor=QUALITY) as uow:
        result = trace.build_trace(uow, start, direction="both")
        uow.add(TraceSnapshot(start_code=number, start_kind="lot", reason="bench", result=result,
                              node_count=len(result["nodes"]), run_by=None))
        uow.commit()
    return (time.perf_counter() - started) * 1000
