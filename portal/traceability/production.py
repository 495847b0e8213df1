"""Production records, customer shipments and customers: lists, detail pages, the
record-production and record-shipment forms (scanner friendly: one scanned code per
line), and CSV/XLSX uploads with their templates. Writing needs production.record;
quality's recall.run reads. Everything is checked by erp.traceability.service."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.gs1.errors import Gs1Invalid
from erp.gs1.parse import parse_code
from erp.traceability import imports, service
from kernel.clock import utcnow
from kernel.errors import N_, DomainError, ValidationFailed
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm
from portal.shell.i18n import error_text, field_errors
from portal.shell.uploads import allow_larger_body
from portal.traceability.views import blueprint

PAGE_SIZE = 50
READERS = ("production.record", "recall.run")
MAX_SHOWN = 500
MAX_LINES = 500
RECORDED = N_("Production %(reference)s recorded: lot %(lot)s.")
SHIPPED = N_("Shipment %(reference)s recorded.")
IMPORTED_RUNS = N_("%(count)s production records imported.")
IMPORTED_SHIPMENTS = N_("%(count)s customer shipments imported.")
CUSTOMER_SAVED = N_("Customer %(code)s saved.")
CHOOSE_FILE = N_("Choose a CSV or XLSX file to import.")
LINE_PROBLEM = N_("Line %(line)s: %(message)s")
BAD_LINE = N_("Scan a GS1 code, or write part number;lot;quantity;serial.")
TOO_MANY_LINES = N_("At most 500 lines at once.")
NOT_A_TIME = N_("Enter a date and time.")
TEMPLATES = {
    "csv": ("text/csv; charset=utf-8", imports.template_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", imports.template_xlsx),
}


# --- production --------------------------------------------------------------------------


@blueprint.get("/production")
@permission_required(*READERS, side="buyer")
def production_list():
    q = (request.args.get("q") or "").strip()[:60] or None
    page, first, problem = _paged(lambda cursor: service.list_production_runs(
        request_uow(), current_user.actor, q=q, cursor=cursor, limit=PAGE_SIZE
    ))
    return render_template(
        "traceability/production_list.html", page=page, first_page=first, q=q, problem=problem, quantity=_plain
    )


@blueprint.route("/production/new", methods=["GET", "POST"])
@permission_required("production.record", side="buyer")
def production_new():
    if request.method == "GET":
        return _production_form({"produced_at": _local_now()})
    if not PlainForm().validate_on_submit():
        abort(400)
    values = {k: request.form.get(k, "").strip() for k in
              ("reference", "item", "lot", "quantity", "produced_at", "expiry_date", "serials", "components")}
    uow = request_uow()
    errors: dict[str, str] = {}
    item_id, lot = _finished(uow, values, errors)
    uses, line_of = _component_lines(uow, values["components"], errors)
    produced_at = _time(values["produced_at"], errors)
    if errors:
        return _production_form(values, errors, status=422)
    try:
        run = service.record_production(
            uow, current_user.actor, reference=values["reference"], item_id=item_id, lot_number=lot,
            quantity=values["quantity"], produced_at=produced_at, serials=values["serials"].split(),
            expiry_date=_date(values["expiry_date"]), components=uses, source="screen",
        )
    except ValidationFailed as error:
        uow.rollback()
        return _production_form(values, _by_form_field(error, line_of, {"item_id": "item", "lot_number": "lot"}), status=422)
    except DomainError as error:
        uow.rollback()
        return _production_form(values, {"": error_text(error)}, status=error.status)
    notify(RECORDED, reference=run.reference, lot=lot)
    return redirect(url_for("traceability.production_detail", run_id=run.id), code=303)


@blueprint.get("/production/<uuid:run_id>")
@permission_required(*READERS, side="buyer")
def production_detail(run_id: uuid.UUID):
    uow = request_uow()
    detail = service.get_production_run(uow, current_user.actor, run_id=run_id)
    shipments = service.list_shipments(uow, current_user.actor, lot_id=detail.lot.id, limit=PAGE_SIZE)
    return render_template("traceability/production_detail.html", d=detail, shipments=shipments.items, quantity=_plain)


@blueprint.route("/production/import", methods=["GET", "POST"])
@permission_required("production.record", side="buyer")
def production_import():
    return _import("production")


@blueprint.get("/production/template.<kind>")
@permission_required("production.record", side="buyer")
def production_template(kind: str):
    return _template("production", kind)


# --- shipments ---------------------------------------------------------------------------


@blueprint.get("/shipments")
@permission_required(*READERS, side="buyer")
def shipment_list():
    q = (request.args.get("q") or "").strip()[:60] or None
    page, first, problem = _paged(lambda cursor: service.list_shipments(
        request_uow(), current_user.actor, q=q, cursor=cursor, limit=PAGE_SIZE
    ))
    return render_template("traceability/shipment_list.html", page=page, first_page=first, q=q, problem=problem, quantity=_plain)


@blueprint.route("/shipments/new", methods=["GET", "POST"])
@permission_required("production.record", side="buyer")
def shipment_new():
    uow = request_uow()
    if request.method == "GET":
        return _shipment_form({"shipped_at": _local_now(), "customer": request.args.get("customer", "")})
    if not PlainForm().validate_on_submit():
        abort(400)
    values = {k: request.form.get(k, "").strip() for k in ("reference", "customer", "address", "shipped_at", "lines")}
    errors: dict[str, str] = {}
    customer = service.customer_by_code(uow, current_user.actor, code=values["customer"]) if values["customer"] else None
    if values["customer"] and customer is None:
        errors["customer"] = gettext(service.UNKNOWN_CUSTOMER)
    units, line_of = _component_lines(uow, values["lines"], errors, field="lines", shipped=True)
    shipped_at = _time(values["shipped_at"], errors, field="shipped_at")
    if errors:
        return _shipment_form(values, errors, status=422)
    try:
        shipment = service.record_shipment(
            uow, current_user.actor, reference=values["reference"], customer_id=customer.id if customer else None,
            shipped_at=shipped_at, ship_to_address=values["address"] or None, lines=units, source="screen",
        )
    except ValidationFailed as error:
        uow.rollback()
        fields = {"customer_id": "customer", "ship_to_address": "address"}
        return _shipment_form(values, _by_form_field(error, line_of, fields, prefix="lines"), status=422)
    except DomainError as error:
        uow.rollback()
        return _shipment_form(values, {"": error_text(error)}, status=error.status)
    notify(SHIPPED, reference=shipment.reference)
    return redirect(url_for("traceability.shipment_detail", shipment_id=shipment.id), code=303)


@blueprint.get("/shipments/<uuid:shipment_id>")
@permission_required(*READERS, side="buyer")
def shipment_detail(shipment_id: uuid.UUID):
    detail = service.get_shipment(request_uow(), current_user.actor, shipment_id=shipment_id)
    return render_template("traceability/shipment_detail.html", d=detail, quantity=_plain)


@blueprint.route("/shipments/import", methods=["GET", "POST"])
@permission_required("production.record", side="buyer")
def shipment_import():
    return _import("shipment")


@blueprint.get("/shipments/template.<kind>")
@permission_required("production.record", side="buyer")
def shipment_template(kind: str):
    return _template("shipment", kind)


# --- customers ---------------------------------------------------------------------------


@blueprint.get("/customers")
@permission_required(*READERS, side="buyer")
def customer_list():
    q = (request.args.get("q") or "").strip()[:60] or None
    page, first, problem = _paged(lambda cursor: service.list_customers(
        request_uow(), current_user.actor, q=q, cursor=cursor, limit=PAGE_SIZE
    ))
    return render_template("traceability/customer_list.html", page=page, first_page=first, q=q, problem=problem)


@blueprint.route("/customers/new", methods=["GET", "POST"])
@permission_required("production.record", side="buyer")
def customer_new():
    if request.method == "GET":
        return _customer_form({"locale": "en"})
    if not PlainForm().validate_on_submit():
        abort(400)
    values = {k: request.form.get(k, "").strip() for k in ("code", "name", "email", "address", "country", "locale")}
    uow = request_uow()
    try:
        customer = service.upsert_customer(
            uow, current_user.actor, code=values["code"], name=values["name"], email=values["email"] or None,
            address=values["address"] or None, country=values["country"] or None, locale=values["locale"] or "en",
        )
    except DomainError as error:
        uow.rollback()
        return _customer_form(values, field_errors(error) or {"": error_text(error)}, status=error.status)
    notify(CUSTOMER_SAVED, code=customer.code)
    return redirect(url_for("traceability.customer_detail", customer_id=customer.id), code=303)


@blueprint.get("/customers/<uuid:customer_id>")
@permission_required(*READERS, side="buyer")
def customer_detail(customer_id: uuid.UUID):
    uow = request_uow()
    customer = service.get_customer(uow, current_user.actor, customer_id=customer_id)
    shipments = service.list_shipments(uow, current_user.actor, customer_id=customer.id, limit=PAGE_SIZE)
    return render_template("traceability/customer_detail.html", customer=customer, shipments=shipments, quantity=_plain)


# --- helpers -----------------------------------------------------------------------------


def _paged(fetch):
    cursor = request.args.get("cursor") or None
    try:
        return fetch(cursor), cursor is None, None
    except ValidationFailed as error:  # a page link that is not ours: start again
        return fetch(None), True, field_errors(error).get("cursor") or error_text(error)


def _plain(value) -> str:
    from erp.inventory.service import plain_quantity

    return plain_quantity(value)


def _zone():
    try:
        return ZoneInfo(getattr(current_user, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_now() -> str:
    return utcnow().astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")


def _time(text: str, errors: dict, *, field: str = "produced_at") -> datetime | None:
    if not text:
        return None  # the service says it is required
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        errors[field] = gettext(NOT_A_TIME)
        return None
    return value if value.tzinfo else value.replace(tzinfo=_zone())


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _finished(uow, values: dict, errors: dict):
    """The finished item from its part number, GTIN or a scanned unit label (which may
    give the lot as well)."""
    code, lot = values["item"], values["lot"]
    if code and not code[:1].isalpha():
        try:
            parsed = parse_code(code)
        except Gs1Invalid:
            parsed = None
        if parsed is not None and parsed.di:
            lot = lot or parsed.lot or ""
            values["lot"] = lot
            return service.item_id_for_code(uow, parsed.di), lot
    item_id = service.item_id_for_code(uow, code)
    if not code:
        errors["item"] = gettext("This field is required.")
    return item_id, lot


def _component_lines(uow, text: str, errors: dict, *, field: str = "components", shipped: bool = False):
    """Each non-empty line a scanned GS1 code (optionally ";quantity" after it), or
    part number;lot;quantity;serial. Returns the uses and, by index, the line number."""
    uses, line_of = [], {}
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) > MAX_LINES:
        errors[field] = gettext(TOO_MANY_LINES)
        return [], {}
    problems = []
    for number, line in lines:
        parts = [p.strip() for p in line.split(";")]
        item_id = lot = serial = None
        quantity = "1"
        try:
            parsed = parse_code(parts[0])
        except Gs1Invalid:
            parsed = None
        if parsed is not None and parsed.di and len(parts) <= 2:
            item_id = service.item_id_for_code(uow, parsed.di)
            lot, serial = parsed.lot, parsed.serial
            quantity = parts[1] if len(parts) == 2 and parts[1] else str(parsed.quantity or 1)
        elif len(parts) >= 3:
            item_id = service.item_id_for_code(uow, parts[0])
            lot = parts[1] or None
            quantity = parts[2] or "1"
            serial = parts[3] if len(parts) > 3 and parts[3] else None
        else:
            problems.append(gettext(LINE_PROBLEM, line=number, message=gettext(BAD_LINE)))
            continue
        line_of[len(uses)] = number
        if shipped:
            uses.append(service.ShippedUnit(item_id=item_id, lot_number=lot, serial=serial, quantity=quantity))
        else:
            uses.append(service.ComponentUse(item_id=item_id, lot_number=lot, serial=serial, quantity=quantity))
    if problems:
        errors[field] = " ".join(problems)
    return uses, line_of


def _by_form_field(error: ValidationFailed, line_of: dict, fields: dict, *, prefix: str = "components") -> dict:
    """The service's field messages on the form's fields: a component's beside the lines
    box, with its line number."""
    texts = field_errors(error)
    out: dict[str, str] = {}
    for key, message in texts.items():
        parts = key.split(".")
        if parts[0] == prefix and len(parts) == 3:
            line = line_of.get(int(parts[1]), int(parts[1]) + 1)
            out[prefix] = " ".join(filter(None, [out.get(prefix), gettext(LINE_PROBLEM, line=line, message=message)]))
        elif parts[0] == "serials":
            out["serials"] = " ".join(filter(None, [out.get("serials"), message]))
        else:
            name = fields.get(parts[0], parts[0])
            out[name] = " ".join(filter(None, [out.get(name), message]))
    return out or {"": error_text(error)}


def _production_form(values: dict, errors: dict | None = None, status: int = 200):
    return render_template("traceability/production_form.html", values=values, errors=errors or {}), status


def _shipment_form(values: dict, errors: dict | None = None, status: int = 200):
    return render_template("traceability/shipment_form.html", values=values, errors=errors or {}), status


def _customer_form(values: dict, errors: dict | None = None, status: int = 200):
    return render_template("traceability/customer_form.html", values=values, errors=errors or {}), status


def _import(kind: str):
    columns = imports.PRODUCTION_COLUMNS if kind == "production" else imports.SHIPMENT_COLUMNS
    page = "traceability/production_import.html" if kind == "production" else "traceability/shipment_import.html"

    def show(problems=(), status=200):
        problems = list(problems)
        return render_template(
            page, problems=problems[:MAX_SHOWN], more=max(len(problems) - MAX_SHOWN, 0), columns=columns,
            max_rows=f"{imports.MAX_ROWS:,}",
        ), status

    if request.method == "GET":
        return show()
    if not PlainForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return show([(0, "file", gettext(CHOOSE_FILE))], 422)
    uow = request_uow()
    run = imports.production_from_file if kind == "production" else imports.shipments_from_file
    try:
        saved = run(uow, current_user.actor, content=upload.read(), filename=upload.filename,
                    timezone=getattr(current_user, "timezone", None) or "UTC")
    except imports.RecordImportInvalid as error:
        uow.rollback()
        return show([(e.row, e.field, gettext(e.message, **e.params)) for e in error.rows], error.status)
    except DomainError as error:
        uow.rollback()
        return show([(0, "", error_text(error))], error.status)
    notify(IMPORTED_RUNS if kind == "production" else IMPORTED_SHIPMENTS, count=len(saved))
    target = "traceability.production_list" if kind == "production" else "traceability.shipment_list"
    return redirect(url_for(target), code=303)


def _template(name: str, kind: str):
    if kind not in TEMPLATES:
        abort(404)
    mimetype, make = TEMPLATES[kind]
    disposition = f'attachment; filename="{name}-template.{kind}"'
    return current_app.response_class(make(name), mimetype=mimetype, headers={"Content-Disposition": disposition})


allow_larger_body(blueprint, "traceability.production_import", lambda: imports.MAX_BYTES)
allow_larger_body(blueprint, "traceability.shipment_import", lambda: imports.MAX_BYTES)
