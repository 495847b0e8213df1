"""A ship notice from a CSV or XLSX file: one row per unit (a serial) or per lot quantity,
the header (ship-to site, dates, carrier, tracking, seal) from the upload form.

Columns (`COLUMNS`; po_number and po_line required, the others as the goods need):
po_number, po_line, sscc, level, parent_sscc, quantity, lot, production_date,
expiry_date, serial, gtin, gs1. A `gs1` cell holds the unit's GS1 element string (as
scanned or as printed, read with erp.gs1.parse_code); it fills gtin, lot, serial and the
dates where their own cells are empty, and must agree with them where not.

Rows of one PO line, package (sscc) and lot make one ASN line: its serials are the rows'
serials, its quantity one per serial row plus the quantity of the others. The packages
are the distinct SSCCs of the sscc column (a case unless `level` says pallet) and of the
parent_sscc column (pallets). The file is read as the other imports read theirs
(erp.tabular: UTF-8 with or without a byte order mark, else GB18030; XLSX by content).

Everything is checked by `service.save_asn`, the rule book of every entry path; its
errors ("lines.3.serials.1", "packages.2.sscc") are mapped back to the file's rows and
columns. With any error, `AsnImportInvalid` lists every bad row (row, column, message,
parameters) and nothing is written.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from biip.checksums import gs1_standard_check_digit

from auth.permissions import require
from erp import fields, tabular
from erp.gs1.errors import Gs1Invalid
from erp.gs1.parse import parse_code
from erp.items.imports import BAD_XLSX, NOT_A_TABLE
from erp.items.models import Item
from erp.purchasing.imports import MISSING_COLUMNS
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.shipping import service, validation
from erp.tabular import EXTRA_CELLS, Row, RowError
from kernel.errors import N_, REQUIRED, ValidationFailed

COLUMNS = (
    "po_number", "po_line", "sscc", "level", "parent_sscc", "quantity", "lot", "production_date", "expiry_date",
    "serial", "gtin", "gs1",
)
NEEDED = ("po_number", "po_line")
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
XLSX_NAMES = (".xlsx", ".xls", ".xlsm")
# Where the service's line fields stand in the file.
LINE_COLUMNS = {
    "purchase_order_line_id": "po_line",
    "package": "sscc",
    "quantity": "quantity",
    "lot": "lot",
    "production_date": "production_date",
    "expiry_date": "expiry_date",
    "serials": "serial",
    "gtin": "gtin",
}
# The fields a gs1 cell fills: the ParsedCode attribute → the column.
GS1_FIELDS = {"di": "gtin", "lot": "lot", "serial": "serial", "expiry_date": "expiry_date", "production_date": "production_date"}

UNKNOWN_COLUMNS = N_("The file has columns that are not ship notice fields: %(columns)s.")
NO_ROWS = N_("The file has no rows to ship.")
LINE_NUMBER = N_("Enter the line number of the order, such as 1.")
NO_ORDER_LINE = N_("Your purchase order %(order)s has no line %(line)s.")
ONE_UNIT = N_("A row with a serial number is one unit: leave the quantity empty or write 1.")
GS1_DIFFERS = N_("The GS1 code gives %(value)s here, the %(column)s column %(cell)s.")
OTHER_DATES = N_("Row %(row)s gives lot %(lot)s in this package other dates: one lot has one set of dates.")
OTHER_PACKAGE = N_("Row %(row)s gives SSCC %(sscc)s another level or pallet: one package has one level and one pallet.")


class AsnImportInvalid(ValidationFailed):
    """The file, or some of its rows, cannot make a ship notice; nothing was written.
    `rows` lists the problems by row (0: the file or the header fields) and column;
    `errors` and `params_by_field` say the same keyed "rows.12.serial" (for the API's
    problem details)."""

    code = "asn-import-invalid"
    message = N_("The ship notice was not imported: correct the rows listed and upload the file again.")

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = rows
        errors: dict[str, str] = {}
        self.params_by_field: dict[str, dict] = {}
        for problem in rows:
            key = _key(problem)
            if key not in errors:
                errors[key] = problem.message
                if problem.params:
                    self.params_by_field[key] = problem.params
        super().__init__(errors=errors)


def _key(problem: RowError) -> str:
    if problem.row == 0:
        return problem.field or "file"
    return f"rows.{problem.row}.{problem.field}" if problem.field else f"rows.{problem.row}"


# --- templates ---------------------------------------------------------------------------------


def _example() -> list[str]:
    body = "39506000000000001"
    case = body + str(gs1_standard_check_digit(body))
    body = "39506000000000002"
    pallet = body + str(gs1_standard_check_digit(body))
    return ["PO-2026-000123", "1", case, "case", pallet, "", "L-2026-01", "2026-01-15", "2028-01-31", "SN-0001",
            "09506000134352", ""]


def template_csv() -> bytes:
    """The columns and one example row (a serialised unit in a case on a pallet)."""
    return tabular.csv_bytes([list(COLUMNS), _example()])


def template_xlsx() -> bytes:
    """As template_csv; every column formatted as text, so that a spreadsheet keeps the
    leading zeros of SSCCs, GTINs and serials and the dates as written."""
    from openpyxl import Workbook  # only a download needs it
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "asn"
    for row in (list(COLUMNS), _example()):
        sheet.append(row)
    for n in range(1, len(COLUMNS) + 1):
        letter = get_column_letter(n)
        sheet.column_dimensions[letter].number_format = "@"
        sheet.column_dimensions[letter].width = 18
        sheet.cell(row=2, column=n).number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading -----------------------------------------------------------------------------------


def read_rows(content: bytes, filename: str = "") -> list[Row]:
    """The file's rows by column (text, stripped); CSV or XLSX told apart by content."""
    try:
        tabular.check_size(content, MAX_BYTES)
        if content.startswith(b"PK\x03\x04"):
            return _xlsx_rows(content)
        if filename.lower().endswith(XLSX_NAMES) or content.startswith(b"\xd0\xcf\x11\xe0"):
            raise AsnImportInvalid([RowError(0, "", NOT_A_TABLE)])
        text, _encoding = tabular.decode(content)
        return _table(tabular.csv_rows(text))
    except tabular.TableInvalid as bad:
        raise AsnImportInvalid([RowError(0, "", bad.message, bad.params)]) from bad


def _table(records) -> list[Row]:
    _header, rows = tabular.read_table(records, check_header=_check_header, max_rows=MAX_ROWS, strip=True)
    return rows


def _xlsx_rows(content: bytes) -> list[Row]:
    from openpyxl import load_workbook  # only an import needs it

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise AsnImportInvalid([RowError(0, "", BAD_XLSX)]) from exc
    try:
        if not book.worksheets:
            raise tabular.TableInvalid(tabular.EMPTY)
        sheet = book.worksheets[0]
        return _table([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True))
    finally:
        book.close()


def _cell(value) -> str:
    """A spreadsheet cell as the text a CSV file would have: dates in ISO form, whole
    numbers without ".0" (a PO line typed as 10 is read as 10.0)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value)


def _check_header(header: list[str]) -> None:
    problems = tabular.header_problems(
        header, needed=NEEDED, known=COLUMNS, missing=MISSING_COLUMNS, unknown=UNKNOWN_COLUMNS
    )
    if problems:
        raise AsnImportInvalid(problems)


# --- rows into the ASN input ----------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    id: uuid.UUID
    udi_di: str | None
    part_number: str


@dataclass
class Unit:
    """A row as read: one serialised unit or one lot quantity."""

    number: int
    po_line: OrderLine
    sscc: str | None
    level: str
    parent: str | None
    quantity: Decimal
    lot: str | None
    made: date | None
    expiry: date | None
    serial: str | None
    from_gs1: set[str] = field(default_factory=set)  # the columns the gs1 cell filled

    def column(self, name: str) -> str:
        return "gs1" if name in self.from_gs1 else name


@dataclass
class Plan:
    """The ASN input built from the rows, with where each part came from."""

    data: dict
    line_units: list[list[Unit]]  # by line index: its rows (serial rows in serial order)
    line_serials: list[list[Unit]]  # by line index: the rows of its serials, in order
    package_rows: dict[str, list[tuple[int, str]]]  # sscc → (row, column) naming it
    package_first: dict[str, int]  # sscc → the row that gave its level and pallet


def asn_from_file(uow, actor, *, content: bytes, filename: str, header: dict) -> service.SavedAsn:
    """A draft ship notice from the file (see the module); raises AsnImportInvalid
    naming every bad row, with nothing written. `header`: ship_to_site_id,
    ship_from_site_id, carrier, tracking_number, seal_number, ship_date, expected_arrival."""
    require(actor, "asn.submit")
    rows = read_rows(content, filename)
    if not rows:
        raise AsnImportInvalid([RowError(0, "", NO_ROWS)])
    problems: list[RowError] = []
    units = _units(uow, rows, problems)
    plan = _plan(units, header, problems)
    with uow.session.begin_nested() as savepoint:
        try:
            saved = service.save_asn(uow, actor, data=plan.data)
        except ValidationFailed as error:
            savepoint.rollback()
            problems.extend(_row_errors(error, plan, skip_no_lines=bool(problems)))
            saved = None
        if problems and saved is not None:
            savepoint.rollback()
    if problems:
        raise AsnImportInvalid(sorted(problems, key=_place))
    return saved


def _place(problem: RowError) -> tuple[int, int]:
    return problem.row, COLUMNS.index(problem.field) if problem.field in COLUMNS else -1


def _units(uow, rows: list[Row], problems: list[RowError]) -> list[Unit]:
    """Each row read and checked on its own; a bad row is reported and left out (so the
    rest is still checked as a whole)."""
    order_lines = _order_lines(uow, rows)
    units = []
    for row in rows:
        found: list[RowError] = []
        unit = _unit(row, order_lines, found)
        problems.extend(found)
        if unit is not None:
            units.append(unit)
    return units


def _order_lines(uow, rows: list[Row]) -> dict[tuple[str, int], OrderLine]:
    """The order lines the file names, by (PO number in capitals, line number); row-level
    security shows a supplier only its own orders (the service checks the rest)."""
    numbers = {r.values.get("po_number", "").upper() for r in rows} - {""}
    if not numbers:
        return {}
    found = uow.session.execute(
        sa.select(PurchaseOrder.number, PurchaseOrderLine.line_no, PurchaseOrderLine.id, Item.udi_di, Item.part_number)
        .join(PurchaseOrderLine, PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
        .join(Item, Item.id == PurchaseOrderLine.item_id)
        .where(sa.func.upper(PurchaseOrder.number).in_(numbers))
    )
    return {(number.upper(), line_no): OrderLine(line_id, udi_di, part) for number, line_no, line_id, udi_di, part in found}


def _unit(row: Row, order_lines: dict, problems: list[RowError]) -> Unit | None:
    values = row.values
    n = row.number
    if "" in values:
        problems.append(RowError(n, "", EXTRA_CELLS))
        return None
    cells = {name: values.get(name, "") for name in COLUMNS}
    from_gs1 = _gs1(n, cells, problems)
    if problems:
        return None  # a code that cannot be read fills nothing: the rest would mislead
    po_line = _order_line(n, cells, order_lines, problems)
    errors: dict[str, str] = {}
    made = fields.a_date(cells["production_date"] or None, errors, "production_date", required=False)
    expiry = fields.a_date(cells["expiry_date"] or None, errors, "expiry_date", required=False)
    serial = cells["serial"] or None
    quantity = Decimal(1) if serial else None
    if serial and cells["quantity"] and fields.number(cells["quantity"]) != 1:
        errors["quantity"] = ONE_UNIT
    elif not serial:
        quantity = fields.number(cells["quantity"]) if cells["quantity"] else None
        if quantity is None or quantity <= 0:
            errors["quantity"] = REQUIRED if not cells["quantity"] else fields.QUANTITY
    problems.extend(RowError(n, "gs1" if name in from_gs1 else name, message) for name, message in errors.items())
    if po_line is not None and cells["gtin"] and cells["gtin"] != (po_line.udi_di or ""):
        column = "gs1" if "gtin" in from_gs1 else "gtin"
        problems.append(RowError(n, column, validation.WRONG_ITEM, {"gtin": cells["gtin"], "part": po_line.part_number}))
    if po_line is None or problems:
        return None
    return Unit(
        number=n, po_line=po_line, sscc=cells["sscc"] or None, level=cells["level"].lower() or "case",
        parent=cells["parent_sscc"] or None, quantity=quantity, lot=cells["lot"] or None, made=made, expiry=expiry,
        serial=serial, from_gs1=from_gs1,
    )


def _gs1(n: int, cells: dict, problems: list[RowError]) -> set[str]:
    """Fill the empty cells from the row's GS1 code; the columns it filled."""
    text = cells["gs1"]
    if not text:
        return set()
    try:
        parsed = parse_code(text)
    except Gs1Invalid as bad:
        problems.append(RowError(n, "gs1", bad.message, dict(bad.params)))
        return set()
    filled = set()
    for attribute, column in GS1_FIELDS.items():
        value = getattr(parsed, attribute)
        if value is None:
            continue
        value = value.isoformat() if isinstance(value, date) else str(value)
        if not cells[column]:
            cells[column] = value
            filled.add(column)
        elif cells[column] != value:
            problems.append(RowError(n, "gs1", GS1_DIFFERS, {"value": value, "column": column, "cell": cells[column]}))
    return filled


def _order_line(n: int, cells: dict, order_lines: dict, problems: list[RowError]) -> OrderLine | None:
    number, line = cells["po_number"], cells["po_line"]
    if not number:
        problems.append(RowError(n, "po_number", REQUIRED))
    line_no = fields.number(line) if line else None
    if line_no is None or line_no != int(line_no) or line_no <= 0:
        problems.append(RowError(n, "po_line", REQUIRED if not line else LINE_NUMBER))
        return None
    if not number:
        return None
    found = order_lines.get((number.upper(), int(line_no)))
    if found is None:
        problems.append(RowError(n, "po_line", NO_ORDER_LINE, {"order": number, "line": int(line_no)}))
    return found


def _plan(units: list[Unit], header: dict, problems: list[RowError]) -> Plan:
    packages, package_rows, package_first = _packages(units, problems)
    groups: dict[tuple, list[Unit]] = {}
    for unit in units:
        groups.setdefault((unit.po_line.id, unit.sscc, unit.lot), []).append(unit)
    lines, line_units, line_serials = [], [], []
    for (po_line_id, sscc, lot), members in groups.items():
        first = members[0]
        for unit in members[1:]:
            if (unit.made, unit.expiry) != (first.made, first.expiry):
                column = unit.column("expiry_date" if unit.expiry != first.expiry else "production_date")
                problems.append(RowError(unit.number, column, OTHER_DATES, {"row": first.number, "lot": lot or "—"}))
        serial_units = [u for u in members if u.serial]
        lines.append(
            {
                "purchase_order_line_id": po_line_id,
                "package": sscc,
                "quantity": fields.plain(sum((u.quantity for u in members), Decimal(0))),
                "lot": lot,
                "production_date": first.made,
                "expiry_date": first.expiry,
                "serials": [u.serial for u in serial_units],
            }
        )
        line_units.append(members)
        line_serials.append(serial_units)
    keys = ("ship_to_site_id", "ship_from_site_id", "carrier", "tracking_number", "seal_number", "ship_date", "expected_arrival")
    data = {key: header.get(key) for key in keys} | {"packages": packages, "lines": lines}
    return Plan(data, line_units, line_serials, package_rows, package_first)


def _packages(units: list[Unit], problems: list[RowError]):
    """The packages of the sscc and parent_sscc columns, a pallet before the cases on it."""
    packages: dict[str, dict] = {}
    first: dict[str, int] = {}
    named: dict[str, list[tuple[int, str]]] = defaultdict(list)

    def add(sscc: str, level: str, parent: str | None, unit: Unit, column: str, *, implied: bool) -> None:
        named[sscc].append((unit.number, column))
        known = packages.get(sscc)
        if known is None:
            packages[sscc] = {"sscc": sscc, "level": level, "parent": parent}
            first[sscc] = unit.number
        elif not implied and (known["level"], known["parent"]) != (level, parent):
            column = "level" if known["level"] != level else "parent_sscc"
            problems.append(RowError(unit.number, column, OTHER_PACKAGE, {"row": first[sscc], "sscc": sscc}))

    for unit in units:
        if unit.parent:
            add(unit.parent, "pallet", None, unit, "parent_sscc", implied=True)
        if unit.sscc:
            add(unit.sscc, unit.level, unit.parent, unit, "sscc", implied=False)
    return list(packages.values()), dict(named), first


def _row_errors(error: ValidationFailed, plan: Plan, *, skip_no_lines: bool) -> list[RowError]:
    """The service's errors by row and column: a serial's on its row, a line's on each
    of its rows, a package's on each row naming it; the header's on row 0."""
    params = getattr(error, "params_by_field", None) or {}
    packages = plan.data["packages"]
    found = []
    for key, message in error.errors.items():
        values = dict(params.get(key) or {})
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) >= 3 and parts[1].isdigit():
            n = int(parts[1])
            if parts[2] == "serials" and len(parts) == 4:
                unit = plan.line_serials[n][int(parts[3])]
                found.append(RowError(unit.number, unit.column("serial"), message, values))
                continue
            column = LINE_COLUMNS.get(parts[2], "")
            found.extend(RowError(u.number, u.column(column), message, values) for u in plan.line_units[n])
        elif parts[0] == "packages" and len(parts) == 3 and parts[1].isdigit():
            sscc = packages[int(parts[1])]["sscc"]
            if parts[2] == "sscc":
                found.extend(RowError(row, column, message, values) for row, column in plan.package_rows[sscc])
            else:
                column = "level" if parts[2] == "level" else "parent_sscc"
                found.append(RowError(plan.package_first[sscc], column, message, values))
        elif key == "lines" and skip_no_lines:
            continue  # every row was bad: they are named already
        else:
            found.append(RowError(0, key, message, values))
    return found
