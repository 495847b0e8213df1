"""The purchase order page through the web client: the buyer issues a draft, the
supplier answers line by line (accept, reject with a reason, propose a change), the
buyer decides; bad answers and stale copies change nothing; isolation and permissions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent
from erp.purchasing import confirmation as po
from tests.erp.po_support import actors, issued_order, snapshot, soon
from tests.portal.support import login, signed_in, text_of, token_in

VERSION = re.compile(r'name="version" value="(\d+)"')
REVISION = re.compile(r'name="revision" value="(\d+)"')


@pytest.fixture
def who(tx, world):
    return actors(tx, world)


def page_of(client, po_id):
    page = client.get(f"/purchase-orders/{po_id}")
    assert page.status_code == 200, text_of(page)
    return text_of(page)


def form_values(html: str) -> dict:
    """The hidden fields every form of the page carries."""
    values = {"csrf_token": token_in(html), "version": VERSION.search(html).group(1)}
    revision = REVISION.search(html)
    if revision:
        values["revision"] = revision.group(1)
    return values


def line_ids(html: str) -> list[str]:
    return re.findall(r'name="line-\d+-id" value="([0-9a-f-]+)"', html)


def answers(html: str, chosen: dict[int, dict]) -> dict:
    """The supplier's form: hidden fields plus {line index: {field: value}}."""
    data = form_values(html)
    for n, line_id in enumerate(line_ids(html)):
        data[f"line-{n}-id"] = line_id
        for field, value in chosen.get(n, {}).items():
            data[f"line-{n}-{field}"] = value
    return data


def pending_response_ids(tx, world, po_id) -> list[str]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        return [str(r.id) for d in detail.lines for r in d.responses if r.decision == "pending"]


def test_the_whole_confirmation_in_the_browser_client(app, tx, world, who):
    po_id = issued_order(tx, world, who, count=4, issue=False)
    buyer = signed_in(app, world.users["buyer"])
    html = page_of(buyer, po_id)
    assert "Issue to the supplier" in html and "Draft" in html
    issued = buyer.post(f"/purchase-orders/{po_id}/issue", data=form_values(html))
    assert issued.status_code == 303
    html = page_of(buyer, po_id)
    assert "The purchase order was issued to the supplier." in html and "Issue to the supplier" not in html

    # The supplier finds it on its home page and answers.
    supplier = signed_in(app, world.users["supplier1"])
    home = text_of(supplier.get("/supplier/"))
    assert f'href="/purchase-orders/{po_id}"' in home
    html = page_of(supplier, po_id)
    assert "Accept all open lines" in html and len(line_ids(html)) == 4
    later = soon(60)
    sent = supplier.post(
        f"/purchase-orders/{po_id}/responses",
        data=answers(
            html,
            {
                0: {"action": "accept"},
                1: {"action": "accept"},
                2: {"action": "propose", "promised_date": later.isoformat(), "comment": "Resin shortage"},
                3: {"action": "reject", "reason_code": "capacity"},
            },
        ),
    )
    assert sent.status_code == 303, text_of(sent)
    html = page_of(supplier, po_id)
    assert "Your answers were sent: 4 line(s)." in html
    assert "respond-title" not in html  # every line is answered: no form left
    assert "Resin shortage" in html and "Insufficient capacity" in html
    state = snapshot(tx, world, po_id)
    assert [line[0] for line in state["lines"]] == ["accepted", "accepted", "open", "open"]  # nothing changed yet
    assert state["lines"][2][3] is None

    # The buyer sees the proposal beside the order and accepts it with one click.
    html = page_of(buyer, po_id)
    assert "On the order" in html and "Proposed" in html
    with tx.uow(tenant_id=world.tenant_id) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        proposal = str(detail.lines[2].responses[0].id)
    decided = buyer.post(f"/purchase-orders/responses/{proposal}/decision", data=form_values(html) | {"accept": "1"})
    assert decided.status_code == 303, text_of(decided)
    state = snapshot(tx, world, po_id)
    assert [line[0] for line in state["lines"]] == ["accepted", "accepted", "accepted", "open"]
    assert state["lines"][2][3] == later
    assert state["order"][0] == "partially_acknowledged"

    # Both see the same final order and its history.
    for client in (buyer, supplier):
        html = page_of(client, po_id)
        assert "Partially acknowledged" in html
        assert "Accepted by the buyer" in html, html
        assert "Awaiting the buyer" in html
        assert "Issued to the supplier" in html

    # In Chinese too.
    token = token_in(html)
    supplier.post("/language", data={"locale": "zh_Hans_CN", "next": f"/purchase-orders/{po_id}", "csrf_token": token})
    html = page_of(supplier, po_id)
    assert 'lang="zh-Hans-CN"' in html and "部分确认" in html and "供应商" in html and "订单日期" in html


def test_the_audit_trail_is_for_those_who_may_read_it(app, tx, world, who):
    po_id = issued_order(tx, world, who, count=2)
    quality = page_of(signed_in(app, world.users["quality"]), po_id)  # holds audit.view
    assert "Audit trail" in quality
    assert "Created" in quality and "Changed" in quality
    buyer = page_of(signed_in(app, world.users["buyer"]), po_id)
    assert "Audit trail" not in buyer and "History" in buyer


def test_bad_answers_show_next_to_their_fields_and_change_nothing(app, tx, world, who):
    po_id = issued_order(tx, world, who, count=3)
    supplier = signed_in(app, world.users["supplier1"])
    html = page_of(supplier, po_id)
    before = snapshot(tx, world, po_id)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        requested = po.get_purchase_order_detail(uow, po_id=po_id).lines[0].line.requested_date
    response = supplier.post(
        f"/purchase-orders/{po_id}/responses",
        data=answers(
            html,
            {
                0: {"action": "propose", "promised_date": requested.isoformat(), "comment": "kept comment"},
                1: {"action": "propose", "promised_date": (soon(0) - timedelta(days=3)).isoformat()},
                2: {"action": "reject", "reason_code": ""},
            },
        ),
    )
    assert response.status_code == 422
    html = text_of(response)
    assert 'id="line-0-action-error"' in html and "A proposal must change the quantity" in html
    assert 'id="line-1-promised_date-error"' in html and "This date is in the past." in html
    assert 'id="line-2-reason_code-error"' in html and "Choose one of the reasons." in html
    assert 'value="kept comment"' in html  # what was typed stays
    assert snapshot(tx, world, po_id) == before

    # Nothing chosen at all: one message, nothing sent.
    response = supplier.post(f"/purchase-orders/{po_id}/responses", data=answers(html, {}))
    assert response.status_code == 422 and "Answer at least one line." in text_of(response)
    assert snapshot(tx, world, po_id) == before


def test_a_stale_copy_is_refused_with_a_way_to_reload(app, tx, world, who):
    po_id = issued_order(tx, world, who, count=3)
    supplier = signed_in(app, world.users["supplier1"])
    html = page_of(supplier, po_id)
    stale = answers(html, {0: {"action": "accept"}})
    accept_all = answers(html, {}) | {"accept_all": "1"}
    assert supplier.post(f"/purchase-orders/{po_id}/responses", data=stale).status_code == 303
    before = snapshot(tx, world, po_id)
    response = supplier.post(f"/purchase-orders/{po_id}/responses", data=accept_all)
    assert response.status_code == 409
    assert "changed by someone else" in text_of(response) and "Reload the purchase order" in text_of(response)
    assert snapshot(tx, world, po_id) == before

    # The buyer decides on an answer with a copy from before the supplier's next answer.
    fresh = page_of(supplier, po_id)
    rejected = supplier.post(
        f"/purchase-orders/{po_id}/responses", data=answers(fresh, {0: {"action": "reject", "reason_code": "price"}})
    )
    assert rejected.status_code == 303
    [rejection] = pending_response_ids(tx, world, po_id)
    buyer = signed_in(app, world.users["buyer"])
    html = page_of(buyer, po_id)
    fresh = page_of(supplier, po_id)
    assert supplier.post(f"/purchase-orders/{po_id}/responses", data=answers(fresh, {0: {"action": "accept"}})).status_code == 303
    before = snapshot(tx, world, po_id)
    response = buyer.post(f"/purchase-orders/responses/{rejection}/decision", data=form_values(html) | {"accept": "1"})
    assert response.status_code == 409 and "changed by someone else" in text_of(response)
    assert snapshot(tx, world, po_id) == before


def test_accept_all_accepts_every_open_line(app, tx, world, who):
    po_id = issued_order(tx, world, who, count=3)
    supplier = signed_in(app, world.users["supplier1"])
    html = page_of(supplier, po_id)
    response = supplier.post(f"/purchase-orders/{po_id}/responses", data=answers(html, {}) | {"accept_all": "1"})
    assert response.status_code == 303
    state = snapshot(tx, world, po_id)
    assert state["order"][0] == "acknowledged" and {line[0] for line in state["lines"]} == {"accepted"}


def test_another_supplier_finds_nothing_and_the_probe_is_noted(app, tx, world, other_world, who):
    po_id = issued_order(tx, world, who, count=1)
    other = signed_in(app, world.users["supplier2"])
    assert other.get(f"/purchase-orders/{po_id}").status_code == 404
    html = text_of(other.get("/supplier/"))
    response = other.post(
        f"/purchase-orders/{po_id}/responses", data={"csrf_token": token_in(html), "version": "1", "revision": "1"}
    )
    assert response.status_code == 404
    with tx.uow(tenant_id=world.tenant_id) as uow:
        kinds = uow.session.scalars(
            sa.select(SecurityEvent.kind).where(SecurityEvent.user_id == world.users["supplier2"].id)
        ).all()
    assert "isolation_denied" in kinds
    # A draft is not the supplier's to see.
    draft = issued_order(tx, world, who, count=1, issue=False)
    assert signed_in(app, world.users["supplier1"]).get(f"/purchase-orders/{draft}").status_code == 404
    # Another tenant's buyer neither.
    assert signed_in(app, other_world.users["buyer"]).get(f"/purchase-orders/{po_id}").status_code == 404


def test_a_viewer_sees_no_forms_and_may_not_post(app, tx, world, who):
    po_id = issued_order(tx, world, who, count=1)
    supplier = signed_in(app, world.users["supplier1"])
    html = page_of(supplier, po_id)
    supplier.post(f"/purchase-orders/{po_id}/responses", data=answers(html, {0: {"action": "reject", "reason_code": "price"}}))
    [rejection] = pending_response_ids(tx, world, po_id)
    viewer = signed_in(app, world.users["viewer"])
    html = page_of(viewer, po_id)
    assert "<form" not in html.split("</header>")[1].split("</main>")[0]
    before = snapshot(tx, world, po_id)
    data = form_values(html) if 'name="version"' in html else {"csrf_token": token_in(html), "version": "1"}
    assert viewer.post(f"/purchase-orders/responses/{rejection}/decision", data=data | {"accept": "1"}).status_code == 403
    assert viewer.post(f"/purchase-orders/{po_id}/issue", data=data).status_code == 403
    assert viewer.post(f"/purchase-orders/{po_id}/responses", data=data).status_code == 403
    assert snapshot(tx, world, po_id) == before


def test_the_thread_on_the_page_both_sides_and_bad_input(app, client, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    path = f"/purchase-orders/{po_id}"
    login(client, world.users["buyer"])
    page = client.get(path)
    assert "No messages yet." in text_of(page)
    empty = client.post(f"{path}/messages", data={"csrf_token": token_in(page.data), "body": "   "})
    assert empty.status_code == 422 and "Write a message or attach a file." in text_of(empty)
    sent = client.post(f"{path}/messages", data={"csrf_token": token_in(page.data), "body": "Can line 10 come early?"})
    assert sent.status_code == 303
    supplier = app.test_client()
    login(supplier, world.users["supplier1"])
    seen = supplier.get(path)
    assert "Can line 10 come early?" in text_of(seen)
    reply = supplier.post(f"{path}/messages", data={"csrf_token": token_in(seen.data), "body": "Yes: Friday."})
    assert reply.status_code == 303 and "Yes: Friday." in text_of(client.get(path))
    viewer = app.test_client()
    login(viewer, world.users["viewer"])
    shown = viewer.get(path)
    assert "Yes: Friday." in text_of(shown) and "Send the message" not in text_of(shown)
    assert viewer.post(f"{path}/messages", data={"csrf_token": token_in(shown.data), "body": "Hi"}).status_code == 403
