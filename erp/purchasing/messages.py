"""A purchase order's message thread between the buyer and the supplier.

Who may read it: whoever may see the order (po.view; row-level security keeps a
supplier to its own orders). Who may write: the buyer side with po.manage, the
supplier side with po.confirm. Messages are written once (the table is insert-only for
the application) and each is in the audit trail. A message may carry files (up to
MAX_FILES, each checked and encrypted by documents.vault); they are stored for the
order's supplier, so both sides read them and no other supplier can.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from auth.permissions import require
from documents import attachments
from documents.errors import FileNotFound
from documents.models import StoredFile
from documents.vault import Vault
from erp.purchasing.access import visible_order
from erp.purchasing.models import PoMessage
from kernel.errors import N_, ValidationFailed

MAX_BODY = 5000
MAX_FILES = 5
OWNER = "po_message"
EMPTY = N_("Write a message or attach a file.")
TOO_LONG = N_("A message can be up to %(max)d characters.")
TOO_MANY_FILES = N_("A message can carry up to %(max)d files.")


@dataclass
class ThreadMessage:
    message: PoMessage
    files: list[tuple[uuid.UUID, StoredFile]]  # (attachment id, file)


def post_message(
    uow, actor, *, po_id: uuid.UUID, body: str, author_name: str, files=(), vault: Vault | None = None
) -> PoMessage:
    """A message to the other side of the order; `files`: (stream, filename) pairs, stored
    through `vault` and attached. A message needs text, files or both. A refused file
    (type, size, active content) is a ValidationFailed on "files" naming the file; the
    caller's unit of work rolls back, so nothing of the message is kept."""
    require(actor, "po.view")
    side = "supplier" if actor.supplier_id is not None else "buyer"
    require(actor, "po.confirm" if side == "supplier" else "po.manage")
    po = visible_order(uow, actor, po_id)
    text = (body or "").strip()
    files = list(files)
    if not text and not files:
        raise ValidationFailed(errors={"body": EMPTY})
    if len(text) > MAX_BODY:
        raise ValidationFailed(TOO_LONG, max=MAX_BODY, errors={"body": N_("This is too long.")})
    if len(files) > MAX_FILES:
        raise ValidationFailed(TOO_MANY_FILES, max=MAX_FILES, errors={"files": TOO_MANY_FILES})
    if files and vault is None:
        raise RuntimeError("files need a vault to be stored in")
    message = PoMessage(
        purchase_order_id=po.id,
        supplier_id=po.supplier_id,
        author_id=actor.user_id,
        author_name=(author_name or actor.name)[:200],
        side=side,
        body=text,
    )
    uow.add(message)
    uow.flush()
    for stream, filename in files:
        try:
            attachments.attach(
                uow, actor, vault=vault, owner_kind=OWNER, owner_id=message.id, supplier_id=po.supplier_id,
                stream=stream, filename=filename,
            )
        except ValidationFailed as refused:
            # The vault's own message (size, type, active content), with the file's name
            # for the page to show beside it.
            raise ValidationFailed(
                refused.message, errors={"files": refused.message}, filename=filename, **refused.params
            ) from refused
    return message


def list_messages(uow, actor, *, po_id: uuid.UUID) -> list[PoMessage]:
    """The thread, oldest first (an order's thread stays short: no paging)."""
    require(actor, "po.view")
    return list(
        uow.session.scalars(
            sa.select(PoMessage).where(PoMessage.purchase_order_id == po_id).order_by(PoMessage.created_at, PoMessage.id)
        )
    )


def thread(uow, actor, *, po_id: uuid.UUID) -> list[ThreadMessage]:
    """The thread with each message's files."""
    found = list_messages(uow, actor, po_id=po_id)
    files = attachments.attachments_of(uow, owner_kind=OWNER, owner_ids=[m.id for m in found])
    return [ThreadMessage(m, [(a.id, f) for a, f in files.get(m.id, [])]) for m in found]


def attachment_file(uow, actor, *, po_id: uuid.UUID, attachment_id: uuid.UUID) -> uuid.UUID:
    """The stored file of an attachment on one of the order's messages, for download;
    FileNotFound for one that is not on this order or that the caller may not see."""
    require(actor, "po.view")
    po = visible_order(uow, actor, po_id)
    attachment = attachments.find(uow, attachment_id=attachment_id, owner_kind=OWNER)
    on_order = uow.session.scalar(
        sa.select(PoMessage.id).where(PoMessage.id == attachment.owner_id, PoMessage.purchase_order_id == po.id)
    )
    if on_order is None:
        raise FileNotFound()
    return attachment.file_id

