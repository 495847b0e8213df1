"""The demo's traced devices (issue 8's demo walk), made through the services as people
would: Shenzhen Sterile ships serialised pump controllers and a lot of pouches on a ship
notice; the warehouse receives them by scanning; quality inspects and releases them with
the quality engineer's e-signature; production builds six infusion pumps (one controller
each, serial to serial, and a pouch each) and ships four of them to two customers.

Scanning the UDI of pump IP-0001 on the Trace page then shows its controller back to
the supplier's ship notice and order, and forward to the hospital it went to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from biip.checksums import gs1_standard_check_digit

from erp.coldchain import demo as coldchain_demo
from erp.inventory.models import Lot
from erp.items.models import Item
from erp.purchasing import confirmation
from erp.purchasing.models import PurchaseOrder
from erp.receiving import inspection as inspections
from erp.receiving import release
from erp.receiving import service as receiving
from erp.shipping import service as shipping
from erp.traceability import service as traceability
from kernel.clock import utcnow
from kernel.crypto import FieldCipher

PUMP_SERIALS = [f"IP-{n:04d}" for n in range(1, 7)]
CONTROLLER_SERIALS = [f"SZC-{n:04d}" for n in range(1, 7)]
PUMP_LOT = "IP2611A"
CONTROLLER_LOT = "SZC2610-3"
POUCH_LOT = "SZ2611-07"


def gtin(body: str) -> str:
    """A GTIN-14 from its first 13 digits."""
    return body + str(gs1_standard_check_digit(body))


def sscc(n: int) -> str:
    body = f"3095060001{n:07d}"
    return body + str(gs1_standard_check_digit(body))


PUMP_GTIN = gtin("0950600013439")


@dataclass(frozen=True)
class TracedDemo:
    pump: Item
    pump_udi: str  # the unit of the demo walk, as its label reads


def seed(uow, *, system, warehouse_actor, quality_actor, password: str, settings, order: PurchaseOrder, items) -> TracedDemo:
    """`order`: an acknowledged order of Shenzhen Sterile for the controllers and pouches
        (items: controller, pouch), shipping to the central warehouse. The pouches' lot gets a data logger
    (erp.coldchain.demo)."""
    controller, pouch = items
    today = utcnow().date()
    expiry = today + timedelta(days=730)
    lines = {line.item_id: line for line in _lines_of(uow, system, order)}
    pallet, controllers_case, pouches_case = sscc(1), sscc(2), sscc(3)
    data = {
        "ship_to_site_id": lines[controller.id].ship_to_site_id,
        "carrier": "SF Express",
        "tracking_number": "SF7710022",
        "seal_number": "SZS-771002",
        "ship_date": today - timedelta(days=3),
        "expected_arrival": today - timedelta(days=1),
        "packages": [
            {"sscc": pallet, "level": "pallet"},
            {"sscc": controllers_case, "level": "case", "parent": pallet},
            {"sscc": pouches_case, "level": "case", "parent": pallet},
        ],
        "lines": [
            {
                "purchase_order_line_id": lines[controller.id].id, "package": controllers_case,
                "quantity": str(len(CONTROLLER_SERIALS)), "lot": CONTROLLER_LOT, "expiry_date": expiry,
                "serials": CONTROLLER_SERIALS, "gtin": controller.udi_di,
            },
            {"purchase_order_line_id": lines[pouch.id].id, "package": pouches_case, "quantity": "200", "lot": POUCH_LOT},
        ],
    }  # fmt: skip
    _as(uow, system)
    saved = shipping.save_asn(uow, system, data=data, supplier_id=order.supplier_id)
    shipping.submit_asn(uow, system, asn_id=saved.asn.id, version=saved.asn.version, acknowledge_warnings=True)

    _as(uow, warehouse_actor)
    receipt = receiving.start_receipt(uow, warehouse_actor, asn_id=saved.asn.id)
    for serial in CONTROLLER_SERIALS:
        code = f"(01){controller.udi_di}(17){expiry:%y%m%d}(10){CONTROLLER_LOT}(21){serial}"
        receiving.scan(uow, warehouse_actor, receipt_id=receipt.id, text=code)
    receiving.scan(uow, warehouse_actor, receipt_id=receipt.id, text=pouches_case)
    receiving.close_receipt(uow, warehouse_actor, receipt_id=receipt.id)
    _as(uow, quality_actor)
    lot_ids = []
    for found in inspections.open_inspections(uow, quality_actor, receipt_id=receipt.id):
        inspections.record_inspection(
            uow, quality_actor, inspection_id=found.id, accepted_quantity=found.received_quantity, rejected_quantity=0
        )
        lot_ids.append(found.lot_id)
    cipher = FieldCipher.from_settings(settings)
    for lot_id in lot_ids:
        release.decide_lot(
            uow, quality_actor, lot_id=lot_id, decision="released", reason="Incoming inspection passed",
            password=password, settings=settings, cipher=cipher,
        )  # fmt: skip

    _as(uow, system)
    pump = Item(
        part_number="IP-200", name="Infusion pump IP-200", name_zh="输液泵 IP-200", category="finished_device", uom="EA",
        issuing_agency="GS1", udi_di=PUMP_GTIN, device_class="IIb", label_lot=True, label_serial=True,
        label_expiry_date=True,
    )  # fmt: skip
    uow.add(pump)
    uow.flush()
    made_at = utcnow() - timedelta(hours=20)
    components = [
        traceability.ComponentUse(item_id=controller.id, quantity=1, lot_number=CONTROLLER_LOT, serial=c, output_serial=p)
        for c, p in zip(CONTROLLER_SERIALS, PUMP_SERIALS, strict=True)
    ]
    components.append(traceability.ComponentUse(item_id=pouch.id, quantity=len(PUMP_SERIALS), lot_number=POUCH_LOT))
    traceability.record_production(
        uow, system, reference="WO-2611-0042", item_id=pump.id, lot_number=PUMP_LOT, quantity=len(PUMP_SERIALS),
        produced_at=made_at, serials=PUMP_SERIALS, components=components, expiry_date=expiry,
    )  # fmt: skip
    hospital = traceability.upsert_customer(
        uow, system, code="RGH", name="Riverside General Hospital", email="procurement@riverside-hospital.example",
        address="1 Riverside Way, Springfield", country="US", locale="en",
    )  # fmt: skip
    distributor = traceability.upsert_customer(
        uow, system, code="HDMD", name="华东医疗器械分销有限公司", email="caigou@huadong-med.example",
        address="上海市浦东新区张江路 100 号", country="CN", locale="zh_Hans_CN",
    )  # fmt: skip
    for reference, customer, serials in (
        ("DN-2611-0101", hospital, PUMP_SERIALS[:2]),
        ("DN-2611-0102", distributor, PUMP_SERIALS[2:4]),
    ):
        traceability.record_shipment(
            uow, system, reference=reference, customer_id=customer.id, shipped_at=made_at + timedelta(hours=6),
            ship_to_address=customer.address,
            lines=[traceability.ShippedUnit(item_id=pump.id, quantity=1, lot_number=PUMP_LOT, serial=s) for s in serials],
        )  # fmt: skip
    pouch_lot_id = uow.scalar(sa.select(Lot.id).where(Lot.item_id == pouch.id, Lot.number == POUCH_LOT))
    coldchain_demo.seed(uow, system, pouch=pouch, lot_id=pouch_lot_id)
    return TracedDemo(pump=pump, pump_udi=walk_udi(uow))


def _as(uow, actor) -> None:
    """Act as this person from here on (the audit trail names them)."""
    uow.switch_tenant(uow.tenant_id, actor)


def _lines_of(uow, actor, order: PurchaseOrder):
    return [d.line for d in confirmation.get_purchase_order_detail(uow, po_id=order.id).lines]


def walk_udi(uow) -> str | None:
    """The UDI of pump IP-0001 as its label reads (None before the demo is seeded)."""
    expiry = uow.scalar(sa.select(Lot.expiry_date).where(Lot.number == PUMP_LOT, Lot.supplier_id.is_(None)))
    if expiry is None:
        return None
    return f"(01){PUMP_GTIN}(17){expiry:%y%m%d}(10){PUMP_LOT}(21){PUMP_SERIALS[0]}"
