"""Ship notices over the API: a supplier creates, reads, changes, submits and cancels its
ASNs (from JSON or a file); refusals are problem details with a message per field; another
supplier's ASN is not found; a buyer reads but does not write."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import sqlalchemy as sa

from erp.purchasing.models import PurchaseOrder
from erp.shipping import service as asns
from erp.shipping.models import Asn
from kernel.clock import utcnow
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save, sscc
from tests.portal.support import login


def csrf_header(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}


def as_json(data: dict) -> dict:
    return json.loads(json.dumps(data, default=str))


def test_create_read_change_submit_and_cancel_as_the_supplier(app, client, tx, world):
    shipment = acknowledged_order(tx, world)
    login(client, world.users["supplier1"])
    body = as_json(asn_data(shipment))
    created = client.post("/api/v1/asns", json=body, headers=csrf_header(client))
    assert created.status_code == 201, created.json
    asn = created.json
    assert (asn["status"], asn["version"], asn["warnings"]) == ("draft", 1, [])
    read = client.get(f"/api/v1/asns/{asn['id']}").json
    assert [(p["level"], p["parent"]) for p in read["packages"]] == [
        ("pallet", None), ("case", body["packages"][0]["sscc"]), ("case", body["packages"][0]["sscc"]),
    ]
    device, tubing = read["lines"]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        number = uow.scalar(sa.select(PurchaseOrder.number).where(PurchaseOrder.id == shipment.po_id))
    assert (device["serials"], device["udi_di"], device["quantity"], device["purchase_order_number"]) == (
        ["SN-1", "SN-2", "SN-3"], shipment.device.udi_di, "3", number,
    )
    assert (tubing["quantity"], tubing["lot"], tubing["package"], tubing["purchase_order_line_no"]) == (
        "50", "T-77", body["packages"][2]["sscc"], 20,
    )
    assert [a["id"] for a in client.get("/api/v1/asns").json["items"]] == [asn["id"]]

    submitted = client.post(f"/api/v1/asns/{asn['id']}/submit", json={"version": 1}, headers=csrf_header(client))
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["status"] == "submitted" and submitted.json["submitted_at"]

    body["lines"][1]["quantity"] = "40"
    change = body | {"version": submitted.json["version"]}
    unexplained = client.put(f"/api/v1/asns/{asn['id']}", json=change, headers=csrf_header(client))
    assert unexplained.status_code == 422 and set(unexplained.json["errors"]) == {"reason"}
    changed = client.put(f"/api/v1/asns/{asn['id']}", json=change | {"reason": "Ten short"}, headers=csrf_header(client))
    assert changed.status_code == 200, changed.json
    assert changed.json["revision"] == 2 and changed.json["lines"][1]["quantity"] == "40"
    assert [(r["revision"], r["reason"]) for r in changed.json["revisions"]] == [(1, "Ten short")]

    stale = client.post(f"/api/v1/asns/{asn['id']}/cancel", json={"version": 1, "reason": "x"}, headers=csrf_header(client))
    assert stale.status_code == 409 and stale.json["type"] == "urn:traceport:problem:asn-changed"
    cancel = {"version": changed.json["version"], "reason": "Truck cancelled"}
    cancelled = client.post(f"/api/v1/asns/{asn['id']}/cancel", json=cancel, headers=csrf_header(client))
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"


def test_a_bad_serial_is_a_422_with_the_message_on_its_field(client, tx, world):
    shipment = acknowledged_order(tx, world)
    login(client, world.users["supplier1"])
    body = as_json(asn_data(shipment, serials=("SN-1", "SN-1", "SN 3")))
    body["packages"][1]["sscc"] = body["packages"][1]["sscc"][:-1] + "x"
    refused = client.post("/api/v1/asns", json=body, headers=csrf_header(client))
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    errors = refused.json["errors"]
    assert errors["lines.0.serials.1"] == "Serial SN-1 is on this ship notice twice."
    assert errors["lines.0.serials.2"].startswith("A serial number has up to 20")
    assert errors["packages.1.sscc"] == "An SSCC has 18 digits."
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Asn)) == 0


def test_the_body_is_checked_against_the_schema_first(client, tx, world):
    login(client, world.users["supplier1"])
    refused = client.post("/api/v1/asns", json={"lines": [], "colour": "red"}, headers=csrf_header(client))
    assert refused.status_code == 422
    assert {"ship_to_site_id", "ship_date", "expected_arrival", "colour"} <= set(refused.json["errors"])


def test_another_suppliers_asn_is_not_found(client, tx, world):
    shipment = acknowledged_order(tx, world)
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    login(client, world.users["supplier2"])
    url = f"/api/v1/asns/{saved.asn.id}"
    assert client.get(url).status_code == 404
    assert client.get("/api/v1/asns").json["items"] == []
    headers = csrf_header(client)
    assert client.post(f"{url}/submit", json={"version": 1}, headers=headers).status_code == 404
    assert client.post(f"{url}/cancel", json={"version": 1, "reason": "x"}, headers=headers).status_code == 404
    body = as_json(asn_data(shipment)) | {"version": 1}
    assert client.put(url, json=body, headers=headers).status_code == 404


def test_a_create_with_an_idempotency_key_is_made_once(client, tx, world):
    shipment = acknowledged_order(tx, world)
    login(client, world.users["supplier1"])
    body = as_json(asn_data(shipment))
    headers = csrf_header(client) | {"Idempotency-Key": "asn-1"}
    first = client.post("/api/v1/asns", json=body, headers=headers)
    again = client.post("/api/v1/asns", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/asns", json=body | {"carrier": "DHL"}, headers=headers)
    assert other.status_code == 422 and other.json["type"] == "urn:traceport:problem:idempotency-key-reused"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Asn)) == 1


def test_a_buyer_reads_submitted_ship_notices_but_cannot_write_them(client, tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    saved = save(tx, world, supplier, asn_data(shipment))
    draft = save(tx, world, supplier, asn_data(shipment, serials=("SN-7", "SN-8", "SN-9")))
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        version = asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version).asn.version
        uow.commit()
    login(client, world.users["buyer"])
    read = client.get(f"/api/v1/asns/{saved.asn.id}")
    assert read.status_code == 200 and len(read.json["lines"]) == 2
    assert [a["number"] for a in client.get("/api/v1/asns").json["items"]] == [saved.asn.number]
    assert client.get(f"/api/v1/asns/{draft.asn.id}").status_code == 404  # the supplier's own until submitted
    headers = csrf_header(client)
    assert client.post("/api/v1/asns", json=as_json(asn_data(shipment)), headers=headers).status_code == 403
    cancel = {"version": version, "reason": "Not wanted"}
    assert client.post(f"/api/v1/asns/{saved.asn.id}/cancel", json=cancel, headers=headers).status_code == 403
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(Asn.status).where(Asn.id == saved.asn.id)) == "submitted"


def test_ship_everything_open_offers_the_lines_left(client, tx, world):
    shipment = acknowledged_order(tx, world)
    login(client, world.users["supplier1"])
    offered = client.post(
        "/api/v1/asns/from-purchase-orders", json={"po_ids": [str(shipment.po_id)]}, headers=csrf_header(client)
    )
    assert offered.status_code == 200, offered.json
    assert offered.json["ship_to_site_id"] == str(shipment.site_id)
    assert [(line["purchase_order_line_id"], line["quantity"]) for line in offered.json["lines"]] == [
        (str(shipment.line_ids[0]), "3"), (str(shipment.line_ids[1]), "50"),
    ]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Asn)) == 0


def _form(shipment, content: bytes, filename: str = "asn.csv") -> dict:
    today = utcnow().date()
    return {
        "file": (io.BytesIO(content), filename),
        "ship_to_site_id": str(shipment.site_id),
        "ship_date": today.isoformat(),
        "expected_arrival": (today + timedelta(days=2)).isoformat(),
        "carrier": "SF Express",
    }


def test_a_file_import_makes_a_draft_or_names_every_bad_row(client, tx, world):
    shipment = acknowledged_order(tx, world)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        number = uow.scalar(sa.select(PurchaseOrder.number).where(PurchaseOrder.id == shipment.po_id))
    pallet, case = sscc(), sscc()
    expiry = (utcnow().date() + timedelta(days=400)).isoformat()
    rows = ["po_number,po_line,sscc,parent_sscc,quantity,lot,expiry_date,serial"]
    rows += [f"{number},10,{case},{pallet},,L-1,{expiry},SN-{n}" for n in (1, 2, 1)]
    login(client, world.users["supplier1"])
    bad = client.post("/api/v1/asns/import", data=_form(shipment, "\r\n".join(rows).encode()), headers=csrf_header(client))
    assert bad.status_code == 422 and bad.json["type"] == "urn:traceport:problem:asn-import-invalid"
    assert bad.json["errors"] == {"rows.4.serial": "Serial SN-1 is on this ship notice twice."}
    rows[3] = rows[3].replace("SN-1", "SN-3")
    made = client.post("/api/v1/asns/import", data=_form(shipment, "\r\n".join(rows).encode()), headers=csrf_header(client))
    assert made.status_code == 201, made.json
    assert made.json["carrier"] == "SF Express" and made.json["lines"][0]["serials"] == ["SN-1", "SN-2", "SN-3"]
    missing = client.post("/api/v1/asns/import", data={"ship_date": "2026-01-01"}, headers=csrf_header(client))
    assert missing.status_code == 422 and set(missing.json["errors"]) == {"file"}
