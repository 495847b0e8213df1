"""The purchase order lists through the web client: the buyer's and the supplier's filter
forms (kept in every link), the empty state, bad filters, and the CSV exports (BOM,
columns, the user's language, the security log, the row limit)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent
from portal.purchasing import lists
from tenants import service as tenants
from tests.factories import make_item, make_purchase_order
from tests.portal.support import signed_in, text_of, token_in

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def made(tx, world):
    """Committed orders besides the world's: 55 issued ones of the first supplier dated
    2025-06-01 (more than a page), a closed one of the first and a draft of the second
    on 2025-07-01, and one of the second supplier named with a formula's first character."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, name="Catheter")
        many = []
        for _ in range(55):
            order = make_purchase_order(uow, supplier=world.suppliers[0], item=item)
            order.order_date = date(2025, 6, 1)
            many.append(order)
        closed = make_purchase_order(uow, supplier=world.suppliers[0], item=world.items[0], quantity="3", price="2.5")
        closed.status, closed.order_date = "closed", date(2025, 7, 1)
        draft = make_purchase_order(uow, supplier=world.suppliers[1], item=world.items[0])
        draft.status, draft.order_date = "draft", date(2025, 7, 1)
        uow.flush()
        uow.commit()
        return {"many": [o.number for o in many], "closed": closed.number, "draft": draft.number, "item": item.id}


def numbers_on(html: str) -> set[str]:
    return set(re.findall(r'class="po-number"><a href="[^"]+">([^<]+)</a>', html))


def link(html: str, rel_or_text: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]*>{re.escape(rel_or_text)}', html) or re.search(
        rf'<a href="([^"]+)" rel="{rel_or_text}"', html
    )
    assert found, f"no link {rel_or_text!r}"
    return unescape(found.group(1))


def csv_rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM) :].decode("utf-8"))))


def export_events(tx, world, user):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = list(
            uow.session.scalars(
                sa.select(SecurityEvent).where(SecurityEvent.kind == "bulk_export", SecurityEvent.user_id == user.id)
            )
        )
        uow.session.expunge_all()
    return rows


# -- the buyer's list -----------------------------------------------------------------------------


def test_the_filter_form_shows_what_was_asked_and_every_link_keeps_it(app, tx, world, made):
    buyer = signed_in(app, world.users["buyer"])
    supplier = world.suppliers[0].id
    query = f"status=issued&status=closed&supplier_id={supplier}&ordered_from=2025-01-01&ordered_to=2025-12-31&open_only=1"
    page = buyer.get(f"/buyer/purchase-orders?{query}")
    assert page.status_code == 200
    html = text_of(page)
    assert re.search(r'id="status-issued" name="status" value="issued" checked', html)
    assert re.search(r'id="status-closed" name="status" value="closed" checked', html)
    assert not re.search(r'id="status-draft" name="status" value="draft" checked', html)
    assert re.search(rf'<option value="{supplier}" selected>', html)
    assert 'name="ordered_from" value="2025-01-01"' in html and 'name="ordered_to" value="2025-12-31"' in html
    assert re.search(r'id="open_only" name="open_only" value="1" checked', html)
    assert not re.search(r'id="needs_action" name="needs_action" value="1" checked', html)
    first = numbers_on(html)
    assert len(first) == 50 and first <= set(made["many"])  # open only: the closed one is left out
    next_url = link(html, "next")
    for kept in ("status=issued", "status=closed", f"supplier_id={supplier}", "ordered_from=2025-01-01", "open_only=1"):
        assert kept in next_url and kept in link(html, "Export (CSV)")
    second = numbers_on(text_of(buyer.get(next_url)))
    assert first | second == set(made["many"]) and not first & second


def test_sorting_by_a_column_keeps_the_filters_and_pages_in_that_order(app, tx, world, made):
    buyer = signed_in(app, world.users["buyer"])
    html = text_of(buyer.get("/buyer/purchase-orders?status=issued&ordered_to=2025-12-31"))
    by_number = link(html, "Number")
    assert "status=issued" in by_number and "ordered_to=2025-12-31" in by_number and "sort=number" in by_number
    html = text_of(buyer.get(by_number))
    assert 'aria-sort="ascending"' in html
    shown = re.findall(r'class="po-number"><a href="[^"]+">([^<]+)</a>', html)
    rest = re.findall(r'class="po-number"><a href="[^"]+">([^<]+)</a>', text_of(buyer.get(link(html, "next"))))
    assert shown + rest == sorted(made["many"])
    assert "sort=-number" in link(html, "Number ▲")  # clicked again: the other way


def test_no_match_shows_the_empty_state_with_a_way_back(app, tx, world, made):
    buyer = signed_in(app, world.users["buyer"])
    page = buyer.get(f"/buyer/purchase-orders?status=received&item_id={made['item']}")
    html = text_of(page)
    assert page.status_code == 200 and "No purchase orders match these filters." in html
    assert link(html, "Clear filters") == "/buyer/purchase-orders"


def test_needs_my_action_shows_the_buyers_drafts(app, tx, world, made):
    buyer = signed_in(app, world.users["buyer"])
    html = text_of(buyer.get("/buyer/purchase-orders?needs_action=1"))
    assert numbers_on(html) == {made["draft"]}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("ordered_from=2025-02-01&ordered_to=2025-01-01", "ordered_to", "The start of the date range must not be after its end."),
        ("ordered_from=1.2.2025", "ordered_from", "Enter a date as YYYY-MM-DD."),
        ("supplier_id=nobody", "supplier_id", "Choose one of the options offered."),
        ("sort=supplier", "sort", "Choose one of the sort orders offered."),
        ("status=lost", "status", "Choose statuses from the list."),
    ],
)
def test_bad_filters_are_shown_beside_their_field(app, tx, world, made, query, field, message):
    buyer = signed_in(app, world.users["buyer"])
    for path in ("/buyer/purchase-orders", "/buyer/purchase-orders/export.csv"):
        page = buyer.get(f"{path}?{query}")
        html = text_of(page)
        assert page.status_code == 422 and page.mimetype == "text/html"
        assert f'<p class="field-error" id="{field}-error">{message}</p>' in html
        assert not numbers_on(html)
    assert export_events(tx, world, world.users["buyer"]) == []


def test_a_viewer_may_list_but_a_supplier_may_not_open_the_buyers_list(app, tx, world, made):
    assert signed_in(app, world.users["viewer"]).get("/buyer/purchase-orders?open_only=1").status_code == 200
    supplier = signed_in(app, world.users["supplier1"])
    assert supplier.get("/buyer/purchase-orders").status_code == 403
    assert supplier.get("/buyer/purchase-orders/export.csv").status_code == 403


# -- the CSV export -------------------------------------------------------------------------------


def test_the_buyers_export_has_every_matching_order_and_is_recorded(app, tx, world, made):
    buyer = signed_in(app, world.users["buyer"])
    response = buyer.get(
        f"/buyer/purchase-orders/export.csv?ordered_from=2025-01-01&ordered_to=2025-12-31&supplier_id={world.suppliers[0].id}"
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="purchase-orders.csv"'
    header, *rows = csv_rows(response)
    assert header == ["Number", "Status", "Supplier", "Order date", "Currency", "Lines", "Total", "Issued at", "Overdue"]
    assert len(rows) == 56  # no page limit
    by_number = {row[0]: row for row in rows}
    assert set(by_number) == {*made["many"], made["closed"]}
    assert by_number[made["closed"]] == [
        made["closed"],
        "Closed",
        world.suppliers[0].name,
        "2025-07-01",
        "EUR",
        "1",
        "7.50",
        "",
        "No",
    ]
    assert by_number[made["many"][0]][1] == "Issued"
    [event] = export_events(tx, world, world.users["buyer"])
    assert event.detail["what"] == "purchase_orders" and event.detail["rows"] == 56 and event.severity == "info"


def test_the_export_is_in_the_users_language(app, tx, world, made):
    buyer = signed_in(app, world.users["buyer"])
    token = token_in(text_of(buyer.get("/buyer/")))
    buyer.post("/language", data={"locale": "zh_Hans_CN", "next": "/buyer/", "csrf_token": token})
    header, *rows = csv_rows(buyer.get("/buyer/purchase-orders/export.csv?ordered_from=2025-07-01&ordered_to=2025-07-01"))
    assert header[:3] == ["订单号", "状态", "供应商"]
    assert {row[0]: row[1] for row in rows} == {made["closed"]: "已关闭", made["draft"]: "草稿"}


def test_an_export_over_the_limit_is_refused_with_a_message(app, tx, world, made, monkeypatch):
    monkeypatch.setattr(lists, "EXPORT_MAX_ROWS", 55)
    buyer = signed_in(app, world.users["buyer"])
    page = buyer.get("/buyer/purchase-orders/export.csv?ordered_to=2025-12-31")
    assert page.status_code == 422 and page.mimetype == "text/html"
    assert "More than 55 purchase orders match. Narrow the filters to export them." in text_of(page)
    assert export_events(tx, world, world.users["buyer"]) == []
    assert buyer.get("/buyer/purchase-orders/export.csv?ordered_to=2025-06-30").status_code == 200  # exactly 55


def test_a_supplier_name_is_never_a_formula_in_the_export(app, tx, world, made):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        sly = tenants.create_supplier(uow, code="SLY", name="=HYPERLINK(1)")
        order = make_purchase_order(uow, supplier=sly, item=world.items[0])
        number = order.number
        uow.commit()
    buyer = signed_in(app, world.users["buyer"])
    _, *rows = csv_rows(buyer.get(f"/buyer/purchase-orders/export.csv?supplier_id={sly.id}"))
    assert [(row[0], row[2]) for row in rows] == [(number, "'=HYPERLINK(1)")]


# -- the supplier's list ------------------------------------------------------------------------------


def test_the_supplier_lists_its_own_orders_with_the_same_filters(app, tx, world, made):
    supplier = signed_in(app, world.users["supplier1"])
    home = text_of(supplier.get("/supplier/"))
    assert link(home, "Orders awaiting your answer") == "/supplier/purchase-orders?needs_action=1"
    assert 'href="/supplier/purchase-orders"' in home  # in the navigation too
    page = supplier.get("/supplier/purchase-orders?status=closed&status=issued&ordered_from=2025-07-01&ordered_to=2025-12-31")
    html = text_of(page)
    assert page.status_code == 200
    assert numbers_on(html) == {made["closed"]}
    assert 'name="supplier_id"' not in html and 'value="draft"' not in html
    waiting = numbers_on(text_of(supplier.get("/supplier/purchase-orders?needs_action=1")))
    assert len(waiting) == 50 and waiting <= {*made["many"], world.purchase_orders[0].number}


def test_the_other_supplier_sees_neither_these_orders_nor_its_own_draft(app, tx, world, made):
    other = signed_in(app, world.users["supplier2"])
    html = text_of(other.get("/supplier/purchase-orders?ordered_from=2025-01-01&ordered_to=2025-12-31"))
    assert "No purchase orders match these filters." in html
    _, *rows = csv_rows(other.get("/supplier/purchase-orders/export.csv"))
    assert [row[0] for row in rows] == [world.purchase_orders[1].number]


def test_a_supplier_naming_another_supplier_is_refused_and_noted(app, tx, world, made):
    supplier = signed_in(app, world.users["supplier1"])
    for path in ("/supplier/purchase-orders", "/supplier/purchase-orders/export.csv"):
        assert supplier.get(f"{path}?supplier_id={world.suppliers[1].id}").status_code == 403
    with tx.uow(tenant_id=world.tenant_id) as uow:
        kinds = list(
            uow.session.scalars(sa.select(SecurityEvent.kind).where(SecurityEvent.user_id == world.users["supplier1"].id))
        )
    assert kinds.count("isolation_denied") == 2
    assert export_events(tx, world, world.users["supplier1"]) == []


def test_the_suppliers_export(app, tx, world, made):
    supplier = signed_in(app, world.users["supplier1"])
    response = supplier.get("/supplier/purchase-orders/export.csv?status=closed")
    _, *rows = csv_rows(response)
    assert [row[0] for row in rows] == [made["closed"]]
    [event] = export_events(tx, world, world.users["supplier1"])
    assert event.detail == {"what": "purchase_orders", "rows": 1, "endpoint": "purchasing.supplier_export_purchase_orders"}


def test_a_buyer_may_not_open_the_suppliers_list(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    assert buyer.get("/supplier/purchase-orders").status_code == 403
    assert buyer.get("/supplier/purchase-orders/export.csv").status_code == 403
