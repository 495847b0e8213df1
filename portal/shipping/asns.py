"""Ship notice pages: the supplier's list and the buyer's incoming shipments; the form a
supplier fills by typing or by scanning its labels; one ASN's page with submit, cancel
and its labels.

The form is plain HTML and keeps its whole state in its fields, so every button posts
it all and gets it back: "read the scanned code" (the default button, so a scanner's
Enter in the scan field reads the code), "more rows", and "save". Nothing is stored
until it is saved; a refused save shows the form as typed, each message beside its
field. A scan adds a package (an SSCC) or fills a line (a GTIN or HIBC code with its
lot, dates and serial), matched to the supplier's accepted order lines by UDI-DI.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from erp import fields
from erp.gs1.errors import Gs1Invalid
from erp.gs1.parse import parse_code
from erp.shipping import lot_documents, service
from erp.shipping.errors import AsnNotFound, AsnWrongStatus
from erp.shipping.models import EDITABLE, LEVELS, STATUSES
from kernel.clock import utcnow
from kernel.errors import N_, DomainError, ValidationFailed
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm, uuid_or_none
from portal.shell.i18n import error_text, localized
from portal.shipping.labels import symbol_list
from portal.shipping.views import blueprint, visible_asn
from tenants import service as tenants

PAGE_SIZE = 50
MIN_ROWS = 3  # empty rows a new form offers
MORE_ROWS = 5  # rows "more rows" adds
MAX_ROWS = 2000  # rows a posted form may claim (a big ASN comes as a file)
HEADER = ("ship_to_site_id", "ship_from_site_id", "carrier", "tracking_number", "seal_number", "ship_date", "expected_arrival")
PACKAGE_FIELDS = ("sscc", "level", "parent")
LINE_FIELDS = ("po_line", "package", "quantity", "lot", "production_date", "expiry_date", "serials", "gtin")
# The service's names of a line's fields, as the form calls them (a scanned GTIN that
# does not fit is shown at the order line it was matched to).
LINE_FIELD_OF = {"purchase_order_line_id": "po_line", "gtin": "po_line"}
# The buyer's filter of incoming shipments.
INCOMING = {
    "all": tuple(s for s in STATUSES if s != "draft"),
    "submitted": ("submitted",),
    "in_transit": ("in_transit",),
    "received": ("partially_received", "received", "closed"),
}
INCOMING_LABELS = {
    "all": N_("All"),
    "submitted": N_("Submitted"),
    "in_transit": N_("In transit"),
    "received": N_("Received"),
}

SCAN_NO_LINE = N_("This code is for no item on your open order lines.")
SCAN_NOTHING = N_("This code holds neither an SSCC nor a product identifier: scan a pallet, case or unit label.")
SCAN_SERIAL_TWICE = N_("Serial %(serial)s is on the form already.")
SERIAL_AT = N_("Serial %(n)d: %(problem)s")
LINE_AT = N_("Line %(n)d: %(problem)s")


# --- the form's state ------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return fields.plain(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _empty_package() -> dict[str, str]:
    return {"sscc": "", "level": "case", "parent": ""}


def _empty_line() -> dict[str, str]:
    return dict.fromkeys(LINE_FIELDS, "")


def _package_used(row: dict) -> bool:
    return bool(row["sscc"].strip() or row["parent"].strip())


def _line_used(row: dict) -> bool:
    return any(row[name].strip() for name in LINE_FIELDS if name != "gtin")


@dataclass
class AsnForm:
    """The ASN form as typed: rows keep their places, so messages stay beside them."""

    header: dict[str, str] = field(default_factory=lambda: dict.fromkeys(HEADER, ""))
    packages: list[dict[str, str]] = field(default_factory=list)
    lines: list[dict[str, str]] = field(default_factory=list)
    pallet: str = ""  # the last pallet scanned: cases scanned after it are on it
    case: str = ""  # the last case scanned: units scanned after it are in it
    next_pallet: bool = False
    reason: str = ""

    @classmethod
    def posted(cls, form) -> AsnForm:
        def count(name: str) -> int:
            try:
                return min(max(int(form.get(name, "0")), 0), MAX_ROWS)
            except ValueError:
                return 0

        return cls(
            header={name: form.get(name, "").strip() for name in HEADER},
            packages=[
                {name: form.get(f"pkg-{n}-{name}", "").strip() for name in PACKAGE_FIELDS} for n in range(count("package_rows"))
            ],
            lines=[{name: form.get(f"line-{n}-{name}", "") for name in LINE_FIELDS} for n in range(count("line_rows"))],
            pallet=form.get("pallet", "").strip(),
            case=form.get("case", "").strip(),
            next_pallet=form.get("next_pallet") == "1",
            reason=form.get("reason", ""),
        )

    @classmethod
    def of(cls, data: dict) -> AsnForm:
        """The form of service input (an ASN's `data_of`, "ship everything open")."""
        found = cls(header={name: _text(data.get(name)) for name in HEADER})
        found.packages = [
            {"sscc": _text(p.get("sscc")), "level": p.get("level") or "case", "parent": _text(p.get("parent"))}
            for p in data.get("packages") or []
        ]
        for line in data.get("lines") or []:
            row = _empty_line()
            row.update(
                po_line=_text(line.get("purchase_order_line_id")),
                package=_text(line.get("package")),
                quantity=_text(line.get("quantity")),
                lot=_text(line.get("lot")),
                production_date=_text(line.get("production_date")),
                expiry_date=_text(line.get("expiry_date")),
                serials="\n".join(line.get("serials") or []),
            )
            found.lines.append(row)
        return found

    def data(self) -> tuple[dict, list[int], list[int]]:
        """The input for save_asn (empty rows left out), and the form rows of its
        packages and lines, to put the service's messages back beside them."""
        data = {name: value or None for name, value in self.header.items()}
        package_rows = [n for n, row in enumerate(self.packages) if _package_used(row)]
        data["packages"] = [
            {"sscc": row["sscc"], "level": row["level"] or "case", "parent": row["parent"] or None}
            for row in (self.packages[n] for n in package_rows)
        ]
        line_rows = [n for n, row in enumerate(self.lines) if _line_used(row)]
        data["lines"] = [
            {
                "purchase_order_line_id": row["po_line"].strip(),
                "package": row["package"].strip() or None,
                "quantity": row["quantity"].strip(),
                "lot": row["lot"].strip() or None,
                "production_date": row["production_date"].strip() or None,
                "expiry_date": row["expiry_date"].strip() or None,
                "serials": [s.strip() for s in row["serials"].splitlines() if s.strip()],
                "gtin": row["gtin"].strip() or None,
            }
            for row in (self.lines[n] for n in line_rows)
        ]
        return data, package_rows, line_rows

    def padded(self) -> AsnForm:
        """At least MIN_ROWS rows of each, and always an empty one to type into."""
        for rows, empty, used in ((self.packages, _empty_package, _package_used), (self.lines, _empty_line, _line_used)):
            while len(rows) < MIN_ROWS or all(used(r) for r in rows):
                rows.append(empty())
        return self


# --- scanning --------------------------------------------------------------------------


def _same_di(a: str | None, b: str | None) -> bool:
    a, b = (a or "").strip().upper(), (b or "").strip().upper()
    if a.isdigit() and b.isdigit():
        return a.zfill(14) == b.zfill(14)
    return bool(a) and a == b


def _put(rows: list[dict], row: dict, used) -> dict:
    """Into the first empty row, or a new one at the end."""
    for n, existing in enumerate(rows):
        if not used(existing):
            rows[n] = row
            return row
    rows.append(row)
    return row


def apply_scan(form: AsnForm, text: str, choices: list[service.OpenLine]) -> str | None:
    """The scanned code applied to the form; the message for the scan field if it cannot be."""
    try:
        code = parse_code(text)
    except Gs1Invalid as error:
        return error_text(error)
    content = next((a.value for a in code.ais if a.ai == "02"), None)  # a homogeneous case's content
    product = code.gtin or content or (code.di if code.kind == "hibcc" else None)
    if code.sscc:
        _add_package(form, code.sscc)
    elif product is None:
        return gettext(SCAN_NOTHING)
    if product is None:
        return None
    matching = [c for c in choices if _same_di(c.item.udi_di, product)]
    if not matching:
        return gettext(SCAN_NO_LINE)
    choice = next((c for c in matching if c.open_quantity > 0), matching[0])
    return _add_unit(form, code, product, choice)


def _add_package(form: AsnForm, sscc: str) -> None:
    existing = next((p for p in form.packages if p["sscc"] == sscc), None)
    if existing is not None:  # scanned again: it becomes the current one
        level = existing["level"]
    else:
        level = "pallet" if form.next_pallet else "case"
        row = {"sscc": sscc, "level": level, "parent": form.pallet if level == "case" else ""}
        _put(form.packages, row, _package_used)
    if level == "pallet":
        form.pallet, form.case = sscc, ""
    else:
        form.case = sscc
    form.next_pallet = False


def _add_unit(form: AsnForm, code, product: str, choice: service.OpenLine) -> str | None:
    """Fill or extend the line of this order line, lot and package (the last case scanned)."""
    po_line, package, lot = str(choice.po_line.id), form.case or form.pallet, code.lot or ""
    row = next(
        (r for r in form.lines if r["po_line"] == po_line and r["package"] == package and r["lot"].strip() in ("", lot)),
        None,
    ) or next(
        # A line "ship everything open" offered (no package, lot or serials yet) is this one.
        (r for r in form.lines if r["po_line"] == po_line and not (r["package"] or r["lot"].strip() or r["serials"].strip())),
        None,
    )
    if code.serial and any(
        code.serial in (s.strip() for s in r["serials"].splitlines()) for r in form.lines if r["po_line"] == po_line
    ):
        return gettext(SCAN_SERIAL_TWICE, serial=code.serial)
    if row is None:
        row = _put(form.lines, {**_empty_line(), "po_line": po_line, "package": package}, _line_used)
    row["package"] = package
    row["gtin"] = product
    if lot:
        row["lot"] = lot
    if code.expiry_date:
        row["expiry_date"] = code.expiry_date.isoformat()
    if code.production_date:
        row["production_date"] = code.production_date.isoformat()
    if code.serial:
        row["serials"] = "\n".join([*(s.strip() for s in row["serials"].splitlines() if s.strip()), code.serial])
    if choice.item.label_serial:
        row["quantity"] = str(len([s for s in row["serials"].splitlines() if s.strip()]))
    elif code.quantity:
        row["quantity"] = fields.plain(_number(row["quantity"]) + code.quantity)
    if not form.header["ship_to_site_id"] and choice.po_line.ship_to_site_id:
        form.header["ship_to_site_id"] = str(choice.po_line.ship_to_site_id)
    return None


def _number(value: str) -> Decimal:
    try:
        found = Decimal(value.strip() or "0")
    except InvalidOperation:
        return Decimal(0)
    return found if found.is_finite() else Decimal(0)


# --- the service's messages beside the form's fields -------------------------------------


def _message(error: ValidationFailed, key: str, message: str) -> str:
    params = (getattr(error, "params_by_field", None) or {}).get(key)
    if params is None and "%(" in message:
        params = error.params
    return gettext(message, **params) if params else gettext(message)


def _field_name(key: str, package_rows: list[int], line_rows: list[int]) -> tuple[str | None, int | None]:
    """The form's field for the service's key ("lines.3.serials.1" -> "line-5-serials",
    serial 1), or None for a message of the whole form."""
    if key in HEADER or key in ("reason", "lines"):
        return key, None
    parts = key.split(".")
    if len(parts) < 3 or not parts[1].isdigit():
        return None, None
    n = int(parts[1])
    if parts[0] == "packages" and n < len(package_rows) and parts[2] in PACKAGE_FIELDS:
        return f"pkg-{package_rows[n]}-{parts[2]}", None
    if parts[0] == "lines" and n < len(line_rows):
        name = LINE_FIELD_OF.get(parts[2], parts[2])
        serial = int(parts[3]) if name == "serials" and len(parts) > 3 and parts[3].isdigit() else None
        return (f"line-{line_rows[n]}-{name}" if name in LINE_FIELDS else f"line-{line_rows[n]}-po_line"), serial
    return None, None


def form_errors(error: ValidationFailed, package_rows: list[int], line_rows: list[int]) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, message in error.errors.items():
        text = _message(error, key, message)
        name, serial = _field_name(key, package_rows, line_rows)
        if serial is not None:
            text = gettext(SERIAL_AT, n=serial + 1, problem=text)
        name = name or "form"
        found[name] = f"{found[name]} {text}" if name in found else text
    return found


# --- lists -----------------------------------------------------------------------------


def _page_number() -> int:
    try:
        return max(int(request.args.get("page", "0")), 0)
    except ValueError:
        return 0


@blueprint.get("/supplier/asns")
@permission_required("asn.submit", "asn.view", side="supplier")
def supplier_asns():
    page = _page_number()
    rows, more = service.asn_rows(request_uow(), current_user.actor, newest_first=True, page=page, limit=PAGE_SIZE)
    return render_template("shipping/list.html", side="supplier", rows=rows, page=page, more=more, chosen=None, filters={})


@blueprint.get("/asns")
@permission_required("asn.view", side="buyer")
def incoming_asns():
    page = _page_number()
    chosen = request.args.get("status", "all")
    if chosen not in INCOMING:
        chosen = "all"
    rows, more = service.asn_rows(request_uow(), current_user.actor, statuses=INCOMING[chosen], page=page, limit=PAGE_SIZE)
    return render_template(
        "shipping/list.html", side="buyer", rows=rows, page=page, more=more, chosen=chosen, filters=INCOMING_LABELS
    )


# --- the form --------------------------------------------------------------------------


@blueprint.get("/supplier/asns/new")
@permission_required("asn.submit", side="supplier")
def new_asn():
    po_ids = [i for i in (uuid_or_none(v) for v in request.args.getlist("po")) if i]
    form = AsnForm()
    if po_ids:
        form = AsnForm.of(service.ship_everything_open(request_uow(), current_user.actor, po_ids=po_ids))
    form.header["ship_date"] = form.header["ship_date"] or utcnow().date().isoformat()
    return _form_page(form)


@blueprint.post("/supplier/asns/new")
@permission_required("asn.submit", side="supplier")
def create_asn():
    return _posted(None)


@blueprint.get("/asns/<uuid:asn_id>/edit")
@permission_required("asn.submit", side="supplier")
def edit_asn(asn_id: uuid.UUID):
    detail = service.get_asn(request_uow(), current_user.actor, asn_id=asn_id)
    if detail.asn.status not in EDITABLE:
        raise AsnWrongStatus()
    return _form_page(AsnForm.of(service.data_of(detail)), asn=detail.asn)


@blueprint.post("/asns/<uuid:asn_id>/edit")
@permission_required("asn.submit", side="supplier")
def update_asn(asn_id: uuid.UUID):
    return _posted(asn_id)


def _posted(asn_id: uuid.UUID | None):
    if not PlainForm().validate_on_submit():
        abort(400)
    uow = request_uow()
    asn = service.get_asn(uow, current_user.actor, asn_id=asn_id).asn if asn_id else None
    form = AsnForm.posted(request.form)
    action = request.form.get("action", "scan")
    if action == "save":
        return _save(form, asn)
    if action == "add_packages":
        form.packages.extend(_empty_package() for _ in range(MORE_ROWS))
    elif action == "add_lines":
        form.lines.extend(_empty_line() for _ in range(MORE_ROWS))
    else:
        text = request.form.get("scan", "")
        if text.strip():
            problem = apply_scan(form, text, service.open_lines(uow, current_user.actor))
            if problem:
                return _form_page(form, asn=asn, errors={"scan": problem}, scanned=text, status=422)
    return _form_page(form, asn=asn)


def _save(form: AsnForm, asn):
    uow = request_uow()
    data, package_rows, line_rows = form.data()
    version = _int(request.form.get("version")) if asn is not None else None
    try:
        saved = service.save_asn(
            uow, current_user.actor, data=data, asn_id=asn.id if asn else None, version=version, reason=form.reason
        )
    except ValidationFailed as error:
        uow.rollback()
        errors = form_errors(error, package_rows, line_rows)
        return _form_page(form, asn=asn, errors=errors, status=error.status)
    except DomainError as error:
        uow.rollback()
        return _form_page(form, asn=asn, errors={"form": error_text(error)}, status=error.status)
    notify(N_("Ship notice %(number)s is saved."), number=saved.asn.number)
    return redirect(url_for("shipping.asn", asn_id=saved.asn.id), code=303)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _form_page(form: AsnForm, *, asn=None, errors: dict | None = None, scanned: str = "", status: int = 200):
    uow, actor = request_uow(), current_user.actor
    choices = service.open_lines(uow, actor)
    html = render_template(
        "shipping/form.html",
        form=form.padded(),
        asn=asn,
        errors=errors or {},
        scanned=scanned,
        sites=tenants.own_sites(uow),
        own_sites=tenants.sites_of(uow, supplier_id=actor.supplier_id) if actor.supplier_id else [],
        choices=choices,
        levels=LEVELS,
        needs_reason=asn is not None and asn.status != "draft",
    )
    return html, status


# --- one ship notice -------------------------------------------------------------------


@blueprint.get("/asns/<uuid:asn_id>")
@permission_required("asn.view", "asn.submit")
def asn(asn_id: uuid.UUID):
    return _detail_page(asn_id)


@blueprint.post("/asns/<uuid:asn_id>/submit")
@permission_required("asn.submit", side="supplier")
def submit_asn(asn_id: uuid.UUID):
    version = _version()
    uow = request_uow()
    try:
        saved = service.submit_asn(
            uow, current_user.actor, asn_id=asn_id, version=version, acknowledge_warnings=request.form.get("acknowledge") == "1"
        )
    except AsnNotFound:
        raise
    except ValidationFailed as error:
        uow.rollback()
        problems = [_line_message(key, _message(error, key, message)) for key, message in error.errors.items()]
        return _detail_page(asn_id, problem=error_text(error), problems=problems, status=error.status)
    except DomainError as error:
        uow.rollback()
        return _detail_page(asn_id, problem=error_text(error), status=error.status)
    notify(N_("Ship notice %(number)s was submitted to the customer."), number=saved.asn.number)
    return redirect(url_for("shipping.asn", asn_id=asn_id), code=303)


@blueprint.post("/asns/<uuid:asn_id>/cancel")
@permission_required("asn.submit", side="supplier")
def cancel_asn(asn_id: uuid.UUID):
    version = _version()
    reason = request.form.get("reason", "")
    uow = request_uow()
    try:
        cancelled = service.cancel_asn(uow, current_user.actor, asn_id=asn_id, version=version, reason=reason)
    except AsnNotFound:
        raise
    except ValidationFailed as error:
        uow.rollback()
        errors = {"reason": " ".join(_message(error, k, m) for k, m in error.errors.items()) or error_text(error)}
        return _detail_page(asn_id, cancel_errors=errors, cancel_reason=reason, status=error.status)
    except DomainError as error:
        uow.rollback()
        return _detail_page(asn_id, problem=error_text(error), status=error.status)
    notify(N_("Ship notice %(number)s was cancelled."), number=cancelled.number)
    return redirect(url_for("shipping.asn", asn_id=asn_id), code=303)


@blueprint.post("/asns/<uuid:asn_id>/close")
@permission_required("po.manage", side="buyer")
def close_asn(asn_id: uuid.UUID):
    version = _version()
    uow = request_uow()
    try:
        closed = service.close_asn(uow, current_user.actor, asn_id=asn_id, version=version)
    except AsnNotFound:
        raise
    except DomainError as error:
        uow.rollback()
        return _detail_page(asn_id, problem=error_text(error), status=error.status)
    notify(N_("Ship notice %(number)s is closed."), number=closed.number)
    return redirect(url_for("shipping.asn", asn_id=asn_id), code=303)


def _version() -> int:
    """The CSRF token checked (a form of this site), and the version the form showed."""
    if not PlainForm().validate_on_submit():
        abort(400)
    version = _int(request.form.get("version"))
    if version is None:
        abort(400)
    return version


def _line_message(key: str, text: str) -> str:
    """A message of one line, for a list: "Line 2: …"."""
    parts = key.split(".")
    if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit():
        return gettext(LINE_AT, n=int(parts[1]) + 1, problem=text)
    return text


def _detail_page(
    asn_id: uuid.UUID,
    *,
    problem: str | None = None,
    problems: list[str] | None = None,
    cancel_errors: dict | None = None,
    cancel_reason: str = "",
    lot_errors: dict | None = None,
    status: int = 200,
):
    uow, actor = request_uow(), current_user.actor
    detail = visible_asn(uow, asn_id)
    asn = detail.asn
    supplier_side = current_user.is_supplier and "asn.submit" in actor.permissions
    warnings, blockers = [], []
    if supplier_side and asn.status == "draft":
        # Checked again as submit will: rules, orders and serials may have changed.
        checked = service.check_asn(uow, actor, data=service.data_of(detail), asn_id=asn.id, supplier_id=asn.supplier_id)
        warnings = [_line_message(w.field, gettext(w.message, **w.params)) for w in checked.warnings]
        blockers = [
            _line_message(key, gettext(message, **checked.params.get(key, {}))) for key, message in checked.errors.items()
        ]
    organisations = tenants.organisations_by_id(uow, ids=[asn.supplier_id])
    sites = tenants.sites_by_id(uow, ids={i for i in (asn.ship_to_site_id, asn.ship_from_site_id) if i})
    supplier = organisations.get(asn.supplier_id)
    symbols, more_symbols, unlabelled = symbol_list(uow, detail)
    html = render_template(
        "shipping/detail.html",
        detail=detail,
        asn=asn,
        tree=_tree(detail),
        supplier_name=localized(supplier.name, supplier.name_zh) if supplier else "",
        ship_to=sites.get(asn.ship_to_site_id),
        ship_from=sites.get(asn.ship_from_site_id) if asn.ship_from_site_id else None,
        can_edit=supplier_side and asn.status in EDITABLE,
        can_submit=supplier_side and asn.status == "draft",
        can_close=not current_user.is_supplier and "po.manage" in actor.permissions and asn.status in service.CLOSABLE,
        warnings=warnings,
        blockers=blockers,
        problem=problem,
        problems=problems or [],
        cancel_errors=cancel_errors or {},
        cancel_reason=cancel_reason,
        symbols=symbols,
        more_symbols=more_symbols,
        unlabelled=unlabelled,
        list_endpoint="shipping.supplier_asns" if current_user.is_supplier else "shipping.incoming_asns",
        lot_files=lot_documents.documents_of(uow, lot_ids={line.lot_id for line in detail.lines if line.lot_id}),
        lot_kinds=lot_documents.KINDS,
        can_attach=supplier_side and asn.status != "cancelled",
        lot_errors=lot_errors or {},
    )
    return html, status


@dataclass
class Node:
    """A package of the tree, with its cases (for a pallet) and the lines in it."""

    package: object
    children: list = field(default_factory=list)
    lines: list = field(default_factory=list)


def _tree(detail: service.AsnDetail) -> tuple[list[Node], list]:
    """Pallets with their cases, loose cases, each with its lines; and lines in no package."""
    nodes = {p.id: Node(p) for p in detail.packages}
    loose = []
    for line in detail.lines:
        if line.package_id in nodes:
            nodes[line.package_id].lines.append(line)
        else:
            loose.append(line)
    top = []
    for package in detail.packages:
        if package.parent_id in nodes:
            nodes[package.parent_id].children.append(nodes[package.id])
        else:
            top.append(nodes[package.id])
    return top, loose
