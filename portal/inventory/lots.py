"""A lot's page: what it is, where every unit of it is now, how it got there, its
inspections and its signed release decisions; and the decision form (release, hold,
reject with an electronic signature) for lot.release holders."""

from __future__ import annotations

import uuid

from flask import redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user

from auth.errors import SignatureRefused
from erp.inventory import service as inventory
from erp.receiving import inspection as inspections
from erp.receiving import release
from kernel.errors import N_, DomainError, ValidationFailed
from portal.inventory.forms import DecisionForm
from portal.inventory.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import place_errors
from portal.shell.i18n import error_text
from portal.shell.identity import can
from portal.shell.signatures import keep_refusal, signing_kwargs
from tenants import service as tenants

DONE = {
    "released": N_("Lot %(lot)s is released and signed; its stock is available."),
    "rejected": N_("Lot %(lot)s is rejected and signed."),
    "on_hold": N_("Lot %(lot)s is on hold and signed."),
}


@blueprint.get("/lots/<uuid:lot_id>")
@permission_required("stock.view", "inspection.record", "lot.release", side="buyer")
def lot(lot_id: uuid.UUID):
    return _page(lot_id)


@blueprint.post("/lots/<uuid:lot_id>/decision")
@permission_required("lot.release", side="buyer")
def decide_lot(lot_id: uuid.UUID):
    uow = request_uow()
    form = DecisionForm()
    if not form.validate_on_submit():
        return _page(lot_id, form=form, problem=gettext(ValidationFailed.message), status=422)
    uow.reason = "Lot decision"
    try:
        decided = release.decide_lot(
            uow,
            current_user.actor,
            lot_id=lot_id,
            decision=form.decision.data or "",
            reason=form.reason.data,
            password=form.password.data or "",
            otp=form.otp.data or None,
            **signing_kwargs(),
        )
    except SignatureRefused as error:
        keep_refusal(error)  # nothing of the decision stays; the failed attempt does
        form.password.errors = [error_text(error)]
        return _page(lot_id, form=form, problem=error_text(error), status=error.status)
    except ValidationFailed as error:
        place_errors(form, error)
        return _page(lot_id, form=form, problem=error_text(error), status=error.status)
    except DomainError as error:
        uow.rollback()
        return _page(lot_id, problem=error_text(error), status=error.status)
    notify(DONE[decided.decision], lot=inventory.get_lot(uow, lot_id=lot_id).number)
    return redirect(url_for("inventory.lot", lot_id=lot_id), code=303)


def _page(lot_id: uuid.UUID, *, form=None, problem=None, status=200):
    uow = request_uow()
    actor = current_user.actor
    where = inventory.where_is_lot(uow, actor, lot_id=lot_id)
    lot_ = where.lot
    item = inventory.items_by_id(uow, ids=[lot_.item_id]).get(lot_.item_id)
    found = inspections.inspections_of_lot(uow, lot_id=lot_.id)
    places = {s.location_id for s in where.stock} | {m.from_location_id for m in where.movements}
    places |= {m.to_location_id for m in where.movements}
    return (
        render_template(
            "inventory/lot.html",
            lot=lot_,
            item=item,
            supplier=tenants.organisations_by_id(uow, ids=[lot_.supplier_id]).get(lot_.supplier_id) if lot_.supplier_id else None,
            received_at=release.first_received_at(uow, lot_id=lot_.id),
            stock=where.stock,
            movements=where.movements,
            udi={s.id: inventory.udi_text(item, lot_, s.serial) for s in where.stock},
            locations=inventory.locations_by_id(uow, ids=places),
            inspections=found,
            nonconformances=inspections.nonconformances_of(uow, inspection_ids=[i.id for i in found]),
            releases=release.releases_of(uow, actor, lot_id=lot_.id),
            can_decide=can("lot.release") and any(s.status in ("quarantine", "on_hold") for s in where.stock),
            form=form or DecisionForm(formdata=None),
            problem=problem,
            quantity=inventory.plain_quantity,
        ),
        status,
    )
