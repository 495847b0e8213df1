"""One person in two tenants: the picker, switching, and nothing of one in the other."""

from __future__ import annotations

import pytest

from tenants import service as tenants
from tests.factories import make_user
from tests.portal.support import login, text_of, token_in


@pytest.fixture
def both(tx, world, other_world):
    """A buyer in both tenants."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="buyer")
        uow.switch_tenant(other_world.tenant_id)
        tenants.add_membership(uow, user=user, role="buyer")
        uow.commit()
    return user


def switch(client, tenant_id):
    token = token_in(client.get("/tenants").data)
    return client.post("/tenants", data={"tenant_id": str(tenant_id), "csrf_token": token})


def test_several_memberships_lead_to_the_picker(client, both, world, other_world):
    response = login(client, both)
    assert response.headers["Location"] == "/tenants"
    page = text_of(client.get("/tenants"))
    assert f"Tenant {world.slug}" in page and f"Tenant {other_world.slug}" in page
    # No tenant yet: pages that need one send the user back to the picker.
    assert client.get("/buyer/").headers["Location"].startswith("/tenants")


def test_switching_shows_only_the_chosen_tenants_orders(client, both, world, other_world):
    login(client, both)
    assert switch(client, world.tenant_id).headers["Location"] == "/buyer/"
    page = text_of(client.get("/buyer/purchase-orders"))
    assert all(po.number in page for po in world.purchase_orders)
    assert f"Tenant {world.slug}" in page and "Supplier 1 of " + world.slug in page
    assert "Supplier 1 of " + other_world.slug not in page

    switch(client, other_world.tenant_id)
    page = text_of(client.get("/buyer/purchase-orders"))
    assert "Supplier 1 of " + other_world.slug in page and "Supplier 1 of " + world.slug not in page
    me = client.get("/api/v1/me").json
    assert me["tenant"]["slug"] == other_world.slug and len(me["memberships"]) == 2


def test_the_header_offers_the_switch_only_to_members_of_several(client, both, world):
    login(client, both)
    switch(client, world.tenant_id)
    assert "Switch organisation" in text_of(client.get("/buyer/"))
    client.post("/logout", data={"csrf_token": token_in(client.get("/buyer/").data)})
    login(client, world.users["buyer"])
    assert "Switch organisation" not in text_of(client.get("/buyer/"))


def test_switching_to_a_tenant_one_is_not_in_is_refused(client, world, other_world):
    login(client, world.users["buyer"])
    assert switch(client, other_world.tenant_id).status_code == 403
    with client.session_transaction() as session:
        assert session["tenant_id"] == str(world.tenant_id)
