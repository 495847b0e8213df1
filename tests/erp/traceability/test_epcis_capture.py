"""EPCIS 2.0 capture: a round trip (exported from one tenant, captured by another that has
the items) records the production run and the customer shipment; a document that breaks
the schema is refused with its problems and saves nothing; the same document twice
stores nothing new; what cannot be mapped is stored and reported with the reason;
sensor reports become readings; permissions; isolation."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from erp.coldchain.models import DataLogger, Reading
from erp.inventory.models import Stock
from erp.traceability.epcis import capture, export, schema
from erp.traceability.models import CustomerShipment, EpcisEvent, GenealogyLink, ProductionRun
from kernel.errors import Forbidden
from tests.erp.traceability.epcis_support import make_chain, partner_with_items
from tests.factories import actor_in


@pytest.fixture
def chain(tx, world):
    return make_chain(tx, world)


def exported(tx, world, chain, **criteria) -> dict:
    quality = chain.who["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        return export.export_document(uow, quality, **criteria)


def captured(tx, world, actor, document) -> capture.CaptureSummary:
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        summary = capture.capture_document(uow, actor, document=document)
        uow.commit()
        return summary


def count(tx, world, model, *where) -> int:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_round_trip_records_the_production_run_and_the_customer_shipment(tx, world, other_world, chain):
    document = exported(tx, world, chain, lot=chain.finished_lot)
    partner = partner_with_items(tx, other_world, chain)
    summary = captured(tx, other_world, partner.who["warehouse"], document)
    assert (summary.received, summary.stored, summary.known) == (3, 3, 0)
    assert [(o.target, o.reason) for o in summary.mapped] == [("production_run", None), ("customer_shipment", None)]
    assert summary.not_mapped == []
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        run = uow.scalar(sa.select(ProductionRun).where(ProductionRun.id == summary.mapped[0].record_id))
        assert (run.reference, run.item_id, run.quantity, run.source) == (chain.reference, partner.finished.id, 2, "epcis")
        links = uow.execute(
            sa.select(GenealogyLink.input_item_id, GenealogyLink.input_serial, GenealogyLink.quantity).where(
                GenealogyLink.production_run_id == run.id
            )
        ).all()
        assert sorted(links, key=str) == sorted(
            [(partner.tubing.id, None, 20), (partner.device.id, "SN-1", 1), (partner.device.id, "SN-2", 1)], key=str
        )
        units = dict(uow.execute(sa.select(Stock.serial, Stock.status).where(Stock.item_id == partner.finished.id)).all())
        assert units == {"FS-1": "shipped", "FS-2": "released"}
        shipment = uow.scalar(sa.select(CustomerShipment).where(CustomerShipment.id == summary.mapped[1].record_id))
        assert (shipment.reference, shipment.source) == (chain.delivery, "epcis")
        stored = uow.session.scalars(sa.select(EpcisEvent.event_id).where(EpcisEvent.capture_id == summary.capture_id)).all()
        assert sorted(stored) == sorted(e["eventID"] for e in document["epcisBody"]["eventList"])
    # The sender's records are untouched, and it sees nothing of the capture.
    assert count(tx, world, EpcisEvent) == 0


def test_the_same_document_twice_stores_nothing_new(tx, world, other_world, chain):
    document = exported(tx, world, chain, lot=chain.finished_lot)
    partner = partner_with_items(tx, other_world, chain)
    first = captured(tx, other_world, partner.who["warehouse"], document)
    again = captured(tx, other_world, partner.who["warehouse"], copy.deepcopy(document))
    assert (again.received, again.stored, again.known, again.mapped, again.not_mapped) == (3, 0, 3, [], [])
    assert count(tx, other_world, EpcisEvent) == first.stored == 3
    assert count(tx, other_world, ProductionRun, ProductionRun.reference == chain.reference) == 1
    assert count(tx, other_world, CustomerShipment, CustomerShipment.reference == chain.delivery) == 1


def test_a_document_that_breaks_the_schema_is_refused_and_saves_nothing(tx, world, other_world, chain):
    document = exported(tx, world, chain, lot=chain.finished_lot)
    bad = copy.deepcopy(document)
    events = bad["epcisBody"]["eventList"]
    events[0]["eventTime"] = "yesterday"
    del events[1]["action"]
    events[2]["bizStep"] = "throwing away"
    del bad["creationDate"]
    partner = partner_with_items(tx, other_world, chain)
    before = count(tx, other_world, ProductionRun)
    with pytest.raises(schema.EpcisInvalid) as refused:
        captured(tx, other_world, partner.who["warehouse"], bad)
    errors = refused.value.errors
    assert errors["epcisBody.eventList.0.eventTime"] == "'yesterday' is not a 'date-time'"
    assert "'action' is a required property" in errors["epcisBody.eventList.1"]
    assert "epcisBody.eventList.2.bizStep" in errors
    assert "'creationDate' is a required property" in errors["document"]
    assert refused.value.status == 400 and refused.value.code == "epcis-invalid"
    assert count(tx, other_world, EpcisEvent) == 0
    assert count(tx, other_world, ProductionRun) == before


@pytest.mark.parametrize(
    ("document", "place"),
    [
        ([1, 2], "document"),
        ({"type": "EPCISDocument"}, "document"),
        (
            {
                "type": "ObjectEvent",
                "@context": schema.CONTEXT,
                "eventTime": "2026-01-01T00:00:00Z",
                "eventTimeZoneOffset": "+00:00",
                "action": "OBSERVE",
                "epcList": [],
            },
            "type",
        ),
    ],
)
def test_what_is_not_an_epcis_document_is_refused(tx, world, document, place):
    with tx.uow() as lookup:
        warehouse = actor_in(lookup, world, "warehouse")
    with pytest.raises(schema.EpcisInvalid) as refused:
        captured(tx, world, warehouse, document)
    assert place in refused.value.errors
    assert count(tx, world, EpcisEvent) == 0


def test_events_that_do_not_map_are_stored_and_reported_with_the_reason(tx, world, other_world, chain):
    """The partner lacks the finished item and the customer: both stored, neither mapped."""
    document = exported(tx, world, chain, lot=chain.finished_lot)
    with tx.uow() as lookup:
        warehouse = actor_in(lookup, other_world, "warehouse")
    summary = captured(tx, other_world, warehouse, document)
    assert (summary.stored, summary.mapped) == (3, [])
    reasons = {(o.event_type, o.target): (o.reason, o.params) for o in summary.not_mapped}
    assert reasons[("TransformationEvent", "production_run")] == (capture.UNKNOWN_ITEM_GTIN, {"gtin": chain.finished.udi_di})
    assert reasons[("ObjectEvent", "customer_shipment")] == (capture.UNKNOWN_CUSTOMER, {"code": chain.customer_code})
    assert count(tx, other_world, EpcisEvent) == 3 and count(tx, other_world, ProductionRun) == 0


def test_a_run_the_partner_cannot_record_is_reported_with_the_services_problems(tx, world, other_world, chain):
    """The partner has the items but not the component stock."""
    document = exported(tx, world, chain, lot=chain.finished_lot)
    partner = partner_with_items(tx, other_world, chain)
    transformation = next(e for e in document["epcisBody"]["eventList"] if e["type"] == "TransformationEvent")
    transformation["inputQuantityList"][0]["quantity"] = 500  # more tubing than was received
    summary = captured(tx, other_world, partner.who["warehouse"], document)
    [run] = [o for o in summary.not_mapped if o.target == "production_run"]
    assert run.errors and any("quantity" in key for key in run.errors)
    assert count(tx, other_world, ProductionRun) == 0 and count(tx, other_world, EpcisEvent) == 3


def test_sensor_reports_become_readings_of_the_logger(tx, world, other_world, chain):
    document = exported(tx, world, chain, asn=chain.asn_number)
    with tx.uow() as lookup:
        warehouse = actor_in(lookup, other_world, "warehouse")
    # The partner knows the logger (registered, bound to nothing yet).
    with tx.uow(tenant_id=other_world.tenant_id, actor=warehouse) as uow:
        uow.add(DataLogger(code=chain.logger_code, name="Their logger"))
        uow.commit()
    summary = captured(tx, other_world, warehouse, document)
    [readings] = [o for o in summary.mapped if o.target == "readings"]
    assert readings.record_id is not None
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        temperatures = uow.session.scalars(sa.select(Reading.temperature).order_by(Reading.recorded_at)).all()
    assert [str(t) for t in temperatures] == ["4.50", "5.00", "9.25"]
    # Packing, shipping and receiving to us are stored only.
    assert summary.stored == len(document["epcisBody"]["eventList"])
    assert summary.not_mapped == []


def test_an_event_without_an_id_is_named_by_its_hash(tx, world, chain):
    document = exported(tx, world, chain, asn=chain.asn_number)
    for event in document["epcisBody"]["eventList"]:
        del event["eventID"]
    warehouse = chain.who["warehouse"]
    first = captured(tx, world, warehouse, document)
    assert all(i.startswith("ni:///sha-256;") for i in first.event_ids) and first.stored == len(first.event_ids)
    again = captured(tx, world, warehouse, document)
    assert (again.stored, again.known) == (0, first.stored)


@pytest.mark.parametrize("person", ["viewer", "quality", "buyer", "supplier1"])
def test_capture_needs_production_record(tx, world, person):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, person)
    document = export.envelope([])
    with pytest.raises(Forbidden):
        captured(tx, world, actor, document)


def test_an_empty_document_captures_nothing(tx, world):
    with tx.uow() as lookup:
        warehouse = actor_in(lookup, world, "warehouse")
    summary = captured(tx, world, warehouse, export.envelope([]))
    assert (summary.received, summary.stored, summary.known) == (0, 0, 0)


def test_captured_events_stay_in_their_tenant(tx, world, other_world, chain):
    document = exported(tx, world, chain, asn=chain.asn_number)
    with tx.uow() as lookup:
        theirs = actor_in(lookup, other_world, "warehouse")
    captured(tx, other_world, theirs, document)
    # The same eventIDs are new to the sender's own tenant: idempotency is per tenant.
    ours = captured(tx, world, chain.who["warehouse"], document)
    assert ours.stored == len(document["epcisBody"]["eventList"]) and ours.known == 0
    assert count(tx, other_world, EpcisEvent) == ours.stored
