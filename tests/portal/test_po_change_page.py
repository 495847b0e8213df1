"""The buyer's change order on the purchase order's page: a changed quantity, a removed
line and an added one make revision 2 with its diff; bad input names the line and
changes nothing; the supplier and a viewer get no form and cannot post one."""

from __future__ import annotations

from erp.purchasing import confirmation as po
from tests.erp.po_support import actors, issued_order, snapshot, soon
from tests.portal.support import login, text_of, token_in


def lines_of(tx, world, po_id):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        return detail.order.version, [(d.line.id, d.line.line_no) for d in detail.lines]


def test_a_buyer_changes_removes_and_adds_lines(client, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    version, lines = lines_of(tx, world, po_id)
    (first, _), (second, _) = lines[0], lines[1]
    login(client, world.users["buyer"])
    page = client.get(f"/purchase-orders/{po_id}")
    assert "Change this order" in text_of(page)
    data = {
        "csrf_token": token_in(page.data),
        "version": str(version),
        f"line-{first}-quantity": "150",
        f"line-{second}-remove": "1",
        "new-item_id": str(world.items[0].id),
        "new-quantity": "5",
        "new-unit_price": "9.90",
        "new-requested_date": soon(40).isoformat(),
        "reason": "Forecast up",
    }
    saved = client.post(f"/purchase-orders/{po_id}/revisions", data=data)
    assert saved.status_code == 303
    shown = text_of(client.get(f"/purchase-orders/{po_id}"))
    assert "revision 2 goes to the supplier" in shown and "Revision 2" in shown and "Forecast up" in shown
    assert "Line added" in shown and "Line removed" in shown


def test_bad_input_names_the_line_and_changes_nothing(client, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    version, lines = lines_of(tx, world, po_id)
    first, line_no = lines[0]
    before = snapshot(tx, world, po_id)
    login(client, world.users["buyer"])
    page = client.get(f"/purchase-orders/{po_id}")
    data = {"csrf_token": token_in(page.data), "version": str(version), f"line-{first}-quantity": "0", "reason": ""}
    refused = client.post(f"/purchase-orders/{po_id}/revisions", data=data)
    assert refused.status_code == 422
    assert f"Line {line_no}:" in text_of(refused) and "Give the reason for the change" in text_of(refused)
    assert 'value="0"' in text_of(refused)  # what was typed is kept
    assert snapshot(tx, world, po_id) == before
    stale = client.post(f"/purchase-orders/{po_id}/revisions", data={**data, "version": "0", "reason": "x"})
    assert stale.status_code == 409 and snapshot(tx, world, po_id) == before


def test_the_supplier_and_a_viewer_cannot_change_an_order(app, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    for who in ("supplier1", "viewer"):
        client = app.test_client()
        login(client, world.users[who])
        page = client.get(f"/purchase-orders/{po_id}")
        assert "Change this order" not in text_of(page)
        posted = client.post(f"/purchase-orders/{po_id}/revisions", data={"csrf_token": token_in(page.data), "version": "1"})
        assert posted.status_code == 403


def test_the_form_shows_plain_numbers(client, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    login(client, world.users["buyer"])
    page = text_of(client.get(f"/purchase-orders/{po_id}"))
    assert 'value="100"' in page and 'value="2.5"' in page and "E+" not in page
