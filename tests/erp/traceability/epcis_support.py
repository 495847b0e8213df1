"""A traced chain for the EPCIS tests, made through the services where they exist: a
supplier's ship notice (a pallet of two cases: three serialised devices, 50 of a tubing
lot) submitted, received (receiving_support's receipts, tied to the ship notice) and
released; a finished lot made from 20 of the tubing and two of the devices
(record_production); one finished unit shipped to a customer (record_shipment); a data
logger on the ship notice with a few readings (rows written as the cold-chain ingest
writes them).

`rt` is a runtime: the test's `tx`, or the committing `runtime` for the CLI tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from erp.coldchain.models import DataLogger, LoggerBinding, Reading, ReadingBatch
from erp.inventory import service as inventory
from erp.inventory.models import Lot
from erp.items.models import Item
from erp.receiving.models import Receipt
from erp.shipping import service as asns
from erp.shipping.models import Asn
from erp.traceability import service as records
from kernel.clock import utcnow
from tests.erp.receiving.receiving_support import location, people, receive
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save
from tests.erp.traceability.support import finished_lot
from tests.factories import gtin, make_item, unique

TEMPERATURES = ("4.5", "5.0", "9.25")


@dataclass
class Chain:
    who: dict
    asn_id: object
    asn_number: str
    ssccs: list[str]  # pallet, device case, tubing case
    device: Item  # serialised, with a GTIN
    tubing: Item  # lot-controlled, no GTIN
    finished: Item  # serialised, with a GTIN
    tubing_lot: str
    device_lot: str
    finished_lot: str
    reference: str  # the production run's
    delivery: str  # the customer shipment's
    customer_code: str
    logger_code: str
    receipt_ids: list = field(default_factory=list)


def make_chain(rt, world, *, readings=TEMPERATURES) -> Chain:
    order = acknowledged_order(rt, world)
    who = people(rt, world)
    tubing_lot, device_lot, finished_number = unique("T-"), unique("L-"), unique("F-")
    data = asn_data(order, serials=("SN-1", "SN-2", "SN-3"))
    data["lines"][0]["lot"] = device_lot
    data["lines"][1]["lot"] = tubing_lot
    saved = save(rt, world, order.who["supplier1"], data)
    with rt.uow(tenant_id=world.tenant_id, actor=order.who["supplier1"]) as uow:
        asns.submit_asn(uow, order.who["supplier1"], asn_id=saved.asn.id, version=saved.asn.version)
        uow.commit()
    warehouse = who["warehouse"]
    supplier = world.suppliers[0]
    with rt.uow(tenant_id=world.tenant_id, actor=warehouse) as uow:
        asn = uow.scalar(sa.select(Asn).where(Asn.id == saved.asn.id))
        dock = location(uow, kind="receiving")
        tubing_lot_row = _lot(uow, order.component.id, tubing_lot)
        device_lot_row = _lot(uow, order.device.id, device_lot)
        tubing = receive(
            uow, warehouse, supplier=supplier, item_id=order.component.id, lot=tubing_lot_row, quantity="50", at=dock
        )
        devices = receive(
            uow,
            warehouse,
            supplier=supplier,
            item_id=order.device.id,
            lot=device_lot_row,
            serials=("SN-1", "SN-2", "SN-3"),
            at=dock,
        )
        for got in (tubing, devices):
            got.receipt.asn_id, got.receipt.without_asn = asn.id, False
            got.stock = [inventory.change_status(uow, warehouse, stock=s, status="released", kind="release") for s in got.stock]
        finished = make_item(
            uow,
            category="finished_device",
            issuing_agency="GS1",
            udi_di=gtin(),
            device_class="IIa",
            label_lot=True,
            label_serial=True,
            name="Infusion pump set",
        )
        reference = unique("WO-")
        made = finished_lot(
            uow,
            warehouse,
            components=[(tubing, "20"), (devices, "1", "SN-1"), (devices, "1", "SN-2")],
            quantity="2",
            serials=["FS-1", "FS-2"],
            item_id=finished.id,
            lot_number=finished_number,
            reference=reference,
            output_serials=[None, "FS-1", "FS-2"],
        )
        customer = records.upsert_customer(uow, warehouse, code=unique("C-"), name="City Hospital", email="orders@city.example")
        delivery = unique("DN-")
        records.record_shipment(
            uow,
            warehouse,
            reference=delivery,
            customer_id=customer.id,
            shipped_at=utcnow() - timedelta(minutes=30),
            lines=[records.ShippedUnit(item_id=finished.id, lot_id=made.lot.id, serial="FS-1", quantity=1)],
        )
        logger_code = unique("LOG-")
        bind_logger(uow, code=logger_code, asn_id=asn.id, temperatures=readings)
        uow.commit()
        receipt_ids = [tubing.receipt.id, devices.receipt.id]
        asn_number = asn.number
    ssccs = [p["sscc"] for p in data["packages"]]
    return Chain(
        who=who,
        asn_id=saved.asn.id,
        asn_number=asn_number,
        ssccs=ssccs,
        device=order.device,
        tubing=order.component,
        finished=finished,
        tubing_lot=tubing_lot,
        device_lot=device_lot,
        finished_lot=finished_number,
        reference=reference,
        delivery=delivery,
        customer_code=customer.code,
        logger_code=logger_code,
        receipt_ids=receipt_ids,
    )


def _lot(uow, item_id, number: str) -> Lot:
    return uow.scalar(sa.select(Lot).where(Lot.item_id == item_id, Lot.number == number))


def bind_logger(uow, *, code: str, temperatures, asn_id=None, lot_id=None, start=None, step=timedelta(minutes=10)):
    """A logger bound to a ship notice (or a lot) since `start` (3 hours ago), and one
    batch of readings every `step` from then on."""
    start = start or utcnow() - timedelta(hours=3)
    logger = DataLogger(code=code, name="Cold box logger")
    uow.add(logger)
    uow.flush()
    kind = "asn" if asn_id else "lot"
    uow.add(LoggerBinding(logger_id=logger.id, kind=kind, asn_id=asn_id, lot_id=lot_id, starts_at=start))
    times = [start + step * (n + 1) for n in range(len(temperatures))]
    batch = ReadingBatch(
        logger_id=logger.id,
        key=unique("batch-"),
        source="api",
        count=len(times),
        first_at=times[0],
        last_at=times[-1],
        sha256=hashlib.sha256(repr(list(temperatures)).encode()).hexdigest(),
    )
    uow.add(batch)
    uow.flush()
    for at, value in zip(times, temperatures, strict=True):
        uow.add(
            Reading(logger_id=logger.id, batch_id=batch.id, recorded_at=at, temperature=Decimal(value), humidity=Decimal("40"))
        )
    uow.flush()
    return logger


@dataclass
class Partner:
    """Tenant B's side of a round trip: the same items (by GTIN; the tubing by part
    number), component stock released, the same customer code."""

    who: dict
    device: Item
    tubing: Item
    finished: Item


def partner_with_items(rt, world, chain: Chain) -> Partner:
    who = people(rt, world)
    warehouse = who["warehouse"]
    with rt.uow(tenant_id=world.tenant_id, actor=warehouse) as uow:
        device = make_item(uow, category="finished_device", issuing_agency="GS1", udi_di=chain.device.udi_di, device_class="IIa")
        tubing = make_item(uow, part_number=chain.tubing.part_number, name="Tubing")
        finished = make_item(
            uow, category="finished_device", issuing_agency="GS1", udi_di=chain.finished.udi_di, device_class="IIa"
        )
        supplier = world.suppliers[0]
        got = [
            receive(uow, warehouse, supplier=supplier, item_id=tubing.id, lot_number=chain.tubing_lot, quantity="50"),
            receive(uow, warehouse, supplier=supplier, item_id=device.id, lot_number=chain.device_lot, serials=("SN-1", "SN-2")),
        ]
        for received in got:
            for row in received.stock:
                inventory.change_status(uow, warehouse, stock=row, status="released", kind="release")
        records.upsert_customer(uow, warehouse, code=chain.customer_code, name="City Hospital", email="orders@city.example")
        uow.commit()
    return Partner(who=who, device=device, tubing=tubing, finished=finished)


def receipt_count(rt, world) -> int:
    with rt.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(Receipt))
