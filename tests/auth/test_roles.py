"""Tenant-editable roles: creating, editing and deleting them, and the role matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from auth import roles
from auth.errors import (
    BuiltinRoleProtected,
    OwnRoleLockout,
    PermissionNotForSide,
    RoleInUse,
    RoleInvalid,
    RoleKeyTaken,
    RoleNotFound,
    UnknownPermission,
)
from auth.models import SecurityEvent
from auth.permissions import PERMISSIONS, SUPPLIER_PERMISSIONS
from kernel.clock import utcnow
from kernel.errors import Forbidden
from kernel.uow import Actor
from tenants import service as tenants
from tenants.models import Invitation
from tests.factories import actor_in, make_user

INSPECTOR = {
    "key": "inspector",
    "name": "Incoming inspector",
    "name_zh": "来料检验员",
    "side": "buyer",
    "permissions": ["po.view", "asn.view", "receipt.scan"],
}


def as_(tx, world, who):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, who)
    return tx.uow(tenant_id=world.tenant_id, actor=actor), actor


def events(uow, kind):
    return list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)))


def test_an_admin_creates_a_role_visible_only_in_its_tenant(tx, world, other_world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        role = roles.create_role(uow, admin, **INSPECTOR)
        assert not role.is_builtin and role.permissions == sorted(INSPECTOR["permissions"])
        assert roles.get_role(uow, key="inspector") is not None
        [event] = events(uow, "role_edited")
        assert event.detail["action"] == "created" and event.detail["role"] == "inspector"
        assert event.user_id == world.users["tenant_admin"].id
        uow.commit()
    uow, other_admin = as_(tx, other_world, "tenant_admin")
    with uow:
        assert roles.get_role(uow, key="inspector") is None
        assert "inspector" not in {r.key for r in roles.list_roles(uow)}
        assert "inspector" not in {r.key for r in roles.role_matrix(uow, other_admin).roles}
        with pytest.raises(RoleNotFound):
            roles.update_role(uow, other_admin, key="inspector", permissions=["po.view"])
        with pytest.raises(RoleNotFound):
            roles.delete_role(uow, other_admin, key="inspector")
        # The same key is free in the other tenant.
        roles.create_role(uow, other_admin, **INSPECTOR)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": "Inspector"}, "key"),
        ({"key": "x"}, "key"),
        ({"key": "1st_line"}, "key"),
        ({"key": "a" * 41}, "key"),
        ({"key": "in-spector"}, "key"),
        ({"name": " "}, "name"),
        ({"name_zh": ""}, "name_zh"),
        ({"name": "n" * 101}, "name"),
        ({"side": "both"}, "side"),
    ],
)
def test_bad_fields_are_refused_with_a_message_each(tx, world, change, field):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        with pytest.raises(RoleInvalid) as refused:
            roles.create_role(uow, admin, **{**INSPECTOR, **change})
        assert field in refused.value.errors
        assert roles.get_role(uow, key=INSPECTOR["key"]) is None


def test_unknown_permissions_are_refused(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        with pytest.raises(UnknownPermission) as refused:
            roles.create_role(uow, admin, **{**INSPECTOR, "permissions": ["po.view", "po.fly"]})
        assert refused.value.params["permission"] == "po.fly" and "permissions" in refused.value.errors
        with pytest.raises(UnknownPermission):
            roles.update_role(uow, admin, key="viewer", permissions=["everything"])
        assert roles.get_role(uow, key=INSPECTOR["key"]) is None
        assert set(roles.get_role(uow, key="viewer").permissions) == {
            "po.view", "asn.view", "items.view", "suppliers.view", "scorecard.view",
        }  # fmt: skip


@pytest.mark.parametrize("permission", sorted(set(PERMISSIONS) - SUPPLIER_PERMISSIONS))
def test_a_supplier_role_can_never_hold_a_buyer_permission(tx, world, permission):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        with pytest.raises(PermissionNotForSide):
            roles.create_role(uow, admin, **{**INSPECTOR, "side": "supplier", "permissions": ["po.view", permission]})
        with pytest.raises(PermissionNotForSide):
            roles.update_role(uow, admin, key="supplier_user", permissions=["po.view", permission])
        assert permission not in roles.get_role(uow, key="supplier_user").permissions


def test_a_buyer_role_holds_no_supplier_only_permission(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow, pytest.raises(PermissionNotForSide):
        roles.create_role(uow, admin, **{**INSPECTOR, "permissions": ["po.view", "asn.submit"]})


def test_a_key_is_used_once_per_tenant(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        with pytest.raises(RoleKeyTaken):
            roles.create_role(uow, admin, **{**INSPECTOR, "key": "viewer"})
        roles.create_role(uow, admin, **INSPECTOR)
        with pytest.raises(RoleKeyTaken):
            roles.create_role(uow, admin, **INSPECTOR)


@pytest.mark.parametrize("who", ["buyer", "quality", "viewer", "supplier1"])
def test_only_holders_of_roles_manage_edit_roles(tx, world, who):
    uow, actor = as_(tx, world, who)
    with uow:
        with pytest.raises(Forbidden):
            roles.create_role(uow, actor, **INSPECTOR)
        with pytest.raises(Forbidden):
            roles.update_role(uow, actor, key="viewer", permissions=["po.view"])
        with pytest.raises(Forbidden):
            roles.delete_role(uow, actor, key="viewer")
        assert "po.view" in roles.get_role(uow, key="viewer").permissions and roles.get_role(uow, key="inspector") is None


def test_editing_permissions_records_what_was_added_and_removed(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        roles.update_role(uow, admin, key="viewer", permissions=["po.view", "items.view", "audit.view"])
        assert set(roles.get_role(uow, key="viewer").permissions) == {"po.view", "items.view", "audit.view"}
        [event] = events(uow, "role_edited")
        assert event.detail["added"] == ["audit.view"]
        assert event.detail["removed"] == ["asn.view", "scorecard.view", "suppliers.view"]
        assert event.severity == "warning"  # a role gained a power
        # Saving the same set again is no change, and no event.
        roles.update_role(uow, admin, key="viewer", permissions=["audit.view", "items.view", "po.view"])
        assert len(events(uow, "role_edited")) == 1


def test_a_built_in_role_keeps_its_names_and_cannot_be_deleted(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        with pytest.raises(BuiltinRoleProtected):
            roles.update_role(uow, admin, key="buyer", name="Purchaser")
        with pytest.raises(BuiltinRoleProtected):
            roles.delete_role(uow, admin, key="viewer")
        assert roles.get_role(uow, key="buyer").name == "Buyer" and roles.get_role(uow, key="viewer") is not None
        # Its permissions may change; unchanged names may be passed along.
        roles.update_role(uow, admin, key="buyer", name="Buyer", permissions=["po.view"])
        assert roles.get_role(uow, key="buyer").permissions == ["po.view"]


def test_an_own_role_is_renamed(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        roles.create_role(uow, admin, **INSPECTOR)
        roles.update_role(uow, admin, key="inspector", name="Goods-in inspector", name_zh="进货检验员")
        role = roles.get_role(uow, key="inspector")
        assert (role.name, role.name_zh) == ("Goods-in inspector", "进货检验员")
        with pytest.raises(RoleInvalid):
            roles.update_role(uow, admin, key="inspector", name="")


def test_an_admin_cannot_take_role_editing_away_from_their_own_role(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        keep = sorted(set(roles.get_role(uow, key="tenant_admin").permissions) - {"roles.manage"})
        with pytest.raises(OwnRoleLockout):
            roles.update_role(uow, admin, key="tenant_admin", permissions=keep)
        assert "roles.manage" in roles.get_role(uow, key="tenant_admin").permissions


def test_a_role_in_use_is_not_deleted(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        roles.create_role(uow, admin, **INSPECTOR)
        person = make_user(uow)
        membership = tenants.add_membership(uow, user=person, role="inspector")
        with pytest.raises(RoleInUse) as refused:
            roles.delete_role(uow, admin, key="inspector")
        assert refused.value.params == {"members": 1, "invitations": 0}
        # A revoked membership keeps its role for the record: still in use.
        tenants.revoke_membership(uow, admin, membership_id=membership.id)
        with pytest.raises(RoleInUse):
            roles.delete_role(uow, admin, key="inspector")
        assert roles.get_role(uow, key="inspector") is not None


def test_a_role_named_by_an_invitation_is_not_deleted(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        roles.create_role(uow, admin, **INSPECTOR)
        uow.add(
            Invitation(
                email="new.person@example.test",
                organisation_id=tenants.own_organisation(uow).id,
                role="inspector",
                locale="en",
                token_hash="0" * 64,
                expires_at=utcnow() + timedelta(days=7),
            )
        )
        uow.flush()
        with pytest.raises(RoleInUse) as refused:
            roles.delete_role(uow, admin, key="inspector")
        assert refused.value.params == {"members": 0, "invitations": 1}


def test_an_unused_own_role_is_deleted(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        roles.create_role(uow, admin, **INSPECTOR)
        roles.delete_role(uow, admin, key="inspector")
        assert roles.get_role(uow, key="inspector") is None
        assert [e.detail["action"] for e in events(uow, "role_edited")] == ["created", "deleted"]
        with pytest.raises(RoleNotFound):
            roles.delete_role(uow, admin, key="inspector")


def test_the_matrix_shows_every_role_and_permission_to_an_admin(tx, world):
    uow, admin = as_(tx, world, "tenant_admin")
    with uow:
        roles.create_role(uow, admin, **INSPECTOR)
        matrix = roles.role_matrix(uow, admin)
    assert matrix.permissions == list(PERMISSIONS)
    keys = [r.key for r in matrix.roles]
    assert keys == [*roles.BUYER_SIDE, "inspector", *roles.SUPPLIER_SIDE]
    by_key = {r.key: r for r in matrix.roles}
    assert matrix.holds(by_key["inspector"], "receipt.scan") and not matrix.holds(by_key["inspector"], "po.manage")
    assert not matrix.available(by_key["supplier_user"], "po.manage") and matrix.available(by_key["supplier_user"], "po.confirm")
    assert by_key["supplier_admin"].members == 2 and by_key["viewer"].members == 1 and by_key["inspector"].members == 0


def test_a_supplier_admin_sees_the_supplier_side_of_the_matrix(tx, world):
    uow, supplier_admin = as_(tx, world, "supplier1")
    with uow:
        matrix = roles.role_matrix(uow, supplier_admin)
    assert {r.side for r in matrix.roles} == {"supplier"}
    assert set(matrix.permissions) == SUPPLIER_PERMISSIONS
    # Only their own company's people are counted (row-level security).
    assert {r.key: r.members for r in matrix.roles}["supplier_admin"] == 1


@pytest.mark.parametrize("who", ["buyer", "viewer"])
def test_the_matrix_needs_roles_or_users_manage(tx, world, who):
    uow, actor = as_(tx, world, who)
    with uow, pytest.raises(Forbidden):
        roles.role_matrix(uow, actor)


def test_a_system_actor_may_edit_roles(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        roles.create_role(uow, Actor.system("cli"), **INSPECTOR)
        assert events(uow, "role_edited")[0].email is None
