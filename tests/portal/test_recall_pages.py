"""Recall pages through the web client: a quality engineer opens a recall from a trace,
reviews the scope, holds the stock, notifies, locates, closes with a signature and gets
the report; a mock recall shows its timer; suppliers read and acknowledge their own
notices only; other people and tenants get nothing."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from erp.inventory.models import Stock
from erp.traceability import recall as recalls
from erp.traceability.models import Recall, RecallScope
from tests.erp.traceability.recall_support import make_chain, people
from tests.factories import PASSWORD
from tests.portal.support import signed_in, text_of, token_in

RECALL_PAGE = re.compile(r"/traceability/recalls/([0-9a-f-]{36})$")


@pytest.fixture
def chain(tx, world):
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        made = make_chain(uow, who, world)
        uow.commit()
    return made


@pytest.fixture
def quality(app, world):
    return signed_in(app, world.users["quality"])


def _open(client, chain, **data) -> str:
    path = f"/traceability/recalls/new?snapshot_id={chain.snapshot.id}"
    token = token_in(client.get(path).data)
    values = {"title": "Tubing seal defect", "reason": "Leaking seals", "classification": "class_ii", "csrf_token": token}
    response = client.post(path, data=values | data)
    assert response.status_code == 303, text_of(response)
    return RECALL_PAGE.search(response.headers["Location"]).group(1)


def _post(client, recall_id: str, action: str, data: dict | None = None):
    token = token_in(client.get(f"/traceability/recalls/{recall_id}").data)
    return client.post(f"/traceability/recalls/{recall_id}/{action}", data=(data or {}) | {"csrf_token": token})


def _lines(tx, world, recall_id, place) -> list:
    """The ids of a recall's lines at a place."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return list(
            uow.session.scalars(sa.select(RecallScope.id).where(RecallScope.recall_id == recall_id, RecallScope.place == place))
        )


def test_a_recall_from_a_trace_to_its_signed_close(tx, world, chain, quality):
    form = text_of(quality.get(f"/traceability/recalls/new?snapshot_id={chain.snapshot.id}"))
    assert "Open a recall" in form and chain.component_lot.number in form and "Mock recall" in form
    token = token_in(form)
    refused = quality.post(
        f"/traceability/recalls/new?snapshot_id={chain.snapshot.id}", data={"title": "", "reason": "", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert "This field is required." in text_of(refused) and "Choose a classification." in text_of(refused)

    recall_id = _open(quality, chain)
    page = text_of(quality.get(f"/traceability/recalls/{recall_id}"))
    assert "RC-" in page and "In our stock" in page and "At a customer" in page and "City Hospital" in page
    assert "上海第一医院" in page and "Used in another lot" in page and "To locate" in page

    no_reason = _post(quality, recall_id, f"scope/{_lines(tx, world, recall_id, 'consumed')[0]}/remove", {"reason": ""})
    assert no_reason.status_code == 422 and recalls.REASON_NEEDED.split(":")[0] in text_of(no_reason)

    held = _post(quality, recall_id, "hold")
    assert held.status_code == 303
    page = text_of(quality.get(f"/traceability/recalls/{recall_id}"))
    assert "stock lines are on hold" in page and "Held" in page
    with tx.uow(tenant_id=world.tenant_id) as uow:
        statuses = set(uow.session.scalars(sa.select(Stock.status).where(Stock.lot_id == chain.component_lot.id)))
    assert statuses == {"on_hold", "consumed"}

    assert _post(quality, recall_id, "notify-suppliers", {"message": "Quarantine lot"}).status_code == 303
    assert _post(quality, recall_id, "notify-customers").status_code == 303

    early = _post(quality, recall_id, "close", {"password": PASSWORD})
    assert early.status_code == 409 and "Not every unit in scope is located yet" in text_of(early)
    for line in _lines(tx, world, recall_id, "customer"):
        too_many = _post(quality, recall_id, f"scope/{line}/return", {"quantity": "99"})
        assert too_many.status_code == 422 and "can still be returned" in text_of(too_many)
        assert _post(quality, recall_id, f"scope/{line}/located", {"note": "Confirmed"}).status_code == 303

    wrong = _post(quality, recall_id, "close", {"password": "not my password"})
    assert wrong.status_code in (401, 403, 422) and "password" in text_of(wrong).lower()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(Recall.status).where(Recall.id == recall_id)) == "open"
    closed = _post(quality, recall_id, "close", {"password": PASSWORD})
    assert closed.status_code == 303
    page = text_of(quality.get(f"/traceability/recalls/{recall_id}"))
    assert "is closed and signed" in page and "Closing signature" in page and "Approved" in page

    pdf = quality.get(f"/traceability/recalls/{recall_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    listing = text_of(quality.get("/traceability/recalls?state=closed"))
    assert "Tubing seal defect" in listing
    assert "No recalls here yet." in text_of(quality.get("/traceability/recalls?state=mock"))


def test_a_mock_recall_shows_its_timer(tx, world, chain, quality):
    recall_id = _open(quality, chain, mock="1")
    page = text_of(quality.get(f"/traceability/recalls/{recall_id}"))
    assert "MR-" in page and "Time since the mock recall started" in page and 'hx-trigger="every 5s"' in page
    assert _post(quality, recall_id, "hold").status_code == 303
    page = text_of(quality.get(f"/traceability/recalls/{recall_id}"))
    assert "No stock was changed" in page and "Would put stock on hold" in page
    for line in _lines(tx, world, recall_id, "customer"):
        _post(quality, recall_id, f"scope/{line}/located", {"note": "Confirmed"})
    timer = text_of(quality.get(f"/traceability/recalls/{recall_id}/timer"))
    assert "Time from opening to all located" in timer and "<html" not in timer and "every 5s" not in timer
    assert "Tubing seal defect" in text_of(quality.get("/traceability/recalls?state=mock"))


def test_suppliers_read_and_acknowledge_their_own_notices(tx, world, chain, quality, app):
    recall_id = _open(quality, chain)
    _post(quality, recall_id, "notify-suppliers", {"message": "Quarantine lot 7 at your site."})
    with tx.uow(tenant_id=world.tenant_id) as uow:
        notice_id = uow.scalar(sa.text("select id from recall_notice where recall_id = :r"), {"r": recall_id})

    supplier = signed_in(app, world.users["supplier1"])
    listing = text_of(supplier.get("/traceability/supplier/recall-notices"))
    assert "Tubing seal defect" in listing and "To acknowledge" in listing
    page = text_of(supplier.get(f"/traceability/supplier/recall-notices/{notice_id}"))
    assert "Quarantine lot 7 at your site." in page and chain.component_lot.number in page
    token = token_in(page)
    empty = supplier.post(
        f"/traceability/supplier/recall-notices/{notice_id}/acknowledge", data={"response": "", "csrf_token": token}
    )
    assert empty.status_code == 422 and "Write your response" in text_of(empty)
    done = supplier.post(
        f"/traceability/supplier/recall-notices/{notice_id}/acknowledge", data={"response": "Quarantined.", "csrf_token": token}
    )
    assert done.status_code == 303
    assert "Acknowledged" in text_of(supplier.get(f"/traceability/supplier/recall-notices/{notice_id}"))
    assert supplier.get(f"/traceability/recalls/{recall_id}").status_code == 403
    assert supplier.get("/traceability/recalls").status_code == 403

    other = signed_in(app, world.users["supplier2"])
    assert other.get(f"/traceability/supplier/recall-notices/{notice_id}").status_code == 404
    assert "No recall notices." in text_of(other.get("/traceability/supplier/recall-notices"))
    token = token_in(other.get("/traceability/supplier/recall-notices").data)
    assert (
        other.post(
            f"/traceability/supplier/recall-notices/{notice_id}/acknowledge", data={"response": "x", "csrf_token": token}
        ).status_code
        == 404
    )
    assert quality.get("/traceability/supplier/recall-notices").status_code == 403


def test_others_get_nothing(tx, world, other_world, chain, quality, app):
    recall_id = _open(quality, chain)
    viewer = signed_in(app, world.users["viewer"])
    assert viewer.get(f"/traceability/recalls/{recall_id}").status_code == 403
    assert viewer.get(f"/traceability/recalls/new?snapshot_id={chain.snapshot.id}").status_code == 403
    stranger = signed_in(app, other_world.users["quality"])
    assert stranger.get(f"/traceability/recalls/{recall_id}").status_code == 404
    assert stranger.get(f"/traceability/recalls/{recall_id}/report.pdf").status_code == 404
    assert stranger.get(f"/traceability/recalls/new?snapshot_id={chain.snapshot.id}").status_code == 404
    assert "No recalls here yet." in text_of(stranger.get("/traceability/recalls"))
    # A recall opens from a trace: without one, to the trace page.
    assert quality.get("/traceability/recalls/new").headers["Location"].endswith("/traceability/trace")
    assert "Tubing seal defect" in text_of(quality.get("/traceability/recalls"))
    assert "Tubing seal defect" in text_of(quality.get("/traceability/recalls?state=open"))
