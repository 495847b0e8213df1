"""Purchase orders from a CSV file: columns supplier_code, currency, part_number,
quantity, unit_price, requested_date; one row per line. Rows of the same supplier and
currency make one draft order, in the order of the file.

The file is read as the item import reads its CSV files (erp.tabular: UTF-8 with or
without a byte order mark, else GB18030). Every row is checked with the rules of
confirmation.create_purchase_order (the approved supplier list included) before any
order is kept: with any error, every bad row is reported (row, column, message) and
nothing is written. All of the file or none of it, in the caller's transaction.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from auth.permissions import require
from erp import tabular
from erp.items.models import Item
from erp.purchasing import confirmation
from erp.purchasing.models import PurchaseOrder
from erp.suppliers.errors import SupplierDisqualified
from erp.tabular import EXTRA_CELLS, Row, RowError
from erp.tabular import REPEATED_COLUMNS as REPEATED_COLUMNS
from kernel.errors import N_, ValidationFailed
from tenants import service as tenants

COLUMNS = ("supplier_code", "currency", "part_number", "quantity", "unit_price", "requested_date")
MAX_BYTES = 1024 * 1024
MAX_ROWS = 2000
# The service's field names → the file's columns.
FIELD_COLUMNS = {
    "supplier_id": "supplier_code",
    "currency": "currency",
    "item_id": "part_number",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "requested_date": "requested_date",
}

# The file's own problems are erp.tabular's messages, named here for this module's callers.
TOO_LARGE, TOO_MANY_ROWS, EMPTY = tabular.TOO_LARGE, tabular.TOO_MANY_ROWS, tabular.EMPTY
MISSING_COLUMNS = N_("The file lacks the columns %(columns)s. The first row must name the columns.")
UNKNOWN_COLUMNS = N_("The file has columns that are not purchase order fields: %(columns)s.")
NO_ROWS = N_("The file has no order lines.")
UNKNOWN_SUPPLIER = N_("No supplier has this code.")
UNKNOWN_PART = N_("No item has this part number.")


class PurchaseOrderImportInvalid(ValidationFailed):
    """The file, or some of its rows, cannot be imported; nothing was written."""

    code = "po-import-invalid"
    message = N_("The purchase orders were not imported: correct the rows listed and upload the file again.")

    def __init__(self, rows: list[RowError], message: str | None = None, **params) -> None:
        self.rows = rows
        super().__init__(message, **params)


def read_rows(data: bytes) -> list[Row]:
    """The file's rows by column (text, stripped); a row with extra cells is marked with
    the key "" (erp.tabular.read_table)."""
    try:
        tabular.check_size(data, MAX_BYTES)
        text, _encoding = tabular.decode(data)
        _header, rows = tabular.read_table(tabular.csv_rows(text), check_header=_check_header, max_rows=MAX_ROWS, strip=True)
    except tabular.TableInvalid as bad:
        raise PurchaseOrderImportInvalid([RowError(0, "", bad.message, bad.params)]) from bad
    return rows


def _check_header(header: list[str]) -> None:
    problems = tabular.header_problems(
        header, needed=COLUMNS, known=COLUMNS, missing=MISSING_COLUMNS, unknown=UNKNOWN_COLUMNS
    )
    if problems:
        raise PurchaseOrderImportInvalid(problems)


def import_purchase_orders(uow, actor, *, content: bytes) -> list[PurchaseOrder]:
    """Draft orders from the file, one per supplier and currency; raises
    PurchaseOrderImportInvalid naming every bad row, with nothing written."""
    require(actor, "po.manage")
    rows = read_rows(content)
    if not rows:
        raise PurchaseOrderImportInvalid([RowError(0, "", NO_ROWS)])
    suppliers = {s.code.upper(): s for s in tenants.list_suppliers(uow)}
    parts = {r.values.get("part_number", "") for r in rows} - {""}
    items = {i.part_number: i for i in uow.session.scalars(sa.select(Item).where(Item.part_number.in_(parts)))} if parts else {}
    problems: list[RowError] = []
    groups: dict[tuple[uuid.UUID | None, str], list[Row]] = {}
    for row in rows:
        values = row.values
        if "" in values:
            problems.append(RowError(row.number, "", EXTRA_CELLS))
        code = values.get("supplier_code", "")
        supplier = suppliers.get(code.upper())
        if supplier is None:
            problems.append(RowError(row.number, "supplier_code", confirmation.REQUIRED if not code else UNKNOWN_SUPPLIER))
        part = values.get("part_number", "")
        if part and part not in items:
            problems.append(RowError(row.number, "part_number", UNKNOWN_PART))
        currency = values.get("currency", "").upper()
        groups.setdefault((supplier.id if supplier else None, currency), []).append(row)
    created = []
    with uow.session.begin_nested() as savepoint:
        for (supplier_id, currency), members in groups.items():
            lines = [
                {
                    "item_id": items[r.values["part_number"]].id if r.values.get("part_number") in items else None,
                    "quantity": r.values.get("quantity", ""),
                    "unit_price": r.values.get("unit_price", ""),
                    "requested_date": r.values.get("requested_date", ""),
                }
                for r in members
            ]
            try:
                created.append(
                    confirmation.create_purchase_order(uow, actor, supplier_id=supplier_id, currency=currency, lines=lines)
                )
            except ValidationFailed as error:
                problems.extend(_row_errors(error, members, known_supplier=supplier_id is not None, items=items))
        if problems:
            savepoint.rollback()
    if problems:
        unique = list({(e.row, e.field, e.message): e for e in reversed(problems)}.values())
        raise PurchaseOrderImportInvalid(sorted(unique, key=_place))
    return created


def _place(error: RowError) -> tuple[int, int]:
    return error.row, COLUMNS.index(error.field) if error.field in COLUMNS else -1


def _row_errors(error: ValidationFailed, members: list[Row], *, known_supplier: bool, items: dict) -> list[RowError]:
    """The service's errors for one group ("lines.2.quantity": its third row) by row and
    column; errors of the whole order go to each of its rows."""
    found = []
    for key, message in error.errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(members):
            row = members[int(parts[1])]
            column = FIELD_COLUMNS.get(parts[2], "")
            if column == "part_number" and row.values.get("part_number") not in items:
                # an unknown or missing part number is named by the caller already, or here
                message = confirmation.REQUIRED if not row.values.get("part_number") else UNKNOWN_PART
            params = {}
            named = isinstance(error, SupplierDisqualified) and error.params.get("part_number") == row.values.get("part_number")
            if named and message == confirmation.DISQUALIFIED:
                message, params = error.message, dict(error.params)
            found.append(RowError(row.number, column, message, params))
        elif key == "supplier_id":
            if not known_supplier:
                continue  # named for each row already
            found.extend(RowError(r.number, "supplier_code", message) for r in members)
        else:
            found.extend(RowError(r.number, FIELD_COLUMNS.get(key, ""), message) for r in members)
    return found
