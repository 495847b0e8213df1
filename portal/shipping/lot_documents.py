"""Certificates of conformance and analysis on the lots of a ship notice: the supplier
uploads them from the ASN's page, both sides download them there (erp.shipping.lot_documents)."""

from __future__ import annotations

import uuid

from flask import abort, redirect, request, url_for
from flask_login import current_user

from erp.shipping import lot_documents
from kernel.errors import N_, ValidationFailed
from portal.shell import notify, permission_required, request_uow
from portal.shell.files import download, vault
from portal.shell.forms import PlainForm
from portal.shell.i18n import error_text, field_errors
from portal.shell.uploads import allow_larger_body
from portal.shipping.asns import _detail_page
from portal.shipping.views import blueprint

# The vault checks the file's own limit while it reads.
allow_larger_body(blueprint, "shipping.attach_lot_document", lambda: vault().max_upload_bytes)


@blueprint.post("/asns/<uuid:asn_id>/lots/<uuid:lot_id>/documents")
@permission_required("asn.submit", side="supplier")
def attach_lot_document(asn_id: uuid.UUID, lot_id: uuid.UUID):
    if not PlainForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    uow = request_uow()
    try:
        lot_documents.attach(
            uow, current_user.actor, vault=vault(), asn_id=asn_id, lot_id=lot_id, kind=request.form.get("kind", ""),
            stream=upload.stream if upload and upload.filename else None, filename=upload.filename if upload else "",
        )
    except ValidationFailed as error:
        uow.rollback()
        message = " ".join(field_errors(error).values()) or error_text(error)
        return _detail_page(asn_id, lot_errors={lot_id: message}, status=error.status)
    notify(N_("The certificate is attached to the lot."))
    return redirect(url_for("shipping.asn", asn_id=asn_id, _anchor=f"lot-{lot_id}"), code=303)


@blueprint.get("/asns/<uuid:asn_id>/lots/<uuid:lot_id>/documents/<uuid:attachment_id>")
@permission_required("asn.view", "asn.submit")
def lot_document(asn_id: uuid.UUID, lot_id: uuid.UUID, attachment_id: uuid.UUID):
    file_id = lot_documents.document_file(
        request_uow(), current_user.actor, asn_id=asn_id, lot_id=lot_id, attachment_id=attachment_id
    )
    return download(file_id, as_attachment=True)
