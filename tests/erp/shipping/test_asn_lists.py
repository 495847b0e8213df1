"""Reading ship notices for the pages: the lists (supplier, orders and size in a row; a
supplier sees only its own), the open order lines an ASN form offers, and the GS1 labels
of an ASN built from its detail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from erp.shipping import service as asns
from erp.shipping.labels import GS, elements_of, labels_of
from kernel.errors import Forbidden
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save


def submitted(tx, world, shipment, **kw):
    seller = shipment.who["supplier1"]
    saved = save(tx, world, seller, asn_data(shipment, **kw))
    with tx.uow(tenant_id=world.tenant_id, actor=seller) as uow:
        asns.submit_asn(uow, seller, asn_id=saved.asn.id, version=saved.asn.version)
        uow.commit()
    return saved.asn


def test_a_row_names_the_supplier_orders_and_size(tx, world):
    shipment = acknowledged_order(tx, world)
    asn = submitted(tx, world, shipment)
    buyer = shipment.who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        rows, more = asns.asn_rows(uow, buyer, statuses=("submitted",))
        order = uow.scalar(asns.sa.select(asns.PurchaseOrder.number).where(asns.PurchaseOrder.id == shipment.po_id))
        (row,) = [r for r in rows if r.asn.id == asn.id]
        assert not more
        assert row.supplier_name == world.suppliers[0].name and row.ship_to == "DC Shanghai"
        assert row.po_numbers == [order] and row.packages == 3 and row.units == Decimal(53)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        assert asns.asn_rows(uow, buyer, statuses=("received",)) == ([], False)


def test_lists_page_and_keep_a_supplier_to_its_own(tx, world):
    first = acknowledged_order(tx, world, quantities=("2", "100"))
    seller = first.who["supplier1"]
    made = [save(tx, world, seller, asn_data(first, serials=(serial,))).asn for serial in ("A", "B")]
    other = acknowledged_order(tx, world, supplier=1)
    theirs = save(tx, world, other.who["supplier2"], asn_data(other)).asn
    with tx.uow(tenant_id=world.tenant_id, actor=seller) as uow:
        page, more = asns.asn_rows(uow, seller, newest_first=True, limit=1)
        assert [r.asn.id for r in page] == [made[1].id] and more
        page, more = asns.asn_rows(uow, seller, newest_first=True, page=1, limit=1)
        assert [r.asn.id for r in page] == [made[0].id] and not more
        everything, _ = asns.asn_rows(uow, seller)
        assert theirs.id not in {r.asn.id for r in everything}


def test_open_lines_are_the_suppliers_accepted_lines_less_what_ships(tx, world):
    shipment = acknowledged_order(tx, world)
    seller = shipment.who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=seller) as uow:
        before = {o.po_line.id: o.open_quantity for o in asns.open_lines(uow, seller)}
    assert before[shipment.line_ids[0]] == 3 and before[shipment.line_ids[1]] == 50
    submitted(tx, world, shipment)
    with tx.uow(tenant_id=world.tenant_id, actor=seller) as uow:
        after = {o.po_line.id: o for o in asns.open_lines(uow, seller)}
        assert after[shipment.line_ids[0]].open_quantity == 0  # still offered, for editing
        assert after[shipment.line_ids[0]].item.udi_di == shipment.device.udi_di
    other = shipment.who["supplier2"]
    with tx.uow(tenant_id=world.tenant_id, actor=other) as uow:
        assert shipment.line_ids[0] not in {o.po_line.id for o in asns.open_lines(uow, other)}


def test_open_lines_are_for_those_who_submit(tx, world):
    shipment = acknowledged_order(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=shipment.who["viewer"]) as uow, pytest.raises(Forbidden):
        asns.open_lines(uow, shipment.who["viewer"])


def test_labels_of_an_asn(tx, world):
    shipment = acknowledged_order(tx, world)
    seller = shipment.who["supplier1"]
    saved = save(tx, world, seller, asn_data(shipment))
    with tx.uow(tenant_id=world.tenant_id, actor=seller) as uow:
        detail = asns.get_asn(uow, seller, asn_id=saved.asn.id)
        found = labels_of(detail, ship_from="Supplier 1", ship_to="DC Shanghai", name_of=lambda item: item.name)
        pallet, device_case, tubing_case = (p.sscc for p in detail.packages)
        # The tubing has no GTIN: its case's label carries the SSCC, the tubing as text.
        assert [label.sscc for label in found.logistic] == [pallet, device_case, tubing_case] and found.unlabelled == []
        pallet_label, _, tubing_label = found.logistic
        assert pallet_label.level == "pallet" and pallet_label.asn_number == saved.asn.number
        content, tubing = pallet_label.contents
        expected = (shipment.device.udi_di, 3, "L-2026-01", "Infusion pump")
        assert (content.gtin, content.quantity, content.lot, content.item_name) == expected
        assert (tubing.gtin, tubing.quantity, tubing.lot) == (None, 50, "T-77")
        assert elements_of(tubing_label) == [("gs1-128", f"00{tubing_case}")]
        assert [u.serial for u in found.units] == ["SN-1", "SN-2", "SN-3"]
        ((kind, element),) = elements_of(found.units[0])
        assert kind == "gs1-datamatrix" and element.startswith(f"01{shipment.device.udi_di}17")
        assert element.endswith(f"{GS}21SN-1")
        assert elements_of(pallet_label)[-1] == ("gs1-128", f"00{pallet}")
