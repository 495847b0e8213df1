"""Receiving pages: the list of shipments to receive and open receipts, with a scan box
that starts (or rejoins) a receipt from an SSCC or an ASN number, and a form to start
one without a ship notice. One receipt's page is in receipts.py. Views translate HTTP
to erp.receiving's services."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.receiving import service
from kernel.errors import N_, DomainError, ValidationFailed
from portal.shell import permission_required, request_uow
from portal.shell.forms import PlainForm, uuid_or_none
from portal.shell.i18n import error_text, field_errors
from tenants import service as tenants

blueprint = Blueprint("receiving", __name__, template_folder="templates")

RESULT_LABELS = {"matched": N_("Matched"), "unexpected": N_("Unexpected"), "refused": N_("Refused")}
RECEIPT_STATUS_LABELS = {"open": N_("Open"), "closed": N_("Closed")}
DISCREPANCY_LABELS = {
    "short": N_("Short"),
    "over": N_("Over"),
    "damaged": N_("Damaged"),
    "unexpected_lot": N_("Unexpected lot"),
    "unknown_serial": N_("Unknown serial"),
    "missing_package": N_("Missing package"),
    "extra_package": N_("Extra package"),
}
LINE_STATE_LABELS = {"complete": N_("Complete"), "over": N_("Over"), "short": N_("Short"), "open": N_("Not yet")}


@blueprint.app_template_global()
def receipt_status_label(status: str) -> str:
    return gettext(RECEIPT_STATUS_LABELS[status]) if status in RECEIPT_STATUS_LABELS else status


@blueprint.app_template_global()
def discrepancy_label(kind: str) -> str:
    return gettext(DISCREPANCY_LABELS[kind]) if kind in DISCREPANCY_LABELS else kind


@blueprint.get("/receiving")
@permission_required("receipt.scan", side="buyer")
def index():
    return _index_page()


@blueprint.post("/receiving")
@permission_required("receipt.scan", side="buyer")
def start():
    """Start or rejoin a receipt: from the scan box (an SSCC or ASN number), a shipment's
    button (its id), or the form for a receipt without a ship notice (a site)."""
    if not PlainForm().validate_on_submit():
        abort(400)
    uow, actor = request_uow(), current_user.actor
    form = request.form
    try:
        if form.get("action") == "without_asn":
            receipt = service.start_receipt(
                uow, actor, site_id=uuid_or_none(form.get("site_id")), supplier_id=uuid_or_none(form.get("supplier_id"))
            )
        elif uuid_or_none(form.get("asn_id")):
            receipt = service.start_receipt(uow, actor, asn_id=uuid_or_none(form.get("asn_id")))
        else:
            receipt = service.start_from_code(uow, actor, text=form.get("code", ""))
    except ValidationFailed as error:
        uow.rollback()
        errors = field_errors(error) or {"code": error_text(error)}
        return _index_page(errors=errors, code=form.get("code", ""), status=error.status)
    except DomainError as error:
        uow.rollback()
        return _index_page(errors={"code": error_text(error)}, code=form.get("code", ""), status=error.status)
    return redirect(url_for("receiving.receipt", receipt_id=receipt.id), code=303)


def _index_page(*, errors: dict | None = None, code: str = "", status: int = 200):
    uow, actor = request_uow(), current_user.actor
    html = render_template(
        "receiving/index.html",
        incoming=service.incoming_asns(uow, actor),
        receipts=service.list_receipts(uow, actor),
        sites=tenants.own_sites(uow),
        suppliers=tenants.list_suppliers(uow),
        errors=errors or {},
        code=code,
    )
    return html, status
