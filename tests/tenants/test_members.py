"""The member list for tenant administrators."""

from __future__ import annotations

import pytest

from kernel.errors import Forbidden
from tenants import service as tenants
from tests.factories import actor_in, make_user


def test_admin_sees_the_tenants_members_only(tx, world, other_world):
    # A member of both tenants: only this tenant's membership may show.
    with tx.uow(tenant_id=world.tenant_id) as uow:
        both = make_user(uow)
        tenants.add_membership(uow, user=both, role="viewer")
        uow.switch_tenant(other_world.tenant_id)
        tenants.add_membership(uow, user=both, role="buyer")
        uow.commit()
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "tenant_admin")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        members = tenants.list_members(uow, actor)
    emails = {m.email for m in members}
    assert {u.email for u in world.users.values()} | {both.email} <= emails
    assert not emails & {u.email for u in other_world.users.values()}
    assert [m.role for m in members if m.email == both.email] == ["viewer"]
    supplier_member = next(m for m in members if m.email == world.users["supplier1"].email)
    assert supplier_member.is_supplier and supplier_member.organisation_name == world.suppliers[0].name


@pytest.mark.parametrize("who", ["buyer", "viewer"])
def test_others_may_not_list_members(tx, world, who):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(Forbidden):
        tenants.list_members(uow, actor)
