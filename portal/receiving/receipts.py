"""One receipt's page: the scan field (autofocus; a scanner's Enter posts it), the last
scan's result, the ASN's lines and packages against what was received, a form for what a
label does not say (an item, lot, serial or quantity typed), a damaged-quantity form, the
seal found on arrival (checked blind against the ship notice's: a mismatch is a cold-chain
alert, erp.coldchain.transport) and Close. Plain forms that work without JavaScript; with
htmx a scan swaps only the working part of the page (result, field and tables), so the
operator keeps scanning."""

from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from erp.coldchain import alerts as alerting
from erp.coldchain import transport
from erp.items import service as items
from erp.receiving import service
from kernel.errors import N_, REQUIRED, ValidationFailed
from portal.receiving.views import LINE_STATE_LABELS, RESULT_LABELS, blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm, uuid_or_none
from portal.shell.i18n import error_text, field_errors

RECEIVED_ITEM = "receive"
DAMAGE = "damage"
SEAL = "seal"

SEAL_MATCHES = N_("Seal %(seal)s is recorded: it matches the ship notice.")
SEAL_DIFFERS = N_("Seal %(seal)s is recorded: it is not the one on the ship notice. A cold-chain alert was raised.")
SEAL_UNCHECKED = N_("Seal %(seal)s is recorded; the ship notice gives no seal number to compare it with.")


@blueprint.get("/receiving/<uuid:receipt_id>")
@permission_required("receipt.scan", side="buyer")
def receipt(receipt_id: uuid.UUID):
    return _page(receipt_id)


@blueprint.post("/receiving/<uuid:receipt_id>/scan")
@permission_required("receipt.scan", side="buyer")
def scan(receipt_id: uuid.UUID):
    _checked()
    result = service.scan(request_uow(), current_user.actor, receipt_id=receipt_id, text=request.form.get("code", ""))
    return _page(receipt_id, result=result, status=422 if result.kind == service.REFUSED else 200)


@blueprint.post("/receiving/<uuid:receipt_id>/items")
@permission_required("receipt.scan", side="buyer")
def receive_item(receipt_id: uuid.UUID):
    _checked()
    uow, form = request_uow(), request.form
    try:
        result = service.receive_item(
            uow, current_user.actor, receipt_id=receipt_id, item_id=uuid_or_none(form.get("item_id")),
            lot=form.get("lot"), serial=form.get("serial"), quantity=form.get("quantity"),
        )
    except ValidationFailed as error:
        uow.rollback()
        return _page(receipt_id, errors={RECEIVED_ITEM: field_errors(error)}, typed=form, status=error.status)
    return _page(receipt_id, result=result, status=422 if result.kind == service.REFUSED else 200)


@blueprint.post("/receiving/<uuid:receipt_id>/damage")
@permission_required("receipt.scan", side="buyer")
def record_damage(receipt_id: uuid.UUID):
    _checked()
    uow, form = request_uow(), request.form
    try:
        service.record_damage(
            uow, current_user.actor, receipt_id=receipt_id, asn_line_id=uuid_or_none(form.get("asn_line_id")),
            quantity=form.get("quantity"), note=form.get("note"),
        )
    except ValidationFailed as error:
        uow.rollback()
        return _page(receipt_id, errors={DAMAGE: field_errors(error) or {"form": error_text(error)}}, typed=form,
                     status=error.status)
    notify(N_("The damaged quantity is recorded."))
    return redirect(url_for("receiving.receipt", receipt_id=receipt_id), code=303)


@blueprint.post("/receiving/<uuid:receipt_id>/seal")
@permission_required("receipt.scan", side="buyer")
def record_seal(receipt_id: uuid.UUID):
    """The seal found on arrival, checked against the ship notice's (once a receipt)."""
    _checked()
    uow, form = request_uow(), request.form
    try:
        if not (form.get("seal_number") or "").strip():
            raise ValidationFailed(errors={"seal_number": REQUIRED})
        transport.check_seal(uow, current_user.actor, receipt_id=receipt_id, seal_number=form.get("seal_number"))
    except ValidationFailed as error:
        uow.rollback()
        return _page(receipt_id, errors={SEAL: field_errors(error) or {"form": error_text(error)}}, typed=form,
                     status=error.status)
    progress = service.expected_vs_received(uow, current_user.actor, receipt_id=receipt_id)
    state = _seal_state(progress)
    message = {"matches": SEAL_MATCHES, "differs": SEAL_DIFFERS}.get(state, SEAL_UNCHECKED)
    notify(message, seal=progress.receipt.seal_number)
    return redirect(url_for("receiving.receipt", receipt_id=receipt_id), code=303)


@blueprint.post("/receiving/<uuid:receipt_id>/close")
@permission_required("receipt.scan", side="buyer")
def close(receipt_id: uuid.UUID):
    _checked()
    closed = service.close_receipt(request_uow(), current_user.actor, receipt_id=receipt_id)
    notify(N_("Receipt %(number)s is closed; what came is in quarantine."), number=closed.number)
    return redirect(url_for("receiving.receipt", receipt_id=receipt_id), code=303)


def _seal_state(progress) -> str | None:
    """The seal on arrival against the ship notice's: None when none is recorded, else
    "matches", "differs" (a seal_mismatch alert) or "unchecked" (no ship notice, or one
    with no seal). Compared as erp.coldchain.transport.check_seal does."""
    found = progress.receipt.seal_number
    if not found:
        return None
    expected = progress.asn.seal_number if progress.asn is not None else None
    if not (expected or "").strip():
        return "unchecked"
    return "matches" if expected.strip().casefold() == found.strip().casefold() else "differs"


def _seal_alert(uow, actor, progress, state: str | None):
    """The seal-mismatch alert of this receipt, for a link (to those who may see alerts)."""
    if state != "differs" or "coldchain.view" not in actor.permissions:
        return None
    found = alerting.alerts_of_asn(uow, actor, asn_id=progress.asn.id)
    return next((a for a in found if a.kind == "seal_mismatch" and a.receipt_id == progress.receipt.id), None)


def _checked() -> None:
    if not PlainForm().validate_on_submit():
        abort(400)


def _page(receipt_id: uuid.UUID, *, result=None, errors: dict | None = None, typed=None, status: int = 200):
    uow, actor = request_uow(), current_user.actor
    progress = service.expected_vs_received(uow, actor, receipt_id=receipt_id)
    seal_state = _seal_state(progress)
    context = {
        "progress": progress,
        "seal_state": seal_state,
        "seal_alert": _seal_alert(uow, actor, progress, seal_state),
        "result": result,
        "result_labels": RESULT_LABELS,
        "line_states": LINE_STATE_LABELS,
        "errors": errors or {},
        "typed": typed or {},
        "choices": items.all_items(uow, actor) if progress.receipt.status == "open" and "items.view" in actor.permissions else [],
    }
    if request.headers.get("HX-Request") == "true":
        # htmx swaps only the working part, and swaps no error response: a refusal is
        # shown like any other result.
        return render_template("receiving/_work.html", **context), 200
    return render_template("receiving/receipt.html", **context), status
