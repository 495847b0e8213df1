"""Genealogy for traceability tests, made through the real services: a supplier's lot
received and released (receiving_support.receive, then inventory's release movement,
without the e-signature flow that test_release covers), a finished lot produced from
component lots (erp.traceability.service.record_production) and finished units shipped
to a customer (record_shipment).

    who = people(tx, world)                       # actors: warehouse records, quality holds
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        screws = released_component_lot(uow, world, who["warehouse"], quantity="500")
        pump = finished_lot(uow, who["warehouse"], components=[(screws, "4")], quantity="2", serials=["P1", "P2"])
        sent = shipped_to_customer(uow, who["warehouse"], pump, serials=["P1"])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from erp.inventory import service as inventory
from erp.inventory.models import Lot
from erp.traceability import service as trace
from erp.traceability.models import Customer, CustomerShipment, ProductionRun
from kernel.clock import utcnow
from tests.erp.receiving.receiving_support import Received, people, receive
from tests.factories import make_item, unique

__all__ = [
    "Finished",
    "customer",
    "finished_lot",
    "people",
    "released_component_lot",
    "shipped_to_customer",
]


@dataclass
class Finished:
    run: ProductionRun
    lot: Lot
    item_id: object
    serials: list[str]


def released_component_lot(
    uow,
    world,
    actor,
    *,
    supplier=None,
    item_id=None,
    quantity: str = "100",
    serials: tuple[str, ...] = (),
    lot_number: str | None = None,
) -> Received:
    """A supplier's lot received (a closed receipt, stock at a receiving location) and
    released; of the world's first supplier and a new component item unless given."""
    supplier = supplier or world.suppliers[0]
    item_id = item_id or make_item(uow, category="component").id
    got = receive(
        uow, actor, supplier=supplier, item_id=item_id, lot_number=lot_number or unique("CL"), quantity=quantity,
        serials=serials,
    )
    got.stock = [
        inventory.change_status(uow, actor, stock=row, status="released", kind="release") for row in got.stock
    ]
    return got


def finished_lot(
    uow,
    actor,
    *,
    components: list,
    quantity: str = "10",
    serials: list[str] | None = None,
    item_id=None,
    lot_number: str | None = None,
    reference: str | None = None,
    output_serials: list[str | None] | None = None,
    produced_at=None,
) -> Finished:
    """A production run of a finished lot (a new finished-device item unless given).
    `components` are (Received or Finished, quantity) pairs, or (Received or Finished,
    quantity, serial) for one serialised unit; `output_serials[i]` is the finished serial
    component i went into."""
    item_id = item_id or make_item(uow, category="finished_device").id
    uses = []
    for n, spec in enumerate(components):
        source, amount, serial = (*spec, None)[:3]
        uses.append(
            trace.ComponentUse(
                item_id=source.item_id,
                lot_id=source.lot.id,
                quantity=amount,
                serial=serial,
                output_serial=(output_serials or [None] * len(components))[n],
            )
        )
    run = trace.record_production(
        uow,
        actor,
        reference=reference or unique("WO-"),
        item_id=item_id,
        lot_number=lot_number or unique("FL"),
        quantity=quantity,
        produced_at=produced_at or utcnow() - timedelta(hours=1),
        serials=serials,
        components=uses,
    )
    lot = inventory.get_lot(uow, lot_id=run.lot_id)
    return Finished(run=run, lot=lot, item_id=item_id, serials=list(serials or []))


def customer(uow, actor, *, code: str | None = None, name: str = "City Hospital", email: str | None = None) -> Customer:
    code = code or unique("C-")
    return trace.upsert_customer(
        uow, actor, code=code, name=name, email=email or f"{code.lower()}@hospital.example", address="1 Main St"
    )


def shipped_to_customer(
    uow,
    actor,
    finished: Finished,
    *,
    quantity: str | None = None,
    serials: list[str] | None = None,
    to: Customer | None = None,
    reference: str | None = None,
) -> CustomerShipment:
    """Finished units shipped: the serials given (one line each), or `quantity` of the
    lot (all of it by default when not serialised)."""
    to = to or customer(uow, actor)
    if serials:
        lines = [trace.ShippedUnit(item_id=finished.item_id, lot_id=finished.lot.id, serial=s, quantity=1) for s in serials]
    else:
        amount = quantity or inventory.plain_quantity(Decimal(finished.run.quantity))
        lines = [trace.ShippedUnit(item_id=finished.item_id, lot_id=finished.lot.id, quantity=amount)]
    return trace.record_shipment(
        uow, actor, reference=reference or unique("DN-"), customer_id=to.id, shipped_at=utcnow() - timedelta(minutes=30),
        lines=lines,
    )
