"""Production records, customers and customer shipments over the API, as an MES and a WMS
send them (a machine client with a bearer token) and as people read them (session):
idempotent by reference and by Idempotency-Key, problems per field, cursor pages,
another tenant's records not found, the routes in the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from erp.items.models import Item
from erp.traceability.models import GenealogyLink, ProductionRun
from kernel.clock import utcnow
from tests.erp.traceability.support import finished_lot, people, released_component_lot
from tests.portal.api.test_oauth import bearer, register, token_for
from tests.portal.support import login

MES_SCOPES = ("production.record",)
AN_HOUR_AGO = (utcnow() - timedelta(hours=1)).isoformat()


def _components(tx, world):
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        screws = released_component_lot(uow, world, who["warehouse"], quantity="100", lot_number="API-SCR")
        boards = released_component_lot(uow, world, who["warehouse"], serials=("API-B1", "API-B2"), lot_number="API-BRD")
        device = Item(part_number="API-PUMP", name="Pump", category="finished_device", uom="EA")
        uow.add(device)
        uow.flush()
        parts = {
            "screw": uow.scalar(sa.select(Item.part_number).where(Item.id == screws.item_id)),
            "board": uow.scalar(sa.select(Item.part_number).where(Item.id == boards.item_id)),
        }
        uow.commit()
        return parts


def _run_body(parts, **overrides) -> dict:
    return {
        "reference": "WO-API-1",
        "item": "API-PUMP",
        "lot": "API-FIN-1",
        "quantity": "2",
        "produced_at": AN_HOUR_AGO,
        "serials": ["AP-1", "AP-2"],
        "components": [
            {"item": parts["screw"], "lot": "API-SCR", "quantity": "8"},
            {"item": parts["board"], "serial": "API-B1", "output_serial": "AP-1"},
            {"item": parts["board"], "serial": "API-B2", "output_serial": "AP-2"},
        ],
    } | overrides


def _mes(client, tx, world) -> dict:
    reg = register(tx, world, scopes=MES_SCOPES, name="Plant MES")
    return bearer(token_for(client, reg))


def test_an_mes_records_production_and_a_wms_ships(client, tx, world):
    parts = _components(tx, world)
    mes = _mes(client, tx, world)
    created = client.post("/api/v1/production-runs", json=_run_body(parts), headers=mes)
    assert created.status_code == 201, created.json
    run = created.json
    assert (run["reference"], run["part_number"], run["lot"], run["quantity"], run["source"]) == (
        "WO-API-1", "API-PUMP", "API-FIN-1", "2", "api"
    )
    assert run["serials"] == ["AP-1", "AP-2"]
    assert sorted((c["lot"], c["serial"] or "", c["quantity"], c["output_serial"] or "") for c in run["components"]) == [
        ("API-BRD", "API-B1", "1", "AP-1"), ("API-BRD", "API-B2", "1", "AP-2"), ("API-SCR", "", "8", ""),
    ]
    # Sent again: the same record, 200.
    again = client.post("/api/v1/production-runs", json=_run_body(parts), headers=mes)
    assert again.status_code == 200 and again.json["id"] == run["id"]
    # Other content under the reference: 409.
    changed = _run_body(parts)
    changed["components"][0]["quantity"] = "9"
    other = client.post("/api/v1/production-runs", json=changed, headers=mes)
    assert other.status_code == 409 and other.json["type"].endswith("reference-conflict")
    assert "WO-API-1" in other.json["detail"]

    made = client.post(
        "/api/v1/customers", json={"code": "API-HOSP", "name": "API Hospital", "email": "h@api.example"}, headers=mes
    )
    assert made.status_code == 201, made.json
    updated = client.post("/api/v1/customers", json={"code": "API-HOSP", "name": "API Hospital 2"}, headers=mes)
    assert updated.status_code == 200 and updated.json["email"] == "h@api.example" and updated.json["name"] == "API Hospital 2"
    shipment = {
        "reference": "DN-API-1", "customer": "API-HOSP", "shipped_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        "lines": [{"item": "API-PUMP", "serial": "AP-1"}],
    }
    shipped = client.post("/api/v1/customer-shipments", json=shipment, headers=mes)
    assert shipped.status_code == 201, shipped.json
    assert shipped.json["customer"]["code"] == "API-HOSP"
    assert [(line["lot"], line["serial"], line["quantity"]) for line in shipped.json["lines"]] == [("API-FIN-1", "AP-1", "1")]
    twice = client.post("/api/v1/customer-shipments", json=shipment | {"reference": "DN-API-2"}, headers=mes)
    assert twice.status_code == 422 and set(twice.json["errors"]) == {"lines.0.serial"}
    assert "AP-1" in twice.json["errors"]["lines.0.serial"]

    listing = client.get("/api/v1/production-runs?limit=1", headers=mes).json
    assert [r["id"] for r in listing["items"]] == [run["id"]]
    assert client.get(f"/api/v1/production-runs/{run['id']}", headers=mes).json["id"] == run["id"]
    sent = client.get("/api/v1/customer-shipments", headers=mes).json["items"]
    assert [(s["reference"], s["lines"], s["quantity"]) for s in sent] == [("DN-API-1", 1, "1")]
    assert client.get(f"/api/v1/customer-shipments/{shipped.json['id']}", headers=mes).status_code == 200
    assert [c["code"] for c in client.get("/api/v1/customers?q=API-", headers=mes).json["items"]] == ["API-HOSP"]
    assert client.get(f"/api/v1/customers/{made.json['id']}", headers=mes).json["code"] == "API-HOSP"


def test_bad_production_is_a_422_per_field_and_writes_nothing(client, tx, world):
    parts = _components(tx, world)
    mes = _mes(client, tx, world)
    body = _run_body(parts, reference="WO-API-BAD", quantity="0", produced_at=(utcnow() + timedelta(days=1)).isoformat())
    body["components"][0]["quantity"] = "500"
    body["components"][1]["item"] = "NO-SUCH-PART"
    body["components"][2]["output_serial"] = "AP-9"
    refused = client.post("/api/v1/production-runs", json=body, headers=mes)
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert set(refused.json["errors"]) == {
        "quantity", "produced_at", "components.0.quantity", "components.1.item_id", "components.2.output_serial"
    }
    assert "API-SCR" in refused.json["errors"]["components.0.quantity"]  # the lot and what is there
    assert "100" in refused.json["errors"]["components.0.quantity"]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(ProductionRun)) == 0
        assert uow.scalar(sa.select(sa.func.count()).select_from(GenealogyLink)) == 0
    shape = client.post("/api/v1/production-runs", json={"reference": "X"}, headers=mes)
    assert shape.status_code == 422 and {"lot", "quantity", "produced_at", "components"} <= set(shape.json["errors"])


def test_idempotency_key_replays_the_first_response(client, tx, world):
    parts = _components(tx, world)
    mes = _mes(client, tx, world)
    headers = mes | {"Idempotency-Key": "mes-retry-1"}
    first = client.post("/api/v1/production-runs", json=_run_body(parts, reference="WO-KEY"), headers=headers)
    assert first.status_code == 201
    replay = client.post("/api/v1/production-runs", json=_run_body(parts, reference="WO-KEY"), headers=headers)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json["id"] == first.json["id"]
    reused = client.post("/api/v1/production-runs", json=_run_body(parts, reference="WO-OTHER"), headers=headers)
    assert reused.status_code == 422 and reused.json["type"].endswith("idempotency-key-reused")


def test_people_read_with_recall_run_and_others_are_refused(client, tx, world, other_world):
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        parts = released_component_lot(uow, world, who["warehouse"], quantity="10")
        made = finished_lot(uow, who["warehouse"], components=[(parts, "1")], quantity="1", reference="WO-READ")
        run_id = str(made.run.id)
        uow.commit()
    login(client, world.users["quality"])  # recall.run: reads
    assert client.get(f"/api/v1/production-runs/{run_id}").status_code == 200
    assert client.get("/api/v1/customers").status_code == 200
    token = client.get("/api/v1/me").json["csrf_token"]
    refused = client.post("/api/v1/customers", json={"code": "Q", "name": "Q"}, headers={"X-CSRFToken": token})
    assert refused.status_code == 403
    client.post("/logout", headers={"X-CSRFToken": token})
    login(client, world.users["viewer"])
    assert client.get("/api/v1/production-runs").status_code == 403
    other = _mes(client, tx, other_world)
    assert client.get(f"/api/v1/production-runs/{run_id}", headers=other).status_code == 404
    assert client.get("/api/v1/production-runs", headers=other).json["items"] == []


def test_the_routes_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path, methods in {
        "/api/v1/production-runs": {"get", "post"},
        "/api/v1/production-runs/{run_id}": {"get"},
        "/api/v1/customer-shipments": {"get", "post"},
        "/api/v1/customer-shipments/{shipment_id}": {"get"},
        "/api/v1/customers": {"get", "post"},
        "/api/v1/customers/{customer_id}": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
    create = paths["/api/v1/production-runs"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ProductionRunIn"}
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    assert {"cursor", "limit", "q", "lot_id"} <= {p["name"] for p in paths["/api/v1/production-runs"]["get"]["parameters"]}
    schemas = set(spec["components"]["schemas"])
    assert {"ProductionRunIn", "ProductionRunOut", "ShipmentIn", "ShipmentOut", "CustomerOut"} <= schemas
