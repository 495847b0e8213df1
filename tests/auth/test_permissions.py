import pytest

from auth.permissions import DEFAULT_ROLES, PERMISSIONS, require
from auth.roles import BUILTIN_ROLES as ROLES
from kernel.errors import Forbidden
from kernel.uow import Actor


def test_every_role_has_defaults_built_from_known_permissions():
    assert set(DEFAULT_ROLES) == set(ROLES)
    for permissions in DEFAULT_ROLES.values():
        assert permissions <= set(PERMISSIONS)


def test_supplier_roles_cannot_manage_the_tenants_master_data():
    for role in ("supplier_admin", "supplier_user"):
        assert not DEFAULT_ROLES[role] & {"po.manage", "items.manage", "suppliers.manage", "cert.review", "audit.export"}


def test_require_refuses_a_missing_permission_and_unknown_names():
    viewer = Actor(user_id=None, name="v", permissions=DEFAULT_ROLES["viewer"])
    require(viewer, "po.view")
    with pytest.raises(Forbidden):
        require(viewer, "po.manage")
    with pytest.raises(ValueError, match="unknown permission"):
        require(viewer, "po.fly")
    require(Actor.system(), "users.manage")
