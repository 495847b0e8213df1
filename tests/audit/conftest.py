from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit import service
from erp.items.models import Item
from kernel.uow import Actor
from tests.factories import make_item, make_tenant_world, unique


def seal_tenant(runtime, tenant_id, key):
    with runtime.uow(tenant_id=tenant_id, actor=Actor.system("audit-sealer")) as uow:
        result = service.seal(uow, key=key)
        uow.commit()
    return result


def verify(runtime, tenant_id, public_key):
    with runtime.uow(tenant_id=tenant_id) as uow:
        return service.verify_database(uow, public_key=public_key)


@pytest.fixture
def sealed_tenant(runtime, signing_key):
    """A fresh tenant (tampering is permanent) with a sealed chain of inserts, updates
    and deletes, sealed in three runs so it has three signed checkpoints."""
    with runtime.uow() as uow:
        world = make_tenant_world(uow, slug=unique("audit"))
        uow.commit()
    seal_tenant(runtime, world.tenant_id, signing_key)
    actor = Actor(user_id=world.users["buyer"].id, name="buyer")
    for round_ in range(2):
        with runtime.uow(tenant_id=world.tenant_id, actor=actor, reason=f"round {round_}") as uow:
            items = [make_item(uow, name=f"Part {n}") for n in range(3)]
            items[0].name = "Renamed"
            uow.flush()
            uow.execute(sa.delete(Item).where(Item.id == items[1].id))
            uow.commit()
        seal_tenant(runtime, world.tenant_id, signing_key)
    return world
