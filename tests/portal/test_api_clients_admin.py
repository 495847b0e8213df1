"""The API client screens: list, create (the secret shown once), new secret, revoke."""

from __future__ import annotations

import base64
import re

import pytest
import sqlalchemy as sa

from auth import roles as role_service
from auth.models import ApiClient, SecurityEvent
from kernel.crypto import digest
from kernel.uow import Actor
from tenants import service as tenants
from tests.factories import make_user
from tests.portal.support import login, text_of, token_in

SECRET = re.compile(r'id="client-secret"[^>]*value="([^"]+)"')
CLIENT_ID = re.compile(r'id="client-id"[^>]*value="([^"]+)"')


def stored_clients(tx, world) -> list[ApiClient]:
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system()) as uow:
        rows = list(uow.session.scalars(sa.select(ApiClient).order_by(ApiClient.id)))
        uow.session.expunge_all()
        return rows


def security_events(tx, world, kind) -> list[SecurityEvent]:
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system()) as uow:
        rows = list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind)))
        uow.session.expunge_all()
        return rows


def token_request(client, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/api/v1/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {auth}"}
    )


@pytest.fixture
def admin(client, world):
    login(client, world.users["tenant_admin"])
    return client


def create(client, *, name="Plant MES", scopes=("po.view", "items.manage"), supplier_id=""):
    page = client.get("/admin/api-clients/new")
    return client.post(
        "/admin/api-clients/new",
        data={"csrf_token": token_in(page.data), "name": name, "scopes": list(scopes), "supplier_id": supplier_id},
    )


def test_an_administrator_creates_a_client_and_sees_the_secret_once(admin, tx, world):
    form = text_of(admin.get("/admin/api-clients/new"))
    assert 'name="name"' in form and "autofocus" in form
    # Scope checkboxes with their permission names; none that manage access.
    assert 'value="po.view"' in form and "View purchase orders" in form
    assert 'value="users.manage"' not in form and 'value="api_clients.manage"' not in form
    assert world.suppliers[0].name in form

    response = create(admin)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = text_of(response)
    secret, client_id = SECRET.search(page).group(1), CLIENT_ID.search(page).group(1)
    assert "shown only this once" in page and "/api/v1/oauth/token" in page
    [stored] = stored_clients(tx, world)
    assert stored.client_id == client_id and stored.secret_hash == digest(secret) and stored.name == "Plant MES"
    assert stored.scopes == ["items.manage", "po.view"] and stored.created_by == world.users["tenant_admin"].id

    # Later pages show the client, never the secret.
    listing = text_of(admin.get("/admin/api-clients"))
    assert client_id in listing and "Plant MES" in listing and "Never" in listing and secret not in listing
    assert secret not in text_of(admin.get(f"/admin/api-clients/{stored.id}/rotate"))
    # And the secret works.
    assert token_request(admin, client_id, secret).status_code == 200


def test_a_supplier_client_is_made_for_one_supplier(admin, tx, world):
    response = create(admin, name="S1 ERP", scopes=["po.view", "po.confirm"], supplier_id=str(world.suppliers[0].id))
    assert response.status_code == 200
    [stored] = stored_clients(tx, world)
    assert stored.supplier_id == world.suppliers[0].id and stored.scopes == ["po.confirm", "po.view"]
    assert world.suppliers[0].name in text_of(admin.get("/admin/api-clients"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Enter a name."),
        ({"scopes": []}, "Choose at least one permission."),
        ({"scopes": ["users.manage"]}, "none that manage access"),
        ({"scopes": ["items.manage"], "supplier_id": "S1"}, "can hold only supplier permissions"),
        ({"supplier_id": "not-a-supplier"}, "Choose one of the suppliers."),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_created(admin, tx, world, fields, message):
    if fields.get("supplier_id") == "S1":
        fields = fields | {"supplier_id": str(world.suppliers[0].id)}
    response = create(admin, **fields)
    assert response.status_code == 422
    page = text_of(response)
    assert message in page and 'class="field-error"' in page
    assert stored_clients(tx, world) == []


def test_asking_for_more_than_one_holds_is_refused_and_noted(client, tx, world):
    """An administrator of API clients only, who does not hold items.manage, posts it anyway."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        role_service.create_role(
            uow,
            Actor.system(),
            key="integrator",
            name="Integrator",
            name_zh="集成管理员",
            side="buyer",
            permissions=["api_clients.manage", "po.view"],
        )
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="integrator")
        uow.commit()
    login(client, user)
    form = text_of(client.get("/admin/api-clients/new"))
    assert 'value="po.view"' in form and 'value="items.manage"' not in form
    # Without suppliers.invite, no supplier is offered to act for.
    assert 'name="supplier_id"' not in form and world.suppliers[0].name not in form
    response = create(client, scopes=["po.view", "items.manage"])
    assert response.status_code == 403
    response = create(client, scopes=["po.view"], supplier_id=str(world.suppliers[0].id))
    assert response.status_code == 403
    assert stored_clients(tx, world) == []
    events = security_events(tx, world, "privilege_escalation_denied")
    assert [e.detail["scopes"] for e in events] == [["items.manage", "po.view"], ["po.view"]]
    assert {e.user_id for e in events} == {user.id}


def test_people_without_the_permission_get_no_screens(client, tx, world):
    login(client, world.users["buyer"])
    assert client.get("/admin/api-clients").status_code == 403
    assert client.get("/admin/api-clients/new").status_code == 403


def test_a_form_without_its_csrf_token_creates_nothing(admin, tx, world):
    response = admin.post("/admin/api-clients/new", data={"name": "MES", "scopes": ["po.view"]})
    assert response.status_code == 400
    assert stored_clients(tx, world) == []


def test_a_new_secret_replaces_the_old_one(admin, tx, world):
    page = text_of(create(admin))
    old_secret, client_id = SECRET.search(page).group(1), CLIENT_ID.search(page).group(1)
    [stored] = stored_clients(tx, world)
    confirm = admin.get(f"/admin/api-clients/{stored.id}/rotate")
    assert confirm.status_code == 200 and "stop working at once" in text_of(confirm)
    response = admin.post(f"/admin/api-clients/{stored.id}/rotate", data={"csrf_token": token_in(confirm.data)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    new_secret = SECRET.search(text_of(response)).group(1)
    assert new_secret != old_secret and "no longer work" in text_of(response)
    assert token_request(admin, client_id, old_secret).status_code == 401
    assert token_request(admin, client_id, new_secret).status_code == 200
    assert len(security_events(tx, world, "api_secret_rotated")) == 1


def test_revoking_through_the_page(admin, tx, world):
    page = text_of(create(admin))
    secret, client_id = SECRET.search(page).group(1), CLIENT_ID.search(page).group(1)
    [stored] = stored_clients(tx, world)
    confirm = admin.get(f"/admin/api-clients/{stored.id}/revoke")
    assert "cannot be undone" in text_of(confirm)
    response = admin.post(f"/admin/api-clients/{stored.id}/revoke", data={"csrf_token": token_in(confirm.data)})
    assert response.status_code == 303
    listing = text_of(admin.get("/admin/api-clients"))
    assert "was revoked" in listing and "Revoked" in listing
    assert f"/admin/api-clients/{stored.id}/rotate" not in listing
    assert token_request(admin, client_id, secret).status_code == 401
    # A revoked client offers nothing more to do.
    assert "Make a new secret" not in text_of(admin.get(f"/admin/api-clients/{stored.id}/rotate"))
    assert len(security_events(tx, world, "api_client_revoked")) == 1


def test_another_tenants_client_is_not_found(client, tx, world, other_world):
    login(client, other_world.users["tenant_admin"])
    create(client)
    [theirs] = stored_clients(tx, other_world)
    client.post("/logout", data={"csrf_token": token_in(client.get("/admin/api-clients").data)})
    login(client, world.users["tenant_admin"])
    assert client.get(f"/admin/api-clients/{theirs.id}/revoke").status_code == 404
    page = client.get("/admin/api-clients")
    response = client.post(f"/admin/api-clients/{theirs.id}/revoke", data={"csrf_token": token_in(page.data)})
    assert response.status_code == 404
    [still] = stored_clients(tx, other_world)
    assert still.revoked_at is None


def test_the_screens_work_in_chinese(admin):
    admin.post("/language", data={"csrf_token": token_in(admin.get("/admin/api-clients").data), "locale": "zh_Hans_CN"})
    assert admin.get("/admin/api-clients").status_code == 200
    assert admin.get("/admin/api-clients/new").status_code == 200
