"""Home pages, the purchase order list, administration, empty states."""

from __future__ import annotations

import re

import pytest

from tenants import service as tenants
from tests.factories import make_item, make_purchase_order, make_user, unique
from tests.portal.support import login, text_of, token_in


def rows_of(page: str) -> list[str]:
    return re.findall(r'<th scope="row" class="po-number">(?:<a [^>]*>)?([^<]+)(?:</a>)?</th>', page)


def test_the_supplier_home_shows_only_its_own_orders(client, world, other_world):
    login(client, world.users["supplier1"])
    page = text_of(client.get("/supplier/"))
    assert rows_of(page) == [world.purchase_orders[0].number]
    assert f"Purchase orders from Tenant {world.slug}" in page
    assert "€150.00" in page and "Issued" in page


def test_the_buyer_home_counts_and_lists_recent_orders(client, world):
    login(client, world.users["buyer"])
    page = text_of(client.get("/buyer/"))
    assert re.search(r'stat-value">2</span>\s*<span class="stat-label">Open purchase orders', page)
    assert re.search(r'stat-value">2</span>\s*<span class="stat-label">Suppliers', page)
    assert sorted(rows_of(page)) == sorted(po.number for po in world.purchase_orders)
    assert world.suppliers[0].name in page


@pytest.mark.parametrize(
    ("who", "path"), [("supplier1", "/buyer/"), ("supplier1", "/buyer/purchase-orders"), ("buyer", "/supplier/")]
)
def test_each_side_keeps_to_its_own_pages(client, world, who, path):
    login(client, world.users[who])
    response = client.get(path)
    assert response.status_code == 403 and "Access denied" in text_of(response)


def test_the_order_list_pages_by_cursor(client, world, tx):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow)
        made = [make_purchase_order(uow, supplier=world.suppliers[1], item=item).number for _ in range(55)]
        uow.commit()
    login(client, world.users["buyer"])
    first = text_of(client.get("/buyer/purchase-orders"))
    assert len(rows_of(first)) == 50
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = text_of(client.get(next_link))
    assert 'rel="next"' not in second and "First page" in second
    numbers = rows_of(first) + rows_of(second)
    assert sorted(numbers) == sorted(made + [po.number for po in world.purchase_orders])


def test_a_broken_cursor_gets_a_clear_message(client, world):
    login(client, world.users["buyer"])
    response = client.get("/buyer/purchase-orders?cursor=nonsense")
    assert response.status_code == 422 and "This page link is not valid" in text_of(response)


@pytest.fixture
def empty_tenant(tx):
    """A tenant with no suppliers or orders, and its buyer."""
    with tx.uow() as uow:
        tenant = tenants.create_tenant(uow, slug=unique("empty"), name="Empty Co")
        buyer = make_user(uow)
        tenants.add_membership(uow, user=buyer, role="buyer")
        supplier = tenants.create_supplier(uow, code="S1", name="Quiet Supplier")
        seller = make_user(uow)
        tenants.add_membership(uow, user=seller, role="supplier_admin", organisation=supplier)
        uow.commit()
    return tenant, buyer, seller


def test_empty_states_say_so(client, empty_tenant):
    _tenant, buyer, seller = empty_tenant
    login(client, buyer)
    assert "No purchase orders yet." in text_of(client.get("/buyer/"))
    assert "No purchase orders yet." in text_of(client.get("/buyer/purchase-orders"))
    client.post("/logout", data={"csrf_token": token_in(client.get("/buyer/").data)})
    login(client, seller)
    assert "No purchase orders yet." in text_of(client.get("/supplier/"))


def test_tenant_admins_see_the_members(client, world, other_world):
    login(client, world.users["tenant_admin"])
    page = text_of(client.get("/admin/"))
    assert world.users["supplier2"].email in page and "Supplier administrator" in page
    assert world.suppliers[1].name in page and "Tenant administrator" in page
    assert other_world.users["buyer"].email not in page
    assert 'href="/admin/"' in text_of(client.get("/buyer/"))  # in the navigation


@pytest.mark.parametrize("who", ["buyer", "quality", "supplier1"])
def test_administration_is_forbidden_to_others(client, world, who):
    login(client, world.users[who])
    assert client.get("/admin/").status_code == 403
    assert 'href="/admin/"' not in text_of(client.get("/", follow_redirects=True))


def test_access_review_csv_lists_every_member_with_role_and_last_sign_in(client, world, other_world):
    import csv
    import io

    login(client, world.users["tenant_admin"])
    response = client.get("/admin/members.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["Name", "Email", "Role", "Organisation", "Status", "Last sign-in (UTC)"]
    by_email = {row[1]: row for row in rows[1:]}
    assert {user.email for user in world.users.values()} <= set(by_email)
    assert not {user.email for user in other_world.users.values()} & set(by_email)  # no other tenant's people
    admin = by_email[world.users["tenant_admin"].email]
    assert admin[2] == "Tenant administrator" and admin[4] == "Active" and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", admin[5])
    assert other_world.users["buyer"].email not in by_email


@pytest.mark.parametrize("who", ["buyer", "supplier1"])
def test_access_review_csv_is_forbidden_to_others(client, world, who):
    login(client, world.users[who])
    assert client.get("/admin/members.csv").status_code == 403
