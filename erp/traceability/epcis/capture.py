"""EPCIS 2.0 capture: a partner's EPCISDocument (or the EPCISQueryDocument of a query)
checked against GS1's EPCIS 2.0 JSON schema, its events kept as received, and those
that map onto our model recorded there as well.

A document that breaks the schema is refused whole (EpcisInvalid, each problem under its
place in the document) and nothing of it is saved. Otherwise every event is stored as an
`epcis_event` row under its eventID; an eventID stored before (by an earlier capture, or
twice in this document) is "already known" and nothing of it is done again, so capturing
a document twice stores nothing new. An event without an eventID is named by the SHA-256
of its canonical JSON (`ni:///sha-256;<hex>`: keys sorted, no spaces - not the CBV 2.0
event hash, which needs a canonical form of every field).

What maps (each in a savepoint: a mapping refused leaves the stored event and the other
mappings as they are, and is reported "not mapped" with the reason):

- a TransformationEvent -> a production run (erp.traceability.service.record_production,
  source "epcis"): its outputs one finished lot (a lot class, or serials with the lot in
  the ILMD `cbvmda:lotNumber`), its inputs the components consumed (lot classes with
  quantities, serials); the reference is the event's `prodorder` business transaction
  (else "EPCIS-" and the start of the event's hash). Items are found by GTIN, or by part
  number for our own URNs; each input must be released stock of the tenant.
- an ObjectEvent `shipping` whose destination (owning party) is one of our customer URNs
  naming a customer of the tenant by code -> a customer shipment (record_shipment); the
  reference is its `desadv` business transaction.
- sensor reports with a value and a time (Temperature in CEL, FAH or KEL;
  RelativeHumidity) -> readings of the logger named by the sensorElement's deviceID (one
  of our logger URNs, or the deviceID itself as the logger code), as one batch per
  element (erp.coldchain.readings.ingest, source "epcis"); aggregated reports (min/max/
  mean) are kept in the stored event only.

Everything else (commissioning, receiving, packing, shipping to us...) is stored only.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from auth.permissions import require
from erp.coldchain import readings as coldchain
from erp.coldchain.errors import LoggerNotFound
from erp.inventory.models import Location
from erp.items.models import Item
from erp.traceability import service as records
from erp.traceability.epcis import schema
from erp.traceability.epcis.uris import Named, code_in, read
from erp.traceability.models import REFERENCE_MAX, EpcisEvent
from kernel.errors import N_, DomainError
from kernel.ids import new_id

EVENT_ID_MAX = 200
LOGGER_CODE_MAX = 60
DOCUMENT_TYPES = ("EPCISDocument", "EPCISQueryDocument")

NOT_A_DOCUMENT = N_("Send an EPCISDocument.")
ID_TOO_LONG = N_("Use an eventID of at most 200 characters.")
UNKNOWN_ITEM_GTIN = N_("No item has the GTIN %(gtin)s.")
UNKNOWN_ITEM_PART = N_("No item has the part number %(part)s.")
UNKNOWN_OBJECT = N_("%(uri)s names no item, lot or serial we can read.")
NO_OUTPUT = N_("The event names no finished units (outputs).")
SEVERAL_OUTPUTS = N_("The event makes more than one finished item or lot: a production record makes one lot.")
NO_OUTPUT_LOT = N_("The finished lot is not named (a lot class, or cbvmda:lotNumber in the ILMD).")
NO_INPUTS = N_("The event names no components consumed (inputs).")
NO_INPUT_LOT = N_("Component %(uri)s names no lot.")
NO_QUANTITY = N_("%(uri)s has no quantity.")
UNKNOWN_CUSTOMER = N_("No customer has the code %(code)s.")
NOTHING_SHIPPED = N_("The event names no lots or serials shipped.")
NO_LOGGER = N_("The sensor data names no device (deviceID).")
UNKNOWN_LOGGER = N_("No data logger has the code %(code)s.")
NO_READINGS = N_("The sensor reports hold no single readings (a value with its time); aggregates are kept in the event only.")

PRODUCTION, SHIPMENT, READINGS = "production_run", "customer_shipment", "readings"


@dataclass
class Outcome:
    """What became of one event's mapping: the record made, or why none was."""

    event_id: str
    event_type: str
    target: str  # production_run, customer_shipment, readings
    record_id: uuid.UUID | None = None
    reason: str | None = None  # a catalog key, filled in with params where shown
    params: dict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # the service's own field problems, if any
    error_params: dict[str, dict] = field(default_factory=dict)


@dataclass
class CaptureSummary:
    capture_id: uuid.UUID
    received: int = 0
    stored: int = 0
    known: int = 0
    mapped: list[Outcome] = field(default_factory=list)
    not_mapped: list[Outcome] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)  # those stored now


class NotMapped(Exception):
    """Why an event does not map onto our model (reported, not raised to the caller)."""

    def __init__(self, reason: str, **params) -> None:
        self.reason, self.params = reason, params
        super().__init__(reason)


def capture_document(uow, actor, *, document) -> CaptureSummary:
    """Check, store and map a partner's document (see the module docstring)."""
    require(actor, "production.record")
    schema.check(document)
    if document.get("type") not in DOCUMENT_TYPES:
        raise schema.EpcisInvalid({"type": NOT_A_DOCUMENT})
    events = _event_list(document)
    named = [(n, _event_id(event)) for n, event in enumerate(events)]
    too_long = {f"{_list_path(document)}.{n}.eventID": ID_TOO_LONG for n, event_id in named if len(event_id) > EVENT_ID_MAX}
    if too_long:
        raise schema.EpcisInvalid(too_long)

    summary = CaptureSummary(capture_id=new_id(), received=len(events))
    uow.reason = f"EPCIS capture {summary.capture_id}"
    context = document.get("@context")
    fresh: list[tuple[str, dict]] = []
    for n, event_id in named:
        event = events[n]
        kept = {"@context": context, **event} if "@context" not in event and context is not None else event
        stored = uow.scalar(
            insert(EpcisEvent)
            .values(
                id=new_id(),
                event_id=event_id,
                event_type=str(event.get("type"))[:40],
                event_time=_time(event.get("eventTime")),
                biz_step=str(event["bizStep"])[:200] if event.get("bizStep") else None,
                document=kept,
                capture_id=summary.capture_id,
                captured_by=actor.user_id,
            )
            .on_conflict_do_nothing(index_elements=[EpcisEvent.tenant_id, EpcisEvent.event_id])
            .returning(EpcisEvent.id)
        )
        if stored is None:
            summary.known += 1
            continue
        summary.stored += 1
        summary.event_ids.append(event_id)
        fresh.append((event_id, event))
    for event_id, event in fresh:
        for target, mapping in _mappings(event):
            outcome = Outcome(event_id=event_id, event_type=str(event.get("type")), target=target)
            try:
                with uow.session.begin_nested():
                    outcome.record_id = mapping(uow, actor, event, event_id)
            except NotMapped as why:
                outcome.reason, outcome.params = why.reason, why.params
            except DomainError as refused:
                outcome.reason = refused.message
                outcome.params = dict(refused.params)
                outcome.errors = dict(getattr(refused, "errors", {}) or {})
                outcome.error_params = dict(getattr(refused, "params_by_field", {}) or {})
            (summary.not_mapped if outcome.reason else summary.mapped).append(outcome)
    uow.flush()
    return summary


def _event_list(document: dict) -> list[dict]:
    if document["type"] == "EPCISQueryDocument":
        return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return document["epcisBody"]["eventList"]


def _list_path(document: dict) -> str:
    return "epcisBody.queryResults.resultsBody.eventList" if document["type"] == "EPCISQueryDocument" else "epcisBody.eventList"


def _event_id(event: dict) -> str:
    given = event.get("eventID")
    if isinstance(given, str) and given:
        return given
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"ni:///sha-256;{hashlib.sha256(canonical.encode()).hexdigest()}"


def _time(value) -> datetime:
    at = datetime.fromisoformat(value)  # RFC 3339, checked by the schema
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _mappings(event: dict):
    kind = event.get("type")
    if kind == "TransformationEvent":
        yield PRODUCTION, _production
    if kind == "ObjectEvent" and event.get("bizStep") == "shipping" and _customer_code(event) is not None:
        yield SHIPMENT, _shipment
    if any(isinstance(e, dict) and e.get("sensorReport") for e in event.get("sensorElementList") or ()):
        yield READINGS, _readings


# --- objects --------------------------------------------------------------------------------


def _item(uow, uri: str, named: Named) -> Item:
    if named.gtin:
        item = uow.scalar(sa.select(Item).where(Item.udi_di == named.gtin, Item.issuing_agency == "GS1"))
        if item is None:
            raise NotMapped(UNKNOWN_ITEM_GTIN, gtin=named.gtin)
        return item
    if named.part_number:
        item = uow.scalar(sa.select(Item).where(Item.part_number == named.part_number))
        if item is None:
            raise NotMapped(UNKNOWN_ITEM_PART, part=named.part_number)
        return item
    raise NotMapped(UNKNOWN_OBJECT, uri=uri)


def _named(uri: str) -> Named:
    named = read(uri)
    if named is None or named.sscc:
        raise NotMapped(UNKNOWN_OBJECT, uri=uri)
    return named


def _quantity(entry: dict) -> Decimal:
    try:
        return Decimal(str(entry["quantity"]))
    except (KeyError, InvalidOperation) as exc:
        raise NotMapped(NO_QUANTITY, uri=entry.get("epcClass", "")) from exc


def _ilmd_value(event: dict, name: str) -> str | None:
    for key, value in (event.get("ilmd") or {}).items():
        if (key.endswith(f":{name}") or key.endswith(f"/{name}") or key.endswith(f"-{name}")) and isinstance(value, str):
            return value.strip() or None
    return None


def _transaction(event: dict, *types: str) -> str | None:
    """The code of the event's first business transaction of these types: the last part
    of one of our URNs, or of any other URI."""
    for entry in event.get("bizTransactionList") or ():
        if entry.get("type") in types:
            value = entry["bizTransaction"]
            for kind in ("prodorder", "desadv", "delivery", "po"):
                code = code_in(value, kind)
                if code is not None:
                    return code[:REFERENCE_MAX]
            tail = value.rstrip("/").replace("/", ":").rsplit(":", 1)[-1]
            return tail[:REFERENCE_MAX] or None
    return None


def _fallback_reference(event_id: str) -> str:
    return "EPCIS-" + hashlib.sha256(event_id.encode()).hexdigest()[:16]


# --- production -------------------------------------------------------------------------------


def _production(uow, actor, event: dict, event_id: str) -> uuid.UUID:
    outputs = [(uri, _named(uri)) for uri in event.get("outputEPCList") or ()]
    output_classes = [(e["epcClass"], _named(e["epcClass"]), e) for e in event.get("outputQuantityList") or ()]
    if not outputs and not output_classes:
        raise NotMapped(NO_OUTPUT)
    kinds = {(n.gtin, n.part_number) for _, n in outputs} | {(n.gtin, n.part_number) for _, n, _ in output_classes}
    lots = {n.lot for _, n, _ in output_classes}
    if len(kinds) != 1 or len(lots) > 1 or (outputs and output_classes):
        raise NotMapped(SEVERAL_OUTPUTS)
    uri, first = (outputs or output_classes)[0][:2]
    item = _item(uow, uri, first)
    lot_number = (lots.pop() if lots else None) or _ilmd_value(event, "lotNumber")
    if not lot_number:
        raise NotMapped(NO_OUTPUT_LOT)
    serials = [n.serial for _, n in outputs if n.serial]
    quantity = Decimal(len(serials)) if outputs else sum((_quantity(e) for _, _, e in output_classes), Decimal(0))
    components = []
    for uri in event.get("inputEPCList") or ():
        named = _named(uri)
        component = _item(uow, uri, named)
        if not named.serial:
            raise NotMapped(NO_INPUT_LOT, uri=uri)
        components.append(records.ComponentUse(item_id=component.id, quantity=1, serial=named.serial))
    for entry in event.get("inputQuantityList") or ():
        named = _named(entry["epcClass"])
        component = _item(uow, entry["epcClass"], named)
        if not named.lot:
            raise NotMapped(NO_INPUT_LOT, uri=entry["epcClass"])
        components.append(records.ComponentUse(item_id=component.id, quantity=_quantity(entry), lot_number=named.lot))
    if not components:
        raise NotMapped(NO_INPUTS)
    run = records.record_production(
        uow,
        actor,
        reference=_transaction(event, "prodorder") or _fallback_reference(event_id),
        item_id=item.id,
        lot_number=lot_number,
        quantity=quantity,
        produced_at=_time(event["eventTime"]),
        serials=serials or None,
        components=components,
        location_id=_location_id(uow, event),
        expiry_date=_date(_ilmd_value(event, "itemExpirationDate")),
        source="epcis",
    )
    return run.id


def _location_id(uow, event: dict) -> uuid.UUID | None:
    code = code_in((event.get("readPoint") or {}).get("id"), "location")
    if code is None:
        return None
    return uow.scalar(sa.select(Location.id).where(Location.code == code))


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- shipments to customers --------------------------------------------------------------------


def _customer_code(event: dict) -> str | None:
    for entry in event.get("destinationList") or ():
        if entry.get("type") == "owning_party":
            code = code_in(entry.get("destination"), "customer")
            if code is not None:
                return code
    return None


def _shipment(uow, actor, event: dict, event_id: str) -> uuid.UUID:
    code = _customer_code(event)
    customer = records.customer_by_code(uow, actor, code=code)
    if customer is None:
        raise NotMapped(UNKNOWN_CUSTOMER, code=code)
    lines = []
    for uri in event.get("epcList") or ():
        named = read(uri)
        if named is not None and named.sscc:
            continue  # a logistic unit: its contents are in packing events
        named = _named(uri)
        item = _item(uow, uri, named)
        if not named.serial:
            raise NotMapped(UNKNOWN_OBJECT, uri=uri)
        lines.append(records.ShippedUnit(item_id=item.id, quantity=1, serial=named.serial))
    for entry in event.get("quantityList") or ():
        named = _named(entry["epcClass"])
        item = _item(uow, entry["epcClass"], named)
        if not named.lot:
            raise NotMapped(NO_INPUT_LOT, uri=entry["epcClass"])
        lines.append(records.ShippedUnit(item_id=item.id, quantity=_quantity(entry), lot_number=named.lot))
    if not lines:
        raise NotMapped(NOTHING_SHIPPED)
    shipment = records.record_shipment(
        uow,
        actor,
        reference=_transaction(event, "desadv", "bol", "inv") or _fallback_reference(event_id),
        customer_id=customer.id,
        shipped_at=_time(event["eventTime"]),
        lines=lines,
        source="epcis",
    )
    return shipment.id


# --- sensor readings ----------------------------------------------------------------------------

TEMPERATURE = ("Temperature", "gs1:Temperature", "https://gs1.org/voc/Temperature")
HUMIDITY = ("RelativeHumidity", "gs1:RelativeHumidity", "https://gs1.org/voc/RelativeHumidity")


def _celsius(value: Decimal, uom: str | None) -> Decimal:
    if uom == "FAH":
        return (value - 32) * 5 / 9
    if uom == "KEL":
        return value - Decimal("273.15")
    return value


def _readings(uow, actor, event: dict, event_id: str) -> uuid.UUID:
    batch_id = None
    for n, element in enumerate(event.get("sensorElementList") or ()):
        metadata = element.get("sensorMetadata") or {}
        by_time: dict[datetime, dict] = defaultdict(dict)
        device = metadata.get("deviceID")
        for report in element.get("sensorReport") or ():
            device = device or report.get("deviceID")
            if report.get("value") is None or not (report.get("time") or metadata.get("time")):
                continue
            at = _time(report.get("time") or metadata["time"]).astimezone(UTC)
            value = Decimal(str(report["value"]))
            if report.get("type") in TEMPERATURE:
                by_time[at]["temperature"] = _celsius(value, report.get("uom"))
            elif report.get("type") in HUMIDITY:
                by_time[at]["humidity"] = value
        if device is None:
            raise NotMapped(NO_LOGGER)
        code = code_in(device, "logger") or device
        if len(code) > LOGGER_CODE_MAX:
            raise NotMapped(UNKNOWN_LOGGER, code=code)
        rows = [(at, v.get("temperature"), v.get("humidity")) for at, v in sorted(by_time.items()) if v]
        if not rows:
            raise NotMapped(NO_READINGS)
        key = "epcis-" + hashlib.sha256(f"{event_id}#{n}".encode()).hexdigest()
        try:
            ingested = coldchain.ingest(uow, actor, logger_code=code, key=key, readings=rows, source="epcis")
        except LoggerNotFound as unknown:
            raise NotMapped(UNKNOWN_LOGGER, code=code) from unknown
        batch_id = batch_id or ingested.batch.id
    return batch_id
