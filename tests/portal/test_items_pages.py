"""Item master pages: the list (search, pages, empty state), new and edit forms with the
service's field errors, the item, export as CSV and XLSX, import by upload (at once and
as a background job with its progress), and who may see what."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import sqlalchemy as sa

from erp.items import imports
from erp.items.imports import run_import
from erp.items.models import Item, ItemImport
from tenants import service as tenants
from tests.factories import actor_in, gtin, make_item, make_user, unique
from tests.portal.support import login, text_of, token_in

FORM = {"name": "Luer lock connector", "name_zh": "鲁尔接头", "category": "component", "uom": "EA"}


def part_numbers(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/items/[0-9a-f-]+">([^<]+)</a></th>', page)


def item_named(tx, world, part_number: str) -> Item | None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = uow.scalar(sa.select(Item).where(Item.part_number == part_number))
        if item is not None:
            uow.session.expunge(item)
        return item


def post_form(client, path: str, data: dict):
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": token_in(page.data), **data})


def upload(client, data: bytes, filename: str = "items.csv"):
    page = client.get("/items/import")
    return client.post(
        "/items/import",
        data={"csrf_token": token_in(page.data), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


# --- list ---------------------------------------------------------------------------------------


def test_the_buyer_sees_the_items_in_the_nav_and_the_list(client, world):
    login(client, world.users["buyer"])
    home = text_of(client.get("/buyer/"))
    assert 'href="/items"' in home
    page = text_of(client.get("/items"))
    assert set(part_numbers(page)) >= {item.part_number for item in world.items}
    assert "New item" in page and "Import items" in page and "Export (CSV)" in page


def test_a_new_tenant_sees_the_empty_state(app, tx):
    with tx.uow() as uow:
        tenant = tenants.create_tenant(uow, slug=unique("empty"), name="Empty Co")
        user = make_user(uow, email=f"{unique('b')}@example.test")
        uow.switch_tenant(tenant.id)
        tenants.add_membership(uow, user=user, role="buyer")
        uow.commit()
    client = app.test_client()
    login(client, user)
    page = text_of(client.get("/items"))
    assert "No items yet." in page and part_numbers(page) == []


def test_the_list_pages_by_cursor_and_searches_by_part_number_prefix(client, world, tx):
    prefix = unique("PG") + "-"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        made = [make_item(uow, part_number=f"{prefix}{n:03d}").part_number for n in range(55)]
        uow.commit()
    login(client, world.users["buyer"])
    first = text_of(client.get(f"/items?q={prefix.lower()}"))  # typed in lower case
    assert len(part_numbers(first)) == 50
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "q=" in next_link
    second = text_of(client.get(next_link))
    assert 'rel="next"' not in second and "First page" in second
    assert sorted(part_numbers(first) + part_numbers(second)) == sorted(made)
    none = text_of(client.get("/items?q=ZZ-NOTHING"))
    assert "part number starts with ZZ-NOTHING." in none
    odd = client.get("/items?q=%25%27%20or")
    assert odd.status_code == 200 and part_numbers(text_of(odd)) == []


def test_a_broken_cursor_gets_a_clear_message(client, world):
    login(client, world.users["buyer"])
    response = client.get("/items?cursor=nonsense")
    assert response.status_code == 422 and "This page link is not valid" in text_of(response)


# --- forms --------------------------------------------------------------------------------------


def test_create_with_errors_keeps_the_values_then_succeeds(client, world, tx):
    login(client, world.users["buyer"])
    part = unique("NEW-")
    response = post_form(
        client,
        "/items/new",
        {**FORM, "part_number": part, "name": " ", "storage_temp_min_c": "2.0", "udi_di": "123", "issuing_agency": "GS1"},
    )
    page = text_of(response)
    assert response.status_code == 422
    assert 'id="name-error">This field is required.' in page
    assert 'id="storage_temp_max_c-error">A temperature range needs both ends' in page
    assert 'id="udi_di-error"' in page and 'aria-invalid="true"' in page
    assert f'value="{part}"' in page and 'value="鲁尔接头"' in page and 'value="2.0"' in page  # values kept
    assert "Device identification" in page and "Storage conditions" in page
    assert item_named(tx, world, part) is None

    di = gtin()
    response = post_form(
        client,
        "/items/new",
        {
            **FORM,
            "part_number": part,
            "category": "finished_device",
            "issuing_agency": "GS1",
            "udi_di": di,
            "device_class": "IIa",
            "label_lot": "y",
            "storage_temp_min_c": "2",
            "storage_temp_max_c": "8",
            "max_excursion_minutes": "30",
        },
    )
    assert response.status_code == 303
    item = item_named(tx, world, part)
    assert response.headers["Location"] == f"/items/{item.id}"
    assert (item.udi_di, item.label_lot, item.label_serial, item.max_excursion_minutes) == (di, True, False, 30)
    detail = text_of(client.get(f"/items/{item.id}"))
    assert f"Item {part} was created." in detail and di in detail and "Lot or batch number" in detail
    assert "Finished device" in detail


def test_a_duplicate_part_number_is_shown_next_to_the_field(client, world):
    login(client, world.users["buyer"])
    taken = world.items[0].part_number
    response = post_form(client, "/items/new", {**FORM, "part_number": taken})
    assert response.status_code == 422
    assert f'id="part_number-error">An item with the part number {taken} already exists.' in text_of(response)


def test_edit_changes_an_item_and_shows_errors_next_to_fields(client, world, tx):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, part_number=unique("ED-"))
        uow.commit()
    login(client, world.users["buyer"])
    path = f"/items/{item.id}/edit"
    form = text_of(client.get(path))
    assert f'value="{item.part_number}"' in form
    bad = post_form(client, path, {**FORM, "part_number": item.part_number, "uom": "parsec"})
    assert bad.status_code == 422 and 'id="uom-error">Choose one of the units of measure.' in text_of(bad)
    good = post_form(client, path, {**FORM, "part_number": item.part_number, "name": "Renamed", "uom": "BOX"})
    assert good.status_code == 303
    changed = item_named(tx, world, item.part_number)
    assert (changed.name, changed.uom, changed.name_zh) == ("Renamed", "BOX", "鲁尔接头")


def test_an_item_of_another_tenant_is_not_found(client, world, other_world):
    login(client, world.users["buyer"])
    other = other_world.items[0]
    assert client.get(f"/items/{other.id}").status_code == 404
    assert client.get(f"/items/{other.id}/edit").status_code == 404


# --- who may --------------------------------------------------------------------------------------


def test_a_viewer_sees_items_but_cannot_edit(client, world):
    login(client, world.users["viewer"])
    item = world.items[0]
    assert client.get("/items").status_code == 200
    detail = text_of(client.get(f"/items/{item.id}"))
    assert item.part_number in detail and f'href="/items/{item.id}/edit"' not in detail
    assert "New item" not in text_of(client.get("/items"))
    for path in (f"/items/{item.id}/edit", "/items/new", "/items/import"):
        assert client.get(path).status_code == 403
    page = client.get("/items")
    response = client.post("/items/new", data={"csrf_token": token_in(page.data), **FORM, "part_number": unique("V-")})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/items", "/items/export.csv", "/items/new", "/items/import"])
def test_a_supplier_user_gets_403_on_the_item_pages(client, world, path):
    login(client, world.users["supplier1"])
    assert client.get(path).status_code == 403


# --- export --------------------------------------------------------------------------------------


def test_export_csv_and_xlsx_have_every_column_and_every_item(client, world, tx):
    from openpyxl import load_workbook

    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, part_number=unique("EX-"), name_zh="导管")
        uow.commit()
    login(client, world.users["viewer"])
    response = client.get("/items/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="items.csv"' in response.headers["Content-Disposition"]
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(imports.COLUMNS)
    assert any(line.startswith(f"{item.part_number},") and "导管" in line for line in lines)

    response = client.get("/items/export.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == list(imports.COLUMNS)
    assert {r[0] for r in rows[1:]} == {line.split(",")[0] for line in lines[1:]}


def test_the_export_holds_only_the_tenants_own_items(client, world, other_world):
    login(client, world.users["buyer"])
    text = client.get("/items/export.csv").data.decode("utf-8-sig")
    assert world.items[0].part_number in text
    assert other_world.items[0].part_number not in text


# --- import ---------------------------------------------------------------------------------------

HEADER = "part_number,name,name_zh,category,uom"


def test_a_small_import_runs_at_once_and_shows_the_result(client, world, tx):
    login(client, world.users["buyer"])
    part = unique("IMP-")
    data = f"{HEADER}\r\n{part},Sterile pouch,无菌包装袋,sterile_barrier,PK\r\n".encode("gb18030")
    response = upload(client, data)
    assert response.status_code == 303
    page = text_of(client.get(response.headers["Location"]))
    assert "1 items created, 0 updated, 0 unchanged" in page and "GB18030" in page
    assert "hx-trigger" not in page
    assert item_named(tx, world, part).name_zh == "无菌包装袋"


def test_an_import_with_bad_rows_writes_nothing_and_offers_the_error_report(client, world, tx):
    login(client, world.users["buyer"])
    good, bad = unique("G-"), unique("B-")
    data = f"{HEADER}\r\n{good},Fine,,component,EA\r\n{bad},,,toy,EA\r\n".encode()
    response = upload(client, data)
    page = text_of(client.get(response.headers["Location"]))
    assert "Nothing was imported: 1 row has problems." in page
    assert "Download the error report (CSV)" in page
    link = re.search(r'href="(/items/imports/[^"]+/errors\.csv)"', page).group(1)
    report = client.get(link)
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = report.data.decode("utf-8-sig").splitlines()
    assert rows[0] == "Row,Column,Problem"
    assert rows[1:] == ["3,name,This field is required.", "3,category,Choose one of the item categories."]
    assert item_named(tx, world, good) is None


def test_a_file_that_cannot_be_read_is_refused_on_the_form(client, world):
    login(client, world.users["buyer"])
    response = upload(client, b"part_number,colour\r\nA,red\r\n")
    assert response.status_code == 422
    assert "columns that are not item fields: colour" in text_of(response)
    response = upload(client, b"", filename="")
    assert response.status_code == 422 and "Choose a CSV or XLSX file." in text_of(response)


def test_a_file_over_the_size_limit_gets_a_clear_message(client, world, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 1024)
    login(client, world.users["buyer"])
    response = upload(client, b"part_number\r\n" + b"A\r\n" * 200_000)
    assert response.status_code == 413
    assert "The file is larger than" in text_of(response) and "Split it into smaller files." in text_of(response)


def test_a_large_import_runs_as_a_job_and_the_page_polls_its_progress(client, world, tx, monkeypatch):
    monkeypatch.setattr(imports, "SMALL", 2)
    login(client, world.users["buyer"])
    parts = [unique("BIG-") for _ in range(4)]
    data = (HEADER + "\r\n" + "".join(f"{p},Item,,component,EA\r\n" for p in parts)).encode()
    response = upload(client, data)
    assert response.status_code == 303
    page = text_of(client.get(response.headers["Location"]))
    assert 'hx-trigger="every 1s"' in page and "<progress" in page and 'max="4"' in page
    import_id = uuid.UUID(response.headers["Location"].rsplit("/", 1)[1])
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.session.get(ItemImport, (world.tenant_id, import_id)).status == "queued"
    assert item_named(tx, world, parts[0]) is None
    # What the worker's job does.
    assert run_import(tx.uow, tenant_id=world.tenant_id, import_id=import_id) == "done"
    fragment = client.get(response.headers["Location"], headers={"HX-Request": "true"})
    text = text_of(fragment)
    assert "<html" not in text and "hx-trigger" not in text
    assert "4 items created" in text
    assert all(item_named(tx, world, p) is not None for p in parts)


def test_an_import_of_another_tenant_is_not_found(client, world, other_world, tx):
    with tx.uow() as lookup:
        other = actor_in(lookup, other_world, "buyer")
    with tx.uow(tenant_id=other_world.tenant_id, actor=other) as uow:
        content = f"{HEADER}\r\n{unique('O-')},X,,component,EA\r\n".encode()
        record_id = imports.start_import(uow, other, filename="x.csv", content=content).id
        uow.commit()
    login(client, world.users["buyer"])
    assert client.get(f"/items/imports/{record_id}").status_code == 404
    assert client.get(f"/items/imports/{record_id}/errors.csv").status_code == 404


def test_a_too_large_upload_by_a_viewer_gets_no_form(client, world, monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 1024)
    login(client, world.users["viewer"])
    token = token_in(client.get("/items").data)
    response = client.post(
        "/items/import",
        data={"csrf_token": token, "file": (io.BytesIO(b"A\r\n" * 200_000), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and 'enctype="multipart/form-data"' not in text_of(response)
