"""Keyset pagination: a page of rows and an opaque cursor naming the last row shown.

Offsets get slower the deeper one pages and skip or repeat rows while others insert;
a keyset on (created_at, id) does neither. Rows created in one transaction share
created_at (it is the transaction's time), so the id breaks ties.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from kernel.errors import N_, ValidationFailed

T = TypeVar("T")
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (created_at, id) a cursor names; a cursor that is not ours is bad input."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        key = datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
        raise ValidationFailed(errors={"cursor": N_("This page link is not valid. Start again from the first page.")}) from exc
    if key[0].tzinfo is None:
        raise ValidationFailed(errors={"cursor": N_("This page link is not valid. Start again from the first page.")})
    return key


def encode_sort_cursor(sort: str, value: datetime | date | str, row_id: uuid.UUID) -> str:
    """A cursor for a list sorted by another key than (created_at, id): it names the sort,
    so a page link of one sort is never read as one of another."""
    shown = value.isoformat() if isinstance(value, date) else value  # datetime is a date
    raw = json.dumps([sort, shown, str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_sort_cursor(cursor: str, *, sort: str, kind: type) -> tuple[datetime | date | str, uuid.UUID]:
    """The (value, id) a cursor of `sort` names; `kind` is the value's type (datetime,
    date or str). A cursor of another sort, or not ours, is bad input."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        named, shown, row_id = json.loads(raw)
        if named != sort or not isinstance(shown, str):
            raise ValueError(named)
        if kind is datetime:
            value = datetime.fromisoformat(shown)
            if value.tzinfo is None:
                raise ValueError(shown)
        elif kind is date:
            value = date.fromisoformat(shown)
        else:
            value = shown
        key = value, uuid.UUID(row_id)
    except (binascii.Error, ValueError, TypeError, AttributeError) as exc:
        raise ValidationFailed(errors={"cursor": N_("This page link is not valid. Start again from the first page.")}) from exc
    return key


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(errors={"limit": N_("Choose a page size from 1 to 200.")})
    return limit
