"""Many rows in one INSERT statement.

The audit triggers are statement-level (migrations.support.audited): one firing per
statement, however many rows. An executemany sends one statement per row, so 10,000
rows fire them 10,000 times (the bench's asn_save spent 90% of its time there); one
`INSERT ... SELECT FROM unnest(arrays)` fires them once and sends the rows as arrays.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

_DIALECT = postgresql.dialect()


def insert_rows(uow, model, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys, each a column of `model`) in one
    statement; nothing for no rows. Values pass as bound arrays, never as SQL text."""
    if not rows:
        return
    table = model.__table__
    names = list(rows[0])
    arrays = ", ".join(f"CAST(:c{n} AS {table.c[name].type.compile(dialect=_DIALECT)}[])" for n, name in enumerate(names))
    columns = ", ".join(f'"{name}"' for name in names)
    statement = sa.text(f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({arrays})')
    uow.execute(statement, {f"c{n}": [row[name] for row in rows] for n, name in enumerate(names)})
