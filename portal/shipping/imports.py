"""Ship notices from a file: the upload page (the header fields above, a CSV or XLSX file
of one row per unit or lot quantity) and the templates to fill. All rows or none: a
refused file lists every bad row with its number, column and message
(erp.shipping.imports)."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.shipping import imports
from kernel.clock import utcnow
from kernel.errors import N_, DomainError
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm
from portal.shell.i18n import error_text
from portal.shipping.views import blueprint
from tenants import service as tenants

HEADER = ("ship_to_site_id", "ship_from_site_id", "carrier", "tracking_number", "seal_number", "ship_date", "expected_arrival")
MAX_SHOWN = 500  # problems listed on the page; a file this bad is fixed from the top
CHOOSE_FILE = N_("Choose a CSV or XLSX file to import.")
CREATED = N_("The ship notice %(number)s was created as a draft from the file: check it and submit it.")
TEMPLATES = {
    "csv": ("text/csv; charset=utf-8", imports.template_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", imports.template_xlsx),
}


@blueprint.get("/supplier/asns/import")
@permission_required("asn.submit", side="supplier")
def import_asn_form():
    return _page({"ship_date": utcnow().date().isoformat()})


@blueprint.post("/supplier/asns/import")
@permission_required("asn.submit", side="supplier")
def import_asn():
    if not PlainForm().validate_on_submit():
        abort(400)
    values = {key: request.form.get(key, "").strip() for key in HEADER}
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(values, problems=[(0, "file", gettext(CHOOSE_FILE))], status=422)
    uow = request_uow()
    header = {key: value or None for key, value in values.items()}
    try:
        saved = imports.asn_from_file(uow, current_user.actor, content=upload.read(), filename=upload.filename, header=header)
    except imports.AsnImportInvalid as error:
        uow.rollback()
        problems = [(e.row, e.field, gettext(e.message, **e.params)) for e in error.rows]
        return _page(values, problems=problems, status=error.status)
    except DomainError as error:
        uow.rollback()
        return _page(values, problems=[(0, "", error_text(error))], status=error.status)
    notify(CREATED, number=saved.asn.number)
    return redirect(url_for("shipping.asn", asn_id=saved.asn.id), code=303)


@blueprint.get("/supplier/asns/template.<kind>")
@permission_required("asn.submit", side="supplier")
def asn_template(kind: str):
    if kind not in TEMPLATES:
        abort(404)
    mimetype, make = TEMPLATES[kind]
    disposition = f'attachment; filename="asn-template.{kind}"'
    return current_app.response_class(make(), mimetype=mimetype, headers={"Content-Disposition": disposition})


def _page(values: dict, *, problems: list | None = None, status: int = 200):
    uow, actor = request_uow(), current_user.actor
    problems = problems or []
    html = render_template(
        "shipping/import.html",
        values=values,
        problems=problems[:MAX_SHOWN],
        more=max(len(problems) - MAX_SHOWN, 0),
        sites=tenants.own_sites(uow),
        own_sites=tenants.sites_of(uow, supplier_id=actor.supplier_id) if actor.supplier_id else [],
        columns=imports.COLUMNS,
        max_rows=f"{imports.MAX_ROWS:,}",
    )
    return html, status
