"""Incoming inspection pages: the list (open first), an inspection with its sampling plan
and the result form, and the tenant's inspection plans per item category."""

from __future__ import annotations

import uuid

from flask import redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.inventory import service as inventory
from erp.items.models import CATEGORIES
from erp.receiving import inspection as inspections
from kernel.errors import N_, DomainError, ValidationFailed
from portal.inventory.forms import InspectionForm, PlanForm
from portal.inventory.views import blueprint
from portal.items.forms import CATEGORY_LABELS
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import place_errors
from portal.shell.i18n import error_text
from tenants import service as tenants


@blueprint.get("/inspections")
@permission_required("inspection.record", side="buyer")
def inspections_list():
    uow = request_uow()
    rows = inspections.list_inspections(uow, current_user.actor)
    return render_template("inventory/inspections.html", rows=rows, **_names(uow, rows))


@blueprint.route("/inspections/<uuid:inspection_id>", methods=["GET", "POST"])
@permission_required("inspection.record", side="buyer")
def inspection(inspection_id: uuid.UUID):
    uow = request_uow()
    found = inspections.get_inspection(uow, current_user.actor, inspection_id=inspection_id)
    form = _form()
    if not form.is_submitted() or found.status != "open":
        return _page(found, form)
    if not form.validate():
        return _page(found, form, problem=gettext(ValidationFailed.message), status=422)
    uow.reason = "Incoming inspection recorded"
    try:
        done = inspections.record_inspection(
            uow,
            current_user.actor,
            inspection_id=found.id,
            accepted_quantity=form.accepted_quantity.data,
            rejected_quantity=form.rejected_quantity.data,
            defect_codes=form.defect_codes.data or [],
            note=form.note.data,
        )
    except ValidationFailed as error:
        elsewhere = place_errors(form, error)
        return _page(found, form, problem=" ".join(elsewhere) or error_text(error), status=error.status)
    except DomainError as error:
        uow.rollback()
        found = inspections.get_inspection(uow, current_user.actor, inspection_id=inspection_id)
        return _page(found, _form(formdata=None), problem=error_text(error), status=error.status)
    nonconformance = inspections.nonconformances_of(uow, inspection_ids=[done.id]).get(done.id)
    if nonconformance is not None:
        notify(N_("Inspection recorded. Nonconformance %(number)s is open for the rejects."), number=nonconformance.number)
    else:
        notify(N_("Inspection recorded."))
    # The next step is the lot's release, on its page.
    if done.lot_id is not None:
        return redirect(url_for("inventory.lot", lot_id=done.lot_id), code=303)
    return redirect(url_for("inventory.inspections_list"), code=303)


def _form(**kwargs) -> InspectionForm:
    form = InspectionForm(**kwargs)
    form.defect_codes.choices = [(code, gettext(label)) for code, label in inspections.DEFECT_CODES.items()]
    return form


def _page(found, form, *, problem=None, status=200):
    uow = request_uow()
    if found.status == "open" and not form.is_submitted():
        form.accepted_quantity.data = inventory.plain_quantity(found.received_quantity)
        form.rejected_quantity.data = "0"
    return (
        render_template(
            "inventory/inspection.html",
            inspection=found,
            sampling=inspections.sampling_for(uow, found),
            aql=inspections.aql_for(uow, found),
            nonconformance=inspections.nonconformances_of(uow, inspection_ids=[found.id]).get(found.id),
            form=form,
            problem=problem,
            **_names(uow, [found]),
        ),
        status,
    )


def _names(uow, rows) -> dict:
    """Items, lots and suppliers of inspections, for showing them."""
    return {
        "items_by_id": inventory.items_by_id(uow, ids={r.item_id for r in rows}),
        "lots": inventory.lots_by_id(uow, ids={r.lot_id for r in rows}),
        "suppliers": tenants.organisations_by_id(uow, ids={r.supplier_id for r in rows if r.supplier_id}),
        "quantity": inventory.plain_quantity,
    }


@blueprint.route("/inspections/plans", methods=["GET", "POST"])
@permission_required("inspection.record", side="buyer")
def inspection_plans():
    uow = request_uow()
    form = PlanForm()
    form.category.choices = [(c, str(CATEGORY_LABELS[c])) for c in CATEGORIES]
    problem, status = None, 200
    if form.validate_on_submit():
        uow.reason = "Inspection plan saved"
        try:
            inspections.save_plan(
                uow, current_user.actor, category=form.category.data, inspect=form.inspect.data, aql=form.aql.data
            )
        except ValidationFailed as error:
            place_errors(form, error)
            problem, status = error_text(error), error.status
        else:
            notify(N_("The inspection plan for %(category)s is saved."), category=str(CATEGORY_LABELS[form.category.data]))
            return redirect(url_for("inventory.inspection_plans"), code=303)
    elif form.is_submitted():
        problem, status = gettext(ValidationFailed.message), 422
    rules = inspections.plans(uow, current_user.actor)
    return render_template("inventory/plans.html", rules=rules, form=form, problem=problem), status
