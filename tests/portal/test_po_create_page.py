"""The buyer's screen to create a purchase order: a draft with its lines, opened on its
page; bad rows are shown again as typed with the message beside the field, and nothing
is written; only the buyer side with po.manage may use it."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseOrderSchedule
from erp.suppliers import service as suppliers
from kernel.clock import utcnow
from tenants import service as tenants
from tests.erp.po_support import actors, soon
from tests.factories import make_item
from tests.portal.support import signed_in, text_of, token_in

NEW = "/buyer/purchase-orders/new"


@pytest.fixture
def who(tx, world):
    return actors(tx, world)


def own_site(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        site = tenants.create_site(uow, organisation=tenants.own_organisation(uow), name="Main warehouse", kind="warehouse")
        uow.commit()
        return site.id


def counts(tx, world) -> tuple[int, int]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return (
            uow.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)),
            uow.scalar(sa.select(sa.func.count()).select_from(PurchaseOrderLine)),
        )


def form(client, world, rows: dict[int, dict], **fields) -> dict:
    html = text_of(client.get(NEW))
    data = {"csrf_token": token_in(html), "supplier_id": str(world.suppliers[0].id), "currency": "EUR", **fields}
    for n, row in rows.items():
        data.update({f"line-{n}-{key}": str(value) for key, value in row.items()})
    return data


def test_the_buyer_creates_a_draft_with_two_lines(app, tx, world):
    site = own_site(tx, world)
    buyer = signed_in(app, world.users["buyer"])
    listing = text_of(buyer.get("/buyer/purchase-orders"))
    assert f'href="{NEW}"' in listing and "New purchase order" in listing
    page = buyer.get(NEW)
    assert page.status_code == 200
    html = text_of(page)
    assert world.items[0].part_number in html and "Main warehouse" in html and 'value="EUR"' in html
    rows = {
        0: {"item_id": world.items[0].id, "quantity": "100", "unit_price": "2.50", "requested_date": soon(30)},
        # An empty row in between is ignored.
        3: {
            "item_id": world.items[1].id,
            "quantity": "5",
            "unit_price": "10",
            "requested_date": soon(40),
            "ship_to_site_id": site,
        },
    }
    done = buyer.post(NEW, data=form(buyer, world, rows, currency="usd"))
    assert done.status_code == 303, text_of(done)
    po_id = done.headers["Location"].rstrip("/").split("/")[-1]
    html = text_of(buyer.get(done.headers["Location"]))
    assert "was created as a draft" in html and "Issue to the supplier" in html
    with tx.uow(tenant_id=world.tenant_id) as uow:
        order = uow.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == uuid.UUID(po_id)))
        of_order = sa.select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == order.id)
        lines = list(uow.session.scalars(of_order.order_by(PurchaseOrderLine.line_no)))
        assert (order.status, order.currency, order.supplier_id) == ("draft", "USD", world.suppliers[0].id)
        assert [(li.line_no, li.item_id, li.quantity, li.requested_date, li.ship_to_site_id) for li in lines] == [
            (10, world.items[0].id, 100, soon(30), None),
            (20, world.items[1].id, 5, soon(40), site),
        ]


def test_bad_rows_are_shown_beside_their_fields_and_nothing_is_written(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    before = counts(tx, world)
    yesterday = utcnow().date() - timedelta(days=1)
    rows = {
        1: {"item_id": world.items[0].id, "quantity": "0", "unit_price": "2.50", "requested_date": soon(30)},
        4: {"item_id": world.items[0].id, "quantity": "7", "unit_price": "1", "requested_date": yesterday},
    }
    refused = buyer.post(NEW, data=form(buyer, world, rows, currency="EU"))
    assert refused.status_code == 422
    html = text_of(refused)
    assert 'id="line-1-quantity-error">Enter a quantity above zero.' in html
    assert 'id="line-4-requested_date-error">This date is in the past.' in html
    assert 'id="currency-error">Enter a three-letter currency code, such as EUR.' in html
    # What was typed is kept.
    assert 'name="line-1-quantity" inputmode="decimal" value="0"' in html
    assert f'name="line-4-requested_date" type="date" value="{yesterday.isoformat()}"' in html
    assert 'value="EU"' in html
    assert counts(tx, world) == before


def test_a_disqualified_item_is_refused_naming_the_reason(app, tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        banned = make_item(uow)
        suppliers.set_approval(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, item_id=banned.id, status="disqualified", reason="Failed audit"
        )
        uow.commit()
    buyer = signed_in(app, world.users["buyer"])
    before = counts(tx, world)
    rows = {
        0: {"item_id": world.items[0].id, "quantity": "1", "unit_price": "1", "requested_date": soon(30)},
        2: {"item_id": banned.id, "quantity": "1", "unit_price": "1", "requested_date": soon(30)},
    }
    refused = buyer.post(NEW, data=form(buyer, world, rows))
    assert refused.status_code == 422
    html = text_of(refused)
    assert f"is disqualified for {banned.part_number}" in html and "Failed audit" in html
    assert 'id="line-2-item_id-error">The supplier is disqualified for this item' in html
    assert "line-0-item_id-error" not in html
    assert counts(tx, world) == before


def test_no_lines_and_no_supplier_are_refused(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    before = counts(tx, world)
    refused = buyer.post(NEW, data=form(buyer, world, {}, supplier_id="not-an-id"))
    assert refused.status_code == 422
    html = text_of(refused)
    assert "An order needs at least one line." in html and 'id="supplier_id-error">Choose one of your suppliers.' in html
    assert counts(tx, world) == before


def test_without_the_csrf_token_nothing_happens(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    before = counts(tx, world)
    data = form(buyer, world, {0: {"item_id": world.items[0].id, "quantity": "1", "unit_price": "1", "requested_date": soon(3)}})
    del data["csrf_token"]
    assert buyer.post(NEW, data=data).status_code == 400
    assert counts(tx, world) == before


@pytest.mark.parametrize("who_", ["viewer", "supplier1"])
def test_a_viewer_and_a_supplier_may_not(app, tx, world, who_):
    client = signed_in(app, world.users[who_])
    before = counts(tx, world)
    refused = client.get(NEW)
    assert refused.status_code == 403
    data = {"csrf_token": token_in(text_of(refused)), "supplier_id": str(world.suppliers[0].id), "currency": "EUR"}
    row = {"item_id": str(world.items[0].id), "quantity": "1", "unit_price": "1", "requested_date": soon(3)}
    data |= {f"line-0-{key}": value for key, value in row.items()}
    assert client.post(NEW, data=data).status_code == 403
    assert counts(tx, world) == before
    if who_ == "viewer":
        assert "New purchase order" not in text_of(client.get("/buyer/purchase-orders"))


HEADER = "supplier_code,currency,part_number,quantity,unit_price,requested_date\n"


def upload(client, content: bytes):
    token = token_in(text_of(client.get(NEW)))
    return client.post(
        "/buyer/purchase-orders/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), "orders.csv")},
        content_type="multipart/form-data",
    )


def test_a_csv_file_makes_drafts_or_lists_its_bad_rows(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    before = counts(tx, world)
    p0 = world.items[0].part_number
    bad = upload(buyer, (HEADER + f"S1,EUR,{p0},1,1,{soon(5)}\nS1,EUR,{p0},0,1,{soon(5)}\nS7,EUR,{p0},1,1,{soon(5)}\n").encode())
    assert bad.status_code == 422
    html = text_of(bad)
    assert "Nothing was imported" in html
    assert "<td>3</td><td>quantity</td><td>Enter a quantity above zero.</td>" in html
    assert "<td>4</td><td>supplier_code</td><td>No supplier has this code.</td>" in html
    assert counts(tx, world) == before
    assert upload(buyer, b"").status_code == 422
    done = upload(buyer, (HEADER + f"S1,EUR,{p0},1,1,{soon(5)}\nS2,EUR,{p0},2,1,{soon(6)}\n").encode())
    assert done.status_code == 303 and done.headers["Location"].endswith("/buyer/purchase-orders")
    assert "2 purchase order(s) were created as drafts from the file." in text_of(buyer.get("/buyer/purchase-orders"))
    assert counts(tx, world) == (before[0] + 2, before[1] + 2)


def schedules(tx, world, po_id) -> list[tuple[int, object, object]]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = uow.session.execute(
            sa.select(PurchaseOrderLine.line_no, PurchaseOrderSchedule.delivery_date, PurchaseOrderSchedule.quantity)
            .join(PurchaseOrderSchedule, PurchaseOrderSchedule.purchase_order_line_id == PurchaseOrderLine.id)
            .where(PurchaseOrderLine.purchase_order_id == uuid.UUID(po_id))
            .order_by(PurchaseOrderLine.line_no, PurchaseOrderSchedule.delivery_date)
        )
        return [tuple(r) for r in rows]


def line_of(world, **fields) -> dict:
    return {"item_id": world.items[0].id, "quantity": "100", "unit_price": "2.50", "requested_date": soon(30)} | fields


def test_a_line_delivered_in_parts_keeps_its_schedule(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    typed = f"{soon(30).isoformat()} 60\n\n{soon(60).isoformat()}, 40\n"
    rows = {0: line_of(world, schedule=typed)}
    done = buyer.post(NEW, data=form(buyer, world, rows))
    assert done.status_code == 303, text_of(done)
    po_id = done.headers["Location"].rstrip("/").split("/")[-1]
    assert schedules(tx, world, po_id) == [(10, soon(30), 60), (10, soon(60), 40)]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2027-01-10", "Delivery 1: write a date and a quantity, e.g. 2026-12-15 40."),
        ("{d30} 60\n{d60} 30", "The quantities of the schedule must add up to the quantity of the line."),
        ("{d30} 60\n2027-13-40 40", "Delivery 2: "),
        ("{d30} 60\n{d60} lots", "Delivery 2: "),
    ],
)
def test_a_bad_schedule_is_shown_beside_it_and_nothing_is_written(app, tx, world, typed, message):
    buyer = signed_in(app, world.users["buyer"])
    before = counts(tx, world)
    typed = typed.format(d30=soon(30).isoformat(), d60=soon(60).isoformat())
    rows = {2: line_of(world, schedule=typed)}
    refused = buyer.post(NEW, data=form(buyer, world, rows))
    assert refused.status_code == 422
    html = text_of(refused)
    assert f'id="line-2-schedule-error">{message}' in html
    assert typed.split("\n")[0] in html  # what was typed is kept
    assert counts(tx, world) == before
