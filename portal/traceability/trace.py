"""Trace pages: a scan box (autofocus; a scanner's Enter posts it) with the reason and the
direction, the traces run before (who, when, why; a page at a time), one trace as an
indented tree backward to the suppliers and forward to the customers with each unit's
stock, and its exports (CSV, XLSX, PDF). Views translate HTTP to erp.traceability.trace."""

from __future__ import annotations

import io
import uuid
from datetime import datetime

import weasyprint
from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from weasyprint.urls import URLFetcher
from werkzeug.routing import BuildError

from auth import service as auth
from erp import tabular
from erp.inventory.service import STATUS_LABELS
from erp.traceability import trace
from kernel.clock import utcnow
from kernel.errors import N_, ValidationFailed
from portal.shell import permission_required, request_uow
from portal.shell.files import attachment_response, csv_response
from portal.shell.forms import PlainForm
from portal.shell.i18n import field_errors
from portal.traceability.views import blueprint

START_LABELS = {
    "udi": N_("UDI"),
    "gtin_lot": N_("GTIN and lot"),
    "serial": N_("Serial number"),
    "sscc": N_("SSCC"),
    "lot": N_("Lot"),
    "supplier": N_("Supplier"),
    "purchase_order": N_("Purchase order"),
    "asn": N_("Ship notice"),
}
KIND_LABELS = {
    "lot": N_("Lot"),
    "serial": N_("Serial number"),
    "asn": N_("Ship notice"),
    "purchase_order": N_("Purchase order"),
    "supplier": N_("Supplier"),
    "receipt": N_("Receipt"),
    "customer_shipment": N_("Customer shipment"),
    "customer": N_("Customer"),
}
DIRECTION_LABELS = {
    "both": N_("Both directions"),
    "backward": N_("Backward: what went into it, down to the suppliers"),
    "forward": N_("Forward: what it went into, up to the customers"),
}
SIDE_LABELS = {"root": N_("Start"), "backward": N_("Backward"), "forward": N_("Forward")}
PAGE_SIZE = 25
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blueprint.app_template_global()
def trace_kind_label(kind: str) -> str:
    return gettext(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


@blueprint.app_template_global()
def trace_start_label(kind: str) -> str:
    return gettext(START_LABELS[kind]) if kind in START_LABELS else kind


@blueprint.app_template_global()
def trace_stock_label(status: str) -> str:
    return gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else status


@blueprint.app_template_filter()
def trace_when(value: str | None) -> datetime | None:
    """An ISO time of a result (a receipt's, a shipment's) as a datetime for |moment."""
    return datetime.fromisoformat(value) if value else None


@blueprint.app_template_filter()
def trace_code(code: str | None) -> str:
    """A code as given, its GS separators written as scanner tools print them."""
    return (code or "").replace("\x1d", "<GS>")


@blueprint.get("/trace")
@permission_required("recall.run", side="buyer")
def trace_index():
    # "Trace this lot" on a trace's tree comes back here with the lot's code filled in.
    return _index(typed={"code": request.args["code"]} if request.args.get("code") else None)


@blueprint.post("/trace")
@permission_required("recall.run", side="buyer")
def trace_run():
    if not PlainForm().validate_on_submit():
        abort(400)
    uow, form = request_uow(), request.form
    try:
        snapshot = trace.run_trace(
            uow, current_user.actor, code=form.get("code", ""), reason=form.get("reason", ""),
            direction=form.get("direction", "both"),
        )
    except ValidationFailed as error:
        uow.rollback()
        return _index(errors=field_errors(error), typed=form, status=error.status)
    return redirect(url_for("traceability.trace_snapshot", snapshot_id=snapshot.id), code=303)


@blueprint.get("/trace/<uuid:snapshot_id>")
@permission_required("recall.run", side="buyer")
def trace_snapshot(snapshot_id: uuid.UUID):
    snapshot = trace.get_snapshot(request_uow(), current_user.actor, snapshot_id=snapshot_id)
    result = snapshot.result
    return render_template(
        "traceability/trace_snapshot.html",
        snapshot=snapshot,
        result=result,
        backward=trace.tree(result, "backward") if result.get("direction") != "forward" else None,
        forward=trace.tree(result, "forward") if result.get("direction") != "backward" else None,
        counts=_counts(result),
        runner=_names({snapshot.run_by}).get(snapshot.run_by),
        recall_url=_recall_url(snapshot.id),
        direction_labels=DIRECTION_LABELS,
    )


@blueprint.get("/trace/<uuid:snapshot_id>.csv")
@permission_required("recall.run", side="buyer")
def trace_csv(snapshot_id: uuid.UUID):
    snapshot = trace.get_snapshot(request_uow(), current_user.actor, snapshot_id=snapshot_id)
    rows = _rows(snapshot.result)
    return csv_response(tabular.csv_bytes([tabular.spreadsheet_text(v) for v in row] for row in rows), _filename(snapshot, "csv"))


@blueprint.get("/trace/<uuid:snapshot_id>.xlsx")
@permission_required("recall.run", side="buyer")
def trace_xlsx(snapshot_id: uuid.UUID):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    snapshot = trace.get_snapshot(request_uow(), current_user.actor, snapshot_id=snapshot_id)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(gettext("Trace"))
    for row in _rows(snapshot.result):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith(tabular.FORMULA_START):
                cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return attachment_response(out.getvalue(), _filename(snapshot, "xlsx"), XLSX)


@blueprint.get("/trace/<uuid:snapshot_id>.pdf")
@permission_required("recall.run", side="buyer")
def trace_pdf(snapshot_id: uuid.UUID):
    snapshot = trace.get_snapshot(request_uow(), current_user.actor, snapshot_id=snapshot_id)
    result = snapshot.result
    html = render_template(
        "traceability/trace_print.html",
        snapshot=snapshot,
        result=result,
        backward=trace.tree(result, "backward") if result.get("direction") != "forward" else None,
        forward=trace.tree(result, "forward") if result.get("direction") != "backward" else None,
        counts=_counts(result),
        runner=_names({snapshot.run_by}).get(snapshot.run_by),
        membership=current_user.membership,
        direction_labels=DIRECTION_LABELS,
        printed_at=utcnow(),
    )
    # Nothing is fetched: the stylesheet is inline and the fonts are the system's.
    pdf = weasyprint.HTML(string=html, base_url=blueprint.root_path, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{_filename(snapshot, "pdf")}"'
    return response


def _index(*, errors: dict | None = None, typed=None, status: int = 200):
    uow, actor = request_uow(), current_user.actor
    cursor = request.args.get("cursor") or None
    try:
        page = trace.list_snapshots(uow, actor, cursor=cursor, limit=PAGE_SIZE)
    except ValidationFailed:
        page, cursor = trace.list_snapshots(uow, actor, limit=PAGE_SIZE), None
    context = {
        "page": page,
        "first_page": cursor is None,
        "names": _names({s.run_by for s in page.items}),
        "errors": errors or {},
        "typed": typed or {},
        "directions": DIRECTION_LABELS,
    }
    return render_template("traceability/trace_index.html", **context), status


def _names(user_ids) -> dict:
    names = {}
    for user_id in {u for u in user_ids if u}:
        user = auth.get_user(request_uow(), user_id=user_id)
        if user is not None:
            names[user_id] = user.full_name or user.email
    return names


def _recall_url(snapshot_id) -> str | None:
    """T2's "open a recall from this trace", when that page is there."""
    if "traceability.new_recall" not in current_app.view_functions:
        return None
    try:
        return url_for("traceability.new_recall", snapshot_id=snapshot_id)
    except BuildError:
        return None


def _counts(result: dict) -> dict:
    counts: dict[str, int] = {}
    for node in result["nodes"]:
        counts[node["kind"]] = counts.get(node["kind"], 0) + 1
    return counts


def _filename(snapshot, extension: str) -> str:
    return f"trace-{snapshot.run_at:%Y%m%d-%H%M%S}-{str(snapshot.id)[-8:]}.{extension}"


def _rows(result: dict) -> list[list]:
    header = [
        gettext("Direction"), gettext("Depth"), gettext("Kind"), gettext("Code"), gettext("Item"), gettext("Lot"),
        gettext("Serial number"), gettext("UDI"), gettext("Quantity"), gettext("Date"), gettext("Stock"),
    ]
    rows = [header]
    for row in trace.flat_rows(result):
        stock = "; ".join(
            f"{trace_stock_label(s['status'])} {s['location'] or ''} {s['quantity']}".replace("  ", " ")
            for s in row["stock"]
        )
        rows.append([
            gettext(SIDE_LABELS[row["direction"]]), row["depth"], trace_kind_label(row["kind"]), row["label"], row["item"],
            row["lot"], row["serial"], row["udi"], row["quantity"], row["date"], stock,
        ])
    return rows
