"""The purchase order lifecycle and the supplier's confirmation, line by line."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from audit.models import Event
from erp.purchasing import confirmation as po
from erp.purchasing.errors import (
    AlreadyDecided,
    NotAwaitingConfirmation,
    PurchaseOrderChanged,
    PurchaseOrderNotFound,
    ResponseNotFound,
    WrongStatus,
)
from erp.purchasing.models import PoReasonCode, PurchaseOrder
from kernel.clock import utcnow
from kernel.errors import Forbidden, ValidationFailed
from tenants import service as tenants
from tests.erp.po_support import issued_order, order_lines, snapshot, soon
from tests.factories import make_item


def detail(tx, world, po_id, actor=None):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        found = po.get_purchase_order_detail(uow, po_id=po_id)
        uow.session.expunge_all()  # read after the unit of work, as loaded
        return found


def respond(tx, world, who, po_id, responses, *, supplier="supplier1", revision=None, version=None):
    current = detail(tx, world, po_id).order
    actor = who[supplier]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        made = po.respond_to_purchase_order(
            uow,
            actor,
            po_id=po_id,
            revision=current.revision if revision is None else revision,
            version=current.version if version is None else version,
            responses=responses,
        )
        uow.commit()
        return [r.id for r in made]


def decide(tx, world, who, response_id, po_id, *, accept=True, note=None):
    version = detail(tx, world, po_id).order.version
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        po.decide_on_response(uow, who["buyer"], response_id=response_id, accept=accept, note=note, version=version)
        uow.commit()


def line_ids(tx, world, po_id):
    return [d.line.id for d in detail(tx, world, po_id).lines]


def orders_count(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder))


# -- creating and issuing --------------------------------------------------------------------


def test_a_buyer_creates_a_draft_with_ship_to_and_schedule(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        site = tenants.create_site(uow, organisation=tenants.own_organisation(uow), name="Main warehouse", kind="warehouse")
        lines = order_lines(world, 2)
        lines[0]["ship_to_site_id"] = site.id
        lines[1]["schedule"] = [{"quantity": "60", "date": soon(40)}, {"quantity": 40, "date": soon(50).isoformat()}]
        order = po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="eur", lines=lines)
        uow.commit()
    found = detail(tx, world, order.id)
    assert (found.order.status, found.order.currency, found.order.version, found.order.revision) == ("draft", "EUR", 1, 1)
    assert found.order.number.startswith(f"PO-{utcnow().year}-")
    assert [d.line.line_no for d in found.lines] == [10, 20]
    assert found.lines[0].line.ship_to_site_id == site.id and found.lines[0].line.status == "open"
    assert [(s.quantity, s.delivery_date) for s in found.lines[1].schedule] == [(60, soon(40)), (40, soon(50))]
    assert found.order.issued_at is None and found.acknowledgement_hours is None


def _kg_item(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, uom="KG")
        uow.commit()
    return item


BAD_LINES = [
    ("quantity", "0", "lines.0.quantity"),
    ("quantity", "-5", "lines.0.quantity"),
    ("quantity", "1.5", "lines.0.quantity"),  # EA: whole numbers
    ("quantity", "abc", "lines.0.quantity"),
    ("unit_price", "-0.01", "lines.0.unit_price"),
    ("unit_price", "1.0000001", "lines.0.unit_price"),
    ("requested_date", "past", "lines.0.requested_date"),
    ("currency", "USD", "lines.0.currency"),
    ("schedule", [{"quantity": "50", "date": "future"}], "lines.0.schedule"),  # 50 of 100
]


@pytest.mark.parametrize(("field", "value", "error"), BAD_LINES)
def test_bad_lines_are_refused_and_nothing_is_made(tx, world, who, field, value, error):
    line = order_lines(world, 1)[0]
    if value == "past":
        value = utcnow().date() - timedelta(days=1)
    if field == "schedule":
        value[0]["date"] = soon(40)
    line[field] = value
    before = orders_count(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(ValidationFailed) as info:
        po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=[line])
    assert error in info.value.errors
    assert orders_count(tx, world) == before


def test_quantities_take_the_decimals_their_unit_allows(tx, world, who):
    item = _kg_item(tx, world)
    line = {"item_id": item.id, "quantity": "2.5", "unit_price": "10", "requested_date": soon()}
    too_fine = {**line, "quantity": "2.5005"}
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        with pytest.raises(ValidationFailed) as info:
            po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=[too_fine])
        assert info.value.errors == {"lines.0.quantity": po.QUANTITY_DECIMALS}
        order = po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=[line])
        assert order.status == "draft"


def test_bad_headers_are_named(tx, world, other_world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        with pytest.raises(ValidationFailed) as info:
            po.create_purchase_order(uow, who["buyer"], supplier_id=other_world.suppliers[0].id, currency="EURO", lines=[])
    assert set(info.value.errors) == {"supplier_id", "currency", "lines"}


def test_a_supplier_site_is_no_ship_to(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        supplier_site = tenants.create_site(uow, organisation=world.suppliers[0], name="Their dock", kind="warehouse")
        uow.commit()
    line = {**order_lines(world, 1)[0], "ship_to_site_id": supplier_site.id}
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(ValidationFailed) as info:
        po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=[line])
    assert set(info.value.errors) == {"lines.0.ship_to_site_id"}


def test_only_po_managers_create_and_issue(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["viewer"]) as uow, pytest.raises(Forbidden):
        po.create_purchase_order(uow, who["viewer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=order_lines(world))
    draft = issued_order(tx, world, who, issue=False)
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow, pytest.raises(Forbidden):
        po.issue_purchase_order(uow, who["supplier1"], po_id=draft, version=1)


def test_issuing_sends_the_draft_once(tx, world, who):
    draft = issued_order(tx, world, who, issue=False)
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow, pytest.raises(PurchaseOrderNotFound):
        po.get_purchase_order_detail(uow, po_id=draft)  # a draft is not the supplier's yet
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        with pytest.raises(PurchaseOrderChanged):
            po.issue_purchase_order(uow, who["buyer"], po_id=draft, version=7)
        issued = po.issue_purchase_order(uow, who["buyer"], po_id=draft, version=1)
        assert (issued.status, issued.version) == ("issued", 2) and issued.issued_at is not None
        with pytest.raises(WrongStatus):
            po.issue_purchase_order(uow, who["buyer"], po_id=draft, version=2)


# -- the supplier's answers and the buyer's decisions -------------------------------------


def test_the_issue_demo_accept_propose_reject_then_the_buyer_decides(tx, world, who):
    order = issued_order(tx, world, who, count=4)
    one, two, three, four = line_ids(tx, world, order)
    later = soon(60)
    ids = respond(
        tx,
        world,
        who,
        order,
        [
            {"line_id": one, "action": "accept"},
            {"line_id": two, "action": "accept", "comment": "Fine"},
            {"line_id": three, "action": "propose", "promised_date": later, "comment": "Tooling"},
            {"line_id": four, "action": "reject", "reason_code": "capacity"},
        ],
    )
    seen = detail(tx, world, order)
    assert seen.order.status == "partially_acknowledged" and seen.order.acknowledged_at is None
    statuses = [(d.line.status, d.line.promised_date) for d in seen.lines]
    assert statuses[:2] == [("accepted", soon(30)), ("accepted", soon(31))]
    # Nothing changes on a line until the buyer accepts.
    assert statuses[2:] == [("open", None), ("open", None)]
    proposal = seen.lines[2].responses[0]
    assert (proposal.action, proposal.decision, proposal.promised_date) == ("propose", "pending", later)
    assert seen.lines[3].responses[0].reason_code == "capacity"

    decide(tx, world, who, ids[2], order)
    seen = detail(tx, world, order)
    assert (seen.lines[2].line.status, seen.lines[2].line.promised_date) == ("accepted", later)
    assert seen.order.status == "partially_acknowledged"

    decide(tx, world, who, ids[3], order, note="Buying elsewhere")
    seen = detail(tx, world, order)
    assert seen.lines[3].line.status == "cancelled" and seen.lines[3].responses[0].decision_note == "Buying elsewhere"
    assert seen.order.status == "acknowledged" and seen.order.acknowledged_at is not None
    assert 0 <= seen.acknowledgement_hours < 1

    with tx.uow(tenant_id=world.tenant_id) as uow:
        events = list(
            uow.execute(
                sa.select(Event.table_name, Event.action, Event.row_id, Event.new_values).where(
                    Event.row_id.in_([str(x) for x in (order, one, three, four, *ids)])
                )
            )
        )
    tables = {(e.table_name, e.action) for e in events}
    assert {("po_line_response", "I"), ("po_line_response", "U"), ("purchase_order_line", "U"), ("purchase_order", "U")} <= tables
    assert any(e.row_id == str(three) and e.new_values.get("promised_date") == later.isoformat() for e in events)
    assert any(e.row_id == str(order) and e.new_values.get("status") == "acknowledged" for e in events)


def test_a_split_proposal_becomes_the_lines_schedule(tx, world, who):
    order = issued_order(tx, world, who, count=1)
    [line] = line_ids(tx, world, order)
    split = [{"quantity": "90", "date": soon(35)}, {"quantity": "30", "date": soon(70)}]
    [proposal] = respond(tx, world, who, order, [{"line_id": line, "action": "propose", "quantity": "120", "schedule": split}])
    assert detail(tx, world, order).lines[0].line.quantity == 100
    decide(tx, world, who, proposal, order)
    seen = detail(tx, world, order).lines[0]
    assert (seen.line.quantity, seen.line.status, seen.line.promised_date) == (120, "accepted", soon(70))
    assert [(s.seq, s.quantity, s.delivery_date) for s in seen.schedule] == [(1, 90, soon(35)), (2, 30, soon(70))]


def test_a_rejected_proposal_leaves_the_line_open_to_answer_again(tx, world, who):
    order = issued_order(tx, world, who, count=1)
    [line] = line_ids(tx, world, order)
    [proposal] = respond(tx, world, who, order, [{"line_id": line, "action": "propose", "unit_price": "2.75"}])
    with pytest.raises(ValidationFailed) as info:  # pending: not again
        respond(tx, world, who, order, [{"line_id": line, "action": "accept"}])
    assert info.value.errors == {"responses.0.line_id": po.ANSWERED}
    decide(tx, world, who, proposal, order, accept=False, note="Price as agreed")
    seen = detail(tx, world, order)
    assert (seen.lines[0].line.status, seen.lines[0].line.unit_price, seen.order.status) == ("open", Decimal("2.5"), "issued")
    respond(tx, world, who, order, [{"line_id": line, "action": "accept"}])
    assert detail(tx, world, order).order.status == "acknowledged"
    with pytest.raises(NotAwaitingConfirmation):
        respond(tx, world, who, order, [{"line_id": line, "action": "accept"}])


def test_a_decision_is_made_once_by_a_po_manager(tx, world, other_world, who):
    order = issued_order(tx, world, who, count=1)
    [line] = line_ids(tx, world, order)
    [rejection] = respond(tx, world, who, order, [{"line_id": line, "action": "reject", "reason_code": "price"}])
    version = detail(tx, world, order).order.version
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow, pytest.raises(Forbidden):
        po.decide_on_response(uow, who["supplier1"], response_id=rejection, accept=True, version=version)
    with tx.uow(tenant_id=other_world.tenant_id) as uow, pytest.raises(ResponseNotFound):
        po.decide_on_response(uow, uow.actor, response_id=rejection, accept=True, version=version)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(PurchaseOrderChanged):
        po.decide_on_response(uow, who["buyer"], response_id=rejection, accept=True, version=version - 1)
    decide(tx, world, who, rejection, order, accept=False)
    with pytest.raises(AlreadyDecided):
        decide(tx, world, who, rejection, order)


# -- bad answers change nothing ------------------------------------------------------------


def _bad_answers(line, other_line):
    past = utcnow().date() - timedelta(days=1)
    return [
        ({"line_id": line, "action": "propose", "quantity": "0"}, "responses.0.quantity"),
        ({"line_id": line, "action": "propose", "quantity": "-3"}, "responses.0.quantity"),
        ({"line_id": line, "action": "propose", "quantity": "99.5"}, "responses.0.quantity"),
        ({"line_id": line, "action": "propose", "unit_price": "2.40", "currency": "USD"}, "responses.0.currency"),
        ({"line_id": line, "action": "propose", "promised_date": past}, "responses.0.promised_date"),
        ({"line_id": line, "action": "accept", "promised_date": past}, "responses.0.promised_date"),
        ({"line_id": line, "action": "accept", "promised_date": soon(90)}, "responses.0.promised_date"),
        ({"line_id": line, "action": "accept", "quantity": "90"}, "responses.0.quantity"),
        ({"line_id": line, "action": "propose", "quantity": "100", "unit_price": "2.5"}, "responses.0.action"),
        ({"line_id": line, "action": "propose"}, "responses.0.action"),
        ({"line_id": line, "action": "reject"}, "responses.0.reason_code"),
        ({"line_id": line, "action": "reject", "reason_code": "nonsense"}, "responses.0.reason_code"),
        ({"line_id": line, "action": "reject", "reason_code": "other"}, "responses.0.reason_code"),  # made inactive
        ({"line_id": line, "action": "maybe"}, "responses.0.action"),
        (
            {
                "line_id": line,
                "action": "propose",
                "schedule": [{"quantity": "60", "date": soon()}, {"quantity": "30", "date": soon()}],
            },
            "responses.0.schedule",
        ),
        (
            {"line_id": line, "action": "propose", "schedule": [{"quantity": "100", "date": past}]},
            "responses.0.schedule.0.date",
        ),
        ({"line_id": other_line, "action": "accept"}, "responses.0.line_id"),
    ]


def test_bad_answers_are_refused_and_change_nothing(tx, world, who):
    order = issued_order(tx, world, who, count=1)
    other = issued_order(tx, world, who, count=1)
    [line] = line_ids(tx, world, order)
    [other_line] = line_ids(tx, world, other)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        po.reason_codes(uow)
        uow.execute(sa.update(PoReasonCode).where(PoReasonCode.code == "other").values(is_active=False))
        uow.commit()
    before = snapshot(tx, world, order)
    for answer, error in _bad_answers(line, other_line):
        with pytest.raises(ValidationFailed) as info:
            respond(tx, world, who, order, [answer])
        assert error in info.value.errors, (answer, info.value.errors)
        assert snapshot(tx, world, order) == before, answer
    # One bad answer refuses the good ones beside it.
    with pytest.raises(ValidationFailed):
        respond(tx, world, who, order, [{"line_id": line, "action": "accept"}, {"line_id": line, "action": "accept"}])
    assert snapshot(tx, world, order) == before


def test_a_stale_revision_or_version_is_refused(tx, world, who):
    order = issued_order(tx, world, who, count=2)
    first, second = line_ids(tx, world, order)
    current = detail(tx, world, order).order
    before = snapshot(tx, world, order)
    for revision, version in ((current.revision + 1, current.version), (current.revision, current.version - 1)):
        with pytest.raises(PurchaseOrderChanged) as info:
            respond(tx, world, who, order, [{"line_id": first, "action": "accept"}], revision=revision, version=version)
        assert info.value.status == 409
        assert snapshot(tx, world, order) == before
    # Someone answered meanwhile: the copy opened before is stale.
    respond(tx, world, who, order, [{"line_id": first, "action": "accept"}])
    with pytest.raises(PurchaseOrderChanged):
        respond(tx, world, who, order, [{"line_id": second, "action": "accept"}], version=current.version)


def test_a_write_from_a_stale_copy_fails_cleanly(tx, world, who):
    # The version check in the service comes first; the version column catches a write
    # that slipped past it (someone committed between the read and the write).
    order = issued_order(tx, world, who, count=1)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        copy = uow.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.id == order))
        table = PurchaseOrder.__table__
        uow.execute(sa.update(table).where(table.c.id == order).values(version=table.c.version + 1))
        copy.status = "cancelled"
        with pytest.raises(PurchaseOrderChanged):
            po._write(uow, copy)
    assert detail(tx, world, order).order.status == "issued"


def test_a_supplier_acting_on_another_suppliers_order_finds_nothing(tx, world, other_world, who):
    order = issued_order(tx, world, who, count=1)
    [line] = line_ids(tx, world, order)
    before = snapshot(tx, world, order)
    with pytest.raises(PurchaseOrderNotFound):
        respond(tx, world, who, order, [{"line_id": line, "action": "accept"}], supplier="supplier2")
    with pytest.raises(PurchaseOrderNotFound):
        detail(tx, world, order, actor=who["supplier2"])
    with tx.uow(tenant_id=other_world.tenant_id) as uow, pytest.raises(PurchaseOrderNotFound):
        po.get_purchase_order_detail(uow, po_id=order)
    assert snapshot(tx, world, order) == before


def test_buyers_do_not_answer_for_the_supplier(tx, world, who):
    order = issued_order(tx, world, who, count=1)
    [line] = line_ids(tx, world, order)
    with pytest.raises(Forbidden):
        respond(tx, world, who, order, [{"line_id": line, "action": "accept"}], supplier="buyer")


def test_reason_codes_are_the_tenants_list_made_once(tx, world, other_world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        codes = po.reason_codes(uow)
        again = po.reason_codes(uow)
        assert [c.code for c in codes] == [c.code for c in again] == [c for c, _, _ in po.DEFAULT_REASON_CODES]
        assert {c.code: c.name_zh for c in codes}["capacity"] == "产能不足"
        uow.execute(sa.update(PoReasonCode).where(PoReasonCode.code == "spec").values(is_active=False))
        assert "spec" not in {c.code for c in po.reason_codes(uow, active_only=True)}
        uow.commit()
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert "spec" in {c.code for c in po.reason_codes(uow, active_only=True)}
