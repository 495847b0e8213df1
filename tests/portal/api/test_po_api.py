"""Purchase orders over the API: create, issue, answer line by line, decide; what a
supplier may not touch is not there; a stale copy is a 409."""

from __future__ import annotations

import pytest

from tests.erp.po_support import actors, issued_order, soon
from tests.portal.support import login


def csrf_header(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}


@pytest.fixture
def who(tx, world):
    return actors(tx, world)


def test_create_issue_answer_and_decide(app, client, tx, world, who):
    login(client, world.users["buyer"])
    body = {
        "supplier_id": str(world.suppliers[0].id),
        "currency": "EUR",
        "lines": [
            {"item_id": str(world.items[0].id), "quantity": "100", "unit_price": "2.50", "requested_date": soon(30).isoformat()},
            {"item_id": str(world.items[0].id), "quantity": 50, "unit_price": 1.25, "requested_date": soon(31).isoformat()},
        ],
    }
    created = client.post("/api/v1/purchase-orders", json=body, headers=csrf_header(client))
    assert created.status_code == 201, created.json
    order = created.json
    assert (order["status"], order["version"], order["lines"][0]["quantity"], order["lines"][1]["unit_price"]) == (
        "draft",
        1,
        "100",
        "1.25",
    )
    issued = client.post(f"/api/v1/purchase-orders/{order['id']}/issue", json={"version": 1}, headers=csrf_header(client))
    assert issued.status_code == 200 and issued.json["status"] == "issued"
    client = app.test_client()  # another person

    login(client, world.users["supplier1"])
    seen = client.get(f"/api/v1/purchase-orders/{order['id']}/detail").json
    assert "capacity" in {c["code"] for c in seen["reason_codes"]}
    first, second = (line["id"] for line in seen["lines"])
    answers = {
        "revision": seen["revision"],
        "version": seen["version"],
        "responses": [
            {"line_id": first, "action": "accept"},
            {"line_id": second, "action": "propose", "promised_date": soon(45).isoformat(), "comment": "Tooling"},
        ],
    }
    answered = client.post(f"/api/v1/purchase-orders/{order['id']}/responses", json=answers, headers=csrf_header(client))
    assert answered.status_code == 200, answered.json
    assert answered.json["status"] == "partially_acknowledged"
    proposal = answered.json["lines"][1]["responses"][0]
    assert (proposal["action"], proposal["decision"], answered.json["lines"][1]["promised_date"]) == ("propose", "pending", None)
    # The same copy again: someone (this supplier) changed the order since.
    again = client.post(f"/api/v1/purchase-orders/{order['id']}/responses", json=answers, headers=csrf_header(client))
    assert again.status_code == 409 and again.json["type"] == "urn:traceport:problem:purchase-order-changed"
    client = app.test_client()  # another person

    login(client, world.users["buyer"])
    url = f"/api/v1/purchase-orders/responses/{proposal['id']}/decision"
    stale = client.post(url, json={"accept": True, "version": order["version"]}, headers=csrf_header(client))
    assert stale.status_code == 409
    decided = client.post(url, json={"accept": True, "version": answered.json["version"]}, headers=csrf_header(client))
    assert decided.status_code == 200, decided.json
    assert decided.json["status"] == "acknowledged" and decided.json["lines"][1]["promised_date"] == soon(45).isoformat()
    assert decided.json["acknowledgement_hours"] is not None


def test_another_suppliers_order_is_not_found(client, tx, world, who):
    order = issued_order(tx, world, who, count=1)
    login(client, world.users["supplier2"])
    assert client.get(f"/api/v1/purchase-orders/{order}/detail").status_code == 404
    body = {"revision": 1, "version": 2, "responses": []}
    response = client.post(f"/api/v1/purchase-orders/{order}/responses", json=body, headers=csrf_header(client))
    assert response.status_code == 404 and response.json["type"] == "urn:traceport:problem:purchase-order-not-found"


def test_a_draft_is_not_its_suppliers_to_see_on_any_endpoint(client, tx, world, who):
    draft = issued_order(tx, world, who, count=1, issue=False)
    login(client, world.users["supplier1"])
    for path in ("", "/detail", "/messages", "/revisions"):
        assert client.get(f"/api/v1/purchase-orders/{draft}{path}").status_code == 404, path
    assert str(draft) not in client.get("/api/v1/purchase-orders").get_data(as_text=True)


def test_bad_answers_are_field_errors(client, tx, world, who):
    order = issued_order(tx, world, who, count=1)
    login(client, world.users["supplier1"])
    seen = client.get(f"/api/v1/purchase-orders/{order}/detail").json
    line = seen["lines"][0]["id"]
    body = {
        "revision": seen["revision"],
        "version": seen["version"],
        "responses": [{"line_id": line, "action": "propose", "quantity": "0", "unit_price": "2", "currency": "USD"}],
    }
    response = client.post(f"/api/v1/purchase-orders/{order}/responses", json=body, headers=csrf_header(client))
    assert response.status_code == 422
    assert {"responses.0.quantity", "responses.0.currency"} <= set(response.json["errors"])
    assert client.get(f"/api/v1/purchase-orders/{order}/detail").json["version"] == seen["version"]


def test_who_may_call_what(app, client, tx, world, who):
    order = issued_order(tx, world, who, count=1)
    login(client, world.users["supplier1"])
    assert (
        client.post(f"/api/v1/purchase-orders/{order}/issue", json={"version": 1}, headers=csrf_header(client)).status_code == 403
    )
    client = app.test_client()  # another person
    login(client, world.users["viewer"])
    assert client.get(f"/api/v1/purchase-orders/{order}/detail").status_code == 200
    body = {"revision": 1, "version": 2, "responses": []}
    assert client.post(f"/api/v1/purchase-orders/{order}/responses", json=body, headers=csrf_header(client)).status_code == 403


def test_the_message_thread_over_the_api(app, client, tx, world, other_world, who):
    po_id = issued_order(tx, world, who)
    login(client, world.users["buyer"])
    posted = client.post(f"/api/v1/purchase-orders/{po_id}/messages", json={"body": "Early?"}, headers=csrf_header(client))
    assert posted.status_code == 201 and posted.json["side"] == "buyer"
    empty = client.post(f"/api/v1/purchase-orders/{po_id}/messages", json={"body": " "}, headers=csrf_header(client))
    assert empty.status_code == 422 and "body" in empty.json["errors"]

    supplier = app.test_client()
    login(supplier, world.users["supplier1"])
    reply = supplier.post(f"/api/v1/purchase-orders/{po_id}/messages", json={"body": "Friday."}, headers=csrf_header(supplier))
    assert reply.status_code == 201 and reply.json["side"] == "supplier"
    thread = supplier.get(f"/api/v1/purchase-orders/{po_id}/messages").json["items"]
    assert [(m["side"], m["body"]) for m in thread] == [("buyer", "Early?"), ("supplier", "Friday.")]

    other = app.test_client()
    login(other, world.users["supplier2"])
    assert other.get(f"/api/v1/purchase-orders/{po_id}/messages").status_code == 404
    no = other.post(f"/api/v1/purchase-orders/{po_id}/messages", json={"body": "Me?"}, headers=csrf_header(other))
    assert no.status_code == 404

    viewer = app.test_client()
    login(viewer, world.users["viewer"])
    assert viewer.get(f"/api/v1/purchase-orders/{po_id}/messages").status_code == 200
    refused = viewer.post(f"/api/v1/purchase-orders/{po_id}/messages", json={"body": "Hi"}, headers=csrf_header(viewer))
    assert refused.status_code == 403


def test_a_change_order_over_the_api(app, client, tx, world, who):
    po_id = issued_order(tx, world, who)
    login(client, world.users["buyer"])
    seen = client.get(f"/api/v1/purchase-orders/{po_id}/detail").json
    first = seen["lines"][0]["id"]
    body = {"version": seen["version"], "reason": "Forecast up", "changes": [{"line_id": first, "quantity": "140"}]}
    changed = client.post(f"/api/v1/purchase-orders/{po_id}/revisions", json=body, headers=csrf_header(client))
    assert changed.status_code == 201, changed.json
    assert changed.json["revision"] == 2 and changed.json["lines"][0]["quantity"] == "140"
    [revision] = client.get(f"/api/v1/purchase-orders/{po_id}/revisions").json["items"]
    assert revision["diff"] == [{"line_no": 10, "change": "changed", "field": "quantity", "from": "100", "to": "140"}]
    stale = client.post(f"/api/v1/purchase-orders/{po_id}/revisions", json=body, headers=csrf_header(client))
    assert stale.status_code == 409
    body["version"] = changed.json["version"]
    body["changes"] = [{"line_id": first, "quantity": "0"}]
    bad = client.post(f"/api/v1/purchase-orders/{po_id}/revisions", json=body, headers=csrf_header(client))
    assert bad.status_code == 422 and "changes.0.quantity" in bad.json["errors"]

    supplier = app.test_client()
    login(supplier, world.users["supplier1"])
    assert len(supplier.get(f"/api/v1/purchase-orders/{po_id}/revisions").json["items"]) == 1
    refused = supplier.post(f"/api/v1/purchase-orders/{po_id}/revisions", json=body, headers=csrf_header(supplier))
    assert refused.status_code == 403
