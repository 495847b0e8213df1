"""Receiving by scan: a warehouse operator starts a receipt from an SSCC, scans cases and
units against the ASN, and closes it into quarantine stock; what does not match is
flagged, refused or recorded as a discrepancy; suppliers and other tenants get nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.inventory.models import Location, Stock, StockMovement
from erp.receiving import service as receiving
from erp.receiving.errors import AsnNotReceivable, NothingToReceive, ReceiptClosed, ReceiptNotFound
from erp.receiving.models import Discrepancy, Receipt, ReceiptLine
from erp.shipping import service as asns
from erp.shipping.models import Asn
from kernel.errors import Forbidden, ValidationFailed
from kernel.outbox import OutboxMessage
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save, sscc
from tests.factories import actor_in, gtin, make_item


def submitted_asn(tx, world, *, submit: bool = True):
    """A submitted ASN: a pallet with the 3 serialised pumps (SN-1..3, lot L-2026-01) in
    one case and 50 tubing sets (lot T-77) in the other. Returns (shipment, data, asn id)."""
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    data = asn_data(shipment)
    saved = save(tx, world, supplier, data)
    if submit:
        with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
            asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version)
            uow.commit()
    return shipment, data, saved.asn.id


def warehouse(tx, world, who: str = "warehouse"):
    with tx.uow() as lookup:
        return actor_in(lookup, world, who)


def unit(shipment, serial: str, lot: str = "L-2026-01") -> str:
    return f"(01){shipment.device.udi_di}(10){lot}(21){serial}"


def call(tx, world, actor, fn, **kw):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        result = fn(uow, actor, **kw)
        uow.commit()
        return result


def scans(tx, world, actor, receipt_id, *texts):
    return [call(tx, world, actor, receiving.scan, receipt_id=receipt_id, text=t) for t in texts]


def rows(tx, world, model, *where):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        found = list(uow.session.scalars(sa.select(model).where(*where)))
        uow.session.expunge_all()  # read as they are now, usable after the unit of work
        return found


def started(tx, world, actor, data):
    """A receipt started by scanning the devices' case SSCC."""
    return call(tx, world, actor, receiving.start_receipt, sscc=data["packages"][1]["sscc"])


@pytest.fixture
def operator(tx, world):
    return warehouse(tx, world)


def test_a_full_shipment_is_scanned_and_closed_into_quarantine(tx, world, operator):
    shipment, data, asn_id = submitted_asn(tx, world)
    pallet, case1, case2 = (p["sscc"] for p in data["packages"])
    receipt = started(tx, world, operator, data)
    assert receipt.number.startswith("RCV-") and receipt.asn_id == asn_id and not receipt.without_asn
    assert rows(tx, world, Asn, Asn.id == asn_id)[0].status == "in_transit"
    location = rows(tx, world, Location, Location.id == receipt.location_id)[0]
    assert location.kind == "receiving" and location.code == "RECEIVING-DC-SHANGHAI"
    # Scanning the same SSCC again joins the open receipt.
    assert call(tx, world, operator, receiving.start_receipt, sscc=pallet).id == receipt.id

    results = scans(tx, world, operator, receipt.id, pallet, case1, *(unit(shipment, f"SN-{n}") for n in (1, 2, 3)), case2)
    assert [r.kind for r in results] == ["matched"] * 6
    assert results[0].message == receiving.PALLET_FOUND
    assert results[1].message == receiving.CASE_UNITS and results[1].params["units"] == "3"
    assert results[4].message == receiving.UNIT_MATCHED and results[4].params["serial"] == "SN-3"
    assert [(c.expected, c.received) for c in results[4].counts] == [(3, 3)]
    assert results[5].message == receiving.CASE_RECEIVED and results[5].params["quantity"] == "50"

    closed = call(tx, world, operator, receiving.close_receipt, receipt_id=receipt.id)
    assert closed.status == "closed" and closed.closed_at is not None
    assert rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id) == []
    assert rows(tx, world, Asn, Asn.id == asn_id)[0].status == "received"
    stock = rows(tx, world, Stock, Stock.location_id == receipt.location_id)
    assert sorted((s.serial or "", s.quantity, s.status) for s in stock) == [
        ("", 50, "quarantine"), ("SN-1", 1, "quarantine"), ("SN-2", 1, "quarantine"), ("SN-3", 1, "quarantine"),
    ]
    assert {s.supplier_id for s in stock} == {world.suppliers[0].id} and all(s.lot_id for s in stock)
    moves = rows(tx, world, StockMovement, StockMovement.reference_id == receipt.id)
    assert len(moves) == 4 and {(m.kind, m.to_status) for m in moves} == {("receipt", "quarantine")}
    topics = [m.payload for m in rows(tx, world, OutboxMessage, OutboxMessage.topic == "receipt.closed")]
    assert [p["number"] for p in topics] == [receipt.number] and topics[0]["discrepancies"] == {}
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        progress = receiving.expected_vs_received(uow, operator, receipt_id=receipt.id)
        assert [(p.expected, p.received, p.state) for p in progress.lines] == [(3, 3, "complete"), (50, 50, "complete")]
        assert all(p.found for p in progress.packages)
        # The closed receipt takes no more scans.
        with pytest.raises(ReceiptClosed):
            receiving.scan(uow, operator, receipt_id=receipt.id, text=case2)


def test_a_short_lot_and_a_missing_case_are_discrepancies_and_the_asn_is_partially_received(tx, world, operator):
    shipment, data, asn_id = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    scans(tx, world, operator, receipt.id, unit(shipment, "SN-1"), unit(shipment, "SN-2"))
    call(tx, world, operator, receiving.close_receipt, receipt_id=receipt.id)
    found = rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id)
    assert sorted((d.kind, d.lot, d.sscc, d.quantity) for d in found) == [
        ("missing_package", None, data["packages"][2]["sscc"], None),
        ("short", "L-2026-01", None, Decimal(1)),
        ("short", "T-77", None, Decimal(50)),
    ]
    assert rows(tx, world, Asn, Asn.id == asn_id)[0].status == "partially_received"
    # The rest comes later: a new receipt of the same ASN.
    second = started(tx, world, operator, data)
    assert second.id != receipt.id
    assert scans(tx, world, operator, second.id, unit(shipment, "SN-3"))[0].kind == "matched"


def test_an_unknown_serial_is_received_into_quarantine_and_flagged(tx, world, operator):
    shipment, data, _ = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    result = scans(tx, world, operator, receipt.id, unit(shipment, "SN-99"))[0]
    assert (result.kind, result.message, result.flag) == ("unexpected", receiving.UNKNOWN_SERIAL, "unknown_serial")
    [line] = rows(tx, world, ReceiptLine, ReceiptLine.receipt_id == receipt.id)
    assert line.serial == "SN-99" and line.asn_line_id is None
    [stock] = rows(tx, world, Stock, Stock.serial == "SN-99")
    assert stock.status == "quarantine"
    [flag] = rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id)
    assert (flag.kind, flag.serial, flag.item_id) == ("unknown_serial", "SN-99", shipment.device.id)


def test_a_wrong_lot_is_flagged_and_received_under_the_lot_on_the_label(tx, world, operator):
    shipment, data, _ = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    result = scans(tx, world, operator, receipt.id, unit(shipment, "SN-1", lot="L-OTHER"))[0]
    assert (result.kind, result.flag) == ("unexpected", "unexpected_lot")
    assert result.params["lot"] == "L-OTHER" and result.params["expected"] == "L-2026-01"
    [flag] = rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id)
    assert (flag.kind, flag.lot, flag.serial) == ("unexpected_lot", "L-OTHER", "SN-1")
    [line] = rows(tx, world, ReceiptLine, ReceiptLine.receipt_id == receipt.id)
    assert line.asn_line_id is None and line.lot_id is not None


def test_an_extra_package_is_recorded_once(tx, world, operator):
    _, data, _ = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    stranger = sscc()
    first, again = scans(tx, world, operator, receipt.id, f"(00){stranger}", stranger)
    assert (first.kind, first.message, first.flag) == ("unexpected", receiving.EXTRA_PACKAGE, "extra_package")
    assert again.message == receiving.EXTRA_AGAIN
    found = rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id)
    assert [(d.kind, d.sscc) for d in found] == [("extra_package", stranger)]


def test_a_second_scan_of_a_unit_or_a_case_is_refused_and_writes_nothing(tx, world, operator):
    shipment, data, _ = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    case2 = data["packages"][2]["sscc"]
    results = scans(tx, world, operator, receipt.id, unit(shipment, "SN-1"), unit(shipment, "SN-1"), case2, case2)
    assert [r.kind for r in results] == ["matched", "refused", "matched", "refused"]
    assert results[1].message == receiving.SERIAL_AGAIN and results[1].params["receipt"] == receipt.number
    assert results[3].message == receiving.PACKAGE_AGAIN
    assert len(rows(tx, world, ReceiptLine, ReceiptLine.receipt_id == receipt.id)) == 2
    assert len(rows(tx, world, Stock, Stock.location_id == receipt.location_id)) == 2


def test_a_code_of_another_item_an_unknown_product_or_a_bad_code_is_refused(tx, world, operator):
    shipment, data, _ = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        other = make_item(uow, issuing_agency="GS1", udi_di=gtin(), label_serial=True, label_lot=True, part_number="OTHER-1")
        uow.commit()
    results = scans(
        tx, world, operator, receipt.id,
        f"(01){other.udi_di}(10)X1(21)S1", f"(01){gtin()}(21)S1", "(01)09506000134353", "hello", f"(01){shipment.device.udi_di}",
    )
    assert [r.kind for r in results] == ["refused"] * 5
    assert results[0].message == receiving.NOT_ON_ASN and results[0].params["item"] == "OTHER-1"
    assert results[1].message == receiving.UNKNOWN_ITEM
    assert "check digit" in results[2].message
    assert results[4].message == receiving.SERIAL_NEEDED
    assert rows(tx, world, ReceiptLine, ReceiptLine.receipt_id == receipt.id) == []
    assert rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id) == []


def test_damage_is_recorded_against_an_asn_line_and_bad_input_is_refused(tx, world, operator):
    _, data, asn_id = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        tubing = asns.get_asn(uow, operator, asn_id=asn_id).lines[1].id
    damaged = call(tx, world, operator, receiving.record_damage, receipt_id=receipt.id, asn_line_id=tubing,
                   quantity="2", note="crushed corner")
    assert (damaged.kind, damaged.quantity, damaged.lot, damaged.note) == ("damaged", 2, "T-77", "crushed corner")
    with pytest.raises(ValidationFailed) as refused:
        call(tx, world, operator, receiving.record_damage, receipt_id=receipt.id, asn_line_id=tubing, quantity="-1")
    assert refused.value.errors == {"quantity": receiving.POSITIVE}
    assert len(rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id)) == 1


def test_a_receipt_without_an_asn_is_flagged_and_needs_a_site(tx, world, operator):
    shipment, _, _ = submitted_asn(tx, world)
    with pytest.raises(ValidationFailed) as refused:
        call(tx, world, operator, receiving.start_receipt)
    assert "site_id" in refused.value.errors
    receipt = call(tx, world, operator, receiving.start_receipt, site_id=shipment.site_id, supplier_id=world.suppliers[0].id)
    assert receipt.without_asn and receipt.asn_id is None
    result = call(tx, world, operator, receiving.receive_item, receipt_id=receipt.id, item_id=shipment.component.id,
                  lot="T-80", quantity="5")
    assert (result.kind, result.message) == ("matched", receiving.WITHOUT_ASN)
    [stock] = rows(tx, world, Stock, Stock.location_id == receipt.location_id)
    assert (stock.quantity, stock.status, stock.supplier_id) == (5, "quarantine", world.suppliers[0].id)
    with pytest.raises(ValidationFailed) as bad:
        call(tx, world, operator, receiving.receive_item, receipt_id=receipt.id, item_id=shipment.component.id, quantity="x")
    assert bad.value.errors == {"quantity": receiving.POSITIVE}
    call(tx, world, operator, receiving.close_receipt, receipt_id=receipt.id)
    assert rows(tx, world, Discrepancy, Discrepancy.receipt_id == receipt.id) == []


def test_only_receivable_asns_and_known_codes_start_a_receipt(tx, world, operator):
    _, _, asn_id = submitted_asn(tx, world, submit=False)
    with pytest.raises(AsnNotReceivable):
        call(tx, world, operator, receiving.start_receipt, asn_id=asn_id)
    with pytest.raises(NothingToReceive):
        call(tx, world, operator, receiving.start_from_code, text=sscc())
    with pytest.raises(NothingToReceive):
        call(tx, world, operator, receiving.start_from_code, text="ASN-1999-000001")
    assert rows(tx, world, Receipt) == []


def test_the_asn_number_starts_a_receipt(tx, world, operator):
    _, _, asn_id = submitted_asn(tx, world)
    number = rows(tx, world, Asn, Asn.id == asn_id)[0].number
    assert call(tx, world, operator, receiving.start_from_code, text=number.lower()).asn_id == asn_id


def test_a_supplier_user_cannot_receive(tx, world, operator):
    shipment, data, _ = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    supplier = shipment.who["supplier1"]
    for fn, kw in (
        (receiving.start_receipt, {"sscc": data["packages"][0]["sscc"]}),
        (receiving.scan, {"receipt_id": receipt.id, "text": unit(shipment, "SN-1")}),
        (receiving.close_receipt, {"receipt_id": receipt.id}),
        (receiving.list_receipts, {}),
    ):
        with pytest.raises(Forbidden):
            call(tx, world, supplier, fn, **kw)
    assert rows(tx, world, ReceiptLine, ReceiptLine.receipt_id == receipt.id) == []


def test_another_tenant_sees_nothing(tx, world, other_world, operator):
    shipment, data, _ = submitted_asn(tx, world)
    receipt = started(tx, world, operator, data)
    scans(tx, world, operator, receipt.id, unit(shipment, "SN-1"))
    stranger = warehouse(tx, other_world)
    with tx.uow(tenant_id=other_world.tenant_id, actor=stranger) as uow:
        assert receiving.list_receipts(uow, stranger) == []
        assert receiving.incoming_asns(uow, stranger) == []
        with pytest.raises(ReceiptNotFound):
            receiving.get_receipt(uow, stranger, receipt_id=receipt.id)
        with pytest.raises(ReceiptNotFound):
            receiving.scan(uow, stranger, receipt_id=receipt.id, text=unit(shipment, "SN-2"))
        with pytest.raises(NothingToReceive):
            receiving.start_receipt(uow, stranger, sscc=data["packages"][0]["sscc"])
        assert uow.scalar(sa.select(sa.func.count()).select_from(Stock)) == 0
