"""Ship notices (ASNs) over the API: the supplier creates a draft (from JSON or a CSV/XLSX
file), changes, submits and cancels it; both sides read them (row-level security keeps a
supplier to its own). Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext

from erp.shipping import imports
from erp.shipping import service as asns
from erp.shipping.errors import AsnNotFound
from erp.shipping.models import STATUSES
from erp.shipping.schemas import (
    AsnDetailOut,
    AsnDraftOut,
    AsnIn,
    AsnList,
    AsnOut,
    AsnQuery,
    AsnUpdate,
    CancelIn,
    FromOrdersIn,
    SubmitIn,
    WarningOut,
)
from kernel.errors import N_, ValidationFailed
from portal.api.idempotency import idempotent
from portal.api.openapi import operation
from portal.api.parsing import json_body, query
from portal.api.views import _principal, blueprint
from portal.shell import api_identity, permission_required, request_uow

READERS = ("asn.view", "asn.submit")
STALE = "A changed ship notice (another `version` than the one sent) is refused with 409."
RULES = (
    "Every rule is checked at once; a refusal (422) lists each problem under its field, "
    "such as lines.3.serials.1 or packages.0.sscc."
)
HEADER_FIELDS = (
    "ship_to_site_id", "ship_from_site_id", "carrier", "tracking_number", "seal_number", "ship_date", "expected_arrival"
)
NO_FILE = N_("Choose a CSV or XLSX file to import.")
IMPORT_FORM = {
    "type": "object",
    "required": ["file", "ship_to_site_id", "ship_date", "expected_arrival"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "CSV (UTF-8 or GB18030) or XLSX"},
        "ship_to_site_id": {"type": "string", "format": "uuid"},
        "ship_from_site_id": {"type": "string", "format": "uuid"},
        "carrier": {"type": "string"},
        "tracking_number": {"type": "string"},
        "seal_number": {"type": "string", "maxLength": 40, "description": "Letters, digits and dashes"},
        "ship_date": {"type": "string", "format": "date"},
        "expected_arrival": {"type": "string", "format": "date"},
    },
}


def _detail(asn_id, warnings=()) -> dict:
    actor = api_identity().actor
    found = asns.get_asn(request_uow(), actor, asn_id=asn_id)
    if found.asn.status == "draft" and actor.supplier_id is None:
        raise AsnNotFound()  # a supplier's draft is its own until submitted (as on the pages)
    notes = [WarningOut(field=w.field, message=gettext(w.message, **w.params)) for w in warnings]
    return AsnDetailOut.of(found, notes).model_dump(mode="json")


@blueprint.get("/asns")
@operation(
    summary="Ship notices by expected arrival",
    tags=("shipping",),
    query=AsnQuery,
    description="Supplier users see only their own company's ship notices; the buyer side sees none in draft.",
    responses={200: AsnList, 401: None, 403: None, 422: None},
)
@permission_required(*READERS)
def asn_list():
    identity = api_identity()
    params = query(AsnQuery)
    statuses = tuple(s.strip() for s in params.status.split(",") if s.strip()) if params.status else STATUSES
    if identity.actor.supplier_id is None:
        statuses = tuple(s for s in statuses if s != "draft")  # the buyer side sees what was sent
    found = asns.list_asns(request_uow(), identity.actor, statuses=statuses, limit=params.limit)
    return jsonify(AsnList(items=[AsnOut.of(a) for a in found]).model_dump(mode="json"))


@blueprint.post("/asns")
@operation(
    summary="Create a draft ship notice: packages (SSCC), lines of PO lines with lots, dates and serials",
    tags=("shipping",),
    body=AsnIn,
    idempotent=True,
    description=RULES,
    responses={201: AsnDetailOut, 401: None, 403: None, 422: None},
)
@permission_required("asn.submit")
def create_asn():
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(AsnIn)
        saved = asns.save_asn(request_uow(), identity.actor, data=data.data())
        return 201, _detail(saved.asn.id, saved.warnings)

    return idempotent(_principal(identity), create)


@blueprint.post("/asns/import")
@operation(
    summary="Create a draft ship notice from a CSV or XLSX file, one row per unit or lot quantity",
    tags=("shipping",),
    description=(
        "Multipart form: `file` and the header fields. Columns: po_number, po_line, sscc, level, parent_sscc, "
        "quantity, lot, production_date, expiry_date, serial, gtin, gs1 (a GS1 element string instead of gtin, "
        "lot, dates and serial). All rows or none: a refusal (422) lists every bad row under rows.<row>.<column>."
    ),
    responses={201: AsnDetailOut, 401: None, 403: None, 422: None},
    extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": IMPORT_FORM}}}},
)
@permission_required("asn.submit")
def import_asn():
    identity = api_identity()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(errors={"file": NO_FILE})
    header = {key: request.form.get(key) or None for key in HEADER_FIELDS}
    saved = imports.asn_from_file(
        request_uow(), identity.actor, content=upload.read(), filename=upload.filename, header=header
    )
    return jsonify(_detail(saved.asn.id, saved.warnings)), 201


@blueprint.post("/asns/from-purchase-orders")
@operation(
    summary='"Ship everything open": the lines left to ship of the orders, as input for a ship notice',
    tags=("shipping",),
    body=FromOrdersIn,
    description="Each accepted line with its quantity less what live ship notices carry. Nothing is saved.",
    responses={200: AsnDraftOut, 401: None, 403: None, 422: None},
)
@permission_required("asn.submit")
def asn_from_purchase_orders():
    identity = api_identity()
    data = json_body(FromOrdersIn)
    offered = asns.ship_everything_open(request_uow(), identity.actor, po_ids=data.po_ids)
    return jsonify(AsnDraftOut.model_validate(offered).model_dump(mode="json"))


@blueprint.get("/asns/<uuid:asn_id>")
@operation(
    summary="One ship notice with its packages, lines, serials, UDI-DIs and order numbers",
    tags=("shipping",),
    description="A ship notice of another tenant, of another supplier for a supplier, or a draft for the buyer side "
    "is not found.",
    responses={200: AsnDetailOut, 401: None, 403: None, 404: None},
)
@permission_required(*READERS)
def asn(asn_id):
    return jsonify(_detail(asn_id))


@blueprint.put("/asns/<uuid:asn_id>")
@operation(
    summary="Replace a ship notice's content",
    tags=("shipping",),
    body=AsnUpdate,
    description="After submit, a change needs a `reason` and makes a new revision (the old content is kept). "
    + RULES + " " + STALE,
    responses={200: AsnDetailOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("asn.submit")
def update_asn(asn_id):
    identity = api_identity()
    data = json_body(AsnUpdate)
    saved = asns.save_asn(
        request_uow(), identity.actor, data=data.data(), asn_id=asn_id, version=data.version, reason=data.reason
    )
    return jsonify(_detail(saved.asn.id, saved.warnings))


@blueprint.post("/asns/<uuid:asn_id>/submit")
@operation(
    summary="Submit a draft ship notice to the customer",
    tags=("shipping",),
    body=SubmitIn,
    description="Checked again first. With warnings (a short shelf life) it is refused with 422 "
    "(asn-warnings) unless `acknowledge_warnings` is true. " + STALE,
    responses={200: AsnDetailOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("asn.submit")
def submit_asn(asn_id):
    identity = api_identity()
    data = json_body(SubmitIn)
    saved = asns.submit_asn(
        request_uow(), identity.actor, asn_id=asn_id, version=data.version, acknowledge_warnings=data.acknowledge_warnings
    )
    return jsonify(_detail(saved.asn.id, saved.warnings))


@blueprint.post("/asns/<uuid:asn_id>/cancel")
@operation(
    summary="Cancel a ship notice not yet received; its serials and SSCCs are free again",
    tags=("shipping",),
    body=CancelIn,
    description=STALE,
    responses={200: AsnDetailOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("asn.submit")
def cancel_asn(asn_id):
    identity = api_identity()
    data = json_body(CancelIn)
    asns.cancel_asn(request_uow(), identity.actor, asn_id=asn_id, version=data.version, reason=data.reason)
    return jsonify(_detail(asn_id))
