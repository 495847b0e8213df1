"""The buyer's screen to create a purchase order: the supplier, the currency and up to
MAX_ROWS lines (empty rows are ignored). A refused order is shown again as typed, each
message beside its field; a created one is a draft, opened on its own page to be issued."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.items import service as items
from erp.purchasing import confirmation, imports
from kernel.errors import N_, DomainError, ValidationFailed
from portal.purchasing.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm, uuid_or_none
from portal.shell.i18n import error_text, field_errors
from tenants import service as tenants

MAX_ROWS = 10
LINE_FIELDS = ("item_id", "quantity", "unit_price", "requested_date", "ship_to_site_id", "schedule")
DEFAULT_CURRENCY = "EUR"
CHOOSE_FILE = N_("Choose a CSV file to import.")
SCHEDULE_ROW = N_("Delivery %(n)d: write a date and a quantity, e.g. 2026-12-15 40.")
SCHEDULE_ENTRY = N_("Delivery %(n)d: %(problem)s")


@blueprint.get("/buyer/purchase-orders/new")
@permission_required("po.manage", side="buyer")
def new_purchase_order():
    return _form({"currency": DEFAULT_CURRENCY}, {})


@blueprint.post("/buyer/purchase-orders/new")
@permission_required("po.manage", side="buyer")
def create_purchase_order():
    if not PlainForm().validate_on_submit():
        abort(400)
    form = request.form
    values = {key: form.get(key, "") for key in ("supplier_id", "currency")}
    lines, slots = [], []
    for n in range(MAX_ROWS):
        row = {field: form.get(f"line-{n}-{field}", "").strip() for field in LINE_FIELDS}
        values.update({f"line-{n}-{field}": value for field, value in row.items()})
        if not any(row.values()):
            continue
        line = {
            "item_id": uuid_or_none(row["item_id"]),
            "quantity": row["quantity"],
            "unit_price": row["unit_price"],
            "requested_date": row["requested_date"],
        }
        if row["ship_to_site_id"]:
            line["ship_to_site_id"] = uuid_or_none(row["ship_to_site_id"]) or row["ship_to_site_id"]
        if row["schedule"]:
            line["schedule"], bad_row = _schedule_rows(row["schedule"])
            if bad_row is not None:
                return _form(values, {f"line-{n}-schedule": gettext(SCHEDULE_ROW, n=bad_row)}, status=422)
        lines.append(line)
        slots.append(n)
    uow = request_uow()
    try:
        order = confirmation.create_purchase_order(
            uow, current_user.actor, supplier_id=uuid_or_none(values["supplier_id"]), currency=values["currency"], lines=lines
        )
    except ValidationFailed as error:
        uow.rollback()
        errors = _errors(error, slots)
        if error.code != ValidationFailed.code or not errors:
            errors.setdefault("form", error_text(error))
        return _form(values, errors, status=error.status)
    except DomainError as error:
        uow.rollback()
        return _form(values, {"form": error_text(error)}, status=error.status)
    notify(N_("Purchase order %(number)s was created as a draft: check it and issue it to the supplier."), number=order.number)
    return redirect(url_for("purchasing.purchase_order", po_id=order.id), code=303)


@blueprint.post("/buyer/purchase-orders/import")
@permission_required("po.manage", side="buyer")
def import_purchase_orders():
    """Draft orders from a CSV file, all of them or none; every bad row is listed."""
    if not PlainForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _form({"currency": DEFAULT_CURRENCY}, {}, problems=[(0, "", gettext(CHOOSE_FILE))], status=422)
    uow = request_uow()
    try:
        made = imports.import_purchase_orders(uow, current_user.actor, content=upload.read())
    except imports.PurchaseOrderImportInvalid as error:
        uow.rollback()
        problems = [(e.row, e.field, gettext(e.message, **e.params)) for e in error.rows]
        return _form({"currency": DEFAULT_CURRENCY}, {}, problems=problems, status=error.status)
    notify(N_("%(count)d purchase order(s) were created as drafts from the file."), count=len(made))
    return redirect(url_for("purchasing.purchase_orders"), code=303)


def _schedule_rows(text: str) -> tuple[list[dict], int | None]:
    """A line's delivery schedule as typed, one delivery per row ("2026-12-15 40"; a
    comma, semicolon or tab also separates): [{date, quantity}], and the number of the
    first row that is not a date and a quantity (None when all are). The service checks
    the dates and quantities themselves."""
    rows = []
    for n, raw in enumerate((r for r in text.splitlines() if r.strip()), start=1):
        parts = raw.replace(",", " ").replace(";", " ").split()
        if len(parts) != 2:
            return [], n
        rows.append({"date": parts[0], "quantity": parts[1]})
    return rows, None


def _errors(error: ValidationFailed, slots: list[int]) -> dict[str, str]:
    """The service's errors ("lines.2.quantity": the third non-empty row) keyed by the
    form's field names ("line-5-quantity"); what belongs to no field goes to "form"."""
    found: dict[str, str] = {}
    for key, message in field_errors(error).items():
        parts = key.split(".")
        if key in ("supplier_id", "currency"):
            found[key] = message
        elif parts[0] == "lines" and len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(slots):
            n, field = slots[int(parts[1])], parts[2]
            name = f"line-{n}-{field}" if field in LINE_FIELDS else f"line-{n}-item_id"
            if field == "schedule" and len(parts) >= 4 and parts[3].isdigit():
                message = gettext(SCHEDULE_ENTRY, n=int(parts[3]) + 1, problem=message)
            found.setdefault(name, message)
        else:
            found.setdefault("form", message)
    return found


def _form(values: dict, errors: dict, *, problems: list | None = None, status: int = 200):
    uow = request_uow()
    html = render_template(
        "purchasing/new.html",
        values=values,
        errors=errors,
        suppliers=tenants.list_suppliers(uow),
        items=items.all_items(uow, current_user.actor),
        sites=tenants.own_sites(uow),
        rows=MAX_ROWS,
        problems=problems or [],
        columns=imports.COLUMNS,
        max_rows=imports.MAX_ROWS,
    )
    return html, status
