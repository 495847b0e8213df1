"""Supplier pages on the buyer side: the list with its summary of the approved supplier
list, a supplier with sites, contacts and entries (each with its history), the forms to
add a contact and set an approval, and who may see and change what."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa

from erp.suppliers.models import ApprovedSource, SupplierContact
from tenants import service as tenants
from tests.factories import make_item, unique
from tests.portal.support import login, text_of, token_in
from tests.portal.test_i18n import switch_language


def detail_path(supplier) -> str:
    return f"/suppliers/{supplier.id}"


def post_on_detail(client, supplier, action: str, data: dict):
    page = client.get(detail_path(supplier))
    assert page.status_code == 200
    return client.post(f"{detail_path(supplier)}/{action}", data={"csrf_token": token_in(page.data), **data})


def entries_of(tx, world, supplier) -> list[ApprovedSource]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return list(uow.session.scalars(sa.select(ApprovedSource).where(ApprovedSource.supplier_id == supplier.id)))


def test_the_buyer_sees_the_suppliers_in_the_nav_and_the_list(client, world):
    login(client, world.users["buyer"])
    assert 'href="/suppliers"' in text_of(client.get("/buyer/"))
    page = text_of(client.get("/suppliers"))
    for supplier in world.suppliers:
        assert f'href="/suppliers/{supplier.id}"' in page and supplier.name in page
    assert "No entries" in page or "badge-asl-" in page


def test_the_list_is_empty_for_a_tenant_without_suppliers(app, tx):
    from tests.factories import make_user

    with tx.uow() as uow:
        tenant = tenants.create_tenant(uow, slug=unique("nosup"), name="No Suppliers Co")
        user = make_user(uow, email=f"{unique('b')}@example.test")
        uow.switch_tenant(tenant.id)
        tenants.add_membership(uow, user=user, role="buyer")
        uow.commit()
    client = app.test_client()
    login(client, user)
    assert "No suppliers yet." in text_of(client.get("/suppliers"))


def test_the_detail_shows_sites_contacts_and_the_forms(client, world):
    supplier = world.suppliers[0]
    login(client, world.users["buyer"])
    page = text_of(client.get(detail_path(supplier)))
    assert supplier.code in page and "Site 1" in page and "Manufacturing" in page
    assert "No contacts yet." in page
    assert "no entries in the approved supplier list yet" in page or "badge-asl-" in page
    assert f'action="/suppliers/{supplier.id}/contacts"' in page and f'action="/suppliers/{supplier.id}/approvals"' in page


def test_adding_a_contact(client, world):
    supplier = world.suppliers[0]
    login(client, world.users["buyer"])
    data = {"name": "Li Wei", "email": "li.wei@example.test", "phone": "+86 21 1234 5678", "role": "Quality", "is_primary": "y"}
    response = post_on_detail(client, supplier, "contacts", data)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/suppliers/{supplier.id}#contacts")
    page = text_of(client.get(detail_path(supplier)))
    assert "Contact Li Wei was added." in page and "li.wei@example.test" in page and "Primary contact" in page


def test_a_contact_with_a_bad_email_is_refused_next_to_the_field(client, world, tx):
    supplier = world.suppliers[0]
    login(client, world.users["buyer"])
    response = post_on_detail(client, supplier, "contacts", {"name": "Bad Mail", "email": "not-an-address"})
    page = text_of(response)
    assert response.status_code == 422
    assert 'id="email-error">Enter a valid email address.' in page and 'value="Bad Mail"' in page
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(SupplierContact).where(SupplierContact.name == "Bad Mail")) is None


def test_setting_an_approval_shows_it_with_its_history(client, world, tx):
    supplier = world.suppliers[0]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, part_number=unique("ASL-"))
        uow.commit()
    login(client, world.users["buyer"])
    first = post_on_detail(
        client, supplier, "approvals", {"site_id": "", "item_id": str(item.id), "status": "approved", "reason": "Audit passed"}
    )
    assert first.status_code == 303 and first.headers["Location"].endswith("#approvals")
    second = post_on_detail(
        client,
        supplier,
        "approvals",
        {"site_id": "", "item_id": str(item.id), "status": "probation", "reason": "Late deliveries"},
    )
    assert second.status_code == 303
    page = text_of(client.get(detail_path(supplier)))
    assert "The approved supplier list was changed." in page
    entry = page[page.index(item.part_number) - 200 :]
    assert 'badge-asl-probation">Probation' in entry and "Late deliveries" in entry and "All sites" in entry
    assert "History (2 changes)" in entry and "Approved to Probation" in entry and "Added as Approved" in entry
    assert "Audit passed" in entry
    summary = text_of(client.get("/suppliers"))
    assert "Probation: " in summary
    again = post_on_detail(
        client, supplier, "approvals", {"site_id": "", "item_id": str(item.id), "status": "probation", "reason": "Still late"}
    )
    assert again.status_code == 422
    assert 'id="status-error">The entry has this status already' in text_of(again) and "Still late" in text_of(again)


def test_an_approval_of_a_site_for_a_category(client, world, tx):
    supplier = world.suppliers[1]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        site = tenants.create_site(uow, organisation=supplier, name=unique("Plant "), kind="distribution", country="CN")
        uow.commit()
    login(client, world.users["buyer"])
    response = post_on_detail(
        client,
        supplier,
        "approvals",
        {"site_id": str(site.id), "category": "packaging", "status": "conditional", "reason": "Extra inspection"},
    )
    assert response.status_code == 303
    page = text_of(client.get(detail_path(supplier)))
    assert f"Site: {site.name}" in page and "Category: Packaging" in page and "badge-asl-conditional" in page


def test_an_approval_without_a_reason_is_refused_and_nothing_is_written(client, world, tx):
    supplier = world.suppliers[0]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, part_number=unique("ASL-"))
        uow.commit()
    before = len(entries_of(tx, world, supplier))
    login(client, world.users["buyer"])
    response = post_on_detail(client, supplier, "approvals", {"item_id": str(item.id), "status": "approved", "reason": "  "})
    page = text_of(response)
    assert response.status_code == 422
    assert 'id="reason-error">Give the reason for this change.' in page
    assert f'<option selected value="{item.id}">' in page or f'value="{item.id}" selected' in page
    assert len(entries_of(tx, world, supplier)) == before


def test_neither_item_nor_category_is_refused_next_to_the_item(client, world):
    login(client, world.users["buyer"])
    response = post_on_detail(client, world.suppliers[0], "approvals", {"status": "approved", "reason": "Why not"})
    assert response.status_code == 422
    assert 'id="item_id-error">Give either an item or a category of items, not both.' in text_of(response)
    assert "Why not" in text_of(response)


def test_the_pages_in_chinese(client, world, tx):
    supplier = world.suppliers[0]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, part_number=unique("ASL-"))
        tenants.create_supplier(uow, code=unique("SZ"), name="Shenzhen Precision Moulds", name_zh="深圳精密模具", country="CN")
        uow.commit()
    login(client, world.users["buyer"])
    post_on_detail(client, supplier, "approvals", {"item_id": str(item.id), "status": "disqualified", "reason": "不合格"})
    switch_language(client, "zh_Hans_CN", page="/suppliers")
    listing = text_of(client.get("/suppliers"))
    assert '<html lang="zh-Hans-CN">' in listing and supplier.code in listing and "供应商代码" in listing
    assert "深圳精密模具" in listing and "Shenzhen Precision Moulds" not in listing  # the name in the page's language
    page = text_of(client.get(detail_path(supplier)))
    assert '<html lang="zh-Hans-CN">' in page and "不合格" in page and "badge-asl-disqualified" in page


def test_a_viewer_sees_no_forms_and_may_not_post(client, world):
    supplier = world.suppliers[0]
    login(client, world.users["viewer"])
    page = text_of(client.get(detail_path(supplier)))
    assert supplier.code in page and '<form method="post" action="/suppliers/' not in page
    token = token_in(page)  # the language switch's form carries one
    for action in ("contacts", "approvals"):
        data = {"csrf_token": token, "name": "X", "item_id": str(world.items[0].id), "status": "approved", "reason": "x"}
        assert client.post(f"{detail_path(supplier)}/{action}", data=data).status_code == 403


def test_a_supplier_user_may_not_see_the_pages(client, world):
    login(client, world.users["supplier1"])
    assert client.get("/suppliers").status_code == 403
    assert client.get(detail_path(world.suppliers[0])).status_code == 403
    assert 'href="/suppliers"' not in text_of(client.get("/supplier/"))


def test_another_tenants_supplier_and_an_unknown_id_are_not_found(client, world, other_world):
    login(client, world.users["buyer"])
    assert client.get(detail_path(other_world.suppliers[0])).status_code == 404
    assert client.get(f"/suppliers/{uuid.uuid4()}").status_code == 404
    page = client.get(detail_path(world.suppliers[0]))
    token = token_in(page.data)
    response = client.post(
        f"{detail_path(other_world.suppliers[0])}/approvals",
        data={"csrf_token": token, "category": "packaging", "status": "approved", "reason": "x"},
    )
    assert response.status_code == 404
    assert re.search(r"/suppliers/[0-9a-f-]+", text_of(client.get("/suppliers")))
