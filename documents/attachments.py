"""Files attached to something else: a PO message, a purchase order, a lot.

The owner's package checks that the owner exists and may be seen, and who may attach;
this module stores the file (documents.vault) and records the link. The attachment and
its file carry the owner's supplier, so row-level security shows them to that supplier
and to the tenant's own people, and to no other supplier.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import BinaryIO

import sqlalchemy as sa

from documents.errors import FileNotFound
from documents.models import ATTACHMENT_KINDS, ATTACHMENT_OWNERS, Attachment, StoredFile
from documents.vault import Vault, store_file


def attach(
    uow,
    actor,
    *,
    vault: Vault,
    owner_kind: str,
    owner_id: uuid.UUID,
    supplier_id: uuid.UUID | None,
    stream: BinaryIO,
    filename: str,
    kind: str = "other",
) -> tuple[Attachment, StoredFile]:
    """Store one file and attach it to the owner (both flushed). The owner's supplier is
    `supplier_id`: a buyer's file on a supplier's order is stored for that supplier."""
    if owner_kind not in ATTACHMENT_OWNERS or kind not in ATTACHMENT_KINDS:
        raise ValueError(f"unknown attachment owner or kind: {owner_kind}, {kind}")
    stored = store_file(uow, actor, vault=vault, stream=stream, filename=filename, supplier_id=supplier_id)
    attachment = Attachment(
        owner_kind=owner_kind,
        owner_id=owner_id,
        file_id=stored.id,
        supplier_id=supplier_id,
        kind=kind,
        created_by=actor.user_id,
    )
    uow.add(attachment)
    uow.flush()
    return attachment, stored


Attached = tuple[Attachment, StoredFile]


def attachments_of(uow, *, owner_kind: str, owner_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Attached]]:
    """The attachments of several owners at once, oldest first, by owner id (owners with
    none are absent). Row-level security leaves out what the caller may not see."""
    ids = list(owner_ids)
    found: dict[uuid.UUID, list[Attached]] = defaultdict(list)
    if not ids:
        return found
    rows = uow.session.execute(
        sa.select(Attachment, StoredFile)
        .join(StoredFile, StoredFile.id == Attachment.file_id)
        .where(Attachment.owner_kind == owner_kind, Attachment.owner_id.in_(ids))
        .order_by(Attachment.created_at, Attachment.id)
    )
    for attachment, stored in rows:
        found[attachment.owner_id].append((attachment, stored))
    return found


def find(uow, *, attachment_id: uuid.UUID, owner_kind: str) -> Attachment:
    """One attachment of the given kind of owner; FileNotFound when there is none or the
    caller may not see it."""
    attachment = uow.session.scalars(
        sa.select(Attachment).where(Attachment.id == attachment_id, Attachment.owner_kind == owner_kind)
    ).first()
    if attachment is None:
        raise FileNotFound()
    return attachment
