"""Production records and customer shipments from CSV or XLSX files, as an MES or a WMS
exports them.

Production (`PRODUCTION_COLUMNS`): one row per component use. Rows of one `reference`
make one production run: `item` (the finished item's part number or UDI-DI), `lot`,
`quantity` and `produced_at` (and `expiry_date`) repeat on each of its rows; `serial` is
the finished unit the row's component went into (the run's serials are those of its
rows; a row may give a serial and no component), `component_item`, `component_lot`
(`component_supplier`, the supplier code, when several makers use the number),
`component_serial` and `component_quantity` (1 for a serial when left empty) the
component consumed.

Shipments (`SHIPMENT_COLUMNS`): one row per lot or serial shipped. Rows of one
`reference` make one shipment to `customer` (its code; with `customer_name`, and
`email`, `address`, the customer is made or brought up to date), `shipped_at`, `item`,
`lot`, `serial`, `quantity` (1 for a serial when left empty).

Times without a zone are in the uploader's time zone. Every row is checked by
erp.traceability.service, the rule book of the screen and the API, and its errors are
mapped back to the rows and columns. With any error, `RecordImportInvalid` lists every
bad row and nothing is written.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from auth.permissions import require
from erp import tabular
from erp.items.imports import BAD_XLSX, NOT_A_TABLE
from erp.items.models import Item
from erp.purchasing.imports import MISSING_COLUMNS
from erp.tabular import EXTRA_CELLS, Row, RowError
from erp.traceability import service
from erp.traceability.models import CustomerShipment, ProductionRun
from kernel.errors import N_, Conflict, ValidationFailed
from tenants.models import Organisation

PRODUCTION_COLUMNS = (
    "reference", "item", "lot", "quantity", "produced_at", "expiry_date", "serial",
    "component_item", "component_lot", "component_supplier", "component_serial", "component_quantity",
)
PRODUCTION_NEEDED = ("reference", "item", "lot", "quantity", "produced_at", "component_item")
SHIPMENT_COLUMNS = (
    "reference", "customer", "customer_name", "email", "address", "shipped_at", "item", "lot", "serial", "quantity",
)
SHIPMENT_NEEDED = ("reference", "customer", "shipped_at", "item", "quantity")
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
XLSX_NAMES = (".xlsx", ".xls", ".xlsm")

PRODUCTION_UNKNOWN = N_("The file has columns that are not production record fields: %(columns)s.")
SHIPMENT_UNKNOWN = N_("The file has columns that are not customer shipment fields: %(columns)s.")
NO_ROWS = N_("The file has no rows.")
UNKNOWN_ITEM_CODE = N_("No item has the part number or UDI-DI %(code)s.")
UNKNOWN_SUPPLIER = N_("None of your suppliers has the code %(code)s.")
UNKNOWN_CUSTOMER_CODE = N_("There is no customer %(code)s: give its name (customer_name) to add it.")
NOT_A_TIME = N_("Enter a date and time such as 2026-03-01 14:30 or 2026-03-01T14:30:00+08:00.")
NOT_A_DATE = N_("Enter a date such as 2026-03-01.")
ROWS_DIFFER = N_("Reference %(reference)s has another %(column)s in row %(row)s: its rows must agree.")

# Where the service's fields stand in the files.
RUN_COLUMNS = {
    "reference": "reference", "item_id": "item", "lot_number": "lot", "quantity": "quantity",
    "produced_at": "produced_at", "serials": "serial", "location_id": "", "source": "", "components": "component_item",
}
USE_COLUMNS = {"item_id": "component_item", "lot": "component_lot", "serial": "component_serial",
               "quantity": "component_quantity", "output_serial": "serial"}
SHIPMENT_FIELDS = {"reference": "reference", "customer_id": "customer", "shipped_at": "shipped_at",
                   "ship_to_address": "address", "lines": "item", "source": ""}
CUSTOMER_FIELDS = {"code": "customer", "name": "customer_name", "email": "email", "address": "address"}
LINE_COLUMNS = {"item_id": "item", "lot": "lot", "serial": "serial", "quantity": "quantity"}


class RecordImportInvalid(ValidationFailed):
    """The file, or some of its rows, cannot be recorded; nothing was written. `rows`
    lists the problems by row (0: the file) and column; `errors` and `params_by_field`
    say the same keyed "rows.12.component_lot" (for the API's problem details)."""

    code = "record-import-invalid"
    message = N_("Nothing was imported: correct the rows listed and upload the file again.")

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = rows
        errors: dict[str, str] = {}
        self.params_by_field: dict[str, dict] = {}
        for problem in rows:
            key = (problem.field or "file") if problem.row == 0 else (
                f"rows.{problem.row}.{problem.field}" if problem.field else f"rows.{problem.row}"
            )
            if key not in errors:
                errors[key] = problem.message
                if problem.params:
                    self.params_by_field[key] = problem.params
        super().__init__(errors=errors)


# --- templates ---------------------------------------------------------------------------


PRODUCTION_EXAMPLE = [
    ["WO-2026-0001", "PUMP-100", "FL-2026-01", "2", "2026-03-01 14:30", "2028-03-01", "PU-0001",
     "SCREW-M3", "L-2026-11", "", "", "8"],
    ["WO-2026-0001", "PUMP-100", "FL-2026-01", "2", "2026-03-01 14:30", "2028-03-01", "PU-0001",
     "BOARD-7", "", "", "B-000123", ""],
    ["WO-2026-0001", "PUMP-100", "FL-2026-01", "2", "2026-03-01 14:30", "2028-03-01", "PU-0002",
     "BOARD-7", "", "", "B-000124", ""],
]
SHIPMENT_EXAMPLE = [
    ["DN-2026-0001", "HOSP-01", "City Hospital", "purchasing@hospital.example", "1 Main Street, Shanghai",
     "2026-03-05 09:00", "PUMP-100", "FL-2026-01", "PU-0001", ""],
    ["DN-2026-0001", "HOSP-01", "City Hospital", "purchasing@hospital.example", "1 Main Street, Shanghai",
     "2026-03-05 09:00", "CATHETER-5", "CL-2026-04", "", "20"],
]


def template_csv(kind: str) -> bytes:
    """The columns and example rows of a production ("production") or shipment file."""
    columns, example = _kind(kind)
    return tabular.csv_bytes([list(columns), *example])


def template_xlsx(kind: str) -> bytes:
    """As template_csv; every column formatted as text (leading zeros and dates kept)."""
    from openpyxl import Workbook  # only a download needs it
    from openpyxl.utils import get_column_letter

    columns, example = _kind(kind)
    book = Workbook()
    sheet = book.active
    sheet.title = kind
    for row in (list(columns), *example):
        sheet.append(row)
    for n in range(1, len(columns) + 1):
        letter = get_column_letter(n)
        sheet.column_dimensions[letter].number_format = "@"
        sheet.column_dimensions[letter].width = 18
        for r in range(2, len(example) + 2):
            sheet.cell(row=r, column=n).number_format = "@"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _kind(kind: str):
    if kind == "production":
        return PRODUCTION_COLUMNS, PRODUCTION_EXAMPLE
    if kind == "shipment":
        return SHIPMENT_COLUMNS, SHIPMENT_EXAMPLE
    raise ValueError(kind)


# --- reading -----------------------------------------------------------------------------


def read_rows(content: bytes, filename: str, *, columns, needed, unknown: str) -> list[Row]:
    """The file's rows by column (text, stripped); CSV or XLSX told apart by content."""

    def check_header(header: list[str]) -> None:
        problems = tabular.header_problems(header, needed=needed, known=columns, missing=MISSING_COLUMNS, unknown=unknown)
        if problems:
            raise RecordImportInvalid(problems)

    try:
        tabular.check_size(content, MAX_BYTES)
        if content.startswith(b"PK\x03\x04"):
            records = _xlsx_records(content)
        elif filename.lower().endswith(XLSX_NAMES) or content.startswith(b"\xd0\xcf\x11\xe0"):
            raise RecordImportInvalid([RowError(0, "", NOT_A_TABLE)])
        else:
            text, _encoding = tabular.decode(content)
            records = tabular.csv_rows(text)
        _header, rows = tabular.read_table(records, check_header=check_header, max_rows=MAX_ROWS, strip=True)
    except tabular.TableInvalid as bad:
        raise RecordImportInvalid([RowError(0, "", bad.message, bad.params)]) from bad
    if not rows:
        raise RecordImportInvalid([RowError(0, "", NO_ROWS)])
    return rows


def _xlsx_records(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # only an import needs it

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise RecordImportInvalid([RowError(0, "", BAD_XLSX)]) from exc
    try:
        if not book.worksheets:
            raise tabular.TableInvalid(tabular.EMPTY)
        return [[_cell(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    return str(value)


# --- production --------------------------------------------------------------------------


def production_from_file(uow, actor, *, content: bytes, filename: str, timezone: str = "UTC") -> list[ProductionRun]:
    """The production runs of the file (see the module), in the order of their first
    rows; raises RecordImportInvalid naming every bad row, with nothing written."""
    require(actor, "production.record")
    rows = read_rows(content, filename, columns=PRODUCTION_COLUMNS, needed=PRODUCTION_NEEDED, unknown=PRODUCTION_UNKNOWN)
    zone = _zone(timezone)
    problems: list[RowError] = []
    items = _items(uow, rows, ("item", "component_item"), problems)
    suppliers = _suppliers(uow, rows, problems)
    groups = _groups(rows, ("item", "lot", "quantity", "produced_at", "expiry_date"), problems)
    runs: list[ProductionRun] = []
    with uow.session.begin_nested() as savepoint:
        for group in groups:
            first = group[0]
            produced_at = _time(first, "produced_at", zone, problems)
            expiry = _date(first, "expiry_date", problems)
            serials: list[str] = []
            uses: list[service.ComponentUse] = []
            use_rows: list[Row] = []
            for row in group:
                serial = row.values.get("serial", "")
                if serial and serial not in serials:
                    serials.append(serial)
                if not row.values.get("component_item"):
                    continue
                component_serial = row.values.get("component_serial") or None
                uses.append(
                    service.ComponentUse(
                        item_id=items.get(row.values["component_item"].upper()),
                        lot_number=row.values.get("component_lot") or None,
                        supplier_id=suppliers.get(row.values.get("component_supplier", "").upper()),
                        serial=component_serial,
                        quantity=row.values.get("component_quantity") or ("1" if component_serial else ""),
                        output_serial=serial or None,
                    )
                )
                use_rows.append(row)
            try:
                runs.append(
                    service.record_production(
                        uow, actor, reference=first.values["reference"], item_id=items.get(first.values["item"].upper()),
                        lot_number=first.values["lot"], quantity=first.values["quantity"], produced_at=produced_at,
                        serials=serials, components=uses, expiry_date=expiry, source="csv",
                    )
                )
            except (ValidationFailed, Conflict) as error:
                problems.extend(_new(problems, _run_errors(error, group, use_rows, serials)))
        if problems:
            savepoint.rollback()
    if problems:
        raise RecordImportInvalid(sorted(problems, key=lambda p: _place(p, PRODUCTION_COLUMNS)))
    return runs


def _run_errors(error: ValidationFailed | Conflict, group: list[Row], use_rows: list[Row], serials: list[str]) -> list[RowError]:
    found = []
    by_field = getattr(error, "params_by_field", {}) or {}
    if not getattr(error, "errors", None):  # a conflict with an earlier record of this reference
        return [RowError(group[0].number, "reference", error.message, error.params)]
    for key, message in error.errors.items():
        params = by_field.get(key) or error.params
        parts = key.split(".")
        if parts[0] == "components" and len(parts) == 3:
            found.append(RowError(use_rows[int(parts[1])].number, USE_COLUMNS.get(parts[2], ""), message, params))
        elif parts[0] == "serials" and len(parts) == 2:
            serial = serials[int(parts[1])]
            row = next((r for r in group if r.values.get("serial") == serial), group[0])
            found.append(RowError(row.number, "serial", message, params))
        else:
            found.append(RowError(group[0].number, RUN_COLUMNS.get(parts[0], ""), message, params))
    return found


# --- shipments ---------------------------------------------------------------------------


def shipments_from_file(uow, actor, *, content: bytes, filename: str, timezone: str = "UTC") -> list[CustomerShipment]:
    """The customer shipments of the file (see the module); raises RecordImportInvalid
    naming every bad row, with nothing written (customers included)."""
    require(actor, "production.record")
    rows = read_rows(content, filename, columns=SHIPMENT_COLUMNS, needed=SHIPMENT_NEEDED, unknown=SHIPMENT_UNKNOWN)
    zone = _zone(timezone)
    problems: list[RowError] = []
    items = _items(uow, rows, ("item",), problems)
    groups = _groups(rows, ("customer", "customer_name", "email", "address", "shipped_at"), problems)
    shipments: list[CustomerShipment] = []
    with uow.session.begin_nested() as savepoint:
        for group in groups:
            first = group[0]
            shipped_at = _time(first, "shipped_at", zone, problems)
            customer = _customer(uow, actor, first, problems)
            lines = [
                service.ShippedUnit(
                    item_id=items.get(row.values["item"].upper()),
                    lot_number=row.values.get("lot") or None,
                    serial=row.values.get("serial") or None,
                    quantity=row.values.get("quantity") or ("1" if row.values.get("serial") else ""),
                )
                for row in group
            ]
            try:
                shipments.append(
                    service.record_shipment(
                        uow, actor, reference=first.values["reference"], customer_id=customer.id if customer else None,
                        shipped_at=shipped_at,
                        ship_to_address=first.values.get("address") or None, lines=lines, source="csv",
                    )
                )
            except (ValidationFailed, Conflict) as error:
                found = _shipment_errors(error, group)
                if customer is None:  # reported already, as what is wrong with it
                    found = [p for p in found if p.field != "customer"]
                problems.extend(_new(problems, found))
        if problems:
            savepoint.rollback()
    if problems:
        raise RecordImportInvalid(sorted(problems, key=lambda p: _place(p, SHIPMENT_COLUMNS)))
    return shipments


def _customer(uow, actor, row: Row, problems: list[RowError]):
    code = row.values.get("customer", "")
    if not row.values.get("customer_name"):
        found = service.customer_by_code(uow, actor, code=code)
        if found is None:
            problems.append(RowError(row.number, "customer", UNKNOWN_CUSTOMER_CODE, {"code": code}))
        return found
    try:
        return service.upsert_customer(
            uow, actor, code=code, name=row.values["customer_name"], email=row.values.get("email") or None,
            address=row.values.get("address") or None,
        )
    except ValidationFailed as error:
        for key, message in error.errors.items():
            problems.append(RowError(row.number, CUSTOMER_FIELDS.get(key, ""), message, error.params))
        return None


def _shipment_errors(error: ValidationFailed | Conflict, group: list[Row]) -> list[RowError]:
    found = []
    by_field = getattr(error, "params_by_field", {}) or {}
    if not getattr(error, "errors", None):
        return [RowError(group[0].number, "reference", error.message, error.params)]
    for key, message in error.errors.items():
        params = by_field.get(key) or error.params
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) == 3:
            found.append(RowError(group[int(parts[1])].number, LINE_COLUMNS.get(parts[2], ""), message, params))
        else:
            found.append(RowError(group[0].number, SHIPMENT_FIELDS.get(parts[0], ""), message, params))
    return found


# --- shared ------------------------------------------------------------------------------


def _new(problems: list[RowError], found: list[RowError]) -> list[RowError]:
    """The service's findings on cells not reported already (an unknown item code is
    reported once, not again as a missing item)."""
    known = {(p.row, p.field) for p in problems}
    return [p for p in found if (p.row, p.field) not in known]


def _place(problem: RowError, columns) -> tuple[int, int]:
    return problem.row, columns.index(problem.field) if problem.field in columns else -1


def _zone(name: str):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _groups(rows: list[Row], same: tuple[str, ...], problems: list[RowError]) -> list[list[Row]]:
    """The rows by reference (in the order of first appearance); the columns `same` must
    agree on all rows of a reference. A row with extra cells or no reference is reported."""
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if "" in row.values:
            problems.append(RowError(row.number, "", EXTRA_CELLS))
        reference = row.values.get("reference", "")
        if not reference:
            problems.append(RowError(row.number, "reference", service.REQUIRED))
            continue
        group = groups[reference]
        if group:
            for column in same:
                if row.values.get(column, "") != group[0].values.get(column, ""):
                    problems.append(
                        RowError(row.number, column, ROWS_DIFFER, {"reference": reference, "column": column, "row": row.number})
                    )
        group.append(row)
    return list(groups.values())


def _items(uow, rows: list[Row], columns: tuple[str, ...], problems: list[RowError]) -> dict:
    """Part numbers and UDI-DIs (in capitals) the file names → item ids; an unknown one
    is reported on each row naming it."""
    codes = {row.values.get(c, "").upper() for row in rows for c in columns} - {""}
    found: dict = {}
    if codes:
        for item_id, part, udi in uow.execute(
            sa.select(Item.id, Item.part_number, Item.udi_di).where(
                sa.or_(sa.func.upper(Item.part_number).in_(list(codes)), Item.udi_di.in_(list(codes)))
            )
        ).all():
            found[part.upper()] = item_id
            if udi:
                found[udi.upper()] = item_id
    for row in rows:
        for column in columns:
            code = row.values.get(column, "")
            if code and code.upper() not in found:
                problems.append(RowError(row.number, column, UNKNOWN_ITEM_CODE, {"code": code}))
    return found


def _suppliers(uow, rows: list[Row], problems: list[RowError]) -> dict:
    codes = {row.values.get("component_supplier", "").upper() for row in rows} - {""}
    found: dict = {}
    if codes:
        found = {
            code.upper(): supplier_id
            for supplier_id, code in uow.execute(
                sa.select(Organisation.id, Organisation.code).where(
                    sa.func.upper(Organisation.code).in_(list(codes)), Organisation.kind == "supplier"
                )
            ).all()
        }
    for row in rows:
        code = row.values.get("component_supplier", "")
        if code and code.upper() not in found:
            problems.append(RowError(row.number, "component_supplier", UNKNOWN_SUPPLIER, {"code": code}))
    return found


def _time(row: Row, column: str, zone, problems: list[RowError]) -> datetime | None:
    text = row.values.get(column, "")
    if not text:
        return None  # the service says it is required
    try:
        value = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        problems.append(RowError(row.number, column, NOT_A_TIME))
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _date(row: Row, column: str, problems: list[RowError]) -> date | None:
    text = row.values.get(column, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError:
        problems.append(RowError(row.number, column, NOT_A_DATE))
        return None
