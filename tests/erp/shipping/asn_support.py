"""Ship notices through the services: an acknowledged order of serialised, lot-controlled
devices, a ship-to site, and ASN input built from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from biip.checksums import gs1_standard_check_digit

from erp.purchasing import confirmation as po
from erp.shipping import service as asns
from kernel.clock import utcnow
from tenants import service as tenants
from tests.erp.po_support import actors, soon
from tests.factories import gtin, make_item

_sscc_seq = iter(range(1, 10**9))


def sscc() -> str:
    """A valid SSCC nobody else uses (extension 3, GS1 prefix 950)."""
    body = f"3950{next(_sscc_seq) + utcnow().microsecond * 1000:013d}"[:17]
    return body + str(gs1_standard_check_digit(body))


@dataclass
class Shipment:
    who: dict
    site_id: object
    po_id: object
    line_ids: list  # PO line ids: [serialised device, lot-only component]
    device: object
    component: object


def acknowledged_order(tx, world, *, quantities=("3", "50"), supplier: int = 0) -> Shipment:
    who = actors(tx, world)
    buyer = who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        site = tenants.create_site(uow, organisation=tenants.own_organisation(uow), name="DC Shanghai", kind="warehouse")
        device = make_item(
            uow, category="finished_device", issuing_agency="GS1", udi_di=gtin(), device_class="IIa",
            label_lot=True, label_serial=True, label_expiry_date=True, name="Infusion pump", name_zh="输液泵",
        )
        component = make_item(uow, label_lot=True, name="Tubing set")
        lines = [
            {"item_id": item.id, "quantity": q, "unit_price": "1", "requested_date": soon(20), "ship_to_site_id": site.id}
            for item, q in zip((device, component), quantities, strict=True)
        ]
        order = po.create_purchase_order(uow, buyer, supplier_id=world.suppliers[supplier].id, currency="EUR", lines=lines)
        po.issue_purchase_order(uow, buyer, po_id=order.id, version=order.version)
        uow.commit()
        site_id, order_id = site.id, order.id
    seller = who[f"supplier{supplier + 1}"]
    with tx.uow(tenant_id=world.tenant_id, actor=seller) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=order_id)
        line_ids = [d.line.id for d in detail.lines]
        po.respond_to_purchase_order(
            uow, seller, po_id=order_id, revision=detail.order.revision, version=detail.order.version,
            responses=[{"line_id": i, "action": "accept"} for i in line_ids],
        )
        uow.commit()
    return Shipment(who, site_id, order_id, line_ids, device, component)


def asn_data(shipment: Shipment, *, serials=("SN-1", "SN-2", "SN-3"), expiry_days: int = 400, **overrides) -> dict:
    """One pallet with two cases: the devices (serialised) in one, the tubing in the other."""
    pallet, case1, case2 = sscc(), sscc(), sscc()
    today = utcnow().date()
    data = {
        "ship_to_site_id": shipment.site_id,
        "carrier": "SF Express",
        "tracking_number": "SF123",
        "ship_date": today,
        "expected_arrival": today + timedelta(days=3),
        "packages": [
            {"sscc": pallet, "level": "pallet"},
            {"sscc": case1, "level": "case", "parent": pallet},
            {"sscc": case2, "level": "case", "parent": pallet},
        ],
        "lines": [
            {
                "purchase_order_line_id": shipment.line_ids[0], "package": case1, "quantity": str(len(serials)),
                "lot": "L-2026-01", "expiry_date": today + timedelta(days=expiry_days), "serials": list(serials),
                "gtin": shipment.device.udi_di,
            },
            {"purchase_order_line_id": shipment.line_ids[1], "package": case2, "quantity": "50", "lot": "T-77"},
        ],
    }
    data.update(overrides)
    return data


def save(tx, world, actor, data, **kw):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        saved = asns.save_asn(uow, actor, data=data, **kw)
        uow.commit()
        return saved
