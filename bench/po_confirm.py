"""Confirming a large purchase order in one request (issue 5: a 500-line PO <= 1 s).

The supplier accepts every line of an issued 500-line order in one call of the product's
service (erp.purchasing.confirmation.respond_to_purchase_order), in one unit of work as
the application role, committed: the row locks, the checks, 500 answer rows, the line
updates and the audit triggers all count. The baseline is a 5-line order confirmed the
same way in the same run; the figure is the median of several orders of each size, and
the target is on the absolute time.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

from bench.common import Bench, log, median
from kernel.clock import utcnow
from kernel.uow import Actor

SECTION = "po_confirm"
LINES = 500
BASELINE_LINES = 5
TARGET_SECONDS = 1.0


def run(b: Bench) -> None:
    from erp.items.models import Item
    from tenants import service as tenants

    runtime = b.runtime()
    tenant_id = b.tenant("po-confirm")
    system = Actor.system("bench")
    with runtime.uow(tenant_id=tenant_id, actor=system) as uow:
        supplier_id = tenants.create_supplier(uow, code="BIG", name="Big order supplier").id
        items = [Item(part_number=f"BENCH-{n:04d}", name=f"Bench item {n}", category="component", uom="EA") for n in range(LINES)]
        uow.session.add_all(items)
        uow.flush()
        item_ids = [item.id for item in items]
        uow.commit()
    rounds = max(3, b.n(7, 3))
    timings = {LINES: [], BASELINE_LINES: []}
    for _ in range(rounds):
        for size in (BASELINE_LINES, LINES):
            po_id = _issued_order(runtime, tenant_id, supplier_id, item_ids[:size])
            timings[size].append(_confirm_all(runtime, tenant_id, supplier_id, po_id))
    big, small = median(timings[LINES]), median(timings[BASELINE_LINES])
    log(f"po_confirm: {LINES} lines {big * 1000:.0f} ms, {BASELINE_LINES} lines {small * 1000:.0f} ms (median of {rounds})")
    b.value_at_most(
        SECTION,
        f"supplier accepts a {LINES}-line PO, one request",
        big,
        small,
        "s",
        TARGET_SECONDS,
        note=f"baseline: {BASELINE_LINES} lines; committed, audited; median of {rounds}",
    )


def _issued_order(runtime, tenant_id, supplier_id, item_ids) -> object:
    from erp.purchasing import confirmation

    buyer = Actor.system("bench buyer")
    requested = utcnow().date() + timedelta(days=30)
    with runtime.uow(tenant_id=tenant_id, actor=buyer) as uow:
        lines = [
            {"item_id": item_id, "quantity": Decimal(100), "unit_price": Decimal("1.25"), "requested_date": requested}
            for item_id in item_ids
        ]
        po = confirmation.create_purchase_order(uow, buyer, supplier_id=supplier_id, currency="EUR", lines=lines)
        confirmation.issue_purchase_order(uow, buyer, po_id=po.id, version=po.version)
        uow.commit()
        return po.id


def _confirm_all(runtime, tenant_id, supplier_id, po_id) -> float:
    from erp.purchasing import confirmation

    permissions = frozenset({"po.confirm", "po.view"})
    supplier = Actor(user_id=None, name="bench supplier", supplier_id=supplier_id, permissions=permissions)
    started = time.perf_counter()
    with runtime.uow(tenant_id=tenant_id, actor=supplier) as uow:
        detail = confirmation.get_purchase_order_detail(uow, po_id=po_id)
        answers = [{"line_id": line.line.id, "action": "accept"} for line in detail.lines]
        confirmation.respond_to_purchase_order(
            uow, supplier, po_id=po_id, revision=detail.order.revision, version=detail.order.version, responses=answers
        )
        uow.commit()
    elapsed = time.perf_counter() - started
    with runtime.uow(tenant_id=tenant_id, actor=supplier) as uow:
        status = confirmation.get_purchase_order_detail(uow, po_id=po_id).order.status
    assert status == "acknowledged", f"the order is {status}, not acknowledged"
    return elapsed
