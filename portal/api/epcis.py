"""EPCIS 2.0 over the API: the traceability events of a lot, a ship notice or a period as
JSON-LD (GET /epcis/events, answered as the EPCIS 2.0 REST binding answers its events
query: an EPCISQueryDocument), and the capture of a partner's EPCISDocument
(POST /epcis/capture). Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app, request
from flask_babel import gettext
from pydantic import BaseModel, Field

from erp.traceability.epcis import capture, export, schema
from kernel.clock import utcnow
from kernel.errors import N_
from portal.api.idempotency import idempotent
from portal.api.openapi import operation
from portal.api.parsing import query
from portal.api.views import _principal, blueprint
from portal.shell import api_identity, permission_required, request_uow

LD_JSON = "application/ld+json"
NOT_JSON = N_("Send an EPCISDocument as JSON (application/json or application/ld+json).")
DOCUMENT_SCHEMA = {
    "type": "object",
    "description": "An EPCIS 2.0 EPCISDocument (JSON-LD), valid against GS1's EPCIS 2.0 JSON schema",
}


class EventsQuery(BaseModel):
    lot: str | None = Field(None, max_length=20, description="A lot number (every item's lot of that number)")
    asn: str | None = Field(None, max_length=30, description="A ship notice number")
    since: datetime | date | None = Field(None, description="Events at or after (a date is its start, UTC)")
    until: datetime | date | None = Field(None, description="Events before (a date is its start, UTC)")


class MappedOut(BaseModel):
    event_id: str
    event_type: str
    target: str = Field(description="production_run, customer_shipment or readings")
    record_id: uuid.UUID | None


class NotMappedOut(BaseModel):
    event_id: str
    event_type: str
    target: str
    reason: str = Field(description="Why it was not recorded, in the caller's language")
    errors: dict[str, str] = Field(default_factory=dict, description="The record's own field problems, if any")


class CaptureOut(BaseModel):
    capture_id: uuid.UUID
    received: int = Field(description="Events in the document")
    stored: int = Field(description="Events new to this organisation, stored now")
    already_known: int = Field(description="Events stored before (same eventID): nothing done again")
    mapped: list[MappedOut]
    not_mapped: list[NotMappedOut]

    @classmethod
    def of(cls, summary: capture.CaptureSummary) -> CaptureOut:
        return cls(
            capture_id=summary.capture_id,
            received=summary.received,
            stored=summary.stored,
            already_known=summary.known,
            mapped=[
                MappedOut(event_id=o.event_id, event_type=o.event_type, target=o.target, record_id=o.record_id)
                for o in summary.mapped
            ],
            not_mapped=[
                NotMappedOut(
                    event_id=o.event_id,
                    event_type=o.event_type,
                    target=o.target,
                    reason=_text(o.reason, o.params),
                    errors={k: _text(v, o.error_params.get(k) or o.params) for k, v in o.errors.items()},
                )
                for o in summary.not_mapped
            ],
        )


def _text(message: str, params: dict | None) -> str:
    return gettext(message, **params) if params and "%(" in message else gettext(message)


def _moment(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), UTC)


DEFAULT_DAYS = 30  # what a query with no criteria returns


@blueprint.get("/epcis/events")
@operation(
    summary="EPCIS 2.0 events of a lot, a ship notice or a period, as an EPCISQueryDocument (JSON-LD)",
    tags=("traceability",),
    query=EventsQuery,
    description=(
        "Give any of lot, asn, since, until; together they narrow. With none, the last 30 days. "
        "Answered with content type application/ld+json: "
        "packing (AggregationEvent), shipping, receiving and commissioning (ObjectEvent), production "
        "(TransformationEvent) and cold-chain readings (ObjectEvent sensor_reporting with sensorElementList), "
        "valid against GS1's EPCIS 2.0 JSON schema. eventIDs are stable: the same record always has the same ID."
    ),
    responses={200: None, 401: None, 403: None, 404: None, 422: None},
)
@permission_required("recall.run")
def epcis_events():
    identity = api_identity()
    params = query(EventsQuery)
    since = _moment(params.since)
    if not (params.lot or params.asn or since or params.until):
        since = utcnow() - timedelta(days=DEFAULT_DAYS)
    document = export.export_document(
        request_uow(),
        identity.actor,
        lot=params.lot,
        asn=params.asn,
        since=since,
        until=_moment(params.until),
        as_query=True,
    )
    return current_app.response_class(current_app.json.dumps(document), status=200, mimetype=LD_JSON)


@blueprint.post("/epcis/capture")
@operation(
    summary="Capture a partner's EPCIS 2.0 document: events stored, production, shipments and readings recorded",
    tags=("traceability",),
    idempotent=True,
    description=(
        "Body: an EPCISDocument (application/json or application/ld+json). A document that breaks GS1's EPCIS 2.0 "
        "JSON schema is refused with 400 (epcis-invalid), each problem under its place in the document, and nothing "
        "is saved. Events are kept by eventID: the same document again stores nothing new (200; 201 when something "
        "was stored). TransformationEvents become production runs, shipping to one of our customers a customer "
        "shipment, sensor reports readings of the logger; what cannot be recorded is stored and listed with why."
    ),
    responses={200: CaptureOut, 201: CaptureOut, 400: None, 401: None, 403: None},
    extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": DOCUMENT_SCHEMA}, LD_JSON: {"schema": DOCUMENT_SCHEMA}},
        }
    },
)
@permission_required("production.record")
def epcis_capture():
    identity = api_identity()

    def capture_it() -> tuple[int, dict]:
        document = request.get_json(silent=True)
        if document is None:
            raise schema.EpcisInvalid({schema.ROOT: NOT_JSON})
        summary = capture.capture_document(request_uow(), identity.actor, document=document)
        return (201 if summary.stored else 200), CaptureOut.of(summary).model_dump(mode="json")

    return idempotent(_principal(identity), capture_it)
