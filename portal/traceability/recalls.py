"""Recall screens: the list (open, closed, mock; paged), a new recall from a trace, the
recall's page (scope with place and state, scope review with reasons, hold and notify
buttons, returns, destruction, lines located, progress, the mock recall's timer, the
timeline), closing with an electronic signature, and the report PDF. The supplier side:
its recall notices and the acknowledge form. Views translate HTTP to
erp.traceability.recall's services; plain forms that work without JavaScript (the
mock recall's timer refreshes itself with htmx)."""

from __future__ import annotations

import uuid

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from auth.errors import SignatureRefused
from erp.inventory import service as inventory
from erp.pagination import Page
from erp.traceability import recall as recalls
from erp.traceability import recall_report
from kernel.clock import utcnow
from kernel.errors import N_, DomainError, ValidationFailed
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm, uuid_or_none
from portal.shell.i18n import error_text, field_errors, select_timezone
from portal.shell.signatures import keep_refusal, signing_kwargs
from portal.traceability.views import blueprint
from tenants import service as tenants

PAGE_SIZE = 50
LIST_STATE_LABELS = {"": N_("All"), "open": N_("Open"), "closed": N_("Closed"), "mock": N_("Mock recalls")}


@blueprint.app_template_global()
def recall_label(kind: str, key: str) -> str:
    """A recall code in words: kind is classification, place, state, action or status."""
    labels = {
        "classification": recalls.CLASSIFICATION_LABELS,
        "place": recalls.PLACE_LABELS,
        "state": recalls.STATE_LABELS,
        "action": recalls.ACTION_LABELS,
        "mock_action": recalls.MOCK_ACTION_LABELS
        | {k: v for k, v in recalls.ACTION_LABELS.items() if k not in recalls.MOCK_ACTION_LABELS},
        "status": recalls.STATUS_LABELS,
    }[kind]
    return gettext(labels[key]) if key in labels else key


# --- buyer side ------------------------------------------------------------------------------


@blueprint.get("/recalls")
@permission_required("recall.run", side="buyer")
def recalls_list():
    uow = request_uow()
    state = request.args.get("state") if request.args.get("state") in recalls.LIST_STATES else None
    cursor = request.args.get("cursor") or None
    problem = None
    try:
        page = recalls.list_recalls(uow, current_user.actor, state=state, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed as error:  # a page link that is not ours: start again
        page, cursor = recalls.list_recalls(uow, current_user.actor, state=state, limit=PAGE_SIZE), None
        problem = field_errors(error).get("cursor") or error_text(error)
    return render_template(
        "traceability/recall_list.html",
        page=page,
        state=state or "",
        first_page=cursor is None,
        states=LIST_STATE_LABELS,
        progress={r.id: recalls.progress(uow, current_user.actor, recall_id=r.id) for r in page.items},
        elapsed=recalls.format_elapsed,
        problem=problem,
    )


@blueprint.route("/recalls/new", methods=["GET", "POST"])
@permission_required("recall.run", side="buyer")
def new_recall():
    """The form to open a recall (or a mock recall) from a trace: ?snapshot_id=…"""
    uow = request_uow()
    snapshot_id = uuid_or_none(request.values.get("snapshot_id"))
    if snapshot_id is None:  # a recall opens from a trace: run one first
        return redirect(url_for("traceability.trace_index"), code=303)
    snapshot = recalls.snapshot_for(uow, current_user.actor, snapshot_id=snapshot_id)
    typed, errors, problem, status = {}, {}, None, 200
    if request.method == "POST":
        if not PlainForm().validate_on_submit():
            abort(400)
        typed = request.form
        uow.reason = "Recall opened"
        try:
            recall = recalls.open_recall(
                uow,
                current_user.actor,
                snapshot_id=snapshot.id,
                title=typed.get("title"),
                reason=typed.get("reason"),
                classification=typed.get("classification") or None,
                mock=typed.get("mock") == "1",
            )
        except ValidationFailed as error:
            uow.rollback()
            errors, problem, status = field_errors(error), gettext(ValidationFailed.message), error.status
        except DomainError as error:
            uow.rollback()
            problem, status = error_text(error), error.status
        else:
            notify(N_("Recall %(number)s is open."), number=recall.number)
            return redirect(url_for("traceability.recall", recall_id=recall.id), code=303)
        snapshot = recalls.snapshot_for(uow, current_user.actor, snapshot_id=snapshot_id)
    units = recalls.affected_units(snapshot)
    return (
        render_template(
            "traceability/recall_new.html",
            snapshot=snapshot,
            units=units,
            items=inventory.items_by_id(uow, ids={u["item_id"] for u in units}),
            lots=inventory.lots_by_id(uow, ids={u["lot_id"] for u in units}),
            classifications=recalls.CLASSIFICATION_LABELS,
            typed=typed,
            errors=errors,
            problem=problem,
            mock_default=request.args.get("mock") == "1",
        ),
        status,
    )


@blueprint.get("/recalls/<uuid:recall_id>")
@permission_required("recall.run", side="buyer")
def recall(recall_id: uuid.UUID):
    return _page(recall_id)


@blueprint.get("/recalls/<uuid:recall_id>/timer")
@permission_required("recall.run", side="buyer")
def recall_timer(recall_id: uuid.UUID):
    """The mock recall's timer, a fragment htmx refreshes."""
    view = recalls.recall_view(request_uow(), current_user.actor, recall_id=recall_id)
    return render_template("traceability/recall_timer.html", v=view, r=view.recall, **_timer(view))


@blueprint.post("/recalls/<uuid:recall_id>/scope")
@permission_required("recall.run", side="buyer")
def add_scope(recall_id: uuid.UUID):
    _checked()
    uow, form = request_uow(), request.form
    try:
        added = recalls.add_to_scope(
            uow, current_user.actor, recall_id=recall_id, code=form.get("code"), reason=form.get("reason")
        )
    except ValidationFailed as error:
        uow.rollback()
        return _page(recall_id, errors={"add": field_errors(error)}, typed=form, status=error.status)
    notify(N_("%(count)s lines added to the scope."), count=len(added))
    return _back(recall_id)


@blueprint.post("/recalls/<uuid:recall_id>/scope/<uuid:scope_id>/remove")
@permission_required("recall.run", side="buyer")
def remove_scope(recall_id: uuid.UUID, scope_id: uuid.UUID):
    return _line_action(recall_id, scope_id, "remove", N_("The line is out of scope; the reason is recorded."))


@blueprint.post("/recalls/<uuid:recall_id>/scope/<uuid:scope_id>/located")
@permission_required("recall.run", side="buyer")
def mark_located(recall_id: uuid.UUID, scope_id: uuid.UUID):
    return _line_action(recall_id, scope_id, "located", N_("The line is located."))


@blueprint.post("/recalls/<uuid:recall_id>/scope/<uuid:scope_id>/return")
@permission_required("recall.run", side="buyer")
def record_return(recall_id: uuid.UUID, scope_id: uuid.UUID):
    return _line_action(recall_id, scope_id, "return", N_("The return is recorded."))


@blueprint.post("/recalls/<uuid:recall_id>/scope/<uuid:scope_id>/destroy")
@permission_required("recall.run", side="buyer")
def record_destruction(recall_id: uuid.UUID, scope_id: uuid.UUID):
    return _line_action(recall_id, scope_id, "destroy", N_("The destruction is recorded."))


def _line_action(recall_id: uuid.UUID, scope_id: uuid.UUID, action: str, done: str):
    _checked()
    uow, form, actor = request_uow(), request.form, current_user.actor
    _own_line(recall_id, scope_id)
    try:
        if action == "remove":
            recalls.take_out_of_scope(uow, actor, scope_id=scope_id, reason=form.get("reason"))
        elif action == "located":
            recalls.mark_located(uow, actor, scope_id=scope_id, note=form.get("note"))
        elif action == "return":
            recalls.record_return(uow, actor, scope_id=scope_id, quantity=form.get("quantity"), note=form.get("note"))
        else:
            recalls.record_destruction(uow, actor, scope_id=scope_id, quantity=form.get("quantity"), note=form.get("note"))
    except ValidationFailed as error:
        uow.rollback()
        return _page(recall_id, errors={str(scope_id): field_errors(error)}, typed=form, open_line=scope_id, status=error.status)
    except DomainError as error:
        uow.rollback()
        return _page(recall_id, problem=error_text(error), status=error.status)
    notify(done)
    return _back(recall_id)


@blueprint.post("/recalls/<uuid:recall_id>/hold")
@permission_required("recall.run", side="buyer")
def hold_stock(recall_id: uuid.UUID):
    _checked()
    uow = request_uow()
    try:
        held = recalls.hold_stock(uow, current_user.actor, recall_id=recall_id)
    except DomainError as error:
        uow.rollback()
        return _page(recall_id, problem=error_text(error), status=error.status)
    recall_ = recalls.get_recall(uow, current_user.actor, recall_id=recall_id)
    if recall_.mock:
        notify(N_("Mock recall: %(count)s stock lines would be put on hold. No stock was changed."), count=len(held))
    else:
        notify(N_("%(count)s stock lines are on hold: they cannot be consumed or shipped."), count=len(held))
    return _back(recall_id)


@blueprint.post("/recalls/<uuid:recall_id>/notify-suppliers")
@permission_required("recall.run", side="buyer")
def notify_suppliers(recall_id: uuid.UUID):
    _checked()
    uow = request_uow()
    try:
        notices = recalls.notify_suppliers(uow, current_user.actor, recall_id=recall_id, message=request.form.get("message"))
    except ValidationFailed as error:
        uow.rollback()
        return _page(recall_id, errors={"suppliers": field_errors(error)}, typed=request.form, status=error.status)
    except DomainError as error:
        uow.rollback()
        return _page(recall_id, problem=error_text(error), status=error.status)
    recall_ = recalls.get_recall(uow, current_user.actor, recall_id=recall_id)
    if recall_.mock:
        notify(N_("Mock recall: the suppliers' notices are recorded as they would be sent. Nothing was sent."))
    else:
        notify(N_("%(count)s suppliers notified in their portal."), count=len(notices))
    return _back(recall_id)


@blueprint.post("/recalls/<uuid:recall_id>/notify-customers")
@permission_required("recall.run", side="buyer")
def notify_customers(recall_id: uuid.UUID):
    _checked()
    uow = request_uow()
    try:
        result = recalls.notify_customers(uow, current_user.actor, recall_id=recall_id)
    except DomainError as error:
        uow.rollback()
        return _page(recall_id, problem=error_text(error), status=error.status)
    recall_ = recalls.get_recall(uow, current_user.actor, recall_id=recall_id)
    if recall_.mock:
        notify(N_("Mock recall: %(count)s customers would be emailed. No email was sent."), count=len(result.notified))
    else:
        notify(N_("%(count)s customers emailed, each in their language."), count=len(result.notified))
    if result.without_email:
        notify(N_("No email address for: %(names)s. Call them."), names=", ".join(c.name for c in result.without_email))
    return _back(recall_id)


@blueprint.post("/recalls/<uuid:recall_id>/note")
@permission_required("recall.run", side="buyer")
def add_note(recall_id: uuid.UUID):
    _checked()
    uow = request_uow()
    try:
        recalls.add_note(uow, current_user.actor, recall_id=recall_id, note=request.form.get("note"))
    except ValidationFailed as error:
        uow.rollback()
        return _page(recall_id, errors={"note": field_errors(error)}, typed=request.form, status=error.status)
    notify(N_("The note is on the timeline."))
    return _back(recall_id)


@blueprint.post("/recalls/<uuid:recall_id>/close")
@permission_required("recall.run", side="buyer")
def close_recall(recall_id: uuid.UUID):
    _checked()
    uow = request_uow()
    uow.reason = "Recall closed"
    try:
        closed = recalls.close_recall(
            uow,
            current_user.actor,
            recall_id=recall_id,
            password=request.form.get("password") or "",
            otp=request.form.get("otp") or None,
            **signing_kwargs(),
        )
    except SignatureRefused as error:
        keep_refusal(error)  # nothing of the close stays; the failed attempt does
        return _page(recall_id, errors={"close": {"password": error_text(error)}}, problem=error_text(error), status=error.status)
    except DomainError as error:
        uow.rollback()
        return _page(recall_id, problem=error_text(error), status=error.status)
    notify(N_("Recall %(number)s is closed and signed."), number=closed.number)
    return _back(recall_id)


@blueprint.get("/recalls/<uuid:recall_id>/report.pdf")
@permission_required("recall.run", side="buyer")
def recall_report_pdf(recall_id: uuid.UUID):
    """The recall report for a regulator, in the reader's language."""
    pdf, name = recall_report.recall_pdf(
        request_uow(),
        current_user.actor,
        recall_id=recall_id,
        language=str(get_locale() or "en"),
        timezone=select_timezone() or "UTC",
    )
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _checked() -> None:
    if not PlainForm().validate_on_submit():
        abort(400)


def _back(recall_id: uuid.UUID):
    return redirect(url_for("traceability.recall", recall_id=recall_id), code=303)


def _own_line(recall_id: uuid.UUID, scope_id: uuid.UUID) -> None:
    """The line must be one of this recall's (else the page's URL lies)."""
    lines = recalls.scope_of(request_uow(), current_user.actor, recall_id=recall_id)
    if not any(line.id == scope_id for line in lines):
        abort(404)


def _timer(view: recalls.RecallView) -> dict:
    recall_ = view.recall
    running = recall_.all_located_at is None and recall_.status == "open"
    elapsed = view.progress.elapsed if not running else utcnow() - recall_.created_at
    return {"running": running, "elapsed": recalls.format_elapsed(elapsed)}


def _page(recall_id: uuid.UUID, *, errors=None, typed=None, problem=None, open_line=None, status: int = 200):
    uow, actor = request_uow(), current_user.actor
    view = recalls.recall_view(uow, actor, recall_id=recall_id)
    return (
        render_template(
            "traceability/recall.html",
            v=view,
            r=view.recall,
            errors=errors or {},
            typed=typed or {},
            problem=problem,
            open_line=open_line,
            quantity=inventory.plain_quantity,
            places=recalls.PLACE_LABELS,
            can_hold=any(s.included and s.place == "stock" and s.state in ("located", "to_locate") for s in view.lines),
            can_notify_suppliers=any(s.included and s.supplier_id for s in view.lines),
            can_notify_customers=any(s.included and s.place == "customer" for s in view.lines),
            **_timer(view),
        ),
        status,
    )


# --- supplier side ---------------------------------------------------------------------------


@blueprint.get("/supplier/recall-notices")
@permission_required("recall.acknowledge", side="supplier")
def supplier_notices():
    uow = request_uow()
    cursor = request.args.get("cursor") or None
    problem = None
    try:
        page = recalls.supplier_notices(uow, current_user.actor, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed as error:
        page, cursor = recalls.supplier_notices(uow, current_user.actor, limit=PAGE_SIZE), None
        problem = field_errors(error).get("cursor") or error_text(error)
    return render_template(
        "traceability/recall_notices.html",
        page=page,
        first_page=cursor is None,
        recalls_by_id=_recalls_of(page),
        problem=problem,
    )


@blueprint.get("/supplier/recall-notices/<uuid:notice_id>")
@permission_required("recall.acknowledge", side="supplier")
def supplier_notice(notice_id: uuid.UUID):
    return _notice_page(notice_id)


@blueprint.post("/supplier/recall-notices/<uuid:notice_id>/acknowledge")
@permission_required("recall.acknowledge", side="supplier")
def acknowledge_notice(notice_id: uuid.UUID):
    _checked()
    uow = request_uow()
    try:
        recalls.acknowledge_notice(uow, current_user.actor, notice_id=notice_id, response=request.form.get("response"))
    except ValidationFailed as error:
        uow.rollback()
        return _notice_page(notice_id, errors=field_errors(error), typed=request.form, status=error.status)
    except DomainError as error:
        uow.rollback()
        if error.status == 404:
            raise
        return _notice_page(notice_id, problem=error_text(error), status=error.status)
    notify(N_("Thank you: the notice is acknowledged and your response is with the customer."))
    return redirect(url_for("traceability.supplier_notice", notice_id=notice_id), code=303)


def _recalls_of(page: Page) -> dict:
    return recalls.recalls_of_notices(request_uow(), current_user.actor, notices=page.items)


def _notice_page(notice_id: uuid.UUID, *, errors=None, typed=None, problem=None, status: int = 200):
    uow = request_uow()
    notice, recall_ = recalls.get_notice(uow, current_user.actor, notice_id=notice_id)
    tenant = tenants.own_organisation(uow)
    return (
        render_template(
            "traceability/recall_notice.html",
            notice=notice,
            r=recall_,
            tenant=tenant,
            errors=errors or {},
            typed=typed or {},
            problem=problem,
        ),
        status,
    )
