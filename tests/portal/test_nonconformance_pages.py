"""Nonconformance pages: the list (open first, status filter, empty state), a
nonconformance's page, the signed disposition form and its failures, links from the
inspection and lot pages, who may see them, and tenant isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent, Signature
from erp.inventory.models import Stock
from erp.receiving import inspection
from erp.receiving.models import Nonconformance
from tests.erp.receiving.receiving_support import item, people, receive
from tests.factories import PASSWORD
from tests.portal.support import signed_in, text_of, token_in

D = Decimal


@pytest.fixture
def rejected(tx, world):
    """A lot of 500 whose incoming inspection rejected 20 (defect: packaging), and the
    nonconformance it opened; committed."""
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        thing = item(uow, category="sterile_barrier")
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=thing.id, lot_number="LOT-NC-1", quantity="500")
        [opened] = inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)
        inspection.record_inspection(
            uow,
            who["quality"],
            inspection_id=opened.id,
            accepted_quantity="480",
            rejected_quantity="20",
            defect_codes=["packaging"],
            note="Torn pouches",
        )
        nc = uow.session.scalars(sa.select(Nonconformance).where(Nonconformance.inspection_id == opened.id)).one()
        uow.commit()
    return {"got": got, "inspection": opened, "item": thing, "nc": nc, "who": who}


def _rows(tx, world, lot_id) -> dict:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return {
            (s.status, s.location_id): s.quantity
            for s in uow.session.scalars(sa.select(Stock).where(Stock.lot_id == lot_id, Stock.quantity > 0))
        }


def _dispose(client, nc_id, **fields):
    page = client.get(f"/nonconformances/{nc_id}")
    data = {
        "csrf_token": token_in(page.data),
        "disposition": "return_to_supplier",
        "quantity": "20",
        "reason": "Supplier's sealing fault",
        "rma_number": "RMA-4711",
        "password": PASSWORD,
    } | fields
    return client.post(f"/nonconformances/{nc_id}/disposition", data=data)


def test_list_and_status_filter(app, world, rejected):
    quality = signed_in(app, world.users["quality"])
    listing = quality.get("/nonconformances")
    html = text_of(listing)
    number = rejected["nc"].number
    assert listing.status_code == 200 and number in html and "LOT-NC-1" in html and rejected["item"].part_number in html
    assert f'href="/nonconformances/{rejected["nc"].id}"' in html and "Supplier 1 of" in html
    assert number in text_of(quality.get("/nonconformances?status=open"))
    closed = text_of(quality.get("/nonconformances?status=closed"))
    assert number not in closed and "No nonconformance has this status." in closed
    bad_cursor = quality.get("/nonconformances?cursor=garbage")
    assert bad_cursor.status_code == 200 and "This page link is not valid" in text_of(bad_cursor)
    # The warehouse sees them too (stock.view), without the form.
    assert number in text_of(signed_in(app, world.users["warehouse"]).get("/nonconformances"))


def test_empty_list(app, world):
    page = signed_in(app, world.users["quality"]).get("/nonconformances")
    assert page.status_code == 200
    assert "No nonconformances. Rejects at incoming inspection and cold-chain excursions open them." in text_of(page)


def test_detail_and_links_to_it(app, world, rejected):
    nc = rejected["nc"]
    quality = signed_in(app, world.users["quality"])
    page = quality.get(f"/nonconformances/{nc.id}")
    html = text_of(page)
    assert page.status_code == 200
    assert nc.number in html and "LOT-NC-1" in html and rejected["item"].part_number in html and "Supplier 1 of" in html
    assert "Packaging damaged" in html and "Torn pouches" in html
    assert f'href="/inspections/{rejected["inspection"].id}"' in html
    assert "Sign and save the disposition" in html and "Return to supplier" in html
    assert 'value="20"' in html  # the quantity offered: what is still rejected
    link = f'href="/nonconformances/{nc.id}"'
    assert link in text_of(quality.get(f"/inspections/{rejected['inspection'].id}"))
    assert link in text_of(quality.get(f"/lots/{rejected['got'].lot.id}"))
    warehouse = text_of(signed_in(app, world.users["warehouse"]).get(f"/nonconformances/{nc.id}"))
    assert nc.number in warehouse and "Sign and save the disposition" not in warehouse


def test_dispose_happy_path(app, tx, world, rejected):
    nc = rejected["nc"]
    quality = signed_in(app, world.users["quality"])
    done = _dispose(quality, nc.id)
    assert done.status_code == 303, text_of(done)
    shown = text_of(quality.get(f"/nonconformances/{nc.id}"))
    assert f"Nonconformance {nc.number} is closed: 20 returned to the supplier." in shown
    assert "RMA-4711" in shown and "Supplier&#39;s sealing fault" in shown
    assert world.users["quality"].full_name in shown and "Signed content unchanged" in shown
    assert "Returned to supplier" in shown  # the movement
    assert "Sign and save the disposition" not in shown
    location = rejected["got"].receipt.location_id
    assert _rows(tx, world, rejected["got"].lot.id) == {("quarantine", location): D(480), ("returned", location): D(20)}
    listed = text_of(quality.get("/nonconformances?status=closed"))
    assert nc.number in listed and "Return to supplier" in listed


def test_a_form_error_keeps_the_input(app, tx, world, rejected):
    nc = rejected["nc"]
    quality = signed_in(app, world.users["quality"])
    too_much = _dispose(quality, nc.id, disposition="scrap", quantity="21", reason="Beyond repair", rma_number="")
    html = text_of(too_much)
    assert too_much.status_code == 422
    assert "Only 20 of lot LOT-NC-1 are rejected or on hold: dispose of at most that." in html
    assert 'value="21"' in html and "Beyond repair" in html and '<option selected value="scrap">' in html
    rma = _dispose(quality, nc.id, disposition="rework", reason="Re-seal")
    assert rma.status_code == 422 and "An RMA number goes with a return to the supplier only." in text_of(rma)
    assert 'value="RMA-4711"' in text_of(rma)
    no_reason = _dispose(quality, nc.id, reason=" ")
    assert no_reason.status_code == 422 and "Say why: the reason is part of the signed record." in text_of(no_reason)
    location = rejected["got"].receipt.location_id
    assert _rows(tx, world, rejected["got"].lot.id) == {("quarantine", location): D(480), ("rejected", location): D(20)}


def test_a_wrong_password_disposes_of_nothing_and_leaves_a_trace(app, tx, world, rejected):
    nc = rejected["nc"]
    quality = signed_in(app, world.users["quality"])
    refused = _dispose(quality, nc.id, password="not-my-password")
    assert refused.status_code == 403 and "The signature was not recorded" in text_of(refused)
    assert 'value="RMA-4711"' in text_of(refused)
    location = rejected["got"].receipt.location_id
    assert _rows(tx, world, rejected["got"].lot.id) == {("quarantine", location): D(480), ("rejected", location): D(20)}
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(Nonconformance.status).where(Nonconformance.id == nc.id)) == "open"
        assert not uow.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.record_id == nc.id))
        assert uow.scalar(
            sa.select(sa.func.count())
            .select_from(SecurityEvent)
            .where(SecurityEvent.kind == "signature_failed", SecurityEvent.user_id == world.users["quality"].id)
        )


def test_disposed_twice_is_a_conflict(app, world, rejected):
    nc = rejected["nc"]
    quality = signed_in(app, world.users["quality"])
    page = quality.get(f"/nonconformances/{nc.id}")
    token = token_in(page.data)
    assert _dispose(quality, nc.id, disposition="scrap", rma_number="").status_code == 303
    again = quality.post(
        f"/nonconformances/{nc.id}/disposition",
        data={"csrf_token": token, "disposition": "rework", "quantity": "1", "reason": "x", "password": PASSWORD},
    )
    assert again.status_code == 409 and f"Nonconformance {nc.number} was disposed of already" in text_of(again)


@pytest.mark.parametrize("person", ["supplier1", "viewer"])
def test_suppliers_and_viewers_get_403(app, world, rejected, person):
    client = signed_in(app, world.users[person])
    nc_id = rejected["nc"].id
    assert client.get("/nonconformances").status_code == 403
    assert client.get(f"/nonconformances/{nc_id}").status_code == 403
    # No page gives them the form: a valid CSRF token from the tenant picker will do.
    token = token_in(client.get("/tenants").data)
    sent = client.post(
        f"/nonconformances/{nc_id}/disposition",
        data={"csrf_token": token, "disposition": "scrap", "quantity": "1", "reason": "x", "password": PASSWORD},
    )
    assert sent.status_code == 403


def test_warehouse_cannot_dispose(app, tx, world, rejected):
    nc = rejected["nc"]
    warehouse = signed_in(app, world.users["warehouse"])
    page = warehouse.get(f"/nonconformances/{nc.id}")
    sent = warehouse.post(
        f"/nonconformances/{nc.id}/disposition",
        data={"csrf_token": token_in(page.data), "disposition": "scrap", "quantity": "1", "reason": "x", "password": PASSWORD},
    )
    assert sent.status_code == 403
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(Nonconformance.status).where(Nonconformance.id == nc.id)) == "open"


def test_another_tenant_sees_nothing(app, world, other_world, rejected):
    nc = rejected["nc"]
    stranger = signed_in(app, other_world.users["quality"])
    assert stranger.get(f"/nonconformances/{nc.id}").status_code == 404
    assert nc.number not in text_of(stranger.get("/nonconformances"))
    page = stranger.get("/nonconformances")
    sent = stranger.post(
        f"/nonconformances/{nc.id}/disposition",
        data={"csrf_token": token_in(page.data), "disposition": "scrap", "quantity": "1", "reason": "x", "password": PASSWORD},
    )
    assert sent.status_code == 404
