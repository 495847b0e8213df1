"""EPCIS 2.0 export: the traceability events of a lot, a ship notice, or a period, as an
EPCISDocument (JSON-LD) valid against GS1's EPCIS 2.0 JSON schema.

What our records become (CBV 2.0 short names for steps and dispositions):

- a production run: a TransformationEvent (bizStep `assembling`; the component lots
  and serials its genealogy links consumed in, the finished lot or serials out; the lot
  and expiry as ILMD) and an ObjectEvent ADD `commissioning` of the finished units;
- a ship notice: an AggregationEvent ADD `packing` per package (parentID its SSCC,
  childEPCs the cases on a pallet and the serials in a case, childQuantityList the lot
  quantities) and an ObjectEvent OBSERVE `shipping` of its top-level packages (and of
  lines not in a package), disposition `in_transit`;
- a receipt: an ObjectEvent OBSERVE `receiving` of what it found;
- a shipment to a customer: an ObjectEvent OBSERVE `shipping`, the customer as the
  destination (owning party);
- cold-chain readings: an ObjectEvent OBSERVE `sensor_reporting` per logger binding
  (to a ship notice, one of its packages, or a lot) and UTC day, of what the logger
  watched, with one sensorElement: sensorMetadata (the logger, first and last reading)
  and a sensorReport per reading (Temperature in CEL, RelativeHumidity in P1) - or,
  past RAW_LIMIT readings in the day, per hour and measurement the min/max/mean
  (time = the hour). Loggers bound to a storage location are not exported (they watch
  a place, not objects). A day's event is complete once the day has passed.

Identifiers are in uris.py (GS1 Digital Link for GTIN items and SSCCs; tenant URNs for
places, parties and items without GTIN). eventIDs are `urn:uuid:` name-based UUIDs
(v5) of the tenant and the record, so exporting again gives the same IDs and a
partner's capture of a later export stores only what is new; we do not compute the
CBV 2.0 event hash (it needs the canonical form of every field, not worth it here).
Times are UTC (eventTimeZoneOffset "+00:00").

Which events: for a lot (every lot of that number, any item), the production runs that
made it or consumed it, the receipts and live ship notices that carried it, the
customer shipments of it, its logger days and those of the ship notices that carried
it; for a ship notice, its own events, its receipts and its logger days; for a period
alone, every event in it. Criteria together narrow (a lot and a period: the lot's
events in the period). Events are whole: a receipt of several lots is exported with
all its lines, so the same event always has the same content.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from auth.permissions import require
from erp.coldchain.models import DataLogger, LoggerBinding, Reading
from erp.inventory import service as inventory
from erp.inventory.models import LOT_MAX, Lot, Stock, StockMovement
from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder
from erp.receiving.models import Receipt, ReceiptLine
from erp.shipping.errors import AsnNotFound
from erp.shipping.models import LIVE, Asn, AsnLine, AsnPackage, AsnSerial
from erp.traceability.epcis import schema
from erp.traceability.epcis.uris import Namer, sscc_uri
from erp.traceability.models import Customer, CustomerShipment, CustomerShipmentLine, GenealogyLink, ProductionRun
from kernel.clock import utcnow
from kernel.errors import N_, ValidationFailed
from tenants import service as tenants
from tenants.models import Tenant

# Name-based event IDs: uuid5(EVENT_NAMESPACE, "<tenant id>/<kind>/<record id>[/<part>]").
EVENT_NAMESPACE = uuid.UUID("5b0d2f8e-3c1a-4e7b-9a57-1c1f0e9d4a21")
RAW_LIMIT = 288  # readings of one logger in one day sent one by one (a 5-minute logger)
OFFSET = "+00:00"
QUERY_NAME = "SimpleEventQuery"
# Our units of measure as UN/CEFACT Recommendation 20 codes (EPCIS quantity `uom`); a
# count (EA) carries no uom, as CBV says for quantities in units.
UOM = {
    "EA": None,
    "M": "MTR",
    "MM": "MMT",
    "KG": "KGM",
    "G": "GRM",
    "L": "LTR",
    "ML": "MLT",
    "BOX": "BX",
    "PK": "PK",
    "ROLL": "RO",
    "SET": "SET",
}
MEASURES = (("temperature", "Temperature", "CEL"), ("humidity", "RelativeHumidity", "P1"))

NO_CRITERIA = N_("Give a lot, a ship notice or a start date.")
BAD_PERIOD = N_("The end of the period is before its start.")

# Order of events at the same time: packing before shipping, making before commissioning.
RANK = {
    "packing_case": 0,
    "packing_pallet": 1,
    "shipping": 2,
    "transformation": 3,
    "commissioning": 4,
    "receiving": 5,
    "customer_shipping": 6,
    "sensor": 7,
}


@dataclass
class Criteria:
    lot: str | None = None
    asn: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Record:
    """The records an export covers, by kind."""

    runs: set[uuid.UUID]  # production runs: their transformation and commissioning
    receipts: set[uuid.UUID]
    asns: set[uuid.UUID]
    shipments: set[uuid.UUID]
    bindings: set[uuid.UUID]
    uses: set[uuid.UUID] = field(default_factory=set)  # runs that consumed the lot: their transformation only

    def __and__(self, other: Record) -> Record:
        return Record(*(getattr(self, f) & getattr(other, f) for f in FIELDS))


FIELDS = ("runs", "receipts", "asns", "shipments", "bindings", "uses")


def export_document(
    uow,
    actor,
    *,
    lot: str | None = None,
    asn: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    as_query: bool = False,
) -> dict:
    """The EPCISDocument of the events chosen (see the module docstring), or with
    `as_query` the EPCISQueryDocument the EPCIS 2.0 REST binding answers `GET /events`
    with; checked against the schema before it leaves."""
    require(actor, "recall.run")
    criteria = _checked(lot, asn, since, until)
    events = Exporter(uow).events(criteria)
    document = query_envelope(events) if as_query else envelope(events)
    schema.check(document)  # ours must always pass: a failure here is a bug, not bad input
    return document


def envelope(events: list[dict]) -> dict:
    return {
        "@context": [schema.CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": schema.SCHEMA_VERSION,
        "creationDate": stamp(utcnow()),
        "epcisBody": {"eventList": events},
    }


def query_envelope(events: list[dict]) -> dict:
    return {
        "@context": [schema.CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": schema.SCHEMA_VERSION,
        "creationDate": stamp(utcnow()),
        "epcisBody": {"queryResults": {"queryName": QUERY_NAME, "resultsBody": {"eventList": events}}},
    }


def _checked(lot, asn, since, until) -> Criteria:
    errors: dict[str, str] = {}
    lot = lot.strip() if isinstance(lot, str) and lot.strip() else None
    asn = asn.strip() if isinstance(asn, str) and asn.strip() else None
    if lot is not None and len(lot) > LOT_MAX:
        errors["lot"] = N_("This is too long.")
    if since is not None and until is not None and until < since:
        errors["until"] = BAD_PERIOD
    if lot is None and asn is None and since is None and until is None:
        errors["lot"] = NO_CRITERIA
    if errors:
        raise ValidationFailed(errors=errors)
    return Criteria(lot=lot, asn=asn, since=_utc(since), until=_utc(until))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stamp(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def number(value: Decimal) -> int | float:
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


class Exporter:
    def __init__(self, uow) -> None:
        self.uow = uow
        self.tenant_id = uow.tenant_id
        slug = uow.scalar(sa.select(Tenant.slug).where(Tenant.id == uow.tenant_id))
        self.names = Namer(slug or str(uow.tenant_id))
        self._items: dict[uuid.UUID, Item] = {}
        self._lots: dict[uuid.UUID, Lot] = {}

    # -- which records ---------------------------------------------------------------------

    def events(self, criteria: Criteria) -> list[dict]:
        chosen: Record | None = None
        if criteria.lot is not None:
            chosen = self._of_lot(criteria.lot)
        if criteria.asn is not None:
            of_asn = self._of_asn(criteria.asn)
            chosen = of_asn if chosen is None else chosen & of_asn
        if chosen is None:
            chosen = self._in_period(criteria.since, criteria.until)
        events = [
            *self._runs(chosen.runs | chosen.uses, commissioned=chosen.runs),
            *self._asns(chosen.asns),
            *self._receipts(chosen.receipts),
            *self._shipments(chosen.shipments),
            *self._sensors(chosen.bindings, criteria.since, criteria.until),
        ]
        events = [
            (when, rank, event)
            for when, rank, event in events
            if (criteria.since is None or when >= criteria.since) and (criteria.until is None or when < criteria.until)
        ]
        events.sort(key=lambda e: (e[0], e[1], e[2]["eventID"]))
        return [event for _, _, event in events]

    def _ids(self, statement) -> set[uuid.UUID]:
        return set(self.uow.session.scalars(statement))

    def _of_lot(self, number_: str) -> Record:
        lot_ids = list(self._ids(sa.select(Lot.id).where(Lot.number == number_)))
        if not lot_ids:
            return Record(set(), set(), set(), set(), set())
        asns = self._ids(
            sa.select(AsnLine.asn_id)
            .join(Asn, Asn.id == AsnLine.asn_id)
            .where(AsnLine.lot_id.in_(lot_ids), Asn.status.in_(list(LIVE)))
        )
        return Record(
            runs=self._ids(sa.select(ProductionRun.id).where(ProductionRun.lot_id.in_(lot_ids))),
            uses=self._ids(sa.select(GenealogyLink.production_run_id).where(GenealogyLink.input_lot_id.in_(lot_ids))),
            receipts=self._ids(sa.select(ReceiptLine.receipt_id).where(ReceiptLine.lot_id.in_(lot_ids))),
            asns=asns,
            shipments=self._ids(sa.select(CustomerShipmentLine.shipment_id).where(CustomerShipmentLine.lot_id.in_(lot_ids))),
            bindings=self._ids(sa.select(LoggerBinding.id).where(LoggerBinding.kind == "lot", LoggerBinding.lot_id.in_(lot_ids)))
            | self._bindings_of_asns(asns),
        )

    def _of_asn(self, asn_number: str) -> Record:
        asn_id = self.uow.scalar(sa.select(Asn.id).where(Asn.number == asn_number, Asn.status.in_(list(LIVE))))
        if asn_id is None:
            raise AsnNotFound()
        return Record(
            runs=set(),
            receipts=self._ids(sa.select(Receipt.id).where(Receipt.asn_id == asn_id)),
            asns={asn_id},
            shipments=set(),
            bindings=self._bindings_of_asns({asn_id}),
        )

    def _bindings_of_asns(self, asn_ids: set[uuid.UUID]) -> set[uuid.UUID]:
        if not asn_ids:
            return set()
        packages = sa.select(AsnPackage.id).where(AsnPackage.asn_id.in_(list(asn_ids)))
        return self._ids(
            sa.select(LoggerBinding.id).where(
                sa.or_(
                    sa.and_(LoggerBinding.kind == "asn", LoggerBinding.asn_id.in_(list(asn_ids))),
                    sa.and_(LoggerBinding.kind == "package", LoggerBinding.package_id.in_(packages)),
                )
            )
        )

    def _in_period(self, since: datetime | None, until: datetime | None) -> Record:
        def within(column):
            return sa.and_(column >= since if since else sa.true(), column < until if until else sa.true())

        asn_time = sa.func.coalesce(Asn.submitted_at, sa.cast(Asn.ship_date, sa.DateTime(timezone=True)))
        return Record(
            runs=self._ids(sa.select(ProductionRun.id).where(within(ProductionRun.produced_at))),
            receipts=self._ids(sa.select(Receipt.id).where(within(Receipt.created_at))),
            asns=self._ids(sa.select(Asn.id).where(Asn.status.in_(list(LIVE)), within(asn_time))),
            shipments=self._ids(sa.select(CustomerShipment.id).where(within(CustomerShipment.shipped_at))),
            bindings=self._ids(
                sa.select(LoggerBinding.id).where(
                    LoggerBinding.kind != "location",
                    LoggerBinding.starts_at < until if until else sa.true(),
                    sa.or_(LoggerBinding.ends_at.is_(None), LoggerBinding.ends_at > since) if since else sa.true(),
                )
            ),
        )

    # -- naming ------------------------------------------------------------------------------

    def _load(self, item_ids=(), lot_ids=()) -> None:
        missing_items = {i for i in item_ids if i and i not in self._items}
        self._items.update(inventory.items_by_id(self.uow, ids=missing_items))
        missing_lots = {i for i in lot_ids if i and i not in self._lots}
        self._lots.update(inventory.lots_by_id(self.uow, ids=missing_lots))

    def _gtin(self, item: Item) -> str | None:
        return item.udi_di if item.issuing_agency == "GS1" and item.udi_di else None

    def unit(self, item_id, serial: str) -> str:
        item = self._items[item_id]
        return self.names.unit(self._gtin(item), item.part_number, serial)

    def lot_class(self, item_id, lot_id, lot_text: str | None = None) -> str:
        item = self._items[item_id]
        lot = self._lots[lot_id].number if lot_id else lot_text
        return self.names.lot_class(self._gtin(item), item.part_number, lot)

    def quantities(self, amounts: dict[tuple, Decimal]) -> list[dict]:
        """quantityList entries from {(item_id, lot_id, lot text): quantity}."""
        out = []
        for (item_id, lot_id, lot_text), amount in amounts.items():
            entry = {"epcClass": self.lot_class(item_id, lot_id, lot_text), "quantity": number(amount)}
            uom = UOM.get(self._items[item_id].uom)
            if uom:
                entry["uom"] = uom
            out.append(entry)
        return sorted(out, key=lambda e: e["epcClass"])

    def event_id(self, kind: str, record_id, part: str | None = None) -> str:
        name = f"{self.tenant_id}/{kind}/{record_id}" + (f"/{part}" if part else "")
        return f"urn:uuid:{uuid.uuid5(EVENT_NAMESPACE, name)}"

    def base(self, kind: str, event_type: str, when: datetime, record_id, part: str | None = None) -> dict:
        return {
            "type": event_type,
            "eventTime": stamp(when),
            "eventTimeZoneOffset": OFFSET,
            "eventID": self.event_id(kind, record_id, part),
        }

    def _parties(self, org_ids) -> dict[uuid.UUID, str]:
        orgs = tenants.organisations_by_id(self.uow, ids={i for i in org_ids if i})
        return {org_id: self.names.urn("supplier", org.code) for org_id, org in orgs.items()}

    def _locations(self, location_ids) -> dict[uuid.UUID, str]:
        found = inventory.locations_by_id(self.uow, ids=location_ids)
        return {loc_id: self.names.urn("location", loc.code) for loc_id, loc in found.items()}

    # -- production ----------------------------------------------------------------------------

    def _runs(self, run_ids: set[uuid.UUID], *, commissioned: set[uuid.UUID]):
        if not run_ids:
            return
        runs = list(self.uow.session.scalars(sa.select(ProductionRun).where(ProductionRun.id.in_(list(run_ids)))))
        links = defaultdict(list)
        for link in self.uow.session.scalars(
            sa.select(GenealogyLink).where(GenealogyLink.production_run_id.in_(list(run_ids))).order_by(GenealogyLink.id)
        ):
            links[link.production_run_id].append(link)
        self._load(
            item_ids={r.item_id for r in runs} | {li.input_item_id for ls in links.values() for li in ls},
            lot_ids={r.lot_id for r in runs} | {li.input_lot_id for ls in links.values() for li in ls},
        )
        places = self._locations({r.location_id for r in runs})
        serials = self._output_serials(runs, links)
        for run in runs:
            lot = self._lots[run.lot_id]
            outputs = sorted({self.unit(run.item_id, s) for s in serials.get(run.id, ())})
            output_field = (
                {"outputEPCList": outputs}
                if outputs
                else {"outputQuantityList": self.quantities({(run.item_id, run.lot_id, None): run.quantity})}
            )
            common = {
                **({"readPoint": {"id": places[run.location_id]}} if run.location_id in places else {}),
                "bizTransactionList": [{"type": "prodorder", "bizTransaction": self.names.urn("prodorder", run.reference)}],
            }
            ilmd = {"cbvmda:lotNumber": lot.number}
            if lot.expiry_date:
                ilmd["cbvmda:itemExpirationDate"] = lot.expiry_date.isoformat()
            inputs_units = sorted({self.unit(li.input_item_id, li.input_serial) for li in links[run.id] if li.input_serial})
            amounts: dict[tuple, Decimal] = defaultdict(Decimal)
            for li in links[run.id]:
                if not li.input_serial:
                    amounts[(li.input_item_id, li.input_lot_id, None)] += li.quantity
            if inputs_units or amounts:
                event = self.base("transformation", "TransformationEvent", run.produced_at, run.id)
                if inputs_units:
                    event["inputEPCList"] = inputs_units
                if amounts:
                    event["inputQuantityList"] = self.quantities(amounts)
                event |= output_field | {"bizStep": "assembling", "disposition": "active"} | common | {"ilmd": ilmd}
                yield run.produced_at, RANK["transformation"], event
            if run.id not in commissioned:
                continue
            made = self.base("commissioning", "ObjectEvent", run.produced_at, run.id)
            made |= (
                ({"epcList": outputs} if outputs else {"quantityList": output_field["outputQuantityList"]})
                | {"action": "ADD", "bizStep": "commissioning", "disposition": "active"}
                | common
                | {"ilmd": ilmd}
            )
            yield run.produced_at, RANK["commissioning"], made

    def _output_serials(self, runs, links) -> dict[uuid.UUID, set[str]]:
        """The finished serials of each run: those its stock movements made, else those its
        genealogy names, else (a lot made by this run alone) the lot's serialised stock."""
        out: dict[uuid.UUID, set[str]] = defaultdict(set)
        ids = [r.id for r in runs]
        for run_id, serial in self.uow.execute(
            sa.select(StockMovement.reference_id, StockMovement.serial).where(
                StockMovement.reference_kind == "production_run",
                StockMovement.reference_id.in_(ids),
                StockMovement.kind == "produce",
                StockMovement.serial.is_not(None),
            )
        ).all():
            out[run_id].add(serial)
        runs_per_lot = defaultdict(int)
        for lot_id, count in self.uow.execute(
            sa.select(ProductionRun.lot_id, sa.func.count())
            .where(ProductionRun.lot_id.in_([r.lot_id for r in runs]))
            .group_by(ProductionRun.lot_id)
        ).all():
            runs_per_lot[lot_id] = count
        for run in runs:
            if out.get(run.id):
                continue
            named = {li.output_serial for li in links[run.id] if li.output_serial}
            if named:
                out[run.id] = named
            elif runs_per_lot[run.lot_id] == 1:
                found = self.uow.session.scalars(
                    sa.select(Stock.serial).where(Stock.lot_id == run.lot_id, Stock.serial.is_not(None))
                )
                out[run.id] = set(found)
        return out

    # -- ship notices ----------------------------------------------------------------------------

    def _asns(self, asn_ids: set[uuid.UUID]):
        if not asn_ids:
            return
        ids = list(asn_ids)
        asns = list(self.uow.session.scalars(sa.select(Asn).where(Asn.id.in_(ids))))
        packages = list(
            self.uow.session.scalars(sa.select(AsnPackage).where(AsnPackage.asn_id.in_(ids)).order_by(AsnPackage.seq))
        )
        lines = list(self.uow.session.scalars(sa.select(AsnLine).where(AsnLine.asn_id.in_(ids)).order_by(AsnLine.line_no)))
        serials = defaultdict(list)
        for row in self.uow.session.scalars(sa.select(AsnSerial).where(AsnSerial.asn_id.in_(ids)).order_by(AsnSerial.serial)):
            serials[row.asn_line_id].append(row.serial)
        po_numbers = dict(
            self.uow.execute(
                sa.select(PurchaseOrder.id, PurchaseOrder.number).where(
                    PurchaseOrder.id.in_({li.purchase_order_id for li in lines})
                )
            ).all()
        )
        self._load(item_ids={li.item_id for li in lines}, lot_ids={li.lot_id for li in lines})
        parties = self._parties({a.supplier_id for a in asns})
        for asn in asns:
            when = asn.submitted_at or datetime.combine(asn.ship_date, time(), UTC)
            mine = [p for p in packages if p.asn_id == asn.id]
            my_lines = [li for li in lines if li.asn_id == asn.id]
            transactions = [{"type": "desadv", "bizTransaction": self.names.urn("desadv", asn.number)}] + [
                {"type": "po", "bizTransaction": self.names.urn("po", po_numbers[po_id])}
                for po_id in sorted({li.purchase_order_id for li in my_lines}, key=lambda i: po_numbers.get(i, ""))
                if po_id in po_numbers
            ]
            source = [{"type": "owning_party", "source": parties[asn.supplier_id]}] if asn.supplier_id in parties else []
            ship_from = {"readPoint": {"id": self.names.urn("site", asn.ship_from_site_id)}} if asn.ship_from_site_id else {}
            by_id = {p.id: p for p in mine}
            for package in mine:
                children = sorted(sscc_uri(p.sscc) for p in mine if p.parent_id == package.id)
                inside = [li for li in my_lines if li.package_id == package.id]
                epcs, amounts = self._contents(inside, serials)
                if not children and not epcs and not amounts:
                    continue
                event = self.base("packing", "AggregationEvent", when, package.id)
                event["parentID"] = sscc_uri(package.sscc)
                if children or epcs:
                    event["childEPCs"] = children + epcs
                if amounts:
                    event["childQuantityList"] = self.quantities(amounts)
                event |= {"action": "ADD", "bizStep": "packing", "disposition": "in_progress"} | ship_from
                event["bizTransactionList"] = transactions
                yield when, RANK["packing_case" if package.level == "case" else "packing_pallet"], event
            loose = [li for li in my_lines if li.package_id is None or li.package_id not in by_id]
            epcs, amounts = self._contents(loose, serials)
            top = sorted(sscc_uri(p.sscc) for p in mine if p.parent_id is None)
            event = self.base("shipping", "ObjectEvent", when, asn.id)
            event["epcList"] = top + epcs
            if amounts:
                event["quantityList"] = self.quantities(amounts)
            event |= {"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit"} | ship_from
            event["bizTransactionList"] = transactions
            if source:
                event["sourceList"] = source
            event["destinationList"] = [{"type": "location", "destination": self.names.urn("site", asn.ship_to_site_id)}]
            yield when, RANK["shipping"], event

    def _contents(self, lines, serials) -> tuple[list[str], dict[tuple, Decimal]]:
        epcs: list[str] = []
        amounts: dict[tuple, Decimal] = defaultdict(Decimal)
        for li in lines:
            if serials.get(li.id):
                epcs.extend(self.unit(li.item_id, s) for s in serials[li.id])
            else:
                amounts[(li.item_id, li.lot_id, li.lot)] += li.quantity
        return sorted(set(epcs)), amounts

    # -- receipts ------------------------------------------------------------------------------------

    def _receipts(self, receipt_ids: set[uuid.UUID]):
        if not receipt_ids:
            return
        ids = list(receipt_ids)
        receipts = list(self.uow.session.scalars(sa.select(Receipt).where(Receipt.id.in_(ids))))
        lines = defaultdict(list)
        for line in self.uow.session.scalars(
            sa.select(ReceiptLine).where(ReceiptLine.receipt_id.in_(ids)).order_by(ReceiptLine.id)
        ):
            lines[line.receipt_id].append(line)
        self._load(
            item_ids={li.item_id for ls in lines.values() for li in ls}, lot_ids={li.lot_id for ls in lines.values() for li in ls}
        )
        places = self._locations({r.location_id for r in receipts})
        parties = self._parties({r.supplier_id for r in receipts})
        asn_numbers = dict(
            self.uow.execute(sa.select(Asn.id, Asn.number).where(Asn.id.in_({r.asn_id for r in receipts if r.asn_id}))).all()
        )
        for receipt in receipts:
            if not lines[receipt.id]:
                continue
            when = receipt.created_at
            epcs = sorted({self.unit(li.item_id, li.serial) for li in lines[receipt.id] if li.serial})
            amounts: dict[tuple, Decimal] = defaultdict(Decimal)
            for li in lines[receipt.id]:
                if not li.serial:
                    amounts[(li.item_id, li.lot_id, None)] += li.quantity
            event = self.base("receiving", "ObjectEvent", when, receipt.id)
            if epcs or not amounts:
                event["epcList"] = epcs
            if amounts:
                event["quantityList"] = self.quantities(amounts)
            event |= {"action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress"}
            if receipt.location_id in places:
                event["readPoint"] = {"id": places[receipt.location_id]}
            if receipt.site_id:
                event["bizLocation"] = {"id": self.names.urn("site", receipt.site_id)}
            transactions = [{"type": "recadv", "bizTransaction": self.names.urn("recadv", receipt.number)}]
            if receipt.asn_id in asn_numbers:
                transactions.append({"type": "desadv", "bizTransaction": self.names.urn("desadv", asn_numbers[receipt.asn_id])})
            event["bizTransactionList"] = transactions
            if receipt.supplier_id in parties:
                event["sourceList"] = [{"type": "owning_party", "source": parties[receipt.supplier_id]}]
            yield when, RANK["receiving"], event

    # -- customer shipments -------------------------------------------------------------------------

    def _shipments(self, shipment_ids: set[uuid.UUID]):
        if not shipment_ids:
            return
        ids = list(shipment_ids)
        shipments = list(self.uow.session.scalars(sa.select(CustomerShipment).where(CustomerShipment.id.in_(ids))))
        lines = defaultdict(list)
        for line in self.uow.session.scalars(
            sa.select(CustomerShipmentLine).where(CustomerShipmentLine.shipment_id.in_(ids)).order_by(CustomerShipmentLine.id)
        ):
            lines[line.shipment_id].append(line)
        self._load(
            item_ids={li.item_id for ls in lines.values() for li in ls}, lot_ids={li.lot_id for ls in lines.values() for li in ls}
        )
        customers = {
            c.id: c
            for c in self.uow.session.scalars(sa.select(Customer).where(Customer.id.in_({s.customer_id for s in shipments})))
        }
        for shipment in shipments:
            if not lines[shipment.id]:
                continue
            epcs = sorted({self.unit(li.item_id, li.serial) for li in lines[shipment.id] if li.serial})
            amounts: dict[tuple, Decimal] = defaultdict(Decimal)
            for li in lines[shipment.id]:
                if not li.serial:
                    amounts[(li.item_id, li.lot_id, None)] += li.quantity
            event = self.base("customer_shipment", "ObjectEvent", shipment.shipped_at, shipment.id)
            if epcs or not amounts:
                event["epcList"] = epcs
            if amounts:
                event["quantityList"] = self.quantities(amounts)
            event |= {"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit"}
            event["bizTransactionList"] = [{"type": "desadv", "bizTransaction": self.names.urn("delivery", shipment.reference)}]
            event["sourceList"] = [{"type": "owning_party", "source": self.names.urn("party")}]
            customer = customers.get(shipment.customer_id)
            if customer is not None:
                event["destinationList"] = [{"type": "owning_party", "destination": self.names.urn("customer", customer.code)}]
            yield shipment.shipped_at, RANK["customer_shipping"], event

    # -- cold chain ----------------------------------------------------------------------------------

    def _sensors(self, binding_ids: set[uuid.UUID], since: datetime | None, until: datetime | None):
        if not binding_ids:
            return
        bindings = list(
            self.uow.session.scalars(
                sa.select(LoggerBinding).where(LoggerBinding.id.in_(list(binding_ids)), LoggerBinding.kind != "location")
            )
        )
        loggers = {
            row.id: row
            for row in self.uow.session.scalars(sa.select(DataLogger).where(DataLogger.id.in_({b.logger_id for b in bindings})))
        }
        packages = {
            p.id: p
            for p in self.uow.session.scalars(
                sa.select(AsnPackage).where(
                    sa.or_(
                        AsnPackage.asn_id.in_({b.asn_id for b in bindings if b.asn_id}),
                        AsnPackage.id.in_({b.package_id for b in bindings if b.package_id}),
                    )
                )
            )
        }
        lots = inventory.lots_by_id(self.uow, ids={b.lot_id for b in bindings if b.lot_id})
        self._load(item_ids={lot.item_id for lot in lots.values()}, lot_ids=set(lots))
        for binding in bindings:
            watched = self._watched(binding, packages)
            if watched is None:
                continue
            logger = loggers[binding.logger_id]
            readings = self.uow.execute(
                sa.select(Reading.recorded_at, Reading.temperature, Reading.humidity)
                .where(
                    Reading.logger_id == binding.logger_id,
                    Reading.recorded_at >= max(binding.starts_at, since) if since else Reading.recorded_at >= binding.starts_at,
                    Reading.recorded_at < binding.ends_at if binding.ends_at else sa.true(),
                    Reading.recorded_at < until if until else sa.true(),
                )
                .order_by(Reading.recorded_at)
            ).all()
            days: dict[date, list] = defaultdict(list)
            for row in readings:
                days[row.recorded_at.astimezone(UTC).date()].append(row)
            for day, rows in sorted(days.items()):
                when = rows[-1].recorded_at
                event = self.base("sensor", "ObjectEvent", when, binding.id, day.isoformat())
                event |= watched | {"action": "OBSERVE", "bizStep": "sensor_reporting"}
                event["sensorElementList"] = [
                    {
                        "sensorMetadata": {
                            "deviceID": self.names.urn("logger", logger.code),
                            "startTime": stamp(rows[0].recorded_at),
                            "endTime": stamp(rows[-1].recorded_at),
                        },
                        "sensorReport": reports(rows),
                    }
                ]
                yield when, RANK["sensor"], event

    def _watched(self, binding: LoggerBinding, packages: dict) -> dict | None:
        """What the logger watched, as the event's objects."""
        if binding.kind == "asn":
            top = sorted(sscc_uri(p.sscc) for p in packages.values() if p.asn_id == binding.asn_id and p.parent_id is None)
            if top:
                return {"epcList": top}
            asn_number = self.uow.scalar(sa.select(Asn.number).where(Asn.id == binding.asn_id))
            return {
                "epcList": [],
                "bizTransactionList": [{"type": "desadv", "bizTransaction": self.names.urn("desadv", asn_number)}],
            }
        if binding.kind == "package" and binding.package_id in packages:
            return {"epcList": [sscc_uri(packages[binding.package_id].sscc)]}
        if binding.kind == "lot" and binding.lot_id in self._lots:
            lot = self._lots[binding.lot_id]
            return {"quantityList": [{"epcClass": self.lot_class(lot.item_id, lot.id)}]}
        return None


def reports(rows) -> list[dict]:
    """sensorReport entries: one per reading and measurement, or past RAW_LIMIT readings,
    per hour and measurement the min, max and mean (time = the start of the hour)."""
    out: list[dict] = []
    if len(rows) <= RAW_LIMIT:
        for row in rows:
            for column, kind, uom in MEASURES:
                value = getattr(row, column)
                if value is not None:
                    out.append({"type": kind, "value": number(value), "uom": uom, "time": stamp(row.recorded_at)})
        return out
    hours: dict[datetime, list] = defaultdict(list)
    for row in rows:
        at = row.recorded_at.astimezone(UTC)
        hours[at.replace(minute=0, second=0, microsecond=0)].append(row)
    for hour, group in sorted(hours.items()):
        for column, kind, uom in MEASURES:
            values = [Decimal(getattr(r, column)) for r in group if getattr(r, column) is not None]
            if values:
                mean = (sum(values) / len(values)).quantize(Decimal("0.01"))
                out.append(
                    {
                        "type": kind,
                        "time": stamp(hour),
                        "minValue": number(min(values)),
                        "maxValue": number(max(values)),
                        "meanValue": number(mean),
                        "uom": uom,
                    }
                )
    return out
