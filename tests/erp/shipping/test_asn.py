"""Ship notices: a supplier saves and submits an ASN of SSCC packages with lots, serials
and UDIs; every rule refuses bad input on its row, and nothing is written then."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erp.inventory.models import Lot
from erp.purchasing.models import PurchaseOrder
from erp.shipping import service as asns
from erp.shipping import settings, validation
from erp.shipping.errors import AsnWrongStatus, WarningsNotAcknowledged
from erp.shipping.models import Asn, AsnLine, AsnPackage, AsnSerial
from kernel.errors import Forbidden, ValidationFailed
from kernel.outbox import OutboxMessage
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save, sscc


def wrong_check_digit(data: dict) -> str:
    code = data["packages"][0]["sscc"]
    return code[:-1] + str((int(code[-1]) + 1) % 10)


def counts(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Asn, AsnPackage, AsnLine, AsnSerial)]


def refused(tx, world, actor, data, **kw) -> ValidationFailed:
    before = counts(tx, world)
    with pytest.raises(ValidationFailed) as caught:
        save(tx, world, actor, data, **kw)
    assert counts(tx, world) == before
    return caught.value


def test_a_supplier_saves_and_submits_an_asn(tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    saved = save(tx, world, supplier, asn_data(shipment))
    assert saved.warnings == []
    assert saved.asn.number.startswith("ASN-") and saved.asn.status == "draft"
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        detail = asns.get_asn(uow, supplier, asn_id=saved.asn.id)
        assert [(p.level, p.parent_id is None) for p in detail.packages] == [("pallet", True), ("case", False), ("case", False)]
        device_line, tubing_line = detail.lines
        assert detail.serials[device_line.id] == ["SN-1", "SN-2", "SN-3"]
        assert device_line.udi_di == shipment.device.udi_di and device_line.lot_id is not None
        assert tubing_line.quantity == 50 and tubing_line.lot == "T-77"
        asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        asn = uow.scalar(sa.select(Asn).where(Asn.id == saved.asn.id))
        assert asn.status == "submitted" and asn.submitted_at is not None
        assert uow.scalar(sa.select(PurchaseOrder.status).where(PurchaseOrder.id == shipment.po_id)) == "in_delivery"
        topics = list(uow.session.scalars(sa.select(OutboxMessage.topic).where(OutboxMessage.topic.like("asn.%"))))
        assert topics == ["asn.submitted"]
        assert uow.scalar(sa.select(sa.func.count()).select_from(Lot)) == 2


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda d: d["packages"][0].update(sscc=wrong_check_digit(d)), "packages.0.sscc", validation.SSCC_CHECK),
        (lambda d: d["lines"][0].update(gtin="09506000134352"), "lines.0.gtin", validation.WRONG_ITEM),
        (lambda d: d["lines"][1].update(lot="L" * 21), "lines.1.lot", "This is too long."),
        (lambda d: d["lines"][1].update(lot="LOT 1"), "lines.1.lot", validation.LOT_FORMAT),
        (lambda d: d["lines"][0].update(lot=None), "lines.0.lot", validation.LOT_NEEDED),
        (lambda d: d["lines"][0].update(expiry_date=None), "lines.0.expiry_date", validation.EXPIRY_NEEDED),
        (lambda d: d["lines"][0].update(expiry_date="2026-13-01"), "lines.0.expiry_date", "Enter a date."),
        (lambda d: d["lines"][0].update(serials=["SN-1", "SN-1", "SN-3"]), "lines.0.serials.1", validation.SERIAL_TWICE),
        (lambda d: d["lines"][0].update(serials=["SN-1", "SN-2"]), "lines.0.serials", validation.SERIALS_NEEDED),
        (lambda d: d["lines"][1].update(serials=["X"]), "lines.1.serials", validation.NOT_SERIALISED),
        (lambda d: d["lines"][1].update(quantity="51"), "lines.1.quantity", validation.TOO_MUCH),
        (lambda d: d["lines"][1].update(package=sscc()), "lines.1.package", validation.NO_PACKAGE),
        (lambda d: d["packages"][0].update(parent=d["packages"][1]["sscc"]), "packages.0.parent", validation.PARENT),
        (lambda d: d.update(expected_arrival=d["ship_date"] - timedelta(days=1)), "expected_arrival",
            validation.ARRIVAL_BEFORE_SHIPPING),
        (lambda d: d.update(lines=[]), "lines", validation.NO_LINES),
    ],
)
def test_each_bad_input_is_refused_on_its_row_and_nothing_is_written(tx, world, change, field, message):
    shipment = acknowledged_order(tx, world)
    data = asn_data(shipment)
    change(data)
    error = refused(tx, world, shipment.who["supplier1"], data)
    assert error.errors.get(field) == message, error.errors


def test_a_serial_shipped_on_another_asn_is_refused_even_from_another_supplier(tx, world):
    first = acknowledged_order(tx, world)
    save(tx, world, first.who["supplier1"], asn_data(first))
    again = refused(tx, world, first.who["supplier1"], asn_data(first, serials=("SN-9", "SN-2", "SN-8")))
    assert again.errors == {"lines.0.serials.1": validation.SERIAL_TAKEN}
    assert again.params_by_field["lines.0.serials.1"] == {"serial": "SN-2"}


def test_an_asn_for_another_suppliers_order_is_refused(tx, world):
    shipment = acknowledged_order(tx, world)
    error = refused(tx, world, shipment.who["supplier2"], asn_data(shipment))
    assert error.errors["lines.0.purchase_order_line_id"] == validation.NO_PO_LINE


def test_a_line_not_acknowledged_cannot_ship(tx, world):
    shipment = acknowledged_order(tx, world)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.text("update purchase_order_line set status = 'open' where id = :i"), {"i": shipment.line_ids[1]})
        uow.commit()
    error = refused(tx, world, shipment.who["supplier1"], asn_data(shipment))
    assert error.errors == {"lines.1.purchase_order_line_id": validation.NOT_ACKNOWLEDGED}


def test_a_short_shelf_life_is_a_warning_to_acknowledge_on_submit(tx, world):
    shipment = acknowledged_order(tx, world)
    buyer, supplier = shipment.who["buyer"], shipment.who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        settings.save_rules(uow, buyer, over_delivery_pct="10", min_shelf_life_days=180)
        uow.commit()
    saved = save(tx, world, supplier, asn_data(shipment, expiry_days=90))
    assert [w.field for w in saved.warnings] == ["lines.0.expiry_date"]
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow, pytest.raises(WarningsNotAcknowledged):
        asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version)
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        done = asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version, acknowledge_warnings=True)
        assert done.asn.status == "submitted"


def test_a_change_after_submit_needs_a_reason_and_keeps_the_old_content(tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    data = asn_data(shipment)
    saved = save(tx, world, supplier, data)
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        version = asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version).asn.version
        uow.commit()
    data["lines"][1]["quantity"] = "40"
    error = refused(tx, world, supplier, data, asn_id=saved.asn.id, version=version)
    assert error.errors == {"reason": asns.REASON_NEEDED}
    changed = save(tx, world, supplier, data, asn_id=saved.asn.id, version=version, reason="Ten short")
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        detail = asns.get_asn(uow, supplier, asn_id=changed.asn.id)
        assert detail.asn.revision == 2 and detail.lines[1].quantity == 40
        [old] = detail.revisions
        assert old.reason == "Ten short" and old.content["lines"][1]["quantity"] == "50"


def test_a_cancelled_asn_frees_its_serials(tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    saved = save(tx, world, supplier, asn_data(shipment))
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        asns.cancel_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version, reason="Wrong truck")
        uow.commit()
    assert save(tx, world, supplier, asn_data(shipment)).asn.status == "draft"


def test_another_tenant_sees_nothing(tx, world, other_world):
    shipment = acknowledged_order(tx, world)
    save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Asn, AsnLine, AsnSerial, Lot)] == [0, 0, 0, 0]


def test_ship_everything_open_offers_what_is_left(tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    data = asn_data(shipment)
    data["lines"][1]["quantity"] = "20"
    saved = save(tx, world, supplier, data)
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version)
        offered = asns.ship_everything_open(uow, supplier, po_ids=[shipment.po_id])
    left = [(line["purchase_order_line_id"], line["quantity"]) for line in offered["lines"]]
    assert left == [(shipment.line_ids[1], "30")]
    assert offered["ship_to_site_id"] == shipment.site_id


def test_the_buyer_closes_a_received_asn_and_nothing_else(tx, world):
    shipment = acknowledged_order(tx, world)
    supplier, buyer = shipment.who["supplier1"], shipment.who["buyer"]
    saved = save(tx, world, supplier, asn_data(shipment))
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow, pytest.raises(AsnWrongStatus):
        asns.close_asn(uow, buyer, asn_id=saved.asn.id, version=saved.asn.version)
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow, pytest.raises(Forbidden):
        asns.close_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.text("update asn set status = 'partially_received' where id = :a"), {"a": saved.asn.id})
        version = uow.scalar(sa.select(Asn.version).where(Asn.id == saved.asn.id))
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        assert asns.close_asn(uow, buyer, asn_id=saved.asn.id, version=version).status == "closed"
        topics = list(uow.session.scalars(sa.select(OutboxMessage.topic).where(OutboxMessage.topic == "asn.closed")))
        assert topics == ["asn.closed"]
