"""Nonconformances: the list (open first), a nonconformance's page with what it concerns,
its movements and its signed disposition, and the disposition form (use as is, rework,
return to supplier, scrap; e-signed) for lot.release holders. Buyer side only: no
supplier role holds these permissions (auth.permissions.SUPPLIER_PERMISSIONS)."""

from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from auth.errors import SignatureRefused
from erp.inventory import service as inventory
from erp.receiving import disposition
from erp.receiving.models import DISPOSITIONS
from kernel.errors import N_, DomainError, ValidationFailed
from portal.inventory.forms import DispositionForm
from portal.inventory.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import place_errors
from portal.shell.i18n import error_text, field_errors
from portal.shell.identity import can
from portal.shell.signatures import keep_refusal, signing_kwargs
from tenants import service as tenants

VIEW = ("inspection.record", "lot.release", "stock.view")
PAGE_SIZE = 50
DONE = {
    "use_as_is": N_("Nonconformance %(number)s is closed: %(quantity)s accepted as is, back in quarantine for the lot release."),
    "rework": N_("Nonconformance %(number)s is closed: %(quantity)s sent to rework, back in quarantine."),
    "return_to_supplier": N_("Nonconformance %(number)s is closed: %(quantity)s returned to the supplier."),
    "scrap": N_("Nonconformance %(number)s is closed: %(quantity)s scrapped."),
}


@blueprint.get("/nonconformances")
@permission_required(*VIEW, side="buyer")
def nonconformances_list():
    uow = request_uow()
    actor = current_user.actor
    status = request.args.get("status") if request.args.get("status") in disposition.NC_STATUSES else None
    cursor = request.args.get("cursor") or None
    problem = None
    try:
        page = disposition.list_nonconformances(uow, actor, status=status, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed as error:  # a page link that is not ours: start again
        page, cursor = disposition.list_nonconformances(uow, actor, status=status, limit=PAGE_SIZE), None
        problem = field_errors(error).get("cursor") or error_text(error)
    rows = page.items
    return render_template(
        "inventory/nonconformances.html",
        page=page,
        status=status,
        first_page=cursor is None,
        problem=problem,
        items_by_id=inventory.items_by_id(uow, ids={r.item_id for r in rows}),
        lots=inventory.lots_by_id(uow, ids={r.lot_id for r in rows}),
        suppliers=tenants.organisations_by_id(uow, ids={r.supplier_id for r in rows if r.supplier_id}),
        left=disposition.available_by_nonconformance(uow, nonconformances=rows),
        NC_STATUS_LABELS=disposition.NC_STATUS_LABELS,
        DISPOSITION_LABELS=disposition.DISPOSITION_LABELS,
        quantity=inventory.plain_quantity,
    )


@blueprint.get("/nonconformances/<uuid:nonconformance_id>")
@permission_required(*VIEW, side="buyer")
def nonconformance(nonconformance_id: uuid.UUID):
    return _page(nonconformance_id)


@blueprint.post("/nonconformances/<uuid:nonconformance_id>/disposition")
@permission_required("lot.release", side="buyer")
def dispose_nonconformance(nonconformance_id: uuid.UUID):
    uow = request_uow()
    form = _form()
    if not form.validate_on_submit():
        return _page(nonconformance_id, form=form, problem=gettext(ValidationFailed.message), status=422)
    uow.reason = "Nonconformance disposition"
    try:
        done = disposition.dispose_nonconformance(
            uow,
            current_user.actor,
            nonconformance_id=nonconformance_id,
            disposition=form.disposition.data or "",
            quantity=form.quantity.data,
            reason=form.reason.data,
            rma_number=form.rma_number.data,
            password=form.password.data or "",
            otp=form.otp.data or None,
            **signing_kwargs(),
        )
    except SignatureRefused as error:
        keep_refusal(error)  # nothing of the disposition stays; the failed attempt does
        form.password.errors = [error_text(error)]
        return _page(nonconformance_id, form=form, problem=error_text(error), status=error.status)
    except ValidationFailed as error:
        elsewhere = place_errors(form, error)
        return _page(nonconformance_id, form=form, problem=" ".join(elsewhere) or error_text(error), status=error.status)
    except DomainError as error:
        uow.rollback()
        return _page(nonconformance_id, problem=error_text(error), status=error.status)
    notify(DONE[done.disposition], number=done.number, quantity=inventory.plain_quantity(done.disposition_quantity))
    return redirect(url_for("inventory.nonconformance", nonconformance_id=nonconformance_id), code=303)


def _form(**kwargs) -> DispositionForm:
    form = DispositionForm(**kwargs)
    form.disposition.choices = [SelectChoice("", gettext("Choose a disposition"))] + [
        SelectChoice(key, gettext(disposition.DISPOSITION_LABELS[key])) for key in DISPOSITIONS
    ]
    return form


def _page(nonconformance_id: uuid.UUID, *, form=None, problem=None, status=200):
    uow = request_uow()
    view = disposition.get_nonconformance(uow, current_user.actor, nonconformance_id=nonconformance_id)
    nc = view.nonconformance
    if form is None:
        form = _form(formdata=None)
        form.quantity.data = inventory.plain_quantity(view.available) if view.available else ""
    places = {m.from_location_id for m in view.movements} | {m.to_location_id for m in view.movements}
    return (
        render_template(
            "inventory/nonconformance.html",
            view=view,
            nc=nc,
            supplier=tenants.organisations_by_id(uow, ids=[nc.supplier_id]).get(nc.supplier_id) if nc.supplier_id else None,
            locations=inventory.locations_by_id(uow, ids=places),
            can_dispose=can("lot.release") and nc.status == "open" and view.available > 0,
            form=form,
            problem=problem,
            DISPOSITION_LABELS=disposition.DISPOSITION_LABELS,
            NC_STATUS_LABELS=disposition.NC_STATUS_LABELS,
            quantity=inventory.plain_quantity,
        ),
        status,
    )
