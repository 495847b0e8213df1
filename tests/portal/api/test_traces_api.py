"""Traces over the API: POST runs one and returns the kept result; GET lists them a page at
a time and reads one; bad input is a problem with a message under its field; suppliers
and other tenants get nothing."""

from __future__ import annotations

import sqlalchemy as sa

from erp.traceability import trace
from erp.traceability.models import TraceSnapshot
from tests.erp.traceability.trace_support import genealogy
from tests.portal.support import login


def csrf_header(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}


def test_run_list_and_read_a_trace(client, tx, world):
    tree = genealogy(tx, world)
    login(client, world.users["quality"])
    code = f"(01){tree.device.udi_di}(10){tree.finished.lot.number}(21){tree.finished.serials[0]}"
    created = client.post("/api/v1/traces", json={"code": code, "reason": "Complaint 17"}, headers=csrf_header(client))
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["start_kind"], body["reason"], body["node_count"]) == ("udi", "Complaint 17", len(body["result"]["nodes"]))
    labels = {n["label"] for n in body["result"]["nodes"]}
    assert {a.number for a in tree.asns} <= labels and tree.customers[0].name in labels
    assert body["result"]["affected"] == [
        {"item_id": str(tree.device.id), "lot_id": str(tree.finished.lot.id), "serial": tree.finished.serials[0],
         "quantity": "1", "supplier_id": None}
    ]
    for n in range(2):
        client.post("/api/v1/traces", json={"code": tree.sub.lot.number, "reason": f"r{n}", "direction": "forward"},
                    headers=csrf_header(client))
    first = client.get("/api/v1/traces?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"] and "result" not in first["items"][0]
    rest = client.get(f"/api/v1/traces?limit=2&cursor={first['next_cursor']}").json
    assert [i["id"] for i in rest["items"]] == [body["id"]] and rest["next_cursor"] is None
    read = client.get(f"/api/v1/traces/{body['id']}").json
    assert read["result"] == body["result"]


def test_bad_input_is_a_problem_under_its_field_and_nothing_is_kept(client, tx, world):
    login(client, world.users["quality"])
    unknown = client.post("/api/v1/traces", json={"code": "NOPE-1", "reason": "why"}, headers=csrf_header(client))
    assert unknown.status_code == 422
    assert unknown.json["errors"]["code"].startswith("Nothing here has the code NOPE-1")
    empty = client.post("/api/v1/traces", json={"code": "NOPE-1", "reason": ""}, headers=csrf_header(client))
    assert empty.status_code == 422 and set(empty.json["errors"]) == {"reason"}
    sideways = client.post("/api/v1/traces", json={"code": "x", "reason": "y", "direction": "up"}, headers=csrf_header(client))
    assert sideways.status_code == 422 and set(sideways.json["errors"]) == {"direction"}
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(TraceSnapshot)) == 0


def test_suppliers_buyers_and_other_tenants_get_nothing(app, client, tx, world, other_world):
    tree = genealogy(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=tree.who["quality"]) as uow:
        snapshot_id = trace.run_trace(uow, tree.who["quality"], code=tree.sub.lot.number, reason="why").id
        uow.commit()
    login(client, world.users["supplier1"])
    assert client.get("/api/v1/traces").status_code == 403
    other = app.test_client()
    login(other, world.users["buyer"])
    assert other.get(f"/api/v1/traces/{snapshot_id}").status_code == 403
    theirs = app.test_client()
    login(theirs, other_world.users["quality"])
    assert theirs.get(f"/api/v1/traces/{snapshot_id}").status_code == 404
    assert theirs.get("/api/v1/traces").json["items"] == []
