"""Members: the list for administrators, changing roles, revoking memberships."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from auth import roles
from auth.errors import RoleNotFound
from auth.models import SecurityEvent
from kernel.errors import Forbidden
from kernel.outbox import OutboxMessage
from kernel.uow import Actor
from tenants import service as tenants
from tenants.errors import (
    BuyerRoleForSupplier,
    MemberOutranks,
    MembershipNotFound,
    MembershipRevoked,
    OwnMembership,
    RoleDoesNotFit,
    RoleNotGrantable,
)
from tenants.models import Membership
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


# --- changing roles and revoking memberships ------------------------------------------------


def as_(tx, world, who):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, who)
    return tx.uow(tenant_id=world.tenant_id, actor=actor), actor


def membership_of(uow, world, who):
    return uow.session.scalar(
        sa.select(Membership).where(Membership.tenant_id == world.tenant_id, Membership.user_id == world.users[who].id)
    )


def events(uow, kind):
    return list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind)))


@pytest.fixture
def colleague(tx, world):
    """A supplier user in supplier 1's company."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        membership = tenants.add_membership(uow, user=user, role="supplier_user", organisation=world.suppliers[0])
        uow.commit()
    return membership


def test_a_tenant_admin_changes_a_members_role(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        target = membership_of(uow, world, "viewer")
        tenants.change_member_role(uow, admin, membership_id=target.id, role="quality")
        assert membership_of(uow, world, "viewer").role == "quality"
        [event] = events(uow, "role_changed")
        assert event.detail["from"] == "viewer" and event.detail["to"] == "quality" and event.severity == "warning"
        assert event.detail["member_email"] == world.users["viewer"].email and event.user_id == world.users["tenant_admin"].id
        # The member's permissions come from the new role from their next request on.
        [view] = [m for m in tenants.memberships_of(uow, user_id=world.users["viewer"].id) if m.tenant_id == world.tenant_id]
        assert "cert.review" in view.permissions


def test_a_supplier_admin_changes_a_colleagues_supplier_role(tx, world, colleague):
    uow, supplier_admin = as_(tx, world, "supplier1")
    with uow:
        tenants.change_member_role(uow, supplier_admin, membership_id=colleague.id, role="supplier_admin")
        assert uow.session.get(Membership, (world.tenant_id, colleague.id)).role == "supplier_admin"


@pytest.mark.parametrize("role", ["buyer", "tenant_admin", "viewer"])
def test_a_supplier_admin_cannot_grant_a_buyer_role(tx, world, colleague, role):
    uow, supplier_admin = as_(tx, world, "supplier1")
    with uow:
        with pytest.raises(BuyerRoleForSupplier) as refused:
            tenants.change_member_role(uow, supplier_admin, membership_id=colleague.id, role=role)
        assert refused.value.status == 403 and refused.value.params == {"role": role}
        # Nothing changed, and the attempt is on record.
        assert uow.session.get(Membership, (world.tenant_id, colleague.id)).role == "supplier_user"
        [event] = events(uow, "privilege_escalation_denied")
        assert event.severity == "critical" and event.user_id == world.users["supplier1"].id
        # Serious: the tenant's security administrators get a mail (through the outbox).
        alerts = uow.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.topic == "mail.send")).all()
        assert world.users["tenant_admin"].email in {m.payload["to"] for m in alerts}
        assert event.detail["role"] == role and event.detail["membership_id"] == str(colleague.id)
        assert not events(uow, "role_changed")


def test_a_supplier_admin_cannot_reach_another_supplier_or_the_buyer_side(tx, world):
    uow, supplier_admin = as_(tx, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id) as lookup:
        others = [membership_of(lookup, world, who).id for who in ("supplier2", "buyer", "tenant_admin")]
    with uow:
        for membership_id in others:
            with pytest.raises(MembershipNotFound):
                tenants.change_member_role(uow, supplier_admin, membership_id=membership_id, role="supplier_user")
            with pytest.raises(MembershipNotFound):
                tenants.revoke_membership(uow, supplier_admin, membership_id=membership_id)
        assert len(events(uow, "isolation_denied")) == 2 * len(others)
    with tx.uow(tenant_id=world.tenant_id) as check:
        assert membership_of(check, world, "supplier2").role == "supplier_admin"
        assert membership_of(check, world, "supplier2").is_active


def test_a_supplier_admin_lists_only_their_own_company(tx, world, colleague):
    uow, supplier_admin = as_(tx, world, "supplier1")
    with uow:
        members = tenants.list_members(uow, supplier_admin)
    emails = {m.email for m in members}
    # Other tests (the browser ones) add people to this committed company too.
    assert {m.supplier_id for m in members} == {world.suppliers[0].id}
    assert {world.users["supplier1"].id, colleague.user_id} <= {m.user_id for m in members}
    assert not emails & {world.users[who].email for who in ("supplier2", "buyer", "tenant_admin")}


@pytest.mark.parametrize("who", ["tenant_admin", "supplier1"])
def test_nobody_changes_or_revokes_their_own_membership(tx, world, who):
    uow, actor = as_(tx, world, who)
    with uow:
        own = membership_of(uow, world, who)
        with pytest.raises(OwnMembership):
            tenants.change_member_role(uow, actor, membership_id=own.id, role=own.role)
        with pytest.raises(OwnMembership):
            tenants.revoke_membership(uow, actor, membership_id=own.id)
        assert membership_of(uow, world, who).is_active


def test_a_membership_of_another_tenant_is_not_found(tx, world, other_world):
    with tx.uow(tenant_id=other_world.tenant_id) as lookup:
        foreign = membership_of(lookup, other_world, "viewer").id
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        with pytest.raises(MembershipNotFound):
            tenants.change_member_role(uow, admin, membership_id=foreign, role="buyer")
        with pytest.raises(MembershipNotFound):
            tenants.revoke_membership(uow, admin, membership_id=foreign)
        with pytest.raises(MembershipNotFound):
            tenants.get_member(uow, admin, membership_id=foreign)
    with tx.uow(tenant_id=other_world.tenant_id) as check:
        assert membership_of(check, other_world, "viewer").role == "viewer"


def test_a_role_must_fit_the_members_side(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        supplier_member = membership_of(uow, world, "supplier1").id
        buyer_member = membership_of(uow, world, "buyer").id
        with pytest.raises(RoleDoesNotFit):
            tenants.change_member_role(uow, admin, membership_id=supplier_member, role="buyer")
        with pytest.raises(RoleDoesNotFit):
            tenants.change_member_role(uow, admin, membership_id=buyer_member, role="supplier_user")
        with pytest.raises(RoleNotFound):
            tenants.change_member_role(uow, admin, membership_id=buyer_member, role="nobody")
        assert membership_of(uow, world, "supplier1").role == "supplier_admin"
        assert membership_of(uow, world, "buyer").role == "buyer"


def test_an_administrator_cannot_give_or_touch_more_than_they_hold(tx, world):
    # A user manager who may not edit roles: no granting roles above them, no changing
    # members whose role is above them.
    with tx.uow(tenant_id=world.tenant_id) as uow:
        roles.create_role(
            uow,
            Actor.system(),
            key="user_manager",
            name="User manager",
            name_zh="用户管理员",
            side="buyer",
            permissions=["users.manage", "po.view", "asn.view", "items.view", "suppliers.view", "scorecard.view"],
        )
        manager = make_user(uow)
        tenants.add_membership(uow, user=manager, role="user_manager")
        uow.commit()
    world.users["user_manager"] = manager
    try:
        uow, actor = as_(tx, world, "user_manager")
    finally:
        del world.users["user_manager"]
    with uow:
        viewer = membership_of(uow, world, "viewer").id
        with pytest.raises(RoleNotGrantable):
            tenants.change_member_role(uow, actor, membership_id=viewer, role="tenant_admin")
        assert events(uow, "privilege_escalation_denied")[0].detail["reason"] == "role beyond own permissions"
        with pytest.raises(MemberOutranks):
            tenants.revoke_membership(uow, actor, membership_id=membership_of(uow, world, "tenant_admin").id)
        with pytest.raises(MemberOutranks):
            tenants.change_member_role(uow, actor, membership_id=membership_of(uow, world, "buyer").id, role="viewer")
        assert {r.key for r in tenants.assignable_roles(uow, actor)} == {"viewer", "user_manager", *roles.SUPPLIER_SIDE}
        tenants.change_member_role(uow, actor, membership_id=viewer, role="user_manager")
        assert membership_of(uow, world, "viewer").role == "user_manager"


def test_revoking_ends_the_membership_and_is_recorded(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        target = membership_of(uow, world, "warehouse")
        tenants.revoke_membership(uow, admin, membership_id=target.id)
        assert not membership_of(uow, world, "warehouse").is_active
        assert world.tenant_id not in {m.tenant_id for m in tenants.memberships_of(uow, user_id=world.users["warehouse"].id)}
        [event] = events(uow, "membership_revoked")
        assert event.detail["member_email"] == world.users["warehouse"].email and event.detail["role"] == "warehouse"
        # Revoking again changes nothing; its role can no longer be changed.
        tenants.revoke_membership(uow, admin, membership_id=target.id)
        assert len(events(uow, "membership_revoked")) == 1
        with pytest.raises(MembershipRevoked):
            tenants.change_member_role(uow, admin, membership_id=target.id, role="buyer")


@pytest.mark.parametrize("who", ["buyer", "viewer"])
def test_others_may_not_change_or_revoke(tx, world, who):
    uow, actor = as_(tx, world, who)
    with uow:
        target = membership_of(uow, world, "quality").id
        with pytest.raises(Forbidden):
            tenants.change_member_role(uow, actor, membership_id=target, role="viewer")
        with pytest.raises(Forbidden):
            tenants.revoke_membership(uow, actor, membership_id=target)
        assert membership_of(uow, world, "quality").is_active and membership_of(uow, world, "quality").role == "quality"
