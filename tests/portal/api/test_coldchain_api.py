"""The cold chain over the API: a gateway (an API client) sends batches of readings -
201 the first time, 200 with the same result again - and refusals name each reading;
bindings, alerts and a lot's readings; scopes and tenants keep to their own."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from erp.coldchain.models import Reading
from kernel.clock import utcnow
from tests.erp.coldchain.support import bind_lot, cold_lot, logger, who
from tests.portal.api.test_oauth import bearer, register, token_for

NOW = utcnow().replace(microsecond=0)


def readings(temperatures, *, start=None, step=10):
    start = start or NOW - timedelta(hours=2)
    return [
        {"recorded_at": (start + timedelta(minutes=step * n)).isoformat(), "temperature": t} for n, t in enumerate(temperatures)
    ]


def gateway(client, tx, world, scopes=("coldchain.record", "coldchain.view")):
    return bearer(token_for(client, register(tx, world, scopes=scopes, name="Gateway")))


def test_a_gateway_sends_a_batch_once_and_gets_the_same_answer_again(client, tx, world):
    people = who(tx, world)
    received, _ = cold_lot(tx, world, people, minutes=0)
    box = logger(tx, world, people["warehouse"])
    bind_lot(tx, world, people["warehouse"], box, received.lot, starts_at=NOW - timedelta(days=1))
    auth = gateway(client, tx, world)
    body = {"batch_key": "gw-1", "readings": readings([5, 9, 5])}
    first = client.post(f"/api/v1/loggers/{box.code}/readings", json=body, headers=auth)
    assert first.status_code == 201, first.json
    assert (first.json["count"], first.json["alerts"], first.json["logger"]) == (3, 1, box.code)
    again = client.post(f"/api/v1/loggers/{box.code}/readings", json=body, headers=auth)
    assert again.status_code == 200 and again.json == first.json
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Reading).where(Reading.logger_id == box.id)) == 3

    alerts = client.get("/api/v1/cold-chain/alerts", headers=auth)
    assert alerts.status_code == 200
    [alert] = alerts.json["items"]
    assert alert["kind"] == "temperature_high" and alert["lot_ids"] == [str(received.lot.id)] and alert["logger"] == box.code

    page = client.get(f"/api/v1/lots/{received.lot.id}/readings?limit=2", headers=auth).json
    assert [float(r["temperature"]) for r in page["items"]] == [5, 9] and page["next_cursor"]
    rest = client.get(f"/api/v1/lots/{received.lot.id}/readings?limit=2&cursor={page['next_cursor']}", headers=auth).json
    assert [float(r["temperature"]) for r in rest["items"]] == [5] and rest["next_cursor"] is None
    since = (NOW - timedelta(hours=2, minutes=-5)).isoformat().replace("+00:00", "Z")
    ranged = client.get(f"/api/v1/lots/{received.lot.id}/readings", query_string={"since": since}, headers=auth).json
    assert len(ranged["items"]) == 2


def test_future_out_of_order_and_bad_readings_are_refused_with_the_reading_named(client, tx, world):
    box = logger(tx, world, who(tx, world)["warehouse"])
    auth = gateway(client, tx, world)
    batch = readings([5, 6, 7])
    batch[1]["recorded_at"] = (NOW + timedelta(hours=3)).isoformat()
    batch[2]["recorded_at"] = (NOW - timedelta(days=1)).isoformat()
    batch.append({"recorded_at": "2026-11-02T08:00:00", "temperature": "hot"})
    refused = client.post(f"/api/v1/loggers/{box.code}/readings", json={"batch_key": "k", "readings": batch}, headers=auth)
    assert refused.status_code == 422
    errors = refused.json["errors"]
    assert set(errors) == {
        "readings.1.recorded_at", "readings.2.recorded_at", "readings.3.recorded_at", "readings.3.temperature",
    }
    assert "in the future" in errors["readings.1.recorded_at"]
    assert "earlier than the one before" in errors["readings.2.recorded_at"]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Reading).where(Reading.logger_id == box.id)) == 0
    # In Chinese for a caller who asks for it.
    zh = client.post(f"/api/v1/loggers/{box.code}/readings", json={"batch_key": "k", "readings": batch},
                     headers=auth | {"Accept-Language": "zh-CN"})
    assert zh.status_code == 422


def test_bindings_over_the_api_refuse_a_second_shipment_at_once(client, tx, world):
    from tests.erp.receiving.test_receipts import submitted_asn

    box = logger(tx, world, who(tx, world)["warehouse"])
    _, _, first = submitted_asn(tx, world)
    _, _, second = submitted_asn(tx, world)
    auth = gateway(client, tx, world)
    start = (NOW - timedelta(hours=1)).isoformat()
    made = client.post(f"/api/v1/loggers/{box.code}/bindings", json={"kind": "asn", "target_id": str(first), "starts_at": start},
                       headers=auth)
    assert made.status_code == 201, made.json
    assert made.json["kind"] == "asn" and made.json["target"].startswith("ASN-") and made.json["ends_at"] is None
    other = {"kind": "asn", "target_id": str(second), "starts_at": start}
    clash = client.post(f"/api/v1/loggers/{box.code}/bindings", json=other, headers=auth)
    assert clash.status_code == 409 and box.code in clash.json["detail"]
    assert client.get(f"/api/v1/asns/{first}/readings", headers=auth).json == {"items": [], "next_cursor": None}
    assert client.post("/api/v1/loggers/NOPE/bindings", json={"kind": "asn", "target_id": str(first), "starts_at": start},
                       headers=auth).status_code == 404


def test_scopes_and_tenants_keep_to_their_own(client, tx, world, other_world):
    box = logger(tx, world, who(tx, world)["warehouse"])
    reader = gateway(client, tx, world, scopes=("coldchain.view",))
    body = {"batch_key": "k", "readings": readings([5])}
    assert client.post(f"/api/v1/loggers/{box.code}/readings", json=body, headers=reader).status_code == 403
    stranger = gateway(client, tx, other_world)
    assert client.post(f"/api/v1/loggers/{box.code}/readings", json=body, headers=stranger).status_code == 404
    assert client.get("/api/v1/cold-chain/alerts", headers=stranger).json["items"] == []
