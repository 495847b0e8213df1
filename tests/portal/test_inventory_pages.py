"""Inspection, lot and inventory pages: what each shows, each form's failures, the
signed lot decision, who may see them, and tenant isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent, Signature
from erp.inventory.models import Stock
from erp.receiving import inspection
from erp.receiving.models import Nonconformance
from tests.erp.receiving.receiving_support import decide, item, location, people, receive
from tests.factories import PASSWORD
from tests.portal.support import signed_in, text_of, token_in

D = Decimal


@pytest.fixture
def lot(tx, world, settings):
    """A received lot of a sterile-barrier item (inspected), with its open inspection, a
    storage location; committed."""
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        thing = item(uow, category="sterile_barrier")
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=thing.id, lot_number="LOT-QR-1", quantity="500")
        [opened] = inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)
        shelf = location(uow, code="SHELF-QR")
        uow.commit()
    return {"got": got, "inspection": opened, "item": thing, "shelf": shelf, "who": who}


def _rows(tx, world, lot_id) -> dict:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return {
            (s.status, s.location_id): s.quantity for s in uow.session.scalars(sa.select(Stock).where(Stock.lot_id == lot_id))
        }


# --- inspections ---------------------------------------------------------------------------


def test_inspection_list_form_and_result(app, tx, world, lot):
    quality = signed_in(app, world.users["quality"])
    listing = quality.get("/inspections")
    assert listing.status_code == 200 and lot["item"].part_number in text_of(listing) and "LOT-QR-1" in text_of(listing)
    url = f"/inspections/{lot['inspection'].id}"
    page = quality.get(url)
    html = text_of(page)
    assert page.status_code == 200
    assert "Sample size" in html and ">50<" in html  # 500 -> H: 50 units, AQL 1.0 -> Ac 1
    assert "Acceptance number (Ac)" in html and ">1<" in html
    assert "AQL (percent nonconforming)" in html and ">1.0<" in html
    token = token_in(page.data)
    bad = quality.post(url, data={"csrf_token": token, "accepted_quantity": "400", "rejected_quantity": "0"})
    assert bad.status_code == 422
    assert "Accepted and rejected together must be the received quantity, 500." in text_of(bad)
    no_codes = quality.post(url, data={"csrf_token": token, "accepted_quantity": "490", "rejected_quantity": "10"})
    assert no_codes.status_code == 422 and "Choose at least one defect code" in text_of(no_codes)
    done = quality.post(
        url,
        data={
            "csrf_token": token,
            "accepted_quantity": "490",
            "rejected_quantity": "10",
            "defect_codes": ["packaging"],
            "note": "Torn",
        },
    )
    assert done.status_code == 303, text_of(done)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        number = uow.scalar(sa.select(Nonconformance.number).where(Nonconformance.inspection_id == lot["inspection"].id))
    followed = quality.get("/inspections")
    assert number in text_of(quality.get(url)) and "Inspection recorded" in text_of(followed)
    assert _rows(tx, world, lot["got"].lot.id) == {
        ("quarantine", lot["got"].receipt.location_id): D(490),
        ("rejected", lot["got"].receipt.location_id): D(10),
    }
    again = quality.post(url, data={"csrf_token": token, "accepted_quantity": "500", "rejected_quantity": "0"})
    assert again.status_code == 200 and "Save the result" not in text_of(again)  # done: shown, not changed


def test_inspection_plans_page(app, tx, world):
    quality = signed_in(app, world.users["quality"])
    page = quality.get("/inspections/plans")
    assert page.status_code == 200 and "Sterile barrier" in text_of(page)
    token = token_in(page.data)
    bad = quality.post("/inspections/plans", data={"csrf_token": token, "category": "packaging", "inspect": "y", "aql": "3"})
    assert bad.status_code == 422 and "Choose an AQL of the ISO 2859-1 series" in text_of(bad)
    saved = quality.post("/inspections/plans", data={"csrf_token": token, "category": "packaging", "inspect": "y", "aql": "2.5"})
    assert saved.status_code == 303
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rules = {p.category: p for p in inspection.plans(uow, people(tx, world)["quality"])}
    assert rules["packaging"].inspect and rules["packaging"].aql == D("2.5")


# --- lot page and decision -----------------------------------------------------------------


def _decide(client, lot_id, **fields):
    page = client.get(f"/lots/{lot_id}")
    data = {"csrf_token": token_in(page.data), "decision": "released", "reason": "", "password": PASSWORD} | fields
    return client.post(f"/lots/{lot_id}/decision", data=data)


def test_lot_page_and_release(app, tx, world, lot):
    lot_id = lot["got"].lot.id
    quality = signed_in(app, world.users["quality"])
    page = quality.get(f"/lots/{lot_id}")
    html = text_of(page)
    assert page.status_code == 200
    assert "LOT-QR-1" in html and lot["item"].part_number in html and "Supplier 1 of" in html
    assert "Quarantine" in html and "Sign and save the decision" in html and "Received" in html
    blocked = _decide(quality, lot_id)
    assert blocked.status_code == 409 and "An inspection of this lot is still open" in text_of(blocked)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        inspection.record_inspection(
            uow, lot["who"]["quality"], inspection_id=lot["inspection"].id, accepted_quantity="500", rejected_quantity="0"
        )
        uow.commit()
    no_reason = _decide(quality, lot_id, decision="on_hold")
    assert no_reason.status_code == 422 and "Say why the lot is rejected or put on hold." in text_of(no_reason)
    released = _decide(quality, lot_id)
    assert released.status_code == 303, text_of(released)
    shown = text_of(quality.get(f"/lots/{lot_id}"))
    assert "is released and signed" in shown
    assert world.users["quality"].full_name in shown and "Signed content unchanged" in shown
    assert "Sign and save the decision" not in shown  # nothing left to decide
    assert _rows(tx, world, lot_id) == {("released", lot["got"].receipt.location_id): D(500)}


def test_a_wrong_password_decides_nothing_and_leaves_a_trace(app, tx, world, lot):
    lot_id = lot["got"].lot.id
    quality = signed_in(app, world.users["quality"])
    refused = _decide(quality, lot_id, decision="on_hold", reason="CoA missing", password="not-my-password")
    assert refused.status_code == 403
    assert "The signature was not recorded" in text_of(refused)
    assert _rows(tx, world, lot_id) == {("quarantine", lot["got"].receipt.location_id): D(500)}
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert not uow.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.record_id == lot_id))
        assert uow.scalar(
            sa.select(sa.func.count())
            .select_from(SecurityEvent)
            .where(SecurityEvent.kind == "signature_failed", SecurityEvent.user_id == world.users["quality"].id)
        )


def test_hold_then_reject_on_the_page(app, tx, world, lot, settings):
    lot_id = lot["got"].lot.id
    quality = signed_in(app, world.users["quality"])
    assert _decide(quality, lot_id, decision="on_hold", reason="CoA missing").status_code == 303
    assert _decide(quality, lot_id, decision="rejected", reason="CoA never came").status_code == 303
    html = text_of(quality.get(f"/lots/{lot_id}"))
    assert "CoA missing" in html and "CoA never came" in html and "Rejected" in html
    assert _rows(tx, world, lot_id) == {("rejected", lot["got"].receipt.location_id): D(500)}


# --- inventory -----------------------------------------------------------------------------


def _released(tx, world, settings, **kw):
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = receive(uow, who["warehouse"], supplier=world.suppliers[1], item_id=item(uow, category="packaging").id, **kw)
        decide(uow, who["quality"], settings, got)
        uow.commit()
    return got


def test_inventory_list_filters(app, tx, world, lot, settings):
    other = _released(tx, world, settings, lot_number="PK-QR-7", serials=("SN-QR-1", "SN-QR-2"))
    warehouse = signed_in(app, world.users["warehouse"])
    everything = text_of(warehouse.get("/inventory"))
    assert "LOT-QR-1" in everything and "PK-QR-7" in everything
    by_lot = text_of(warehouse.get("/inventory?lot=PK-QR"))
    assert "PK-QR-7" in by_lot and "LOT-QR-1" not in by_lot
    by_serial = text_of(warehouse.get("/inventory?serial=SN-QR-2"))
    assert "SN-QR-2" in by_serial and "SN-QR-1<" not in by_serial
    released = text_of(warehouse.get(f"/inventory?status=released&location={other.receipt.location_id}"))
    assert "PK-QR-7" in released and "LOT-QR-1" not in released
    by_item = text_of(warehouse.get(f"/inventory?item={lot['item'].id}"))
    assert "LOT-QR-1" in by_item and "PK-QR-7" not in by_item
    nothing = text_of(warehouse.get("/inventory?lot=NO-SUCH"))
    assert "No stock matches these filters." in nothing
    bad_cursor = warehouse.get("/inventory?cursor=garbage")
    assert bad_cursor.status_code == 200 and "This page link is not valid" in text_of(bad_cursor)


def test_move_form(app, tx, world, lot):
    stock_id = lot["got"].stock[0].id
    warehouse = signed_in(app, world.users["warehouse"])
    page = warehouse.get(f"/inventory/{stock_id}/move")
    assert page.status_code == 200 and "SHELF-QR" in text_of(page)
    token = token_in(page.data)
    url = f"/inventory/{stock_id}/move"
    too_much = warehouse.post(url, data={"csrf_token": token, "to_location_id": str(lot["shelf"].id), "quantity": "501"})
    assert too_much.status_code == 422 and "Only 500 are there" in text_of(too_much)
    no_place = warehouse.post(url, data={"csrf_token": token, "to_location_id": "", "quantity": "5"})
    assert no_place.status_code == 422 and "Choose a location of this organisation." in text_of(no_place)
    moved = warehouse.post(url, data={"csrf_token": token, "to_location_id": str(lot["shelf"].id), "quantity": "200"})
    assert moved.status_code == 303, text_of(moved)
    assert _rows(tx, world, lot["got"].lot.id) == {
        ("quarantine", lot["got"].receipt.location_id): D(300),
        ("quarantine", lot["shelf"].id): D(200),
    }


def test_consume_form(app, tx, world, lot, settings):
    warehouse = signed_in(app, world.users["warehouse"])
    quarantined = lot["got"].stock[0].id
    page = warehouse.get(f"/inventory/{quarantined}/consume")
    refused = warehouse.post(f"/inventory/{quarantined}/consume", data={"csrf_token": token_in(page.data), "quantity": "1"})
    assert refused.status_code == 409 and "This stock is in quarantine" in text_of(refused)
    got = _released(tx, world, settings)
    url = f"/inventory/{got.stock[0].id}/consume"
    page = warehouse.get(url)
    bad = warehouse.post(url, data={"csrf_token": token_in(page.data), "quantity": "0"})
    assert bad.status_code == 422 and "Enter a quantity greater than zero." in text_of(bad)
    used = warehouse.post(url, data={"csrf_token": token_in(page.data), "quantity": "30", "reference": "WO-9"})
    assert used.status_code == 303, text_of(used)
    assert sorted(_rows(tx, world, got.lot.id).items()) == sorted(
        {("released", got.receipt.location_id): D(70), ("consumed", got.receipt.location_id): D(30)}.items()
    )


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["supplier1", "viewer"])
def test_suppliers_and_viewers_get_403(app, world, lot, person):
    client = signed_in(app, world.users[person])
    stock_id, lot_id = lot["got"].stock[0].id, lot["got"].lot.id
    for url in (
        "/inspections",
        f"/inspections/{lot['inspection'].id}",
        "/inspections/plans",
        f"/lots/{lot_id}",
        "/inventory",
        f"/inventory/{stock_id}/move",
        f"/inventory/{stock_id}/consume",
    ):
        assert client.get(url).status_code == 403, url


def test_warehouse_cannot_decide_or_inspect(app, world, lot):
    warehouse = signed_in(app, world.users["warehouse"])
    page = warehouse.get(f"/lots/{lot['got'].lot.id}")
    assert page.status_code == 200 and "Sign and save the decision" not in text_of(page)
    token = token_in(page.data)
    sent = warehouse.post(
        f"/lots/{lot['got'].lot.id}/decision", data={"csrf_token": token, "decision": "released", "password": PASSWORD}
    )
    assert sent.status_code == 403
    assert warehouse.get(f"/inspections/{lot['inspection'].id}").status_code == 403


def test_another_tenant_sees_nothing(app, world, other_world, lot):
    stranger = signed_in(app, other_world.users["quality"])
    assert stranger.get(f"/lots/{lot['got'].lot.id}").status_code == 404
    assert stranger.get(f"/inspections/{lot['inspection'].id}").status_code == 404
    assert "LOT-QR-1" not in text_of(stranger.get("/inspections"))
    admin = signed_in(app, other_world.users["tenant_admin"])
    assert "LOT-QR-1" not in text_of(admin.get("/inventory"))
    assert admin.get(f"/inventory/{lot['got'].stock[0].id}/move").status_code == 404
