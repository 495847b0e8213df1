"""Supplier contacts and the approved supplier list over the API: set and change an
entry, bad requests are field errors, who may, another tenant's supplier is not there."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from erp.suppliers.models import ApprovedSource, ApprovedSourceChange, SupplierContact
from tests.erp.po_support import soon
from tests.factories import make_item
from tests.portal.support import login


def csrf_header(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}


@pytest.fixture
def item(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        made = make_item(uow, category="sterile_barrier")
        uow.commit()
    return made


def counts(tx, world) -> tuple[int, int, int]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return tuple(
            uow.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (ApprovedSource, ApprovedSourceChange, SupplierContact)
        )


def test_a_buyer_approves_changes_and_lists(app, client, tx, world, item):
    supplier = world.suppliers[0].id
    url = f"/api/v1/suppliers/{supplier}/approvals"
    login(client, world.users["buyer"])
    created = client.post(
        url, json={"item_id": str(item.id), "status": "approved", "reason": "Qualified"}, headers=csrf_header(client)
    )
    assert created.status_code == 201, created.json
    entry = created.json
    assert (entry["status"], entry["part_number"], entry["site_id"], entry["category"]) == (
        "approved",
        item.part_number,
        None,
        None,
    )
    assert entry["supplier_name"] == world.suppliers[0].name and entry["changed_by"] == str(world.users["buyer"].id)
    changed = client.post(
        url, json={"item_id": str(item.id), "status": "disqualified", "reason": "Failed audit."}, headers=csrf_header(client)
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["id"], changed.json["status"], changed.json["reason"]) == (entry["id"], "disqualified", "Failed audit.")
    category = client.post(
        url, json={"category": "packaging", "status": "probation", "reason": "New supplier"}, headers=csrf_header(client)
    )
    assert category.status_code == 201
    client = app.test_client()  # another person

    login(client, world.users["viewer"])
    listed = client.get(url)
    assert listed.status_code == 200
    assert [(e["part_number"], e["category"], e["status"]) for e in listed.json["items"]] == [
        (item.part_number, None, "disqualified"),
        (None, "packaging", "probation"),
    ]
    client = app.test_client()

    # The disqualification blocks a new order, with the reason named.
    login(client, world.users["buyer"])
    body = {
        "supplier_id": str(supplier),
        "currency": "EUR",
        "lines": [{"item_id": str(item.id), "quantity": "10", "unit_price": "1", "requested_date": soon(30).isoformat()}],
    }
    refused = client.post("/api/v1/purchase-orders", json=body, headers=csrf_header(client))
    assert refused.status_code == 422 and refused.json["type"] == "urn:traceport:problem:supplier-disqualified"
    assert refused.json["detail"].endswith("Failed audit.") and item.part_number in refused.json["detail"]
    assert "lines.0.item_id" in refused.json["errors"]


def test_contacts(client, tx, world):
    url = f"/api/v1/suppliers/{world.suppliers[0].id}/contacts"
    login(client, world.users["buyer"])
    assert client.get(url).json == {"items": []}
    first = client.post(url, json={"name": "Zhang San", "is_primary": True}, headers=csrf_header(client))
    assert first.status_code == 201, first.json
    second = client.post(
        url,
        json={"name": "Li Wei", "email": "li.wei@s.example", "role": "Quality", "is_primary": True},
        headers=csrf_header(client),
    )
    assert second.status_code == 201
    assert [(c["name"], c["is_primary"], c["email"]) for c in client.get(url).json["items"]] == [
        ("Li Wei", True, "li.wei@s.example"),
        ("Zhang San", False, None),
    ]


BAD = [
    ("approvals", {"item_id": "ITEM", "status": "approved"}, "reason"),  # missing
    ("approvals", {"item_id": "ITEM", "status": "approved", "reason": "  "}, "reason"),
    ("approvals", {"item_id": "ITEM", "status": "maybe", "reason": "x"}, "status"),
    ("approvals", {"status": "approved", "reason": "x"}, "item_id"),
    ("approvals", {"item_id": "ITEM", "category": "packaging", "status": "approved", "reason": "x"}, "item_id"),
    ("approvals", {"category": "nonsense", "status": "approved", "reason": "x"}, "category"),
    ("approvals", {"item_id": "not-a-uuid", "status": "approved", "reason": "x"}, "item_id"),
    ("approvals", {"item_id": "ITEM", "site_id": "OTHER_SITE", "status": "approved", "reason": "x"}, "site_id"),
    ("approvals", {"item_id": "ITEM", "status": "approved", "reason": "x", "extra": 1}, "extra"),
    ("contacts", {"name": ""}, "name"),
    ("contacts", {"name": "Li Wei", "email": "nope"}, "email"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD)
def test_bad_requests_are_422_with_the_field_named(client, tx, world, item, path, body, field):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        other_site = uow.scalar(
            sa.text("select id from site where supplier_id = :s"), {"s": world.suppliers[1].id}
        )  # supplier 2's site
    body = {k: str(item.id) if v == "ITEM" else str(other_site) if v == "OTHER_SITE" else v for k, v in body.items()}
    login(client, world.users["buyer"])
    before = counts(tx, world)
    response = client.post(f"/api/v1/suppliers/{world.suppliers[0].id}/{path}", json=body, headers=csrf_header(client))
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert counts(tx, world) == before


def test_the_same_status_again_is_422(client, tx, world, item):
    url = f"/api/v1/suppliers/{world.suppliers[0].id}/approvals"
    login(client, world.users["buyer"])
    body = {"item_id": str(item.id), "status": "probation", "reason": "Late"}
    assert client.post(url, json=body, headers=csrf_header(client)).status_code == 201
    again = client.post(url, json=body, headers=csrf_header(client))
    assert again.status_code == 422 and set(again.json["errors"]) == {"status"}


@pytest.mark.parametrize("who", ["viewer", "supplier1"])
def test_who_may_not_change_the_list(client, tx, world, item, who):
    login(client, world.users[who])
    before = counts(tx, world)
    supplier = world.suppliers[0].id
    approval = {"item_id": str(item.id), "status": "approved", "reason": "x"}
    assert client.post(f"/api/v1/suppliers/{supplier}/approvals", json=approval, headers=csrf_header(client)).status_code == 403
    contact = {"name": "Li Wei"}
    assert client.post(f"/api/v1/suppliers/{supplier}/contacts", json=contact, headers=csrf_header(client)).status_code == 403
    # A viewer reads the list; a supplier user holds no suppliers.view.
    reads = 200 if who == "viewer" else 403
    assert client.get(f"/api/v1/suppliers/{supplier}/approvals").status_code == reads
    assert client.get(f"/api/v1/suppliers/{supplier}/contacts").status_code == reads
    assert counts(tx, world) == before


def test_another_tenants_supplier_is_not_found(client, tx, world, other_world, item):
    login(client, world.users["buyer"])
    for supplier in (other_world.suppliers[0].id, uuid.uuid4()):
        for path in ("approvals", "contacts"):
            assert client.get(f"/api/v1/suppliers/{supplier}/{path}").status_code == 404
        approval = {"item_id": str(item.id), "status": "approved", "reason": "x"}
        response = client.post(f"/api/v1/suppliers/{supplier}/approvals", json=approval, headers=csrf_header(client))
        assert response.status_code == 404 and response.json["type"] == "urn:traceport:problem:supplier-not-found"
        response = client.post(f"/api/v1/suppliers/{supplier}/contacts", json={"name": "Li Wei"}, headers=csrf_header(client))
        assert response.status_code == 404
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(ApprovedSource)) == 0
