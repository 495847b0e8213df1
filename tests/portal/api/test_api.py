"""The JSON API: session identity, pages of orders, item creation, idempotency, OpenAPI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from erp.items.models import Item
from tests.factories import make_item, make_purchase_order, unique
from tests.portal.support import login


@pytest.fixture
def buyer(client, world):
    login(client, world.users["buyer"])
    return client


def csrf_header(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}


def new_item(**overrides) -> dict:
    return {"part_number": unique("API-"), "name": "Sterile cap", "category": "component", "uom": "EA"} | overrides


def count_items(tx, world, part_number) -> int:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == part_number))


# --- /me ---------------------------------------------------------------------------


def test_me_needs_a_session(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.json["type"] == "urn:traceport:problem:sign-in-required"


def test_me_tells_who_where_and_as_what(client, world):
    login(client, world.users["supplier2"])
    me = client.get("/api/v1/me").json
    assert me["user"]["email"] == world.users["supplier2"].email
    assert me["tenant"] == {
        "id": str(world.tenant_id),
        "slug": world.slug,
        "name": f"Tenant {world.slug}",
        "name_zh": f"租户 {world.slug}",
    }
    assert me["role"] == "supplier_admin"
    assert me["supplier"]["id"] == str(world.suppliers[1].id) and me["supplier"]["name"] == world.suppliers[1].name
    assert "po.confirm" in me["permissions"] and "items.manage" not in me["permissions"]
    assert [m["tenant"]["slug"] for m in me["memberships"]] == [world.slug]


# --- purchase orders ---------------------------------------------------------------


def test_purchase_orders_page_by_cursor(buyer, tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow)
        made = {make_purchase_order(uow, supplier=world.suppliers[0], item=item).number for _ in range(53)}
        uow.commit()
    seen, cursor, pages = [], None, 0
    while True:
        response = buyer.get("/api/v1/purchase-orders", query_string={"limit": 25} | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200
        seen += response.json["items"]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    numbers = [po["number"] for po in seen]
    assert len(numbers) == len(set(numbers)) == 55 and made <= set(numbers)
    first = seen[-1]
    assert set(first) == {
        *("id", "number", "status", "order_date", "created_at", "currency", "supplier", "line_count", "total"),
        *("issued_at", "overdue"),
    }
    assert first["total"] == "150.00" and first["line_count"] == 1


def test_the_default_page_is_fifty(buyer, tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow)
        for _ in range(51):
            make_purchase_order(uow, supplier=world.suppliers[0], item=item)
        uow.commit()
    body = buyer.get("/api/v1/purchase-orders").json
    assert len(body["items"]) == 50 and body["next_cursor"]


def test_a_supplier_gets_only_its_own_orders(client, world):
    login(client, world.users["supplier1"])
    body = client.get("/api/v1/purchase-orders").json
    assert [po["number"] for po in body["items"]] == [world.purchase_orders[0].number]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"cursor": "nope"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": "x"}, "limit"), ({"sort": "up"}, "sort")],
)
def test_bad_query_parameters_are_named(buyer, query, field):
    response = buyer.get("/api/v1/purchase-orders", query_string=query)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert list(response.json["errors"]) == [field]


# --- items -------------------------------------------------------------------------


def test_a_buyer_creates_an_item(buyer, tx, world):
    body = new_item(name_zh="无菌帽")
    response = buyer.post("/api/v1/items", json=body, headers=csrf_header(buyer))
    assert response.status_code == 201
    created = response.json
    assert {k: created[k] for k in body} == body and created["id"] and created["created_at"]
    assert count_items(tx, world, body["part_number"]) == 1


def test_writes_need_the_csrf_header(buyer, tx, world):
    body = new_item()
    response = buyer.post("/api/v1/items", json=body)
    assert response.status_code == 400 and response.json["type"] == "urn:traceport:problem:csrf-failed"
    assert count_items(tx, world, body["part_number"]) == 0


def test_invalid_items_get_a_message_per_field(buyer):
    response = buyer.post(
        "/api/v1/items",
        json={"part_number": "with space", "name": 7, "category": "toy", "colour": "red"},
        headers=csrf_header(buyer),
    )
    assert response.status_code == 422
    problem = response.json
    assert problem["type"] == "urn:traceport:problem:validation-failed" and problem["title"] == "Not valid"
    assert problem["errors"] == {
        "part_number": "This value does not have the expected form.",
        "name": "Enter text.",
        "category": "Choose one of the allowed values.",
        "uom": "This field is required.",
        "colour": "This field is not expected.",
    }


def test_blank_names_are_caught_by_the_service(buyer):
    response = buyer.post("/api/v1/items", json=new_item(name="   "), headers=csrf_header(buyer))
    assert response.status_code == 422 and response.json["errors"] == {"name": "This field is required."}


def test_a_body_that_is_not_a_json_object_is_refused(buyer):
    response = buyer.post("/api/v1/items", data="[1, 2]", content_type="application/json", headers=csrf_header(buyer))
    assert response.status_code == 422 and response.json["detail"] == "Send a JSON object in the request body."


def test_a_duplicate_part_number_conflicts(buyer):
    body = new_item()
    buyer.post("/api/v1/items", json=body, headers=csrf_header(buyer))
    response = buyer.post("/api/v1/items", json=body, headers=csrf_header(buyer))
    assert response.status_code == 409 and response.json["type"] == "urn:traceport:problem:duplicate-part-number"
    assert body["part_number"] in response.json["detail"]


def test_suppliers_may_not_create_items(client, world):
    login(client, world.users["supplier1"])
    response = client.post("/api/v1/items", json=new_item(), headers=csrf_header(client))
    assert response.status_code == 403 and response.json["type"] == "urn:traceport:problem:forbidden"


def test_the_same_key_and_body_replay_the_first_response(buyer, tx, world):
    body = new_item()
    headers = csrf_header(buyer) | {"Idempotency-Key": "create-cap-1"}
    first = buyer.post("/api/v1/items", json=body, headers=headers)
    # The same JSON value with its keys in another order is the same request.
    again = buyer.post("/api/v1/items", json=dict(reversed(list(body.items()))), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert count_items(tx, world, body["part_number"]) == 1


def test_the_same_key_with_another_body_is_refused(buyer, tx, world):
    headers = csrf_header(buyer) | {"Idempotency-Key": "create-cap-2"}
    buyer.post("/api/v1/items", json=new_item(), headers=headers)
    other = new_item()
    response = buyer.post("/api/v1/items", json=other, headers=headers)
    assert response.status_code == 422 and response.json["type"] == "urn:traceport:problem:idempotency-key-reused"
    assert count_items(tx, world, other["part_number"]) == 0


def test_keys_belong_to_their_tenant(client, tx, world, other_world):
    """The same key in another tenant is another key."""
    for w in (world, other_world):
        login(client, w.users["buyer"])
        response = client.post("/api/v1/items", json=new_item(), headers=csrf_header(client) | {"Idempotency-Key": "shared"})
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
        client.post("/logout", data={"csrf_token": csrf_header(client)["X-CSRFToken"]})


def test_a_failed_create_does_not_use_up_the_key(buyer, tx, world):
    headers = csrf_header(buyer) | {"Idempotency-Key": "retry-me"}
    assert buyer.post("/api/v1/items", json=new_item(uom="parsec"), headers=headers).status_code == 422
    body = new_item()
    assert buyer.post("/api/v1/items", json=body, headers=headers).status_code == 201


# --- OpenAPI -----------------------------------------------------------------------


def test_the_openapi_document_describes_the_routes(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    validate(spec)  # raises on anything the OpenAPI 3.1 schema rejects
    paths = spec["paths"]
    assert {"/api/v1/me", "/api/v1/purchase-orders", "/api/v1/items"} <= set(paths)
    create = paths["/api/v1/items"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ItemCreate"}
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key", "X-CSRFToken"}
    assert create["responses"]["422"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    listing = paths["/api/v1/purchase-orders"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"cursor", "limit"}
    schemas = spec["components"]["schemas"]
    assert {"ItemCreate", "ItemOut", "PurchaseOrderPage", "PurchaseOrderOut", "MeOut", "Problem"} <= set(schemas)
    assert schemas["ItemCreate"]["properties"]["category"]["enum"][0] == "component"
