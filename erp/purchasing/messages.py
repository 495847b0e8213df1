"""A purchase order's message thread between the buyer and the supplier.

Who may read it: whoever may see the order (po.view; row-level security keeps a
supplier to its own orders). Who may write: the buyer side with po.manage, the
supplier side with po.confirm. Messages are written once (the table is insert-only for
the application) and each is in the audit trail. Attachments come with the documents
storage layer (issue 6).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from auth.permissions import require
from erp.purchasing.access import visible_order
from erp.purchasing.models import PoMessage
from kernel.errors import N_, ValidationFailed

MAX_BODY = 5000
EMPTY = N_("Write a message.")
TOO_LONG = N_("A message can be up to %(max)d characters.")


def post_message(uow, actor, *, po_id: uuid.UUID, body: str, author_name: str, files=(), vault=None) -> PoMessage:
    """A message to the other side of the order; `files`: (stream, filename) pairs, stored
    through `vault` and attached, each readable by both sides."""
    require(actor, "po.view")
    side = "supplier" if actor.supplier_id is not None else "buyer"
    require(actor, "po.confirm" if side == "supplier" else "po.manage")
    po = visible_order(uow, actor, po_id)
    text = (body or "").strip()
    if not text:
        raise ValidationFailed(errors={"body": EMPTY})
    if len(text) > MAX_BODY:
        raise ValidationFailed(TOO_LONG, max=MAX_BODY, errors={"body": N_("This is too long.")})
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
    return message


def list_messages(uow, actor, *, po_id: uuid.UUID) -> list[PoMessage]:
    """The thread, oldest first (an order's thread stays short: no paging)."""
    require(actor, "po.view")
    return list(
        uow.session.scalars(
            sa.select(PoMessage).where(PoMessage.purchase_order_id == po_id).order_by(PoMessage.created_at, PoMessage.id)
        )
    )

