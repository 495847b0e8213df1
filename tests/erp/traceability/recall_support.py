"""Data for the recall tests: a supplier's component lot received and released, a
production run of a finished lot that used part of it (erp.traceability.service), the
finished lot partly shipped to two customers (one English, one Chinese), and the trace
snapshot a recall opens from (its "affected" list as erp.traceability.trace writes it:
the component lot and the finished lot made from it)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from erp.inventory import service as inventory
from erp.inventory.models import Location, Lot
from erp.items.models import Item
from erp.traceability import service as records
from erp.traceability.models import Customer, TraceSnapshot
from kernel.clock import utcnow
from tests.erp.receiving.receiving_support import location, receive
from tests.factories import actor_in, gtin, make_item, unique

PEOPLE = ("quality", "warehouse", "viewer", "buyer", "tenant_admin", "supplier1", "supplier2")


def people(tx, world) -> dict:
    with tx.uow() as lookup:
        return {who: actor_in(lookup, world, who) for who in PEOPLE}


@pytest.fixture
def who(tx, world) -> dict:
    return people(tx, world)


@dataclass
class Chain:
    component: Item
    component_lot: Lot
    finished: Item
    finished_lot: Lot
    store: Location  # where the component stock stands
    shelf: Location  # where the finished stock stands
    english: Customer
    chinese: Customer
    snapshot: TraceSnapshot


def make_chain(uow, who: dict, world, *, supplier_index: int = 0) -> Chain:
    """Component lot (100 received from a supplier, released; 10 used), finished lot (20
    made: 8 to an English customer, 4 to a Chinese one, 8 on the shelf), the snapshot."""
    warehouse = who["warehouse"]
    supplier = world.suppliers[supplier_index]
    component = make_item(uow, name="Tubing", name_zh="导管", udi_di=gtin(), issuing_agency="GS1")
    store = location(uow, kind="storage")
    received = receive(uow, warehouse, supplier=supplier, item_id=component.id, quantity="100", at=store)
    for row in received.stock:
        inventory.change_status(uow, who["quality"], stock=row, status="released", kind="release")
    finished = make_item(
        uow,
        name="Infusion set",
        name_zh="输液器",
        category="finished_device",
        udi_di=gtin(),
        issuing_agency="GS1",
        device_class="IIb",
    )
    shelf = location(uow, kind="storage")
    run = records.record_production(
        uow,
        warehouse,
        reference=unique("WO-"),
        item_id=finished.id,
        lot_number=unique("FG"),
        quantity=20,
        produced_at=utcnow(),
        components=[records.ComponentUse(item_id=component.id, quantity=10, lot_id=received.lot.id)],
        location_id=shelf.id,
    )
    finished_lot = uow.session.get(Lot, (uow.tenant_id, run.lot_id))
    english = records.upsert_customer(
        uow, warehouse, code=unique("C"), name="City Hospital", email=f"{unique('buyer')}@city-hospital.test", locale="en"
    )
    chinese = records.upsert_customer(
        uow,
        warehouse,
        code=unique("C"),
        name="上海第一医院",
        email=f"{unique('caigou')}@shanghai-hospital.test",
        locale="zh_Hans_CN",
    )
    for customer, amount in ((english, 8), (chinese, 4)):
        records.record_shipment(
            uow,
            warehouse,
            reference=unique("DN-"),
            customer_id=customer.id,
            shipped_at=utcnow(),
            lines=[records.ShippedUnit(item_id=finished.id, quantity=amount, lot_id=finished_lot.id)],
        )
    snapshot = make_snapshot(
        uow,
        who["quality"],
        code=f"(01){component.udi_di}(10){received.lot.number}",
        affected=[
            {
                "item_id": str(component.id),
                "lot_id": str(received.lot.id),
                "serial": None,
                "quantity": "100",
                "supplier_id": str(supplier.id),
            },
            {"item_id": str(finished.id), "lot_id": str(finished_lot.id), "serial": None, "quantity": "20", "supplier_id": None},
        ],
    )
    return Chain(
        component=component,
        component_lot=received.lot,
        finished=finished,
        finished_lot=finished_lot,
        store=store,
        shelf=shelf,
        english=english,
        chinese=chinese,
        snapshot=snapshot,
    )


def make_snapshot(uow, actor, *, code: str, affected: list[dict], kind: str = "gtin_lot") -> TraceSnapshot:
    """A stored trace with this "affected" list (the nodes and edges left out: a recall
    reads only what is affected)."""
    snapshot = TraceSnapshot(
        start_code=code,
        start_kind=kind,
        reason="Supplier reported a sealing defect",
        result={"start": {"code": code, "kind": kind, "label": code}, "nodes": [], "edges": [], "affected": affected},
        node_count=len(affected),
        run_by=actor.user_id,
    )
    uow.add(snapshot)
    uow.flush()
    return snapshot


def quantities(lines) -> dict:
    """(place, quantity) -> count of the included lines, for comparing scopes."""
    found: dict = {}
    for line in lines:
        if line.included:
            key = (line.place, Decimal(line.quantity).normalize())
            found[key] = found.get(key, 0) + 1
    return found
