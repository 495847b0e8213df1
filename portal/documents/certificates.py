"""Certificate pages.

Supplier side: what the company owes per site, its certificates, the upload form (also
for a new version of one: "renew"). Buyer side: the review queue, and the review with an
electronic signature beside the certificate's file. Both: a certificate's page and its
file, downloaded through Traceport (decrypted, hash-checked, recorded).
"""

from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from auth import signatures
from auth.errors import SignatureRefused
from documents import certificates
from documents.certificates import STATES
from erp.items import service as items
from erp.suppliers import compliance
from kernel.errors import N_, DomainError, ValidationFailed
from portal.documents.forms import ReviewForm, UploadForm, ids, parse_day
from portal.documents.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.files import download, vault
from portal.shell.forms import place_errors, uuid_or_none
from portal.shell.i18n import error_text, localized
from portal.shell.identity import can
from portal.shell.signatures import keep_refusal, signing_kwargs
from portal.shell.uploads import allow_larger_body
from tenants import service as tenants

TOO_LARGE = N_("The file is larger than %(megabytes)d MB. Upload a smaller file.")


# --- supplier side ----------------------------------------------------------------------


@blueprint.get("/supplier/certificates")
@permission_required("cert.upload", side="supplier")
def supplier_certificates():
    uow = request_uow()
    actor = current_user.actor
    standings = compliance.obligations(uow, actor, supplier_id=actor.supplier_id)
    return render_template(
        "documents/supplier_certificates.html",
        standings=standings,
        held=certificates.list_certificates(uow, actor),
        item_names=_item_names(uow, {o.item_id for s in standings for o in s.obligations}),
    )


# The upload may send more than the app's usual body limit; the vault checks the file's
# own limit while it reads.
allow_larger_body(blueprint, "documents.upload_certificate", lambda: vault().max_upload_bytes)


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    message = gettext(TOO_LARGE, megabytes=vault().max_upload_bytes // (1024 * 1024))
    if can("cert.upload") and current_user.is_supplier:
        return _upload_page(_upload_form(request_uow(), formdata=None), message, 413)
    abort(413)


@blueprint.route("/supplier/certificates/new", methods=["GET", "POST"])
@permission_required("cert.upload", side="supplier")
def upload_certificate():
    uow = request_uow()
    renews = uuid_or_none(request.values.get("renews"))
    previous = certificates.get(uow, current_user.actor, certificate_id=renews) if renews else None
    form = _upload_form(uow, previous=previous)
    if not form.is_submitted():
        return _upload_page(form, None, 200, previous=previous)
    if not form.validate():
        return _upload_page(form, gettext(ValidationFailed.message), 422, previous=previous)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        form.file.errors = [gettext("Choose the certificate's file.")]
        return _upload_page(form, gettext(ValidationFailed.message), 422, previous=previous)
    uow.reason = "Certificate uploaded"
    try:
        certificate = certificates.upload(
            uow,
            current_user.actor,
            vault=vault(),
            stream=upload.stream,
            filename=upload.filename,
            certificate_type_id=uuid_or_none(form.certificate_type_id.data),
            number=form.number.data,
            issuing_body=form.issuing_body.data,
            scope=form.scope.data,
            valid_from=parse_day(form.valid_from.data),
            expires_on=parse_day(form.expires_on.data),
            site_ids=ids(form.site_ids.data),
            item_ids=ids(form.item_ids.data),
            basic_udi_dis=(form.basic_udi_dis.data or "").splitlines(),
            renews_id=previous.certificate.id if previous else None,
        )
    except ValidationFailed as error:
        elsewhere = place_errors(form, error)
        return _upload_page(form, " ".join(elsewhere) or error_text(error), error.status, previous=previous)
    if certificate.status == "pending_review":
        notify(N_("Certificate %(number)s is uploaded and waits for review."), number=certificate.number)
    else:
        notify(N_("Certificate %(number)s is uploaded and counts from now."), number=certificate.number)
    return redirect(url_for("documents.certificate", certificate_id=certificate.id), code=303)


@blueprint.get("/supplier/certificates/<uuid:certificate_id>/renew")
@permission_required("cert.upload", side="supplier")
def renew_certificate(certificate_id: uuid.UUID):
    """The link in expiry notices: the upload form for a new version."""
    certificates.get(request_uow(), current_user.actor, certificate_id=certificate_id)  # 404 if not theirs
    return redirect(url_for("documents.upload_certificate", renews=certificate_id))


def _upload_form(uow, *, previous=None, formdata=...):
    actor = current_user.actor
    types = [(t, localized(t.name, t.name_zh)) for t in certificates.list_types(uow, actor)]
    sites = tenants.sites_of(uow, supplier_id=actor.supplier_id)
    choices = [(str(i.id), f"{i.part_number} · {localized(i.name, i.name_zh)}") for i in items.all_items(uow, actor)]
    kwargs = {} if formdata is ... else {"formdata": formdata}
    form = UploadForm(types=types, sites=sites, items=choices, **kwargs)
    if not form.is_submitted():
        if previous is not None:
            c = previous.certificate
            form.certificate_type_id.data = str(c.certificate_type_id)
            form.number.data, form.issuing_body.data, form.scope.data = c.number, c.issuing_body, c.scope
            form.site_ids.data = [str(s) for s in previous.site_ids]
            form.item_ids.data = [str(i) for i in previous.item_ids]
            form.basic_udi_dis.data = "\n".join(c.basic_udi_dis)
        elif request.args.get("type"):
            form.certificate_type_id.data = request.args["type"]
            if request.args.get("site"):
                form.site_ids.data = [request.args["site"]]
    return form


def _upload_page(form, problem, status, *, previous=None):
    return (
        render_template(
            "documents/upload.html",
            form=form,
            problem=problem,
            previous=previous,
            max_mb=vault().max_upload_bytes // (1024 * 1024),
        ),
        status,
    )


# --- both sides -------------------------------------------------------------------------


@blueprint.get("/certificates/<uuid:certificate_id>")
@permission_required("cert.upload", "cert.review", "suppliers.view")
def certificate(certificate_id: uuid.UUID):
    return _certificate_page(certificate_id)


@blueprint.get("/buyer/certificates/<uuid:certificate_id>")
@permission_required("cert.review", "suppliers.view", side="buyer")
def buyer_certificate(certificate_id: uuid.UUID):
    """The link in the tenant's expiry notices."""
    return redirect(url_for("documents.certificate", certificate_id=certificate_id))


@blueprint.get("/certificates/<uuid:certificate_id>/file")
@permission_required("cert.upload", "cert.review", "suppliers.view")
def certificate_file(certificate_id: uuid.UUID):
    view = certificates.get(request_uow(), current_user.actor, certificate_id=certificate_id)
    # Opened, verified in full, recorded as a "document_downloaded" event, then streamed.
    return download(view.certificate.file_id, as_attachment=request.args.get("download") == "1")


@blueprint.post("/certificates/<uuid:certificate_id>/review")
@permission_required("cert.review", side="buyer")
def review_certificate(certificate_id: uuid.UUID):
    uow = request_uow()
    form = ReviewForm()
    if not form.validate_on_submit():
        return _certificate_page(certificate_id, review_form=form, problem=gettext(ValidationFailed.message), status=422)
    if form.decision.data not in ("approve", "reject"):
        form.decision.errors = [gettext("Choose to approve or to reject.")]
        return _certificate_page(certificate_id, review_form=form, problem=gettext(ValidationFailed.message), status=422)
    approve = form.decision.data == "approve"
    uow.reason = "Certificate approved" if approve else "Certificate rejected"
    try:
        reviewed = certificates.review(
            uow,
            current_user.actor,
            certificate_id=certificate_id,
            approve=approve,
            reason=form.reason.data,
            password=form.password.data or "",
            otp=form.otp.data or None,
            **signing_kwargs(),
        )
    except SignatureRefused as error:
        keep_refusal(error)  # nothing of the review stays; the failed attempt does
        form.password.errors = [error_text(error)]
        return _certificate_page(certificate_id, review_form=form, problem=error_text(error), status=error.status)
    except ValidationFailed as error:
        place_errors(form, error)
        return _certificate_page(certificate_id, review_form=form, problem=error_text(error), status=error.status)
    except DomainError as error:
        uow.rollback()
        return _certificate_page(certificate_id, problem=error_text(error), status=error.status)
    if approve:
        notify(N_("Certificate %(number)s is approved and signed."), number=reviewed.number)
    else:
        notify(N_("Certificate %(number)s is rejected; the supplier sees your reason."), number=reviewed.number)
    return redirect(url_for("documents.review_queue"), code=303)


def _certificate_page(certificate_id, *, review_form=None, problem=None, status=200):
    uow = request_uow()
    actor = current_user.actor
    view = certificates.get(uow, actor, certificate_id=certificate_id)
    c = view.certificate
    supplier = tenants.organisations_by_id(uow, ids=[c.supplier_id]).get(c.supplier_id)
    signed = signatures.signatures_for(
        uow,
        record_type="certificate",
        record_id=c.id,
        content=certificates.signed_content(c, view.file),
    )
    can_review = not current_user.is_supplier and can("cert.review") and c.status == "pending_review"
    return (
        render_template(
            "documents/certificate.html",
            view=view,
            certificate=c,
            supplier=supplier,
            sites=tenants.sites_by_id(uow, ids=view.site_ids),
            item_names=_item_names(uow, view.item_ids),
            versions=certificates.versions(uow, certificate_id=c.id),
            signatures=signed,
            can_review=can_review,
            can_renew=current_user.is_supplier and can("cert.upload") and c.status in ("approved", "superseded", "rejected"),
            review_form=review_form or ReviewForm(formdata=None),
            problem=problem,
        ),
        status,
    )


# --- buyer side -------------------------------------------------------------------------


@blueprint.get("/buyer/certificates")
@permission_required("cert.review", "suppliers.view", side="buyer")
def review_queue():
    """Certificates by state; pending review first by default (the review queue)."""
    uow = request_uow()
    wanted = request.args.get("state") or request.args.get("status") or "pending_review"
    if wanted not in STATES or wanted == "missing":
        wanted = "pending_review"
    supplier = uuid_or_none(request.args.get("supplier"))
    shown = certificates.list_certificates(uow, current_user.actor, supplier_id=supplier, state=wanted)
    suppliers = tenants.organisations_by_id(uow, ids={v.certificate.supplier_id for v in shown})
    return render_template(
        "documents/review_queue.html",
        views=shown,
        wanted=wanted,
        states=[s for s in STATES if s != "missing"],
        suppliers=suppliers,
    )


# --- helpers ----------------------------------------------------------------------------


def _item_names(uow, item_ids) -> dict[uuid.UUID, str]:
    return items.part_numbers(uow, item_ids=item_ids)
