"""The role matrix and role forms, and changing or revoking members, through the pages."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from auth import roles as role_service
from auth.models import SecurityEvent
from kernel.uow import Actor
from tenants import service as tenants
from tenants.models import Membership
from tests.factories import make_user
from tests.portal.support import login, text_of, token_in


def membership(tx, world, user) -> SimpleNamespace:
    """The user's membership in the world's tenant, as plain values (read fresh)."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        m = uow.session.scalar(
            sa.select(Membership).where(Membership.tenant_id == world.tenant_id, Membership.user_id == user.id)
        )
        return SimpleNamespace(id=m.id, role=m.role, is_active=m.is_active)


def role(tx, world, key) -> SimpleNamespace | None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        r = role_service.get_role(uow, key=key)
        return None if r is None else SimpleNamespace(key=r.key, name=r.name, side=r.side, permissions=list(r.permissions))


def security_events(tx, world, kind) -> list[SimpleNamespace]:
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system()) as uow:
        return [
            SimpleNamespace(severity=e.severity, user_id=e.user_id, detail=dict(e.detail))
            for e in uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind))
        ]


def token(client, path="/tenants"):
    return token_in(client.get(path).data)


@pytest.fixture
def colleague(tx, world):
    """A supplier user in supplier 1's company."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="supplier_user", organisation=world.suppliers[0])
        uow.commit()
    return user


# --- the matrix -----------------------------------------------------------------------------


def test_the_matrix_shows_roles_by_permissions(client, world):
    login(client, world.users["tenant_admin"])
    page = text_of(client.get("/admin/roles"))
    for name in ("Tenant administrator", "Quality engineer", "Supplier administrator", "Supplier user"):
        assert name in page
    assert "Run traces and recalls" in page and "recall.run" in page  # rows: translated label and name
    assert 'class="table-wrap"' in page and 'class="matrix"' in page  # scrolls sideways on a phone
    row = re.search(r"Run traces and recalls.*?</tr>", page, re.S).group(0)
    # tenant admin, buyer, quality, warehouse, viewer | supplier admin, supplier user
    marks = re.findall(r'<td class="(yes|no|na) side-', row)
    assert marks == ["yes", "no", "yes", "no", "no", "na", "na"]
    assert "Legend" in page or "legend" in page
    assert 'href="/admin/roles/new?side=supplier"' in page and 'href="/admin/roles/viewer/edit"' in page


def test_the_matrix_in_chinese(client, world):
    login(client, world.users["tenant_admin"])
    client.post("/language", data={"locale": "zh_Hans_CN", "csrf_token": token(client)})
    page = text_of(client.get("/admin/roles"))
    assert "采购员" in page and "供应商用户" in page and "邀请和管理用户" in page


def test_a_supplier_admin_sees_only_the_supplier_roles(client, world):
    login(client, world.users["supplier1"])
    page = text_of(client.get("/admin/roles"))
    assert "Supplier user" in page and "Quality engineer" not in page and "Run traces and recalls" not in page
    assert "/admin/roles/new" not in page and "/edit" not in page  # no role editing for suppliers


# --- role forms -------------------------------------------------------------------------------


def test_a_new_supplier_role_offers_only_supplier_permissions(client, world):
    login(client, world.users["tenant_admin"])
    page = text_of(client.get("/admin/roles/new?side=supplier"))
    offered = set(re.findall(r'name="permissions" type="checkbox" value="([^"]+)"', page))
    assert offered == set(role_service.SUPPLIER_PERMISSIONS)
    buyer_page = text_of(client.get("/admin/roles/new"))
    assert 'value="po.manage"' in buyer_page and 'value="po.confirm"' not in buyer_page


def test_creating_editing_and_deleting_a_role(client, tx, world):
    login(client, world.users["tenant_admin"])
    response = client.post(
        "/admin/roles/new?side=supplier",
        data={
            "key": "shipping_clerk",
            "name": "Shipping clerk",
            "name_zh": "发货员",
            "permissions": ["po.view", "asn.view", "asn.submit"],
            "csrf_token": token(client, "/admin/roles/new"),
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/roles"
    created = role(tx, world, "shipping_clerk")
    assert created.side == "supplier" and set(created.permissions) == {"po.view", "asn.view", "asn.submit"}
    assert "Shipping clerk" in text_of(client.get("/admin/roles"))

    edit = text_of(client.get("/admin/roles/shipping_clerk/edit"))
    assert 'value="Shipping clerk"' in edit and "Delete this role" in edit
    response = client.post(
        "/admin/roles/shipping_clerk/edit",
        data={"name": "Dispatch clerk", "name_zh": "发货员", "permissions": ["po.view"], "csrf_token": token_in(edit)},
    )
    assert response.status_code == 303
    assert (
        role(tx, world, "shipping_clerk").permissions == ["po.view"]
        and role(tx, world, "shipping_clerk").name == "Dispatch clerk"
    )

    response = client.post("/admin/roles/shipping_clerk/delete", data={"csrf_token": token(client)})
    assert response.status_code == 303 and role(tx, world, "shipping_clerk") is None


def test_a_crafted_buyer_permission_on_a_supplier_role_is_refused(client, tx, world):
    login(client, world.users["tenant_admin"])
    response = client.post(
        "/admin/roles/new?side=supplier",
        data={
            "key": "sneaky",
            "name": "Sneaky",
            "name_zh": "偷偷",
            "permissions": ["po.view", "po.manage"],
            "csrf_token": token(client),
        },
    )
    assert response.status_code == 422 and "cannot hold permissions of the buyer side" in text_of(response)
    assert role(tx, world, "sneaky") is None
    response = client.post(
        "/admin/roles/supplier_user/edit",
        data={"permissions": ["po.view", "users.manage", "audit.export"], "csrf_token": token(client)},
    )
    assert response.status_code == 422 and "audit.export" not in role(tx, world, "supplier_user").permissions


def test_bad_role_fields_get_messages(client, tx, world):
    login(client, world.users["tenant_admin"])
    response = client.post("/admin/roles/new", data={"key": "Bad Key", "name": "", "name_zh": "x", "csrf_token": token(client)})
    page = text_of(response)
    assert response.status_code == 422
    assert "Use 2 to 40 lower-case letters" in page and "Enter a name." in page and 'aria-invalid="true"' in page
    response = client.post("/admin/roles/new", data={"key": "viewer", "name": "V", "name_zh": "V", "csrf_token": token(client)})
    assert response.status_code == 422 and "already in use" in text_of(response)


def test_a_built_in_role_keeps_its_name_and_stays(client, tx, world):
    login(client, world.users["tenant_admin"])
    edit = text_of(client.get("/admin/roles/buyer/edit"))
    assert 'name="name"' not in edit and "Delete this role" not in edit and "built-in role" in edit
    response = client.post("/admin/roles/buyer/delete", data={"csrf_token": token_in(edit)})
    assert response.status_code == 409 and "Built-in roles cannot be deleted" in text_of(response)
    assert role(tx, world, "buyer") is not None
    assert client.get("/admin/roles/nobody/edit").status_code == 404


def test_a_role_in_use_is_not_deleted_through_the_page(client, tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        role_service.create_role(
            uow, Actor.system(), key="auditor", name="Auditor", name_zh="审核员", side="buyer", permissions=["audit.view"]
        )
        tenants.add_membership(uow, user=make_user(uow), role="auditor")
        uow.commit()
    login(client, world.users["tenant_admin"])
    response = client.post("/admin/roles/auditor/delete", data={"csrf_token": token(client)})
    assert response.status_code == 409 and "still given to 1 member(s)" in text_of(response)
    assert role(tx, world, "auditor") is not None


# --- members ----------------------------------------------------------------------------------


def test_the_members_page_offers_roles_that_fit_each_member(client, tx, world):
    login(client, world.users["tenant_admin"])
    page = text_of(client.get("/admin/"))
    viewer = membership(tx, world, world.users["viewer"])
    supplier = membership(tx, world, world.users["supplier1"])
    own = membership(tx, world, world.users["tenant_admin"])

    def options(m):
        select = re.search(rf'<select id="m{m.id.hex}-role" name="m{m.id.hex}-role">(.*?)</select>', page, re.S).group(1)
        return re.findall(r'value="([^"]+)"', select)

    assert options(viewer) == ["tenant_admin", "buyer", "quality", "warehouse", "viewer"]
    assert options(supplier) == ["supplier_admin", "supplier_user"]
    assert f"m{own.id.hex}-role" not in page and f"/admin/members/{own.id}/revoke" not in page  # no self-lockout
    assert f"/admin/members/{viewer.id}/revoke" in page


def test_an_admin_changes_a_members_role(client, tx, world):
    viewer = membership(tx, world, world.users["viewer"])
    login(client, world.users["tenant_admin"])
    response = client.post(
        f"/admin/members/{viewer.id}/role", data={f"m{viewer.id.hex}-role": "quality", "csrf_token": token(client, "/admin/")}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/"
    assert membership(tx, world, world.users["viewer"]).role == "quality"
    assert "The role was changed" in text_of(client.get("/admin/"))
    assert [e.detail["to"] for e in security_events(tx, world, "role_changed")] == ["quality"]


def test_an_admin_cannot_change_their_own_role(client, tx, world):
    own = membership(tx, world, world.users["tenant_admin"])
    login(client, world.users["tenant_admin"])
    response = client.post(f"/admin/members/{own.id}/role", data={f"m{own.id.hex}-role": "viewer", "csrf_token": token(client)})
    assert response.status_code == 403 and "your own membership" in text_of(response)
    assert membership(tx, world, world.users["tenant_admin"]).role == "tenant_admin"


def test_revoking_with_confirmation_signs_the_member_out(app, client, tx, world):
    warehouse = membership(tx, world, world.users["warehouse"])
    member_client = app.test_client()
    login(member_client, world.users["warehouse"])
    assert member_client.get("/buyer/").status_code == 200

    login(client, world.users["tenant_admin"])
    confirm = client.get(f"/admin/members/{warehouse.id}/revoke")
    page = text_of(confirm)
    assert confirm.status_code == 200 and world.users["warehouse"].email in page and "Warehouse operator" in page
    response = client.post(f"/admin/members/{warehouse.id}/revoke", data={"csrf_token": token_in(page)})
    assert response.status_code == 303
    assert not membership(tx, world, world.users["warehouse"]).is_active
    # The member's next request finds no membership: signed out at once.
    after = member_client.get("/buyer/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")
    assert security_events(tx, world, "membership_revoked")


def test_a_form_without_its_token_changes_nothing(client, tx, world):
    viewer = membership(tx, world, world.users["viewer"])
    login(client, world.users["tenant_admin"])
    assert client.post(f"/admin/members/{viewer.id}/role", data={f"m{viewer.id.hex}-role": "buyer"}).status_code == 400
    assert client.post(f"/admin/members/{viewer.id}/revoke").status_code == 400
    assert client.post("/admin/roles/viewer/edit", data={"permissions": ["po.view"]}).status_code == 400
    after = membership(tx, world, world.users["viewer"])
    assert after.role == "viewer" and after.is_active
    assert len(role(tx, world, "viewer").permissions) == 5


# --- a supplier administrator's own company -----------------------------------------------------


def test_a_supplier_admin_manages_only_their_own_companys_users(client, tx, world, colleague):
    login(client, world.users["supplier1"])
    assert 'href="/admin/company"' in text_of(client.get("/supplier/"))  # in the navigation
    page = text_of(client.get("/admin/company"))
    assert "My company&#39;s users" in page or "My company's users" in page
    assert colleague.email in page and world.users["supplier1"].email in page
    assert world.users["supplier2"].email not in page and world.users["buyer"].email not in page
    assert "/admin/members.csv" not in page
    mine = membership(tx, world, colleague)
    select = re.search(rf'<select id="m{mine.id.hex}-role"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'value="([^"]+)"', select) == ["supplier_admin", "supplier_user"]

    response = client.post(
        f"/admin/members/{mine.id}/role", data={f"m{mine.id.hex}-role": "supplier_admin", "csrf_token": token_in(page)}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/admin/company"
    assert membership(tx, world, colleague).role == "supplier_admin"


def test_a_supplier_admin_trying_to_grant_a_buyer_role_is_refused_and_recorded(client, tx, world, colleague):
    mine = membership(tx, world, colleague)
    login(client, world.users["supplier1"])
    response = client.post(
        f"/admin/members/{mine.id}/role", data={f"m{mine.id.hex}-role": "tenant_admin", "csrf_token": token(client)}
    )
    assert response.status_code == 403
    assert "Supplier administrators can give only supplier roles, not Tenant administrator." in text_of(response)
    assert membership(tx, world, colleague).role == "supplier_user"  # nothing changed
    [event] = security_events(tx, world, "privilege_escalation_denied")  # kept although the request failed
    assert event.severity == "critical" and event.user_id == world.users["supplier1"].id
    assert event.detail["role"] == "tenant_admin" and event.detail["membership_id"] == str(mine.id)


def test_a_supplier_admin_cannot_reach_another_suppliers_member(client, tx, world):
    other = membership(tx, world, world.users["supplier2"])
    login(client, world.users["supplier1"])
    assert client.get(f"/admin/members/{other.id}/revoke").status_code == 404
    response = client.post(f"/admin/members/{other.id}/revoke", data={"csrf_token": token(client)})
    assert response.status_code == 404
    response = client.post(
        f"/admin/members/{other.id}/role", data={f"m{other.id.hex}-role": "supplier_user", "csrf_token": token(client)}
    )
    assert response.status_code == 404
    after = membership(tx, world, world.users["supplier2"])
    assert after.is_active and after.role == "supplier_admin"
    assert len(security_events(tx, world, "isolation_denied")) == 3


def test_a_tenants_own_role_is_shown_by_its_name(client, tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        role_service.create_role(
            uow, Actor.system(), key="auditor", name="Auditor", name_zh="审核员", side="buyer", permissions=["po.view"]
        )
        person = make_user(uow)
        tenants.add_membership(uow, user=person, role="auditor")
        uow.commit()
    login(client, person)
    assert "· Auditor" in text_of(client.get("/buyer/purchase-orders"))
    client.post("/language", data={"locale": "zh_Hans_CN", "csrf_token": token(client)})
    assert "· 审核员" in text_of(client.get("/buyer/"))
    client.post("/logout", data={"csrf_token": token(client)})
    login(client, world.users["tenant_admin"])
    assert "Auditor" in text_of(client.get("/admin/members.csv"))
