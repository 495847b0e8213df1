"""EPCIS 2.0 export: the events of a lot, a ship notice or a period, valid against GS1's
EPCIS 2.0 JSON schema, with the packing, shipping, receiving, production and sensor
events our records make; criteria checked; permissions; isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from erp.traceability.epcis import export, schema
from erp.traceability.epcis.uris import read
from kernel.clock import utcnow
from kernel.errors import Forbidden, NotFound, ValidationFailed
from tests.erp.traceability.epcis_support import make_chain
from tests.factories import actor_in

DL = "https://id.gs1.org"


def exported(tx, world, actor, **criteria) -> dict:
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        return export.export_document(uow, actor, **criteria)


def kinds(document) -> list[tuple[str, str]]:
    return [(e["type"], e.get("bizStep")) for e in document["epcisBody"]["eventList"]]


def one(document, event_type, biz_step):
    [event] = [e for e in document["epcisBody"]["eventList"] if (e["type"], e.get("bizStep")) == (event_type, biz_step)]
    return event


@pytest.fixture
def chain(tx, world):
    return make_chain(tx, world)


def test_a_component_lot_exports_its_ship_notice_receipt_production_and_readings(tx, world, chain):
    quality = chain.who["quality"]
    document = exported(tx, world, quality, lot=chain.tubing_lot)
    assert schema.problems(document) == {}
    assert (document["type"], document["schemaVersion"], document["@context"]) == ("EPCISDocument", "2.0", [schema.CONTEXT])
    assert sorted(kinds(document)) == sorted(
        [
            ("AggregationEvent", "packing"),
            ("AggregationEvent", "packing"),
            ("AggregationEvent", "packing"),
            ("ObjectEvent", "shipping"),
            ("ObjectEvent", "receiving"),  # the tubing's receipt (the devices came on another)
            ("TransformationEvent", "assembling"),
            ("ObjectEvent", "sensor_reporting"),
        ]
    )
    pallet, device_case, tubing_case = chain.ssccs
    packing = {e["parentID"]: e for e in document["epcisBody"]["eventList"] if e["type"] == "AggregationEvent"}
    assert sorted(packing[f"{DL}/00/{pallet}"]["childEPCs"]) == sorted([f"{DL}/00/{device_case}", f"{DL}/00/{tubing_case}"])
    gtin = chain.device.udi_di
    assert packing[f"{DL}/00/{device_case}"]["childEPCs"] == [f"{DL}/01/{gtin}/21/SN-{n}" for n in (1, 2, 3)]
    [tubing] = packing[f"{DL}/00/{tubing_case}"]["childQuantityList"]
    assert read(tubing["epcClass"]).part_number == chain.tubing.part_number
    assert (read(tubing["epcClass"]).lot, tubing["quantity"]) == (chain.tubing_lot, 50)
    shipping = one(document, "ObjectEvent", "shipping")
    assert (shipping["action"], shipping["disposition"], shipping["epcList"]) == ("OBSERVE", "in_transit", [f"{DL}/00/{pallet}"])
    assert {"type": "desadv", "bizTransaction": f"urn:traceport:{world.slug}:desadv:{chain.asn_number}"} in shipping[
        "bizTransactionList"
    ]
    made = one(document, "TransformationEvent", "assembling")
    assert made["inputEPCList"] == [f"{DL}/01/{gtin}/21/SN-1", f"{DL}/01/{gtin}/21/SN-2"]
    assert [(read(q["epcClass"]).lot, q["quantity"]) for q in made["inputQuantityList"]] == [(chain.tubing_lot, 20)]
    assert made["outputEPCList"] == [f"{DL}/01/{chain.finished.udi_di}/21/FS-{n}" for n in (1, 2)]
    assert made["ilmd"]["cbvmda:lotNumber"] == chain.finished_lot
    assert made["bizTransactionList"][0]["type"] == "prodorder"
    sensor = one(document, "ObjectEvent", "sensor_reporting")
    assert sensor["epcList"] == [f"{DL}/00/{pallet}"]
    [element] = sensor["sensorElementList"]
    assert element["sensorMetadata"]["deviceID"].endswith(f":logger:{chain.logger_code}")
    temperatures = [r for r in element["sensorReport"] if r["type"] == "Temperature"]
    assert [(r["value"], r["uom"]) for r in temperatures] == [(4.5, "CEL"), (5, "CEL"), (9.25, "CEL")]
    assert all(r["time"].endswith("Z") for r in temperatures)
    # Not the finished lot's own events: its commissioning and its shipment to the customer.
    assert ("ObjectEvent", "commissioning") not in kinds(document)
    times = [e["eventTime"] for e in document["epcisBody"]["eventList"]]
    assert times == sorted(times)


def test_the_finished_lot_exports_its_production_commissioning_and_customer_shipment(tx, world, chain):
    document = exported(tx, world, chain.who["quality"], lot=chain.finished_lot)
    assert schema.problems(document) == {}
    assert kinds(document) == [
        ("TransformationEvent", "assembling"),
        ("ObjectEvent", "commissioning"),
        ("ObjectEvent", "shipping"),
    ]
    made = one(document, "ObjectEvent", "commissioning")
    assert (made["action"], made["disposition"]) == ("ADD", "active")
    assert made["epcList"] == [f"{DL}/01/{chain.finished.udi_di}/21/FS-{n}" for n in (1, 2)]
    assert made["ilmd"] == {"cbvmda:lotNumber": chain.finished_lot}
    sent = one(document, "ObjectEvent", "shipping")
    assert sent["epcList"] == [f"{DL}/01/{chain.finished.udi_di}/21/FS-1"]
    assert sent["destinationList"] == [
        {"type": "owning_party", "destination": f"urn:traceport:{world.slug}:customer:{chain.customer_code}"}
    ]


def test_a_ship_notice_exports_its_packing_shipping_receipts_and_readings(tx, world, chain):
    document = exported(tx, world, chain.who["quality"], asn=chain.asn_number)
    assert schema.problems(document) == {}
    assert sorted(kinds(document)) == sorted(
        [("AggregationEvent", "packing")] * 3
        + [("ObjectEvent", "shipping"), ("ObjectEvent", "sensor_reporting")]
        + [("ObjectEvent", "receiving")] * 2
    )
    # Cases are packed before the pallet they go on, all before the shipping.
    events = [e for e in document["epcisBody"]["eventList"] if e["bizStep"] in ("packing", "shipping")]
    order = [e.get("parentID") or e["bizStep"] for e in events]
    assert order[2:] == [f"{DL}/00/{chain.ssccs[0]}", "shipping"]


def test_exporting_again_gives_the_same_event_ids(tx, world, chain):
    first = exported(tx, world, chain.who["quality"], asn=chain.asn_number)
    again = exported(tx, world, chain.who["quality"], asn=chain.asn_number)
    ids = [e["eventID"] for e in first["epcisBody"]["eventList"]]
    assert ids == [e["eventID"] for e in again["epcisBody"]["eventList"]]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
    assert first["epcisBody"] == again["epcisBody"]


def test_a_period_narrows_the_events(tx, world, chain):
    quality = chain.who["quality"]
    everything = exported(tx, world, quality, since=utcnow() - timedelta(days=1))
    assert schema.problems(everything) == {}
    assert ("ObjectEvent", "commissioning") in kinds(everything) and ("ObjectEvent", "shipping") in kinds(everything)
    later = exported(tx, world, quality, lot=chain.finished_lot, since=utcnow() - timedelta(minutes=45))
    assert kinds(later) == [("ObjectEvent", "shipping")]  # shipped 30 minutes ago, made an hour ago
    before = exported(tx, world, quality, lot=chain.finished_lot, until=utcnow() - timedelta(days=1))
    assert before["epcisBody"]["eventList"] == []
    assert schema.problems(before) == {}


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({}, "lot"),
        ({"lot": "   "}, "lot"),
        ({"lot": "X" * 21}, "lot"),
        ({"since": datetime(2026, 2, 1, tzinfo=UTC), "until": datetime(2026, 1, 1, tzinfo=UTC)}, "until"),
    ],
)
def test_bad_criteria_are_refused(tx, world, criteria, field):
    with tx.uow() as lookup:
        quality = actor_in(lookup, world, "quality")
    with pytest.raises(ValidationFailed) as refused:
        exported(tx, world, quality, **criteria)
    assert field in refused.value.errors


def test_an_unknown_ship_notice_is_not_found(tx, world):
    with tx.uow() as lookup:
        quality = actor_in(lookup, world, "quality")
    with pytest.raises(NotFound):
        exported(tx, world, quality, asn="ASN-NOPE")


@pytest.mark.parametrize("person", ["viewer", "warehouse", "buyer", "supplier1"])
def test_export_needs_recall_run(tx, world, person):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, person)
    with pytest.raises(Forbidden):
        exported(tx, world, actor, lot="ANY")


def test_another_tenant_sees_none_of_it(tx, world, other_world, chain):
    with tx.uow() as lookup:
        theirs = actor_in(lookup, other_world, "quality")
    document = exported(tx, other_world, theirs, lot=chain.tubing_lot)
    assert document["epcisBody"]["eventList"] == []
    with pytest.raises(NotFound):
        exported(tx, other_world, theirs, asn=chain.asn_number)
    since = exported(tx, other_world, theirs, since=utcnow() - timedelta(days=1))
    assert chain.asn_number not in str(since) and chain.tubing_lot not in str(since)


def test_many_readings_a_day_are_sent_per_hour_as_min_max_mean():
    start = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    rows = [
        SimpleNamespace(recorded_at=start + timedelta(minutes=n), temperature=4 + (n % 60) / 10, humidity=None)
        for n in range(export.RAW_LIMIT + 12)
    ]
    reports = export.reports(rows)
    assert len(reports) == 5  # 300 minutes: hours 0 to 4
    first = reports[0]
    assert (first["type"], first["time"], first["minValue"], first["maxValue"], first["uom"]) == (
        "Temperature",
        "2026-03-01T00:00:00.000Z",
        4,
        9.9,
        "CEL",
    )
    assert first["meanValue"] == pytest.approx(6.95)
    few = export.reports(rows[:2])
    assert [(r["value"], r["time"]) for r in few] == [(4, "2026-03-01T00:00:00.000Z"), (4.1, "2026-03-01T00:01:00.000Z")]
