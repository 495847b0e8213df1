"""A genealogy of three levels for trace tests, as the product records it.

Two suppliers each ship a component lot on a ship notice (ASN, receipt and stock rows
written with the models, as shipping and receiving write them, against a purchase order
of the factories), released; a sub-assembly lot is produced from
both (erp.traceability.service.record_production), a finished, serialised device lot
from the sub-assembly, each finished serial shipped to another customer (record_shipment).

    tree = genealogy(tx, world)    # committed in the test's savepoint; ids and numbers in `tree`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from erp.inventory import service as inventory
from erp.inventory.models import Lot, Stock
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.receiving.models import Receipt, ReceiptLine
from erp.shipping.models import Asn, AsnLine, AsnPackage
from kernel.clock import utcnow
from kernel.ids import new_id
from tenants import service as tenants
from tests.erp.receiving.receiving_support import Received, location
from tests.erp.shipping.asn_support import sscc
from tests.erp.traceability.support import customer, finished_lot, people, shipped_to_customer
from tests.factories import gtin, make_item, make_purchase_order, unique

__all__ = ["Tree", "genealogy", "on_asn", "people"]


@dataclass
class Tree:
    who: dict
    components: list = field(default_factory=list)  # Received, supplier 1's then supplier 2's
    asns: list = field(default_factory=list)  # Asn rows, same order
    pos: list = field(default_factory=list)  # PurchaseOrder rows, same order
    ssccs: list = field(default_factory=list)
    sub: object = None  # Finished: the sub-assembly
    device: object = None  # the finished device Item (GTIN, serialised)
    finished: object = None  # Finished: F serials
    customers: list = field(default_factory=list)
    shipments: list = field(default_factory=list)


def on_asn(uow, world, actor, *, supplier, item, quantity: str = "100", lot_number: str | None = None):
    """A component lot shipped on a ship notice against an order, received on that
    notice and released: (Received, Asn, PurchaseOrder, sscc)."""
    order = make_purchase_order(uow, supplier=supplier, item=item, quantity=quantity)
    line_id = uow.scalar(sa.select(PurchaseOrderLine.id).where(PurchaseOrderLine.purchase_order_id == order.id))
    site = tenants.own_sites(uow) or [tenants.create_site(uow, organisation=tenants.own_organisation(uow), name="DC",
                                                          kind="warehouse")]
    today = utcnow().date()
    asn = Asn(
        number=tenants.next_number(uow, name="ASN", prefix="ASN", year=2026), supplier_id=supplier.id,
        ship_to_site_id=site[0].id, status="received", ship_date=today - timedelta(days=3), expected_arrival=today,
    )
    uow.add(asn)
    uow.flush()
    package = AsnPackage(asn_id=asn.id, supplier_id=supplier.id, seq=1, sscc=sscc(), level="case")
    lot = Lot(item_id=item.id, supplier_id=supplier.id, number=lot_number or unique("CL"))
    uow.add(package)
    uow.add(lot)
    uow.flush()
    line = AsnLine(
        asn_id=asn.id, supplier_id=supplier.id, line_no=1, package_id=package.id, purchase_order_id=order.id,
        purchase_order_line_id=line_id, item_id=item.id, quantity=Decimal(quantity), lot_id=lot.id, lot=lot.number,
    )
    uow.add(line)
    uow.flush()
    at = location(uow, kind="receiving")
    receipt = Receipt(
        number=tenants.next_number(uow, name="GR", prefix="GR", year=2026), asn_id=asn.id, supplier_id=supplier.id,
        location_id=at.id, status="closed", received_by=actor.user_id,
    )
    uow.add(receipt)
    uow.flush()
    uow.add(ReceiptLine(receipt_id=receipt.id, supplier_id=supplier.id, asn_line_id=line.id, item_id=item.id, lot_id=lot.id,
                        quantity=Decimal(quantity), package_sscc=package.sscc))
    stock = Stock(id=new_id(), item_id=item.id, lot_id=lot.id, location_id=at.id, status="quarantine",
                  quantity=Decimal(quantity), supplier_id=supplier.id)
    uow.add(stock)
    uow.flush()
    released = inventory.change_status(uow, actor, stock=stock, status="released", kind="release")
    got = Received(receipt=receipt, lot=lot, item_id=item.id, stock=[released])
    return got, asn, order, package.sscc


def genealogy(tx, world) -> Tree:
    who = people(tx, world)
    tree = Tree(who=who)
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        for n, supplier in enumerate(world.suppliers):
            item = make_item(uow, category="component", name=("Tubing", "Sensor")[n])
            got, asn, order, code = on_asn(uow, world, actor, supplier=supplier, item=item)
            tree.components.append(got)
            tree.asns.append(asn)
            tree.pos.append(order)
            tree.ssccs.append(code)
        tree.sub = finished_lot(
            uow, actor, components=[(tree.components[0], "8"), (tree.components[1], "4")], quantity="4",
            lot_number=unique("SUB-"),
        )
        tree.device = make_item(
            uow, category="finished_device", issuing_agency="GS1", udi_di=gtin(), device_class="IIa", label_lot=True,
            label_serial=True, name="Infusion pump", name_zh="输液泵",
        )
        serials = [unique("F"), unique("F")]
        tree.finished = finished_lot(
            uow, actor, item_id=tree.device.id, components=[(tree.sub, "1"), (tree.sub, "1")], quantity="2",
            serials=serials, output_serials=serials, lot_number=unique("FIN-"),
        )
        for serial, name in zip(serials, ("City Hospital", "County Clinic"), strict=True):
            to = customer(uow, actor, name=name)
            tree.customers.append(to)
            tree.shipments.append(shipped_to_customer(uow, actor, tree.finished, serials=[serial], to=to))
        uow.commit()
    return tree


def po_number(order: PurchaseOrder) -> str:
    return order.number
