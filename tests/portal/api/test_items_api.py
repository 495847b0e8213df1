"""Items over the API: reading one, changing it (PATCH), device data, who may."""

from __future__ import annotations

import uuid

import pytest

from erp.items.models import Item
from tests.factories import gtin, make_item, unique
from tests.portal.api.test_oauth import bearer, register, token_for
from tests.portal.support import login


@pytest.fixture
def buyer(client, world):
    login(client, world.users["buyer"])
    return client


@pytest.fixture
def item(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        made = make_item(uow, part_number=unique("API-"), name="Infusion set", category="finished_device")
        uow.commit()
    return made


def csrf_header(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}


def stored(tx, world, item_id) -> Item:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        row = uow.session.get(Item, (world.tenant_id, item_id))
        uow.session.expunge(row)
        return row


def test_a_buyer_creates_an_item_with_its_device_data(buyer, tx, world):
    di = gtin()
    body = {
        "part_number": unique("API-"),
        "name": "Infusion set",
        "category": "finished_device",
        "uom": "EA",
        "issuing_agency": "GS1",
        "udi_di": f"(01){di}",
        "device_class": "IIa",
        "label_lot": True,
        "storage_temp_min_c": 2,
        "storage_temp_max_c": "8.5",
    }
    response = buyer.post("/api/v1/items", json=body, headers=csrf_header(buyer))
    assert response.status_code == 201, response.json
    created = response.json
    assert (created["udi_di"], created["device_class"], created["label_lot"], created["label_serial"]) == (di, "IIa", True, False)
    assert (created["storage_temp_min_c"], created["storage_temp_max_c"], created["storage_humidity_min_pct"]) == (2.0, 8.5, None)
    assert "gtin" not in created


def test_anyone_with_items_view_reads_an_item(client, world, item):
    login(client, world.users["supplier1"])
    response = client.get(f"/api/v1/items/{item.id}")
    assert response.status_code == 200
    assert response.json["part_number"] == item.part_number and response.json["udi_di"] is None


def test_an_unknown_or_foreign_item_is_not_found(buyer, other_world):
    for item_id in (uuid.uuid4(), other_world.items[0].id):
        response = buyer.get(f"/api/v1/items/{item_id}")
        assert response.status_code == 404 and response.json["type"] == "urn:traceport:problem:item-not-found"
        response = buyer.patch(f"/api/v1/items/{item_id}", json={"name": "Mine"}, headers=csrf_header(buyer))
        assert response.status_code == 404


def test_a_buyer_updates_an_item(buyer, tx, world, item):
    di = gtin()
    changes = {
        "name_zh": "输液器",
        "issuing_agency": "GS1",
        "udi_di": di[1:],
        "basic_udi_di": "1987654Ad4X4bL5ttr2310c2K",
        "device_class": "CN-III",
        "label_expiry_date": True,
        "storage_humidity_max_pct": 60,
        "max_excursion_minutes": 120,
    }
    response = buyer.patch(f"/api/v1/items/{item.id}", json=changes, headers=csrf_header(buyer))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["udi_di"] == di and body["name"] == "Infusion set" and body["device_class"] == "CN-III"
    assert body["storage_humidity_max_pct"] == 60.0 and body["max_excursion_minutes"] == 120
    row = stored(tx, world, item.id)
    assert (row.udi_di, row.basic_udi_di, row.label_expiry_date, row.name_zh) == (di, changes["basic_udi_di"], True, "输液器")
    # null clears an optional field; what is not sent stays.
    response = buyer.patch(f"/api/v1/items/{item.id}", json={"max_excursion_minutes": None}, headers=csrf_header(buyer))
    assert response.status_code == 200 and response.json["max_excursion_minutes"] is None and response.json["udi_di"] == di


def test_a_bad_update_gets_a_message_per_field_and_changes_nothing(buyer, tx, world, item):
    changes = {
        "name": "",
        "issuing_agency": "GS1",
        "udi_di": "09506000134353",
        "storage_temp_min_c": 8,
        "storage_humidity_min_pct": 70,
        "storage_humidity_max_pct": 40,
    }
    response = buyer.patch(f"/api/v1/items/{item.id}", json=changes, headers=csrf_header(buyer))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["errors"] == {
        "name": "This field is required.",
        "udi_di": "The check digit is wrong.",
        "device_class": "A finished or contract-manufactured device with a UDI-DI needs its device class.",
        "storage_temp_max_c": "A temperature range needs both ends: enter the minimum and the maximum.",
        "storage_humidity_max_pct": "The maximum is below the minimum.",
    }
    row = stored(tx, world, item.id)
    assert (row.name, row.udi_di, row.storage_temp_min_c) == ("Infusion set", None, None)


def test_the_schema_refuses_unknown_fields_and_wrong_types(buyer, item):
    response = buyer.patch(
        f"/api/v1/items/{item.id}",
        json={"gtin": "09506000134352", "label_lot": "maybe", "storage_temp_min_c": "warm", "device_class": "IV"},
        headers=csrf_header(buyer),
    )
    assert response.status_code == 422
    assert response.json["errors"] == {
        "gtin": "This field is not expected.",
        "label_lot": "Enter true or false.",
        "storage_temp_min_c": "Enter a number.",
        "device_class": "Choose one of the allowed values.",
    }


def test_errors_come_in_the_callers_language(buyer, item):
    token = csrf_header(buyer)["X-CSRFToken"]
    buyer.post("/language", data={"locale": "zh_Hans_CN", "next": "/tenants", "csrf_token": token})
    changes = {"issuing_agency": "GS1", "udi_di": gtin()}
    response = buyer.patch(f"/api/v1/items/{item.id}", json=changes, headers=csrf_header(buyer))
    assert response.status_code == 422
    assert response.json["errors"] == {"device_class": "有产品标识（UDI-DI）的成品器械或委托生产器械必须填写管理类别。"}


def test_a_duplicate_udi_di_conflicts_and_names_the_other_item(buyer, tx, world, item):
    di = gtin()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        other = make_item(uow, part_number=unique("OTHER-"), issuing_agency="GS1", udi_di=di)
        uow.commit()
    changes = {"issuing_agency": "GS1", "udi_di": di, "device_class": "IIb"}
    response = buyer.patch(f"/api/v1/items/{item.id}", json=changes, headers=csrf_header(buyer))
    assert response.status_code == 409 and response.json["type"] == "urn:traceport:problem:duplicate-udi-di"
    assert other.part_number in response.json["detail"] and di in response.json["detail"]


@pytest.mark.parametrize("who", ["supplier1", "viewer"])
def test_suppliers_and_viewers_may_not_update_items(client, tx, world, item, who):
    login(client, world.users[who])
    response = client.patch(f"/api/v1/items/{item.id}", json={"name": "Changed"}, headers=csrf_header(client))
    assert response.status_code == 403 and response.json["type"] == "urn:traceport:problem:forbidden"
    assert stored(tx, world, item.id).name == "Infusion set"


def test_a_supplier_api_client_reads_but_may_not_update(client, tx, world, item):
    token = token_for(client, register(tx, world, scopes=["items.view"], supplier=world.suppliers[0]))
    assert client.get(f"/api/v1/items/{item.id}", headers=bearer(token)).status_code == 200
    response = client.patch(f"/api/v1/items/{item.id}", json={"name": "Changed"}, headers=bearer(token))
    assert response.status_code == 403 and response.json["type"] == "urn:traceport:problem:forbidden"
    assert stored(tx, world, item.id).name == "Infusion set"


def test_an_update_with_an_idempotency_key_is_replayed(buyer, tx, world, item):
    headers = csrf_header(buyer) | {"Idempotency-Key": f"patch-{item.id}"}
    first = buyer.patch(f"/api/v1/items/{item.id}", json={"name": "Infusion set, 20 drops"}, headers=headers)
    again = buyer.patch(f"/api/v1/items/{item.id}", json={"name": "Infusion set, 20 drops"}, headers=headers)
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"


def test_the_openapi_document_describes_the_item_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    one = spec["paths"]["/api/v1/items/{item_id}"]
    assert set(one) == {"get", "patch"}
    assert one["patch"]["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ItemUpdate"}
    assert one["patch"]["security"] == [{"session": []}, {"bearerAuth": ["items.manage"]}]
    assert one["get"]["security"] == [{"session": []}, {"bearerAuth": ["items.view"]}]
    schemas = spec["components"]["schemas"]
    assert "gtin" not in schemas["ItemOut"]["properties"] and "udi_di" in schemas["ItemOut"]["properties"]
    assert {"issuing_agency", "device_class", "storage_temp_min_c", "label_lot"} <= set(schemas["ItemUpdate"]["properties"])
