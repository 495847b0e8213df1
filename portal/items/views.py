"""Item master pages on the buyer side: the list with search, an item with its revisions
(add one, cancel a scheduled one), new and edit forms, export as CSV or XLSX and import
from either."""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from erp import tabular
from erp.items import imports, revisions
from erp.items import service as items
from erp.items import tasks as item_tasks
from erp.items.errors import DuplicatePartNumber, DuplicateUdiDi, RevisionInEffect, RevisionNotFound
from erp.suppliers import overview
from kernel.errors import N_, ValidationFailed
from portal import jobs
from portal.items.forms import AGENCY_LABELS, CATEGORY_LABELS, LABELS, ImportForm, ItemForm, RevisionForm
from portal.shell import notify, permission_required, request_uow
from portal.shell.errors import error_page
from portal.shell.files import attachment_response, csv_response
from portal.shell.forms import PlainForm, show_errors
from portal.shell.i18n import error_text
from portal.shell.identity import can
from portal.shell.lifecycle import runtime
from portal.shell.security_log import record_export
from portal.shell.uploads import allow_larger_body

blueprint = Blueprint("items", __name__, template_folder="templates")
ERRORS_SHOWN = 200  # on the page; the downloadable report has every one
CHOOSE_FILE = N_("Choose a CSV or XLSX file.")
# A conflict with another item is shown beside the field it is about.
CONFLICT_FIELDS = {DuplicatePartNumber: "part_number", DuplicateUdiDi: "udi_di"}

DEVICE_FIELDS = ("issuing_agency", "udi_di", "basic_udi_di", "device_class")
STORAGE_FIELDS = (
    "storage_temp_min_c",
    "storage_temp_max_c",
    "storage_humidity_min_pct",
    "storage_humidity_max_pct",
    "max_excursion_minutes",
)


@blueprint.context_processor
def _labels():
    return {"LABELS": LABELS, "CATEGORY_LABELS": CATEGORY_LABELS, "AGENCY_LABELS": AGENCY_LABELS}


@blueprint.get("/items")
@permission_required("items.view", side="buyer")
def item_list():
    cursor = request.args.get("cursor") or None
    query = (request.args.get("q") or "").strip()[:100]
    uow = request_uow()
    page = items.list_items(uow, current_user.actor, after=cursor, query=query or None)
    current = revisions.current_revisions(uow, item_ids=[item.id for item in page.items], on=revisions.today())
    return render_template("items/list.html", page=page, first_page=cursor is None, query=query, current=current)


@blueprint.route("/items/new", methods=["GET", "POST"])
@permission_required("items.manage", side="buyer")
def new_item():
    form = ItemForm()
    error = None
    if form.validate_on_submit():
        uow = request_uow()
        uow.reason = "Item created"
        try:
            item = items.create_item(uow, current_user.actor, **form.values())
        except (ValidationFailed, DuplicatePartNumber, DuplicateUdiDi) as failed:
            error = show_errors(form, failed, field=CONFLICT_FIELDS.get(type(failed)))
        else:
            notify(N_("Item %(part_number)s was created."), part_number=item.part_number)
            return redirect(url_for("items.item_detail", item_id=item.id), code=303)
    elif request.method == "POST":
        error = gettext(ValidationFailed.message)
    return _form_page(form, error, item=None)


@blueprint.get("/items/<uuid:item_id>")
@permission_required("items.view", side="buyer")
def item_detail(item_id: uuid.UUID):
    return _detail_page(item_id)


def _detail_page(item_id: uuid.UUID, *, revision_form: RevisionForm | None = None, revision_error=None, status=200):
    uow = request_uow()
    item = items.get_item(uow, item_id=item_id)
    history = revisions.list_revisions(uow, item_id=item.id)
    states = revisions.states(history, on=revisions.today())
    current = next((r for r in history if states[r.id] == revisions.IN_EFFECT), None)
    upcoming = next((r for r in history if states[r.id] == revisions.SCHEDULED), None)
    manage = can("items.manage")
    if manage and revision_form is None:
        revision_form = RevisionForm(formdata=None)
    return render_template(
        "items/detail.html",
        item=item,
        device_fields=DEVICE_FIELDS,
        storage_fields=STORAGE_FIELDS,
        history=sorted(history, key=lambda r: r.effective_from, reverse=True),
        states=states,
        current=current,
        upcoming=upcoming,
        people=overview.people_names(uow, ids={r.created_by for r in history}),
        manage=manage,
        revision_form=revision_form,
        revision_error=revision_error,
    ), status


@blueprint.post("/items/<uuid:item_id>/revisions")
@permission_required("items.manage", side="buyer")
def add_revision(item_id: uuid.UUID):
    uow = request_uow()
    item = items.get_item(uow, item_id=item_id)
    form = RevisionForm()
    if form.validate_on_submit():
        uow.reason = "Item revision added"
        try:
            row = revisions.add_revision(uow, current_user.actor, item_id=item.id, **form.values())
        except ValidationFailed as failed:
            error = show_errors(form, failed)
        else:
            notify(
                N_("Revision %(revision)s of item %(part_number)s was saved."),
                revision=row.revision,
                part_number=item.part_number,
            )
            return redirect(url_for("items.item_detail", item_id=item.id) + "#revisions", code=303)
    else:
        error = gettext(ValidationFailed.message)
    return _detail_page(item.id, revision_form=form, revision_error=error, status=422)


@blueprint.route("/items/<uuid:item_id>/revisions/<uuid:revision_id>/cancel", methods=["GET", "POST"])
@permission_required("items.manage", side="buyer")
def cancel_revision(item_id: uuid.UUID, revision_id: uuid.UUID):
    """Asks first (GET); the POST cancels a revision that has not yet taken effect."""
    uow = request_uow()
    item = items.get_item(uow, item_id=item_id)
    row = revisions.get_revision(uow, revision_id=revision_id)
    if row.item_id != item.id:
        raise RevisionNotFound()
    form = PlainForm()
    error, status = None, 200
    if form.validate_on_submit():
        uow.reason = "Item revision cancelled"
        try:
            revisions.cancel_revision(uow, current_user.actor, revision_id=row.id)
        except RevisionInEffect as refused:
            error, status = error_text(refused), 409
        else:
            notify(
                N_("Revision %(revision)s of item %(part_number)s was cancelled."),
                revision=row.revision,
                part_number=item.part_number,
            )
            return redirect(url_for("items.item_detail", item_id=item.id) + "#revisions", code=303)
    scheduled = row.effective_from > revisions.today()
    return render_template(
        "items/revision_cancel.html", item=item, revision=row, form=form, scheduled=scheduled, error=error
    ), status


@blueprint.route("/items/<uuid:item_id>/edit", methods=["GET", "POST"])
@permission_required("items.manage", side="buyer")
def edit_item(item_id: uuid.UUID):
    uow = request_uow()
    item = items.get_item(uow, item_id=item_id)
    form = ItemForm(obj=item)
    error = None
    if form.validate_on_submit():
        uow.reason = "Item changed"
        changes = form.values()
        # Identifiers shown as stored and sent back unchanged stay as they are.
        for name in ("issuing_agency", "udi_di", "basic_udi_di"):
            if (changes[name] or "").strip() == (getattr(item, name) or ""):
                del changes[name]
        try:
            items.update_item(uow, current_user.actor, item_id=item.id, **changes)
        except (ValidationFailed, DuplicatePartNumber, DuplicateUdiDi) as failed:
            uow.session.expire(item)  # the form keeps what was typed; the item is as stored
            error = show_errors(form, failed, field=CONFLICT_FIELDS.get(type(failed)))
        else:
            notify(N_("Item %(part_number)s was saved."), part_number=item.part_number)
            return redirect(url_for("items.item_detail", item_id=item.id), code=303)
    elif request.method == "POST":
        error = gettext(ValidationFailed.message)
    return _form_page(form, error, item=item)


@blueprint.get("/items/export.csv")
@permission_required("items.view", side="buyer")
def export_csv():
    return _export(imports.export_csv, "text/csv; charset=utf-8", "csv")


@blueprint.get("/items/export.xlsx")
@permission_required("items.view", side="buyer")
def export_xlsx():
    return _export(imports.export_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")


def _export(write, mimetype: str, extension: str):
    rows = items.all_items(request_uow(), current_user.actor)
    record_export(what="items", rows=len(rows))
    return attachment_response(write(rows), f"items.{extension}", mimetype)


def _form_page(form: ItemForm, error: str | None, *, item):
    status = 422 if request.method == "POST" else 200
    return render_template("items/form.html", form=form, error=error, item=item), status


# --- import -------------------------------------------------------------------------------------


@blueprint.route("/items/import", methods=["GET", "POST"])
@permission_required("items.manage", side="buyer")
def import_items():
    form = ImportForm()
    error = None
    if form.validate_on_submit():
        upload = form.file.data
        content = upload.read() if upload else b""
        if not upload or not upload.filename:
            error = gettext(CHOOSE_FILE)
            form.file.errors = [error]
        else:
            uow = request_uow()
            uow.reason = "Items imported"
            try:
                record = imports.start_import(uow, current_user.actor, filename=upload.filename, content=content)
            except imports.ImportFileInvalid as bad:
                error = error_text(bad)
                form.file.errors = [error]
            else:
                if record.status == "queued":
                    _defer_after_commit(uow, record)
                return redirect(url_for("items.import_status", import_id=record.id), code=303)
    elif request.method == "POST":
        error = gettext(ValidationFailed.message)
    return _import_page(form, error, 422 if request.method == "POST" else 200)


# The import form may send more than the app's usual limit; the import's own limit is
# checked on the file (erp.items.imports.MAX_BYTES).
allow_larger_body(blueprint, "items.import_items", lambda: imports.MAX_BYTES)


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    message = gettext(imports.TOO_LARGE, megabytes=imports.MAX_BYTES // (1024 * 1024))
    if can("items.manage") and not current_user.is_supplier:
        return _import_page(ImportForm(formdata=None), message, 413)
    return error_page(413, message)  # no form for those who may not import


def _import_page(form, error, status):
    return render_template(
        "items/import.html",
        form=form,
        error=error,
        columns=imports.IMPORT_COLUMNS,
        max_megabytes=imports.MAX_BYTES // (1024 * 1024),
        max_rows=imports.MAX_ROWS,
        small=imports.SMALL,
    ), status


def _defer_after_commit(uow, record) -> None:
    rt, tenant_id, import_id = runtime(), str(uow.tenant_id), str(record.id)

    def defer() -> None:
        jobs.defer_job(rt, item_tasks.import_items, about=f"item import {import_id}", tenant_id=tenant_id, import_id=import_id)

    uow.after_commit(defer)


@blueprint.get("/items/imports/<uuid:import_id>")
@permission_required("items.manage", side="buyer")
def import_status(import_id: uuid.UUID):
    record = imports.get_import(request_uow(), current_user.actor, import_id=import_id)
    report = imports.report_of(record)
    context = {"record": record, "report": report, "errors_shown": ERRORS_SHOWN}
    if request.headers.get("HX-Request") == "true":
        return render_template("items/_import_status.html", **context)
    return render_template("items/import_status.html", **context)


@blueprint.get("/items/imports/<uuid:import_id>/errors.csv")
@permission_required("items.manage", side="buyer")
def import_errors(import_id: uuid.UUID):
    record = imports.get_import(request_uow(), current_user.actor, import_id=import_id)
    report = imports.report_of(record)
    rows = [[gettext("Row"), gettext("Column"), gettext("Problem")]]
    rows += [[e.row or "", e.field, gettext(e.message, **e.params)] for e in (report.errors if report else [])]
    return csv_response(tabular.csv_bytes(rows), f"item-import-errors-{record.id}.csv")
