"""One purchase order's page, for both sides: the order with its lines, schedules and
the supplier's answers; the supplier answers open lines there (accept, reject with a
reason, propose a change), the buyer issues a draft and decides on the answers.

Every form names the order's version (and the supplier's also its revision) as shown:
a change made meanwhile by someone else is refused, and the page says so. An order the
caller may not see is "not found", and a probe of another tenant's or supplier's order
is noted as a security event (as the API does).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from documents.certificates import STATE_LABELS
from documents.vault import TOO_LARGE
from erp.items import service as items_service
from erp.purchasing import changes, confirmation, gate, messages, reminders
from erp.purchasing.errors import PurchaseOrderNotFound, ResponseNotFound
from kernel.clock import utcnow
from kernel.errors import N_, DomainError, ValidationFailed
from portal.purchasing.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.errors import error_page
from portal.shell.files import download, vault
from portal.shell.forms import PlainForm
from portal.shell.i18n import day, error_text, field_errors, localized
from portal.shell.identity import can
from portal.shell.uploads import allow_larger_body

SPLIT_ROWS = 3  # schedule rows offered for a proposed split
FIELDS = ("reason_code", "quantity", "unit_price", "promised_date", "comment")
ACTION_LABELS = {
    "accept": N_("Accepted by the supplier"),
    "reject": N_("Rejected by the supplier"),
    "propose": N_("Change proposed"),
}
DECISION_LABELS = {
    "pending": N_("Awaiting the buyer's decision"),
    "accepted": N_("Accepted by the buyer"),
    "rejected": N_("Rejected by the buyer"),
    "superseded": N_("Superseded"),
}
LINE_STATUS_LABELS = {"open": N_("Open"), "accepted": N_("Accepted"), "rejected": N_("Rejected"), "cancelled": N_("Cancelled")}
TRAIL_TABLES = {
    "purchase_order": N_("Order"),
    "purchase_order_line": N_("Line"),
    "po_line_response": N_("Supplier's answer"),
    "purchase_order_schedule": N_("Delivery schedule"),
}
TRAIL_ACTIONS = {"I": N_("Created"), "U": N_("Changed"), "D": N_("Deleted")}
DIFF_LABELS = {
    "added": N_("Line added"),
    "removed": N_("Line removed"),
    "quantity": N_("Quantity"),
    "unit_price": N_("Unit price"),
    "requested_date": N_("Requested date"),
}
# Columns not worth showing in the trail (keys, bookkeeping).
TRAIL_HIDDEN = {"id", "tenant_id", "supplier_id", "purchase_order_id", "purchase_order_line_id", "created_at", "updated_at"}


@dataclass
class Answering:
    """The supplier's form as typed: values by field name, errors by field name."""

    values: dict
    errors: dict
    message: str | None = None


@blueprint.get("/purchase-orders/<uuid:po_id>")
@permission_required("po.view")
def purchase_order(po_id: uuid.UUID):
    return _page(po_id)


# A message may carry MAX_FILES files of the vault's size each; the vault checks each
# file's own limit while it reads.
allow_larger_body(blueprint, "purchasing.post_message", lambda: vault().max_upload_bytes * messages.MAX_FILES)


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    message = gettext(TOO_LARGE, megabytes=vault().max_upload_bytes // (1024 * 1024))
    po_id = (request.view_args or {}).get("po_id")
    if request.endpoint == "purchasing.post_message" and po_id is not None:
        return _page(po_id, message_error=message, status=413)
    return error_page(413, message)


@blueprint.post("/purchase-orders/<uuid:po_id>/messages")
@permission_required("po.manage", "po.confirm")
def post_message(po_id: uuid.UUID):
    if not PlainForm().validate_on_submit():
        abort(400)
    text = request.form.get("body", "")
    files = [(f.stream, f.filename) for f in request.files.getlist("files") if f.filename]
    try:
        messages.post_message(
            request_uow(), current_user.actor, po_id=po_id, body=text, author_name=current_user.full_name,
            files=files, vault=vault(),
        )
    except ValidationFailed as error:
        return _page(po_id, message_error=_message_problem(error), message_text=text, status=error.status)
    notify(N_("Your message is sent."))
    return redirect(url_for("purchasing.purchase_order", po_id=po_id, _anchor="thread-title"), code=303)


def _message_problem(error: ValidationFailed) -> str:
    """The message form's one error line; a refused file is named."""
    text = next(iter(field_errors(error).values())) if error.errors else error_text(error)
    filename = error.params.get("filename")
    return f"{filename}: {text}" if filename else text


@blueprint.get("/purchase-orders/<uuid:po_id>/attachments/<uuid:attachment_id>")
@permission_required("po.view")
def message_attachment(po_id: uuid.UUID, attachment_id: uuid.UUID):
    file_id = messages.attachment_file(request_uow(), current_user.actor, po_id=po_id, attachment_id=attachment_id)
    return download(file_id, as_attachment=True)


@blueprint.post("/purchase-orders/<uuid:po_id>/issue")
@permission_required("po.manage", side="buyer")
def issue(po_id: uuid.UUID):
    version = _version()
    uow = request_uow()
    try:
        po = confirmation.issue_purchase_order(uow, current_user.actor, po_id=po_id, version=version)
    except DomainError as error:
        return _refused(po_id, error)
    notify(N_("The purchase order was issued to the supplier."))
    gaps = gate.gaps_for(uow, po, utcnow().date())
    if gaps:
        notify(N_("Note: the supplier lacks valid certificates: %(types)s."), types=_gap_names(gaps))
    graded = gate.grade_warning(uow, po)
    if graded is not None:
        notify(
            N_("Note: the supplier has scorecard grade %(grade)s (score %(score)s)."),
            grade=graded.grade or "-",
            score=f"{graded.score:.1f}" if graded.score is not None else "-",
        )
    return redirect(url_for("purchasing.purchase_order", po_id=po_id), code=303)


@blueprint.post("/purchase-orders/<uuid:po_id>/responses")
@permission_required("po.confirm", side="supplier")
def respond(po_id: uuid.UUID):
    version, revision = _version(), _version("revision")
    line_ids = [value for key, value in request.form.items() if key.startswith("line-") and key.endswith("-id")]
    if "accept_all" in request.form:
        responses = [{"line_id": line_id, "action": "accept"} for line_id in line_ids]
        slots = list(range(len(line_ids)))
    else:
        responses, slots = [], []
        for n, line_id in enumerate(line_ids):
            answer = _answer_of(n, line_id)
            if answer is not None:
                responses.append(answer)
                slots.append(n)
    uow = request_uow()
    try:
        made = confirmation.respond_to_purchase_order(
            uow, current_user.actor, po_id=po_id, revision=revision, version=version, responses=responses
        )
    except ValidationFailed as error:
        return _refused(po_id, error, answering=Answering(values=request.form.to_dict(), errors=_line_errors(error, slots)))
    except DomainError as error:
        return _refused(po_id, error)
    notify(N_("Your answers were sent: %(count)d line(s)."), count=len(made))
    return redirect(url_for("purchasing.purchase_order", po_id=po_id), code=303)


@blueprint.post("/purchase-orders/responses/<uuid:response_id>/decision")
@permission_required("po.manage", side="buyer")
def decide(response_id: uuid.UUID):
    version = _version()
    accept = request.form.get("accept") == "1"
    uow = request_uow()
    try:
        response = confirmation.decide_on_response(
            uow, current_user.actor, response_id=response_id, accept=accept, version=version, note=request.form.get("note")
        )
    except ResponseNotFound:
        raise
    except DomainError as error:
        po_id = _order_of_response(response_id)
        if po_id is None:
            raise
        return _refused(po_id, error)
    if accept:
        notify(N_("You accepted the supplier's answer; the order is updated."))
    else:
        notify(N_("You rejected the supplier's answer; the line is open for the supplier to answer again."))
    return redirect(url_for("purchasing.purchase_order", po_id=response.purchase_order_id), code=303)


# -- helpers ---------------------------------------------------------------------------


def _version(name: str = "version") -> int:
    """The CSRF token checked (a form of this site), and the version the form showed."""
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        return int(request.form.get(name, ""))
    except ValueError:
        abort(400)


def _answer_of(n: int, line_id: str) -> dict | None:
    """Line n's answer as the service takes it, with only the fields its action uses;
    None when the line is left for later."""
    form = request.form
    action = form.get(f"line-{n}-action", "")
    if not action:
        return None
    answer = {"line_id": line_id, "action": action}
    comment = form.get(f"line-{n}-comment", "").strip()
    if comment:
        answer["comment"] = comment
    if action == "reject":
        answer["reason_code"] = form.get(f"line-{n}-reason_code", "")
    elif action == "propose":
        for field in ("quantity", "unit_price", "promised_date"):
            value = form.get(f"line-{n}-{field}", "").strip()
            if value:
                answer[field] = value
        split = []
        for k in range(SPLIT_ROWS):
            quantity = form.get(f"line-{n}-split-{k}-quantity", "").strip()
            when = form.get(f"line-{n}-split-{k}-date", "").strip()
            if quantity or when:
                split.append({"quantity": quantity, "date": when})
        if split:
            answer["schedule"] = split
    return answer


def _line_errors(error: ValidationFailed, slots: list[int]) -> dict[str, str]:
    """The service's errors ("responses.3.promised_date", "responses.3.schedule.1.date")
    keyed by the form's field names ("line-5-promised_date", "line-5-split-1-date")."""
    found = {}
    for key, message in field_errors(error).items():
        parts = key.split(".")
        if parts[0] != "responses" or len(parts) < 3 or not parts[1].isdigit() or int(parts[1]) >= len(slots):
            found["form"] = message
            continue
        n = slots[int(parts[1])]
        field = parts[2]
        if field == "schedule" and len(parts) == 5:
            found[f"line-{n}-split-{parts[3]}-{parts[4]}"] = message
        elif field == "schedule":
            found[f"line-{n}-split"] = message
        elif field in (*FIELDS, "action"):
            found[f"line-{n}-{field}"] = message
        else:
            found[f"line-{n}-action"] = message
    return found


def _order_of_response(response_id: uuid.UUID) -> uuid.UUID | None:
    request_uow().rollback()
    try:
        return confirmation.response_order_id(request_uow(), response_id=response_id)
    except ResponseNotFound:
        return None


def _refused(po_id: uuid.UUID, error: DomainError, *, answering: Answering | None = None):
    """The page again, with what went wrong: nothing of the request was kept."""
    if isinstance(error, PurchaseOrderNotFound):
        raise error  # the error handler answers it (and notes a probe: portal.purchasing.views)
    request_uow().rollback()
    message = " ".join(field_errors(error).values()) or error_text(error)
    if answering is not None:
        if not answering.errors:
            answering.errors["form"] = message
        return _page(po_id, answering=answering, status=error.status)
    return _page(po_id, problem=message, status=error.status)


def _page(
    po_id: uuid.UUID,
    *,
    answering: Answering | None = None,
    problem: str | None = None,
    status: int = 200,
    message_error: str | None = None,
    message_text: str = "",
    change_form: dict | None = None,
):
    uow = request_uow()
    detail = confirmation.get_purchase_order_detail(uow, po_id=po_id)
    order = detail.order
    is_supplier = current_user.is_supplier
    awaiting = order.status in confirmation.AWAITING
    answered = {
        d.line.id
        for d in detail.lines
        for r in d.responses
        if r.revision == order.revision and r.decision in ("pending", "accepted")
    }
    open_lines = [d for d in detail.lines if d.line.status == "open" and d.line.id not in answered]
    can_answer = is_supplier and can("po.confirm") and awaiting and bool(open_lines)
    can_decide = not is_supplier and can("po.manage") and awaiting
    trail = confirmation.purchase_order_trail(uow, detail) if not is_supplier and can("audit.view") else None
    if answering is not None and answering.errors and not can_answer:
        problem = problem or answering.errors.get("form") or next(iter(answering.errors.values()))
    html = render_template(
        "purchasing/detail.html",
        detail=detail,
        order=order,
        overdue=reminders.is_overdue(order.status, order.issued_at, reminders.reminder_days(uow)),
        revisions=changes.list_revisions(uow, po_id=order.id),
        thread=messages.thread(uow, current_user.actor, po_id=order.id),
        max_files=messages.MAX_FILES,
        max_megabytes=vault().max_upload_bytes // (1024 * 1024),
        can_write=can("po.confirm") if is_supplier else can("po.manage"),
        can_change=not is_supplier and can("po.manage") and order.status in changes.CHANGEABLE,
        change_form=change_form or {},
        change_items=items_service.all_items(uow, current_user.actor)
        if not is_supplier and can("po.manage") and can("items.view")
        else [],
        message_error=message_error,
        message_text=message_text,
        diff_labels=DIFF_LABELS,
        open_lines=open_lines if can_answer else [],
        can_answer=can_answer,
        can_decide=can_decide,
        can_issue=not is_supplier and can("po.manage") and order.status == "draft",
        certificate_gaps=_gap_names(gate.gaps_for(uow, order, utcnow().date()))
        if not is_supplier and order.status == "draft"
        else "",
        answering=answering or Answering(values={}, errors={}),
        problem=problem,
        history=_history(detail),
        trail=trail,
        split_rows=SPLIT_ROWS,
        action_labels=ACTION_LABELS,
        decision_labels=DECISION_LABELS,
        line_status_labels=LINE_STATUS_LABELS,
        trail_tables=TRAIL_TABLES,
        trail_actions=TRAIL_ACTIONS,
        trail_hidden=TRAIL_HIDDEN,
        reasons={c.code: c for c in confirmation.reason_codes(uow)},
        iso_day=lambda value: day(date.fromisoformat(value)),
    )
    return html, status


def _gap_names(gaps) -> str:
    """The missing certificates in words: type (and part number), state."""
    names = {}
    for gap in gaps:
        names.setdefault(localized(gap.type.name, gap.type.name_zh), gettext(STATE_LABELS[gap.state]))
    return "; ".join(f"{name} ({state})" for name, state in names.items())


@dataclass(frozen=True)
class Moment:
    """One step of the order's history, as both sides see it."""

    at: object
    what: str
    line_no: int | None = None
    who: str | None = None
    note: str | None = None


def _history(detail) -> list[Moment]:
    """What happened to the order, newest first: issued, each answer and each decision,
    acknowledged. Built from the order itself, so the supplier sees it too (the audit
    trail, with every changed field, is for the tenant's people who may read it)."""
    order, people = detail.order, detail.people
    moments = []
    if order.issued_at:
        moments.append(Moment(order.issued_at, gettext("Issued to the supplier")))
    for d in detail.lines:
        for r in d.responses:
            moments.append(
                Moment(r.responded_at, gettext(ACTION_LABELS[r.action]), d.line.line_no, people.get(r.responded_by), r.comment)
            )
            if r.decided_at and r.action != "accept":
                what = gettext(DECISION_LABELS[r.decision])
                moments.append(Moment(r.decided_at, what, d.line.line_no, people.get(r.decided_by), r.decision_note))
    if order.acknowledged_at:
        moments.append(Moment(order.acknowledged_at, gettext("Every line accepted: the order is acknowledged")))
    return sorted(moments, key=lambda m: m.at, reverse=True)
