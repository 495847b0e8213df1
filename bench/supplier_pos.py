"""The supplier's purchase-order list as history grows.

A tenant with 100k purchase orders and 1M lines (scaled) from 20 suppliers, and another
tenant as large beside it; a third tenant with 1k orders. A supplier user of the large
tenant and one of the small one each read their first page (50, newest first, with line
counts and totals) through the product's service, erp.purchasing.service
.list_purchase_orders, in a unit of work as the application role: row-level security
narrows to the tenant and the supplier. That supplier has 100 orders in either tenant,
spread over the whole history, the others share the rest: a small supplier in a long
history is where the cost could grow with the tenant's size. Both run alternately; the figure is the p95 of
the large tenant's page as a ratio to the small one's (target <= 1.5: the cost must not
grow with history), and the absolute p95 (target <= 50 ms).

History is loaded as the owner with COPY, with the audit triggers of the two tables off
and row-level security not forced for the load (both put back after): the figure is about reading; what auditing costs is
measured in its own section.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bench.common import Bench, log, percentile
from kernel.ids import new_id
from kernel.uow import Actor

SECTION = "supplier_pos"
SUPPLIERS = 20
LINES_PER_PO = 10
READ_SUPPLIER_POS = 100
SPAN_DAYS = 730
START = datetime(2024, 1, 1, tzinfo=UTC)
TARGET_RATIO = 1.5
TARGET_MS = 50.0
TABLES = ("purchase_order", "purchase_order_line")


def run(b: Bench) -> None:
    large = b.n(100_000, 2_000)
    small = 1_000
    big_a = _tenant(b, "po-large", large)
    _tenant(b, "po-other", large)  # as many again in another tenant
    little = _tenant(b, "po-small", small)
    with b.owner() as conn:
        for table in TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    iterations = b.n(400, 100)
    timings = {"large": [], "small": []}
    runtime = b.runtime()
    for i in range(iterations):
        order = (("large", big_a), ("small", little)) if i % 2 else (("small", little), ("large", big_a))
        for name, (tenant_id, supplier_id) in order:
            timings[name].append(_first_page_ms(runtime, tenant_id, supplier_id))
    # The first rounds warm caches and the connection pool; they are not counted.
    warm = max(5, iterations // 20)
    p95 = {name: percentile(values[warm:], 95) for name, values in timings.items()}
    log(f"supplier_pos: p95 first page {p95['large']:.2f} ms ({large:,} POs) vs {p95['small']:.2f} ms ({small:,} POs)")
    b.at_most(
        SECTION,
        f"supplier first page p95, {large:,} POs vs {small:,}",
        p95["large"],
        p95["small"],
        "ms",
        TARGET_RATIO,
        note=f"{large * LINES_PER_PO:,} lines; another tenant as large; {SUPPLIERS} suppliers",
    )
    b.value_at_most(SECTION, f"supplier first page p95, {large:,} POs", p95["large"], p95["small"], "ms", TARGET_MS)
    b.details.setdefault(SECTION, {}).update({"pos": large, "lines": large * LINES_PER_PO, "iterations": iterations})


def _first_page_ms(runtime, tenant_id: uuid.UUID, supplier_id: uuid.UUID) -> float:
    from erp.purchasing.service import list_purchase_orders

    actor = Actor(user_id=None, name="bench supplier", supplier_id=supplier_id, permissions=frozenset({"po.view"}))
    started = time.perf_counter()
    with runtime.uow(tenant_id=tenant_id, actor=actor) as uow:
        page = list_purchase_orders(uow)
        uow.rollback()
    elapsed = (time.perf_counter() - started) * 1000
    assert len(page.items) == 50 and all(row.supplier_id == supplier_id for row in page.items), "the page is not the supplier's"
    return elapsed


def _tenant(b: Bench, prefix: str, pos: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant with `pos` orders of LINES_PER_PO lines from SUPPLIERS suppliers; returns
    (tenant id, the supplier whose page is read)."""
    from erp.items.models import Item
    from tenants import service as tenants

    tenant_id = b.tenant(prefix)
    with b.runtime().uow(tenant_id=tenant_id, actor=Actor.system("bench")) as uow:
        suppliers = [tenants.create_supplier(uow, code=f"S{n:02d}", name=f"Supplier {n}").id for n in range(SUPPLIERS)]
        item = Item(part_number="BENCH-1", name="Bench item", category="component", uom="EA")
        uow.add(item)
        uow.flush()
        item_id = item.id
        uow.commit()
    log(f"supplier_pos: loading {pos:,} POs and {pos * LINES_PER_PO:,} lines into {prefix} (COPY as the owner)")
    rng = random.Random(hash(prefix) & 0xFFFF)
    offsets = sorted(rng.random() * SPAN_DAYS * 86400 for _ in range(pos))
    started = time.perf_counter()
    with b.owner() as conn:
        # COPY refuses a table whose row-level security applies to the one copying; the
        # owner is exempt only while RLS is not forced. Both are put back right after.
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER audit_insert, NO FORCE ROW LEVEL SECURITY")
        try:
            _copy(conn, tenant_id, suppliers, item_id, offsets, rng)
        finally:
            for table in TABLES:
                conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER audit_insert, FORCE ROW LEVEL SECURITY")
    log(f"supplier_pos: {prefix} loaded in {time.perf_counter() - started:.1f}s")
    return tenant_id, suppliers[0]


def _copy(conn, tenant_id, suppliers, item_id, offsets, rng) -> None:
    po_ids = []
    stride = max(1, len(offsets) // READ_SUPPLIER_POS)
    with conn.cursor().copy(
        "COPY purchase_order (tenant_id, id, number, supplier_id, status, currency, order_date, created_at, updated_at)"
        " FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["uuid", "uuid", "text", "uuid", "text", "text", "date", "timestamptz", "timestamptz"])
        for n, offset in enumerate(offsets):
            created = START + timedelta(seconds=offset)
            po_id = new_id()
            # The supplier whose page is read has READ_SUPPLIER_POS orders, spread over the
            # whole history, in every tenant: a small supplier in a long history is the
            # case where cost could grow with the tenant's size.
            supplier = suppliers[0] if n % stride == 0 else suppliers[1 + n % (len(suppliers) - 1)]
            po_ids.append((po_id, supplier))
            copy.write_row((tenant_id, po_id, f"PO-B-{n:07d}", supplier, "issued", "EUR", created.date(), created, created))
    with conn.cursor().copy(
        "COPY purchase_order_line (tenant_id, id, purchase_order_id, supplier_id, line_no, item_id, quantity, uom,"
        " unit_price, requested_date) FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["uuid", "uuid", "uuid", "uuid", "int4", "uuid", "numeric", "text", "numeric", "date"])
        for po_id, supplier in po_ids:
            for line in range(1, LINES_PER_PO + 1):
                copy.write_row(
                    (
                        tenant_id,
                        new_id(),
                        po_id,
                        supplier,
                        line * 10,
                        item_id,
                        Decimal(rng.randrange(1, 1000)),
                        "EA",
                        Decimal(rng.randrange(100, 100_000)) / 100,
                        date(2026, 12, 31),
                    )
                )
