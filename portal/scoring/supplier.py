"""A supplier's own scorecard: the same KPI table and evidence as the buyer sees, the
score's trend (never the tenant average: with few suppliers it would reveal the
others' figures), a dispute form on each line of the evidence, and its disputes with
their outcome. No supplier id in these URLs: the scorecard is always the signed-in
supplier's own (scoring.service checks it again)."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from kernel.errors import N_, DomainError, ValidationFailed
from portal.scoring.scorecards import (
    DISPUTE_LIMIT,
    chosen_period,
    chosen_slice,
    evidence_view,
    kpi_or_404,
    scorecard_page,
    slice_args,
)
from portal.scoring.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import uuid_or_none
from portal.shell.i18n import error_text, field_errors
from scoring import service


@blueprint.get("/supplier/scorecard")
@permission_required("scorecard.view", side="supplier")
def supplier_scorecard():
    return scorecard_page(current_user.actor.supplier_id, side="supplier")


@blueprint.get("/supplier/scorecard/evidence/<kpi>")
@permission_required("scorecard.view", side="supplier")
def supplier_evidence(kpi: str):
    return evidence_view(current_user.actor.supplier_id, kpi_or_404(kpi), side="supplier")


@blueprint.post("/supplier/scorecard/evidence/<kpi>/dispute")
@permission_required("scorecard.view", side="supplier")
def supplier_dispute(kpi: str):
    """Dispute one line of the evidence, with a comment (required)."""
    kpi = kpi_or_404(kpi)
    uow, actor = request_uow(), current_user.actor
    period, errors = chosen_period(request.form)
    ref_id, ref_sub_id = uuid_or_none(request.form.get("ref_id")), uuid_or_none(request.form.get("ref_sub_id"))
    if errors or ref_id is None:
        raise service.EvidenceNotFound()
    failed = {"ref_id": ref_id, "ref_sub_id": ref_sub_id, "comment": request.form.get("comment", "")}
    uow.reason = "Scorecard dispute raised"
    try:
        dispute = service.raise_dispute(
            uow, actor, period=period, kpi=kpi, ref_id=ref_id, ref_sub_id=ref_sub_id, comment=failed["comment"]
        )
    except ValidationFailed as error:
        uow.rollback()
        failed["errors"] = field_errors(error)
        failed["problem"] = failed["errors"].get("comment") or error_text(error)
        return evidence_view(actor.supplier_id, kpi, side="supplier", failed=failed, status=error.status)
    except service.EvidenceNotFound:
        raise
    except DomainError as error:
        uow.rollback()
        failed["errors"] = {}
        failed["problem"] = error_text(error)
        return evidence_view(actor.supplier_id, kpi, side="supplier", failed=failed, status=error.status)
    notify(
        N_("Your dispute of %(number)s is with the buyer. Its outcome will show under “My disputes”."), number=dispute.ref_number
    )
    part, _ = chosen_slice(request.form)
    return redirect(
        url_for("scoring.supplier_evidence", kpi=kpi, kind=period.kind, period=period.key, **slice_args(part)), code=303
    )


@blueprint.get("/supplier/scorecard/disputes")
@permission_required("scorecard.view", side="supplier")
def supplier_disputes():
    rows = service.list_disputes(request_uow(), current_user.actor, limit=DISPUTE_LIMIT + 1)
    return render_template("scoring/scorecard_supplier_disputes.html", rows=rows[:DISPUTE_LIMIT], more=len(rows) > DISPUTE_LIMIT)
