"""EPCIS 2.0 over the API: events of a lot as JSON-LD valid against the schema, capture of
a partner's document (idempotent, 400 with the schema's problems for a bad one, nothing
saved), both in the caller's language; permissions for people and machine clients;
isolation."""

from __future__ import annotations

import json

import sqlalchemy as sa

from erp.traceability.epcis import schema
from erp.traceability.models import EpcisEvent, ProductionRun
from tests.erp.traceability.epcis_support import make_chain, partner_with_items
from tests.portal.api.test_oauth import bearer, register, token_for
from tests.portal.support import login

EVENTS = "/api/v1/epcis/events"
CAPTURE = "/api/v1/epcis/capture"


def csrf_header(client) -> dict:
    return {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}


def events_of(response) -> list[dict]:
    return response.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def count(tx, world, model) -> int:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(model))


def as_document(query_document: dict) -> dict:
    events = query_document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return {k: v for k, v in query_document.items() if k != "epcisBody"} | {
        "type": "EPCISDocument",
        "epcisBody": {"eventList": events},
    }


def test_the_events_of_a_lot_are_json_ld_valid_against_the_schema(client, tx, world):
    chain = make_chain(tx, world)
    login(client, world.users["quality"])
    response = client.get(EVENTS, query_string={"lot": chain.finished_lot})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/ld+json"
    body = json.loads(response.get_data())
    assert schema.problems(body) == {}
    assert body["type"] == "EPCISQueryDocument"
    assert body["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    assert [e["type"] for e in events_of(response)] == ["TransformationEvent", "ObjectEvent", "ObjectEvent"]
    since = client.get(EVENTS, query_string={"asn": chain.asn_number, "since": "2000-01-01"})
    assert since.status_code == 200 and len(events_of(since)) == 7


def test_bad_criteria_are_a_422_in_the_callers_language(client, tx, world):
    login(client, world.users["quality"])
    recent = client.get(EVENTS)  # no criteria: the last 30 days
    assert recent.status_code == 200 and recent.json["type"] == "EPCISQueryDocument"
    client.post("/language", data={"locale": "zh_Hans_CN"}, headers=csrf_header(client))
    backwards = client.get(EVENTS, query_string={"since": "2026-02-01", "until": "2026-01-01"})
    assert backwards.status_code == 422
    assert backwards.json["detail"] == "部分字段无效。"
    assert backwards.json["errors"] == {"until": "期间的结束时间早于开始时间。"}  # once /tmp/zh/epcis.json is merged
    unknown = client.get(EVENTS, query_string={"asn": "ASN-NOPE"})
    assert unknown.status_code == 404


def test_capture_records_the_partners_run_once(client, tx, world, other_world):
    chain = make_chain(tx, world)
    partner_with_items(tx, other_world, chain)
    login(client, world.users["quality"])
    document = as_document(client.get(EVENTS, query_string={"lot": chain.finished_lot}).json)
    client.post("/logout", headers=csrf_header(client))
    login(client, other_world.users["warehouse"])
    body = json.dumps(document)
    first = client.post(CAPTURE, data=body, content_type="application/ld+json", headers=csrf_header(client))
    assert first.status_code == 201, first.json
    assert (first.json["received"], first.json["stored"], first.json["already_known"]) == (3, 3, 0)
    assert [m["target"] for m in first.json["mapped"]] == ["production_run", "customer_shipment"]
    assert first.json["not_mapped"] == []
    again = client.post(CAPTURE, data=body, content_type="application/json", headers=csrf_header(client))
    assert again.status_code == 200
    assert (again.json["stored"], again.json["already_known"], again.json["mapped"]) == (0, 3, [])
    assert count(tx, other_world, EpcisEvent) == 3 and count(tx, other_world, ProductionRun) == 1


def test_a_document_that_breaks_the_schema_is_a_400_and_saves_nothing(client, tx, world):
    login(client, world.users["warehouse"])
    bad = {
        "@context": [schema.CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {"type": "ObjectEvent", "eventTime": "soon", "eventTimeZoneOffset": "+00:00", "action": "ADD", "epcList": []}
            ]
        },
    }
    refused = client.post(CAPTURE, json=bad, headers=csrf_header(client))
    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json["type"] == "urn:traceport:problem:epcis-invalid"
    assert refused.json["detail"].startswith("The document is not valid EPCIS 2.0")
    assert refused.json["errors"] == {"epcisBody.eventList.0.eventTime": "'soon' is not a 'date-time'"}
    client.post("/language", data={"locale": "zh_Hans_CN"}, headers=csrf_header(client))
    in_chinese = client.post(CAPTURE, data="not json", content_type="text/plain", headers=csrf_header(client))
    assert in_chinese.status_code == 400
    assert in_chinese.json["detail"] == "该文档不是有效的 EPCIS 2.0 文档：每个问题均列在其在文档中的位置下。"
    assert in_chinese.json["errors"] == {
        "document": "请以 JSON 格式（application/json 或 application/ld+json）发送 EPCISDocument。"
    }
    assert count(tx, world, EpcisEvent) == 0


def test_people_without_the_permission_are_refused(client, tx, world):
    login(client, world.users["warehouse"])
    assert client.get(EVENTS, query_string={"lot": "X"}).status_code == 403
    client.post("/logout", headers=csrf_header(client))
    login(client, world.users["quality"])
    refused = client.post(CAPTURE, json={"type": "EPCISDocument"}, headers=csrf_header(client))
    assert refused.status_code == 403
    assert count(tx, world, EpcisEvent) == 0


def test_machine_clients_read_and_capture_with_their_scopes(app, tx, world, other_world):
    chain = make_chain(tx, world)
    partner_with_items(tx, other_world, chain)
    http = app.test_client()
    reader = register(tx, world, scopes=("recall.run",), name="Partner hub")
    token = token_for(http, reader)
    read = http.get(EVENTS, query_string={"lot": chain.finished_lot}, headers=bearer(token))
    assert read.status_code == 200 and len(events_of(read)) == 3
    assert http.post(CAPTURE, json=as_document(read.json), headers=bearer(token)).status_code == 403
    mes = register(tx, other_world, scopes=("production.record",), name="Plant MES")
    mes_token = token_for(http, mes)
    captured = http.post(CAPTURE, json=as_document(read.json), headers=bearer(mes_token))
    assert captured.status_code == 201 and len(captured.json["mapped"]) == 2
    # Tenant B's client reads B's events only: A's ship notice is not there.
    assert http.get(EVENTS, query_string={"asn": chain.asn_number}, headers=bearer(mes_token)).status_code == 403
