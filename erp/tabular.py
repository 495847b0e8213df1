"""Tables in files: reading the CSV files of imports, writing CSV files for spreadsheets.

Reading: `check_size`, then `decode` (UTF-8 with or without a byte order mark or, when
the file is not valid UTF-8, GB18030 - what Excel on a Chinese Windows saves), then
`csv_rows` (the delimiter guessed from the first line) and `read_table` (the header row
and the rows by column name). What cannot be read as a whole raises `TableInvalid`,
which an import turns into its own error; `RowError` is an import's finding by row and
column.

Writing: `csv_bytes` (UTF-8 with a byte order mark, so that Excel reads Chinese names
right), each text cell passed through `spreadsheet_text` where it may hold what a
person typed, so that no cell becomes a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kernel.errors import N_, DomainError

UTF8, UTF8_BOM, GB18030 = "UTF-8", "UTF-8 (BOM)", "GB18030"
BOM = b"\xef\xbb\xbf"

TOO_LARGE = N_("The file is larger than %(megabytes)s MB. Split it into smaller files.")
TOO_MANY_ROWS = N_("The file has more than %(rows)s rows. Split it into smaller files.")
EMPTY = N_("The file is empty.")
REPEATED_COLUMNS = N_("The file names a column twice: %(columns)s.")
EXTRA_CELLS = N_("This row has more cells than the header has columns.")
NOT_TEXT = N_("The file could not be read as text in UTF-8 or GB18030. Save it as CSV (UTF-8) or XLSX.")
MIXED = N_(
    "The file mixes character encodings: line %(line)s is not UTF-8 while others are. Save the whole file again "
    "as CSV (UTF-8) or XLSX."
)

# A cell starting with one of these is a formula to a spreadsheet program (CSV injection):
# spreadsheet_text puts an apostrophe before it, which the item import takes off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TableInvalid(DomainError):
    """The file cannot be read as a table; `message` and `params` say why."""

    code = "table-invalid"
    message = N_("The file could not be read.")


@dataclass(frozen=True)
class Row:
    number: int  # the row in the file, the header being row 1 (as a spreadsheet shows it)
    values: dict[str, str]  # column name → text, for the file's columns; "" marks extra cells


@dataclass(frozen=True)
class RowError:
    row: int  # the row in the file, the header being row 1; 0: the file as a whole
    field: str
    message: str  # a catalog key, translated where it is shown
    params: dict[str, Any] = field(default_factory=dict)


# --- reading ----------------------------------------------------------------------------------


def check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise TableInvalid(TOO_LARGE, megabytes=max_bytes // (1024 * 1024))


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in (UTF8, UTF8_BOM or GB18030)."""
    if data.startswith(BOM):
        encoding, body = UTF8_BOM, data[3:]
    else:
        encoding, body = UTF8, data
    try:
        return body.decode("utf-8"), encoding
    except UnicodeDecodeError:
        pass
    # Not UTF-8 as a whole. When some lines with other than ASCII are UTF-8 and others are
    # not, the file was put together from several sources: reading it as GB18030 would
    # garble the UTF-8 lines without an error, so it is refused, naming the first line.
    utf8_lines, other_line = False, None
    for number, line in enumerate(body.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines = True
        except UnicodeDecodeError:
            other_line = other_line or number
    if encoding == UTF8_BOM or (utf8_lines and other_line):
        raise TableInvalid(MIXED, line=other_line)
    try:
        return body.decode("gb18030"), GB18030
    except UnicodeDecodeError as exc:
        raise TableInvalid(NOT_TEXT) from exc


def csv_rows(text: str):
    """The cells of each line; the delimiter (comma, semicolon or tab) is the one the
    first line has most of."""
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if first else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def read_table(
    records: Iterable[Sequence[str]],
    *,
    check_header: Callable[[list[str]], None],
    max_rows: int,
    strip: bool = False,
) -> tuple[list[str], list[Row]]:
    """The header (column names, trimmed and in lower case, without trailing empty ones)
    and the rows that are not blank. `check_header` raises the caller's error for a
    header it cannot use. `strip`: trim each cell. A row with more non-empty cells than
    the header has columns is marked with the key "" (for the caller to report)."""
    header = None
    rows: list[Row] = []
    for number, cells in enumerate(records, start=1):
        if header is None:
            header = [c.strip().lstrip("\ufeff").lower() for c in cells]
            while header and not header[-1]:
                header.pop()
            check_header(header)
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= max_rows:
            raise TableInvalid(TOO_MANY_ROWS, rows=f"{max_rows:,}")
        values = {name: cell.strip() if strip else cell for name, cell in zip(header, cells, strict=False)}
        if any(c.strip() for c in cells[len(header) :]):
            values[""] = ""
        rows.append(Row(number=number, values=values))
    if header is None:
        raise TableInvalid(EMPTY)
    return header, rows


def repeated_columns(header: Sequence[str]) -> list[str]:
    return sorted({c for c in header if header.count(c) > 1})


# --- writing ----------------------------------------------------------------------------------


def header_problems(
    header: Sequence[str], *, needed: Sequence[str], known: Sequence[str], missing: str, unknown: str
) -> list[RowError]:
    """The first row's problems as RowErrors: needed columns missing, columns not `known`,
    columns named twice. `missing` and `unknown` are the import's own messages (they
    name what its rows are); each takes %(columns)s."""
    problems = []
    absent = [c for c in needed if c not in header]
    if absent:
        problems.append(RowError(1, "", missing, {"columns": ", ".join(absent)}))
    strange = [c or "?" for c in header if c not in known]
    if strange:
        problems.append(RowError(1, "", unknown, {"columns": ", ".join(strange)}))
    repeated = repeated_columns(header)
    if repeated:
        problems.append(RowError(1, "", REPEATED_COLUMNS, {"columns": ", ".join(repeated)}))
    return problems


def spreadsheet_text(value) -> str:
    """A cell's text: empty for None, true/false for a boolean, and text that would be a
    formula with an apostrophe before it (a spreadsheet shows it as typed)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return str(value)


def csv_bytes(rows: Iterable[Iterable]) -> bytes:
    """The rows as CSV (comma, CRLF) in UTF-8 with a byte order mark; cells as given."""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return BOM + out.getvalue().encode("utf-8")
