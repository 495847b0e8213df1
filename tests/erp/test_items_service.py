"""Creating items: validation, duplicates, who may."""

from __future__ import annotations

import pytest

from erp.items.errors import DuplicatePartNumber
from erp.items.models import Item
from erp.items.service import create_item
from kernel.errors import Forbidden, ValidationFailed
from tests.factories import actor_in, unique

GOOD = {"name": "Luer lock connector", "category": "component", "uom": "EA"}


def test_a_buyer_creates_an_item(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    part = unique("LL-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=f"  {part} ", name_zh=" 鲁尔接头 ", **GOOD)
        stored = uow.session.get(Item, (world.tenant_id, item.id))
    assert (stored.part_number, stored.name_zh, stored.tenant_id) == (part, "鲁尔接头", world.tenant_id)


def test_every_bad_field_is_named(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(ValidationFailed) as info:
        create_item(uow, actor, part_number="has space", name="  ", name_zh="长" * 201, category="toy", uom="parsec")
    assert set(info.value.errors) == {"part_number", "name", "name_zh", "category", "uom"}


def test_a_duplicate_part_number_conflicts_and_leaves_the_transaction_usable(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    part = unique("DUP-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        create_item(uow, actor, part_number=part, **GOOD)
        with pytest.raises(DuplicatePartNumber) as info:
            create_item(uow, actor, part_number=part, **GOOD)
        assert info.value.status == 409 and info.value.params == {"part_number": part}
        create_item(uow, actor, part_number=part + "-B", **GOOD)


def test_the_same_part_number_in_another_tenant_is_fine(tx, world, other_world):
    part = unique("SHARED-")
    for w in (world, other_world):
        with tx.uow() as lookup:
            actor = actor_in(lookup, w, "buyer")
        with tx.uow(tenant_id=w.tenant_id, actor=actor) as uow:
            create_item(uow, actor, part_number=part, **GOOD)
            uow.commit()


@pytest.mark.parametrize("who", ["supplier1", "viewer"])
def test_suppliers_and_viewers_may_not_create_items(tx, world, who):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(Forbidden):
        create_item(uow, actor, part_number=unique("X-"), **GOOD)
