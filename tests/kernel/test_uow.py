"""The unit of work: commit or roll back, context per transaction, effects after commit."""

from __future__ import annotations

import sqlalchemy as sa

from erp.items.models import Item
from kernel.uow import Actor
from tests.factories import make_item


def count_items(runtime, tenant_id, part_number) -> int:
    with runtime.uow(tenant_id=tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == part_number))


def test_leaving_without_commit_rolls_back(runtime, world):
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow)
    assert count_items(runtime, world.tenant_id, item.part_number) == 0


def test_an_error_rolls_back_everything(runtime, world):
    part_number = None
    try:
        with runtime.uow(tenant_id=world.tenant_id) as uow:
            part_number = make_item(uow).part_number
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert count_items(runtime, world.tenant_id, part_number) == 0


def test_after_commit_callbacks_run_only_after_a_commit(runtime, world):
    ran: list[str] = []
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        uow.after_commit(lambda: ran.append("first"))
        uow.rollback()
        uow.after_commit(lambda: ran.append("second"))
        assert ran == []
        uow.commit()
    assert ran == ["second"]


def test_context_is_set_in_every_transaction_of_the_unit(runtime, world):
    actor = Actor(user_id=world.users["buyer"].id, name="buyer", supplier_id=None)
    with runtime.uow(tenant_id=world.tenant_id, actor=actor, request_id="r-9") as uow:
        uow.commit()  # a new transaction begins on the next statement
        row = uow.execute(
            sa.text(
                "select current_setting('app.tenant_id', true), current_setting('app.user_id', true),"
                " current_setting('app.request_id', true), current_setting('app.supplier_id', true)"
            )
        ).one()
    assert row == (str(world.tenant_id), str(world.users["buyer"].id), "r-9", "")
