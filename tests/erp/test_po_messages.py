"""A purchase order's thread: both sides write, each sees only its own orders' threads,
bad input changes nothing, and every message is in the audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit.models import Event
from erp.purchasing import messages
from erp.purchasing.errors import PurchaseOrderNotFound
from erp.purchasing.models import PoMessage
from kernel.errors import Forbidden, ValidationFailed
from tests.erp.po_support import actors, issued_order


def post(tx, world, actor, po_id, body, name="Someone"):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        message = messages.post_message(uow, actor, po_id=po_id, body=body, author_name=name)
        uow.commit()
        return message.id


def thread(tx, world, actor, po_id):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        return [(m.side, m.author_name, m.body) for m in messages.list_messages(uow, actor, po_id=po_id)]


def test_buyer_and_supplier_write_and_read_one_thread_in_order(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    first = post(tx, world, who["buyer"], po_id, "  Can you ship line 10 early?  ", "Buyer Bo")
    post(tx, world, who["supplier1"], po_id, "Yes, by Friday.", "Sales Su")
    expected = [("buyer", "Buyer Bo", "Can you ship line 10 early?"), ("supplier", "Sales Su", "Yes, by Friday.")]
    assert thread(tx, world, who["buyer"], po_id) == expected
    assert thread(tx, world, who["supplier1"], po_id) == expected
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [event] = uow.session.scalars(sa.select(Event).where(Event.table_name == "po_message", Event.row_id == str(first)))
        assert event.action == "I"


def test_another_supplier_neither_reads_nor_writes(tx, world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    post(tx, world, who["buyer"], po_id, "Hello")
    assert thread(tx, world, who["supplier2"], po_id) == []
    with pytest.raises(PurchaseOrderNotFound):
        post(tx, world, who["supplier2"], po_id, "Me too")


def test_a_draft_has_no_supplier_side_and_a_viewer_cannot_write(tx, world):
    who = actors(tx, world)
    draft = issued_order(tx, world, who, issue=False)
    with pytest.raises(PurchaseOrderNotFound):
        post(tx, world, who["supplier1"], draft, "Early?")
    with pytest.raises(Forbidden):
        post(tx, world, who["viewer"], draft, "Just looking")


@pytest.mark.parametrize("body", ["", "   ", "x" * (messages.MAX_BODY + 1)])
def test_an_empty_or_too_long_message_is_refused_and_nothing_is_written(tx, world, body):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    with pytest.raises(ValidationFailed) as refused:
        post(tx, world, who["buyer"], po_id, body)
    assert "body" in refused.value.errors
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(PoMessage)) == 0
