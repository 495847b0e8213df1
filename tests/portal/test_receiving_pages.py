"""Receiving pages through the web client: the warehouse starts a receipt by scanning an
SSCC, scans units (plain posts and htmx fragments), records damage, closes and sees the
discrepancies; receipts without a ship notice need a site; suppliers and other tenants
get nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from erp.inventory.models import Stock
from erp.receiving.models import Receipt
from tests.erp.receiving.test_receipts import submitted_asn, unit
from tests.portal.support import signed_in, text_of, token_in

RECEIPT_PAGE = re.compile(r"/receiving/([0-9a-f-]{36})$")


@pytest.fixture
def operator(app, world):
    return signed_in(app, world.users["warehouse"])


def start(client, code: str):
    token = token_in(client.get("/receiving").data)
    return client.post("/receiving", data={"code": code, "csrf_token": token})


def started(client, code: str) -> str:
    response = start(client, code)
    assert response.status_code == 303, text_of(response)
    return RECEIPT_PAGE.search(response.headers["Location"]).group(1)


def post(client, receipt_id: str, action: str, data: dict, **kw):
    token = token_in(client.get(f"/receiving/{receipt_id}").data)
    return client.post(f"/receiving/{receipt_id}/{action}", data=data | {"csrf_token": token}, **kw)


def test_the_warehouse_scans_a_shipment_in_and_closes_it(tx, world, operator):
    shipment, data, _ = submitted_asn(tx, world)
    listing = text_of(operator.get("/receiving"))
    assert "Shipments to receive" in listing and "DC Shanghai" in listing and 'href="/receiving"' in listing
    receipt_id = started(operator, data["packages"][1]["sscc"])
    page = text_of(operator.get(f"/receiving/{receipt_id}"))
    assert "autofocus" in page and "RECEIVING-DC-SHANGHAI" in page and "Not yet scanned" in page

    matched = post(operator, receipt_id, "scan", {"code": unit(shipment, "SN-1")})
    assert matched.status_code == 200
    html = text_of(matched)
    assert 'class="scan-result scan-matched"' in html and "Matched" in html
    assert "serial SN-1, lot L-2026-01: on the ship notice, received." in html

    again = post(operator, receipt_id, "scan", {"code": unit(shipment, "SN-1")})
    assert again.status_code == 422 and "scan-refused" in text_of(again) and "was received already" in text_of(again)

    # With htmx only the working part comes back, and a refusal is swapped like any result.
    fragment = post(operator, receipt_id, "scan", {"code": "not a code"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in text_of(fragment)
    assert 'id="receipt-work"' in text_of(fragment) and "scan-refused" in text_of(fragment)

    flagged = post(operator, receipt_id, "scan", {"code": unit(shipment, "SN-77")})
    assert "scan-unexpected" in text_of(flagged) and "Unknown serial" in text_of(flagged)

    bad = post(operator, receipt_id, "damage", {"asn_line_id": "", "quantity": "0"})
    assert bad.status_code == 422
    assert "Choose a line of the ship notice." in text_of(bad) and "Enter a quantity greater than zero." in text_of(bad)

    closed = post(operator, receipt_id, "close", {})
    assert closed.status_code == 303
    after = text_of(operator.get(f"/receiving/{receipt_id}"))
    assert "is closed" in after and "Discrepancies" in after and "Short" in after and "Missing package" in after
    assert 'id="scan-code"' not in after
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Stock).where(Stock.status == "quarantine")) == 2


def test_an_unknown_code_on_the_receiving_page_is_explained(operator):
    response = start(operator, "ASN-1999-000009")
    assert response.status_code == 422 and "No ship notice has this package or number." in text_of(response)


def test_a_receipt_without_a_ship_notice_needs_a_site_and_is_flagged(tx, world, operator):
    shipment, _, _ = submitted_asn(tx, world)
    token = token_in(operator.get("/receiving").data)
    refused = operator.post("/receiving", data={"action": "without_asn", "site_id": "", "csrf_token": token})
    assert refused.status_code == 422 and "This field is required." in text_of(refused)
    made = operator.post("/receiving", data={"action": "without_asn", "site_id": str(shipment.site_id), "csrf_token": token})
    receipt_id = RECEIPT_PAGE.search(made.headers["Location"]).group(1)
    page = text_of(operator.get(f"/receiving/{receipt_id}"))
    assert "Without ship notice" in page and "Enter an item by hand" in page
    received = post(operator, receipt_id, "items", {"item_id": str(shipment.component.id), "lot": "T-9", "quantity": "4"})
    assert received.status_code == 200 and "received without a ship notice" in text_of(received)
    missing = post(operator, receipt_id, "items", {"item_id": "", "quantity": ""})
    assert missing.status_code == 422 and "Choose an item." in text_of(missing)


def test_a_supplier_user_cannot_open_receiving(tx, world, app, operator):
    _, data, _ = submitted_asn(tx, world)
    receipt_id = started(operator, data["packages"][0]["sscc"])
    supplier = signed_in(app, world.users["supplier1"])
    assert supplier.get("/receiving").status_code == 403
    assert supplier.get(f"/receiving/{receipt_id}").status_code == 403
    token = token_in(supplier.get("/supplier/asns").data)
    assert supplier.post(f"/receiving/{receipt_id}/close", data={"csrf_token": token}).status_code == 403
    assert "/receiving" not in text_of(supplier.get("/supplier/asns"))


def test_another_tenant_sees_nothing(tx, world, other_world, app, operator):
    _, data, _ = submitted_asn(tx, world)
    receipt_id = started(operator, data["packages"][0]["sscc"])
    stranger = signed_in(app, other_world.users["warehouse"])
    assert stranger.get(f"/receiving/{receipt_id}").status_code == 404
    listing = text_of(stranger.get("/receiving"))
    assert "No receipts yet." in listing and "No shipments on the way." in listing
    assert start(stranger, data["packages"][0]["sscc"]).status_code == 422
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Receipt)) == 1
