"""Importing items from CSV or XLSX files, and the columns of the export.

`parse(data, filename)` reads a file into rows of text by column name (the names of the
export, `COLUMNS`): XLSX with openpyxl; CSV as UTF-8 (with or without a byte order mark)
or, when it is not valid UTF-8, as GB18030 (what Excel on a Chinese Windows saves), the
encoding used being named in the result (erp.tabular reads both). A file that cannot be read as a whole - no
header, unknown columns, several encodings in one file, too many rows - is refused with
`ImportFileInvalid`.

`import_items(uow, actor, rows=...)` checks every row with the rules of create_item and
update_item (`service.checked_values`) and collects every error by row and column; with
any error nothing is written. Otherwise every row is written in the caller's transaction:
a part number already in the tenant's part master updates that item, any other creates
one. All of the file or none of it.

Besides the export's columns, a file may have a `revision` column: the code of a new
item's first revision ("A" when empty; erp.items.revisions). An item already in the part
master keeps its revisions - they are added on the item's page - so for it the cell must
be empty or the revision in effect today.
"""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from auth import service as auth_service
from auth.permissions import require
from erp import tabular
from erp.items import revisions
from erp.items.errors import DuplicateUdiDi, ItemImportNotFound
from erp.items.models import Item, ItemImport
from erp.items.service import FIELDS, LABEL_FIELDS, PART_NUMBER_CONSTRAINT, UDI_INDEX, checked_values
from erp.tabular import EMPTY, EXTRA_CELLS, FORMULA_START, REPEATED_COLUMNS, TOO_MANY_ROWS, RowError
from kernel.clock import utcnow
from kernel.errors import N_, Forbidden, ValidationFailed
from kernel.ids import new_id
from kernel.uow import Actor
from tenants import service as tenants

COLUMNS = FIELDS  # the export's columns, in its order; the import reads them by name
REVISION = "revision"  # optional, imports only: the first revision of a new item
IMPORT_COLUMNS = (*COLUMNS, REVISION)
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 50_000
SMALL = 500  # files up to this many rows are imported at once; larger ones by a job
PROGRESS_EVERY = 500

XLSX = "XLSX"  # the encoding named for an XLSX file; a CSV file's is erp.tabular's
UTF8, UTF8_BOM, GB18030 = tabular.UTF8, tabular.UTF8_BOM, tabular.GB18030
TRUE = {"true", "yes", "y", "1", "x", "是", "✓"}
FALSE = {"false", "no", "n", "0", "否"}
WHOLE = re.compile(r"[+-]?[0-9]+")
IDENTIFIERS = ("issuing_agency", "udi_di", "basic_udi_di")

# The file's own problems are erp.tabular's messages (EMPTY, REPEATED_COLUMNS, EXTRA_CELLS
# and TOO_MANY_ROWS are imported above), named here for this module's callers too.
TOO_LARGE, NOT_TEXT, MIXED = tabular.TOO_LARGE, tabular.NOT_TEXT, tabular.MIXED
NO_HEADER = N_("The first row must name the columns, such as part_number, name, category and uom.")
NO_PART_NUMBER = N_("The file has no part_number column.")
UNKNOWN_COLUMNS = N_("The file has columns that are not item fields: %(columns)s. Use the column names of the export.")
NOT_A_TABLE = N_("The file is neither CSV nor XLSX. Save it as CSV (UTF-8) or XLSX.")
BAD_XLSX = N_("The XLSX file could not be read. Open it in your spreadsheet program and save it again.")
PART_NUMBER_TWICE = N_("This part number is also in row %(row)s.")
UDI_DI_TWICE = N_("This UDI-DI is also in row %(row)s.")
FAILED = N_("The import stopped because of an error on our side. It changed nothing; please try again later.")
REVISION_OF_EXISTING = N_(
    "This item is already in the item master: its revisions are added on the item's page. Leave this cell empty."
)
NOT_WRITTEN = N_("The items could not be saved as they are. Check the part numbers and UDI-DIs and try again.")


class ImportFileInvalid(ValidationFailed):
    code = "item-import-file-invalid"
    message = N_("The file could not be read.")


ImportRow = tabular.Row  # number: the row in the file; values: column name → text


@dataclass(frozen=True)
class ParsedFile:
    encoding: str
    columns: tuple[str, ...]
    rows: list[ImportRow]


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    encoding: str | None = None
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ImportReport:
        errors = [RowError(**e) for e in data.get("errors", [])]
        return cls(**{**data, "errors": errors})


# --- reading files ----------------------------------------------------------------------------


def parse(data: bytes, filename: str = "") -> ParsedFile:
    """The rows of a CSV or XLSX file (told apart by content, not by name)."""
    try:
        tabular.check_size(data, MAX_BYTES)
        if data.startswith(b"PK\x03\x04"):
            return _xlsx(data)
        if filename.lower().endswith((".xlsx", ".xls", ".xlsm")) or data.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFileInvalid(NOT_A_TABLE)
        text, encoding = tabular.decode(data)
        return _table(tabular.csv_rows(text), encoding)
    except tabular.TableInvalid as bad:
        raise ImportFileInvalid(bad.message, **bad.params) from bad


def _xlsx(data: bytes) -> ParsedFile:
    from openpyxl import load_workbook  # only an import needs it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileInvalid(BAD_XLSX) from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ImportFileInvalid(EMPTY)
        return _table(([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)), XLSX)
    finally:
        book.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    return str(value)


def _table(records, encoding: str) -> ParsedFile:
    # A row with extra cells is marked (key ""); import_items reports it.
    header, rows = tabular.read_table(records, check_header=_check_header, max_rows=MAX_ROWS)
    return ParsedFile(encoding=encoding, columns=tuple(header), rows=rows)


def _check_header(header: list[str]) -> None:
    if not any(header):
        raise ImportFileInvalid(NO_HEADER)
    unknown = [c or "?" for c in header if c not in IMPORT_COLUMNS]
    if unknown and len(unknown) == len(header):
        raise ImportFileInvalid(NO_HEADER)
    if unknown:
        raise ImportFileInvalid(UNKNOWN_COLUMNS, columns=", ".join(unknown))
    repeated = tabular.repeated_columns(header)
    if repeated:
        raise ImportFileInvalid(REPEATED_COLUMNS, columns=", ".join(repeated))
    if "part_number" not in header:
        raise ImportFileInvalid(NO_PART_NUMBER)


# --- importing ----------------------------------------------------------------------------------


def import_items(
    uow,
    actor,
    *,
    rows: Sequence[ImportRow],
    encoding: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check every row, then write all of them or none (see the module). `progress` is
    called with the number of rows checked so far, every PROGRESS_EVERY rows."""
    require(actor, "items.manage")
    if len(rows) > MAX_ROWS:
        raise ImportFileInvalid(TOO_MANY_ROWS, rows=f"{MAX_ROWS:,}")
    report = ImportReport(total=len(rows), encoding=encoding)
    existing = _existing(uow, {row.values.get("part_number", "").strip() for row in rows})
    in_effect = _revisions_in_effect(uow, existing, rows)
    part_rows: dict[str, int] = {}
    udi_rows: dict[str, int] = {}
    planned: list[tuple[Item | None, dict]] = []
    for done, row in enumerate(rows, start=1):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
        errors, item, values = _check_row(row, existing, in_effect)
        part_number = values["part_number"] if values else (row.values.get("part_number") or "").strip()
        if part_number in part_rows:
            errors.append(RowError(row.number, "part_number", PART_NUMBER_TWICE, {"row": part_rows[part_number]}))
        elif part_number:
            part_rows[part_number] = row.number
        udi_di = values["udi_di"] if values else None
        if udi_di in udi_rows:
            errors.append(RowError(row.number, "udi_di", UDI_DI_TWICE, {"row": udi_rows[udi_di]}))
        elif udi_di:
            udi_rows[udi_di] = row.number
        if errors:
            report.errors.extend(errors)
        else:
            planned.append((item, values))
    report.errors.extend(_udi_conflicts(uow, udi_rows, {values["part_number"]: values["udi_di"] for _, values in planned}))
    if report.errors:
        report.errors.sort(key=lambda e: (e.row, IMPORT_COLUMNS.index(e.field) if e.field in IMPORT_COLUMNS else -1))
        return report
    _write(uow, actor, planned, report)
    if progress is not None:
        progress(len(rows))
    return report


def _existing(uow, part_numbers: set[str]) -> dict[str, Item]:
    """The tenant's items with these part numbers, locked for the update."""
    wanted = sorted(p for p in part_numbers if p)
    if not wanted:
        return {}
    parts = sa.bindparam("parts", wanted, type_=postgresql.ARRAY(sa.String))
    stmt = sa.select(Item).where(Item.part_number == sa.any_(parts)).order_by(Item.id).with_for_update()
    return {item.part_number: item for item in uow.session.scalars(stmt)}


def _revisions_in_effect(uow, existing: dict[str, Item], rows: Sequence[ImportRow]) -> dict[uuid.UUID, str]:
    """The codes of the revisions in effect today of the existing items whose rows give a
    revision (by item id)."""
    ids = {
        existing[part].id
        for row in rows
        if (row.values.get(REVISION) or "").strip() and (part := (row.values.get("part_number") or "").strip()) in existing
    }
    found = revisions.current_revisions(uow, item_ids=ids, on=revisions.today())
    return {item_id: revision.revision for item_id, revision in found.items()}


def _check_row(
    row: ImportRow, existing: dict[str, Item], in_effect: dict[uuid.UUID, str]
) -> tuple[list[RowError], Item | None, dict | None]:
    """The row's errors, or the item it updates (None: a new one) and its values (for a
    new item, with its first revision's code under REVISION)."""
    if "" in row.values:
        return [RowError(row.number, "", EXTRA_CELLS)], None, None
    fields = {name: _typed(name, text) for name, text in row.values.items() if name != REVISION}
    revision_text = _typed(REVISION, row.values.get(REVISION, ""))
    item = existing.get((row.values.get("part_number") or "").strip())
    try:
        if item is None:
            code, code_error = revisions.checked_code(revision_text or revisions.INITIAL_REVISION)
            try:
                values = checked_values(fields)
            except ValidationFailed as failed:
                if code_error:
                    failed.errors[REVISION] = code_error
                raise
            if code_error:
                raise ValidationFailed(errors={REVISION: code_error})
            return [], None, values | {REVISION: code}
        if revision_text and revisions.checked_code(revision_text)[0] != in_effect.get(item.id):
            errors = [RowError(row.number, REVISION, REVISION_OF_EXISTING)]
            try:
                checked_values(fields, current={name: getattr(item, name) for name in FIELDS})
            except ValidationFailed as failed:
                errors += [RowError(row.number, name, message) for name, message in failed.errors.items()]
            return errors, None, None
        current = {name: getattr(item, name) for name in FIELDS}
        # Identifiers as stored are kept as they are (as update_item does for fields it
        # is not given): an exported file imports back unchanged.
        for name in IDENTIFIERS:
            if name in fields and (fields[name] or None) == current[name]:
                del fields[name]
        return [], item, checked_values(fields, current=current)
    except ValidationFailed as failed:
        return [RowError(row.number, name, message) for name, message in failed.errors.items()], None, None


def _typed(name: str, text: str):
    """A cell's text as create_item takes it; what cannot be converted is passed on as
    text, for the service's own message."""
    text = (text or "").strip()
    if text.startswith("'") and text[1:2] in FORMULA_START:
        text = text[1:]  # the export's guard against formulas
    if name in LABEL_FIELDS:
        folded = text.lower()
        if folded in TRUE:
            return True
        if folded in FALSE or not folded:
            return False
        return text
    if name == "max_excursion_minutes":
        if not text:
            return None
        return int(text) if WHOLE.fullmatch(text) else text
    return text or None


def _udi_conflicts(uow, udi_rows: dict[str, int], final: dict[str, str | None]) -> list[RowError]:
    """UDI-DIs of the file that another item of the tenant has and keeps. `final`: the
    UDI-DI each good row of the file leaves its item with, by part number (an item whose
    row gives it another UDI-DI gives its own up)."""
    if not udi_rows:
        return []
    udis = sa.bindparam("udis", sorted(udi_rows), type_=postgresql.ARRAY(sa.String))
    holders = uow.execute(sa.select(Item.udi_di, Item.part_number).where(Item.udi_di == sa.any_(udis))).all()
    errors = []
    for udi_di, part_number in holders:
        if part_number in final:
            continue  # the item's own row: it keeps this UDI-DI, or gives it up for another
        errors.append(
            RowError(udi_rows[udi_di], "udi_di", DuplicateUdiDi.message, {"udi_di": udi_di, "part_number": part_number})
        )
    return errors


def _write(uow, actor, planned: list, report: ImportReport) -> None:
    try:
        with uow.session.begin_nested():
            first_revisions = []
            for item, values in planned:
                if item is None:
                    fields = {name: value for name, value in values.items() if name != REVISION}
                    new = Item(id=new_id(), **fields)
                    uow.add(new)
                    first_revisions.append(revisions.first_revision(actor, item_id=new.id, revision=values[REVISION]))
                    report.created += 1
                    continue
                changed = {name: value for name, value in values.items() if getattr(item, name) != value}
                for name, value in changed.items():
                    setattr(item, name, value)
                if changed:
                    report.updated += 1
                else:
                    report.unchanged += 1
            uow.flush()  # the items first: their revisions refer to them
            uow.session.add_all(first_revisions)
            uow.flush()
    except sa.exc.IntegrityError as exc:
        # Only a race with another writer, or UDI-DIs exchanged between items in one file,
        # gets here: the checks above found no conflict in the file itself.
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        name = {PART_NUMBER_CONSTRAINT: "part_number", UDI_INDEX: "udi_di"}.get(constraint, "")
        report.created = report.updated = report.unchanged = 0
        report.errors.append(RowError(0, name, NOT_WRITTEN))


# --- recorded imports (the upload page and the background job) ------------------------------------


def start_import(uow, actor, *, filename: str, content: bytes) -> ItemImport:
    """Record an upload. A file of at most SMALL rows is imported now, in the caller's
    transaction (status "done", with its report); a larger one is "queued" for the job
    (`run_import`, which the caller defers after the commit). A file that cannot be read
    as a whole raises ImportFileInvalid and is not recorded."""
    require(actor, "items.manage")
    parsed = parse(content, filename)
    record = ItemImport(
        filename=(filename or "items")[:255],
        content=content,
        status="queued",
        encoding=parsed.encoding,
        total=len(parsed.rows),
        done=0,
        created_by=actor.user_id,
    )
    if len(parsed.rows) <= SMALL:
        _finish(record, import_items(uow, actor, rows=parsed.rows, encoding=parsed.encoding))
    uow.add(record)
    uow.flush()
    return record


def get_import(uow, actor, *, import_id: uuid.UUID) -> ItemImport:
    require(actor, "items.manage")
    record = uow.scalar(sa.select(ItemImport).where(ItemImport.id == import_id))
    if record is None:
        raise ItemImportNotFound()
    return record


def report_of(record: ItemImport) -> ImportReport | None:
    return ImportReport.from_json(record.report) if record.report is not None else None


def run_import(open_uow, *, tenant_id: uuid.UUID, import_id: uuid.UUID) -> str | None:
    """The background job's work: import a queued file as the person who sent it (their
    permissions as they are now), all of it or none, recording progress as it goes in
    transactions of its own (so the page can show it) and the outcome with the items.
    `open_uow(tenant_id=, actor=)` opens a unit of work. Idempotent: an import already
    finished is left alone. Returns the final status (None: nothing to do)."""
    with open_uow(tenant_id=tenant_id, actor=Actor.system("items-import")) as uow:
        record = uow.scalar(sa.select(ItemImport).where(ItemImport.id == import_id).with_for_update())
        if record is None or record.status not in ("queued", "running"):
            return None
        record.status, record.done = "running", 0
        content, filename, user_id = record.content, record.filename, record.created_by
        actor = _sender(uow, user_id, tenant_id)
        uow.commit()

    def progress(done: int) -> None:
        with open_uow(tenant_id=tenant_id, actor=actor) as step:
            step.execute(
                sa.update(ItemImport).where(ItemImport.id == import_id).values(done=sa.func.least(done, ItemImport.total))
            )
            step.commit()

    try:
        with open_uow(tenant_id=tenant_id, actor=actor, reason="Items imported") as uow:
            try:
                parsed = parse(content, filename)
                report = import_items(uow, actor, rows=parsed.rows, encoding=parsed.encoding, progress=progress)
            except (ImportFileInvalid, Forbidden) as refused:
                uow.rollback()
                report = ImportReport(errors=[RowError(0, "", refused.message, refused.params)])
            record = uow.scalar(sa.select(ItemImport).where(ItemImport.id == import_id).with_for_update())
            _finish(record, report)
            uow.commit()
            return record.status
    except Exception:
        with open_uow(tenant_id=tenant_id, actor=Actor.system("items-import")) as uow:
            record = uow.scalar(sa.select(ItemImport).where(ItemImport.id == import_id).with_for_update())
            _finish(record, ImportReport(errors=[RowError(0, "", FAILED)]), status="failed")
            uow.commit()
        raise


def _sender(uow, user_id: uuid.UUID | None, tenant_id: uuid.UUID) -> Actor:
    user = auth_service.get_user(uow, user_id=user_id) if user_id else None
    if user is None or not user.is_active:
        # A person with no permission, not the system (which holds them all): refused.
        return Actor(user_id=user_id, name="items-import")
    return tenants.actor_in(uow, user, tenant_id)


def _finish(record: ItemImport, report: ImportReport, *, status: str = "done") -> None:
    record.status = status
    record.report = report.to_json()
    record.done = record.total if status == "done" else min(record.done or 0, record.total or 0)
    record.finished_at = utcnow()


# --- exporting ----------------------------------------------------------------------------------

# A cell starting with one of tabular.FORMULA_START is a formula to a spreadsheet program
# (CSV injection): the CSV export puts an apostrophe before it, which the import takes off.


def export_rows(items) -> list[list]:
    """The header (COLUMNS) and one row per item, in the types a spreadsheet shows."""
    return [list(COLUMNS)] + [[getattr(item, name) for name in COLUMNS] for item in items]


def export_csv(items) -> bytes:
    """UTF-8 with a byte order mark (so that Excel reads the Chinese names right)."""
    return tabular.csv_bytes([tabular.spreadsheet_text(value) for value in row] for row in export_rows(items))


def export_xlsx(items) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("items")
    for row in export_rows(items):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
