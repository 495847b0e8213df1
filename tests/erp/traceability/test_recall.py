"""Recall cases: opened from a trace with the scope where each unit is, the scope reviewed
with reasons, stock held (blocking consumption and shipment), suppliers notified in their
portal (each its own notice only), customers emailed in their language (real SMTP),
returns and destruction, located lines, and the signed close."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from babel.support import Translations

from auth.errors import SignatureRefused
from auth.models import Signature
from erp.inventory import service as inventory
from erp.inventory.models import Stock, StockMovement
from erp.traceability import recall as recalls
from erp.traceability import service as records
from erp.traceability.models import Recall, RecallAction, RecallNotice
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kernel.mail import TRANSLATIONS_DIR
from portal.jobs import dispatcher
from tests.erp.receiving.receiving_support import item, receive, signing
from tests.erp.traceability.recall_support import make_chain, make_snapshot, quantities
from tests.erp.traceability.recall_support import who as who  # the fixture
from tests.factories import PASSWORD, unique

D = Decimal


def _open(uow, who, chain, **kw):
    values = {
        "title": "Tubing seal defect",
        "reason": "The supplier reported leaking seals in lot 7.",
        "classification": "class_ii",
    }
    return recalls.open_recall(uow, who["quality"], snapshot_id=chain.snapshot.id, **(values | kw))


def _lines(uow, who, recall, *, place=None, lot=None):
    return [
        s
        for s in recalls.scope_of(uow, who["quality"], recall_id=recall.id)
        if (place is None or s.place == place) and (lot is None or s.lot_id == lot.id)
    ]


def _statuses(uow, lot_id) -> dict:
    rows = uow.session.scalars(sa.select(Stock).where(Stock.lot_id == lot_id, Stock.quantity > 0))
    found: dict = {}
    for s in rows:
        found[s.status] = found.get(s.status, D(0)) + s.quantity
    return found


def _locate_customers(uow, who, recall):
    for line in _lines(uow, who, recall, place="customer"):
        recalls.mark_located(uow, who["quality"], scope_id=line.id, note="The hospital confirmed by phone")


def test_opening_from_a_trace_finds_where_every_unit_is(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        assert recall.number.startswith("RC-") and recall.status == "open" and not recall.mock
        assert recall.trace_snapshot_id == chain.snapshot.id and recall.opened_by == who["quality"].user_id
        component = _lines(uow, who, recall, lot=chain.component_lot)
        assert quantities(component) == {("stock", D(90)): 1, ("consumed", D(10)): 1}
        assert {(s.place, s.state, s.location_id) for s in component} == {
            ("stock", "located", chain.store.id),
            ("consumed", "located", None),
        }
        assert all(s.supplier_id == world.suppliers[0].id for s in component)
        finished = _lines(uow, who, recall, lot=chain.finished_lot)
        assert quantities(finished) == {("stock", D(8)): 1, ("customer", D(8)): 1, ("customer", D(4)): 1}
        at_customers = {s.customer_id: (s.quantity, s.state) for s in finished if s.place == "customer"}
        assert at_customers == {chain.english.id: (D(8), "to_locate"), chain.chinese.id: (D(4), "to_locate")}
        assert recall.all_located_at is None
        progress = recalls.progress(uow, who["quality"], recall_id=recall.id)
        assert (progress.lines, progress.located, progress.to_locate, progress.held) == (5, 3, 2, 0)
        assert progress.quantity == D(120) and progress.by_place == {"stock": 2, "consumed": 1, "customer": 2}
        assert recall in recalls.list_recalls(uow, who["quality"], state="open").items
        assert recall not in recalls.list_recalls(uow, who["quality"], state="mock").items
        second = _open(uow, who, chain)
        assert int(second.number.rsplit("-", 1)[1]) == int(recall.number.rsplit("-", 1)[1]) + 1


def test_a_unit_nobody_can_account_for_is_unknown(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        snapshot = make_snapshot(
            uow,
            who["quality"],
            code="SN-404",
            affected=[
                {
                    "item_id": str(chain.finished.id),
                    "lot_id": str(chain.finished_lot.id),
                    "serial": "SN-404",
                    "quantity": "1",
                    "supplier_id": None,
                },
                {
                    "item_id": str(chain.component.id),
                    "lot_id": str(chain.component_lot.id),
                    "serial": None,
                    "quantity": "130",
                    "supplier_id": str(world.suppliers[0].id),
                },
            ],
        )
        recall = recalls.open_recall(
            uow, who["quality"], snapshot_id=snapshot.id, title="T", reason="R", classification="class_iii"
        )
        lines = recalls.scope_of(uow, who["quality"], recall_id=recall.id)
        assert quantities(lines) == {("unknown", D(1)): 1, ("stock", D(90)): 1, ("consumed", D(10)): 1, ("unknown", D(30)): 1}
        assert {s.serial for s in lines if s.place == "unknown"} == {"SN-404", None}


def test_opening_checks_what_it_is_given(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        with pytest.raises(ValidationFailed) as refused:
            recalls.open_recall(uow, who["quality"], snapshot_id=None, title=" ", reason="", classification="class_x")
        assert set(refused.value.errors) == {"snapshot_id", "title", "reason", "classification"}
        empty = make_snapshot(uow, who["quality"], code="X", affected=[])
        with pytest.raises(Conflict):
            recalls.open_recall(uow, who["quality"], snapshot_id=empty.id, title="T", reason="R", classification="class_i")
        for person in ("viewer", "warehouse", "supplier1"):
            with pytest.raises(Forbidden):
                recalls.open_recall(
                    uow, who[person], snapshot_id=chain.snapshot.id, title="T", reason="R", classification="class_i"
                )
        assert uow.scalar(sa.select(sa.func.count()).select_from(Recall)) == 0


def test_the_scope_changes_only_with_a_reason(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        [consumed] = _lines(uow, who, recall, place="consumed")
        with pytest.raises(ValidationFailed) as refused:
            recalls.take_out_of_scope(uow, who["quality"], scope_id=consumed.id, reason="  ")
        assert refused.value.errors == {"reason": recalls.REASON_NEEDED}
        assert consumed.included
        out = recalls.take_out_of_scope(uow, who["quality"], scope_id=consumed.id, reason="Consumed units are covered by FG")
        assert not out.included and out.reason == "Consumed units are covered by FG"
        with pytest.raises(Conflict):
            recalls.take_out_of_scope(uow, who["quality"], scope_id=consumed.id, reason="again")

        # Add a unit by its code: another lot of the component, received later.
        other = receive(
            uow, who["warehouse"], supplier=world.suppliers[0], item_id=chain.component.id, quantity="40", at=chain.store
        )
        code = f"(01){chain.component.udi_di}(10){other.lot.number}"
        with pytest.raises(ValidationFailed) as no_reason:
            recalls.add_to_scope(uow, who["quality"], recall_id=recall.id, code=code, reason="")
        assert "reason" in no_reason.value.errors
        added = recalls.add_to_scope(uow, who["quality"], recall_id=recall.id, code=code, reason="Same seal batch")
        assert [(s.place, s.quantity, s.lot_id, s.reason) for s in added] == [("stock", D(40), other.lot.id, "Same seal batch")]
        with pytest.raises(ValidationFailed) as twice:
            recalls.add_to_scope(uow, who["quality"], recall_id=recall.id, code=code, reason="again")
        assert twice.value.errors == {"code": recalls.ALREADY_IN}
        for bad in ("not a code", f"(01){chain.component.udi_di}(10)NO-SUCH-LOT"):
            with pytest.raises(ValidationFailed) as wrong:
                recalls.add_to_scope(uow, who["quality"], recall_id=recall.id, code=bad, reason="r")
            assert "code" in wrong.value.errors
        # Taken out, it comes back in with the reason.
        back = recalls.add_to_scope(
            uow,
            who["quality"],
            recall_id=recall.id,
            code=f"(01){chain.component.udi_di}(10){chain.component_lot.number}",
            reason="Put back after review",
        )
        assert {s.id for s in back} >= {consumed.id} and all(s.included for s in back)
        changes = uow.session.scalars(
            sa.select(RecallAction).where(RecallAction.recall_id == recall.id, RecallAction.kind == "scope_change")
        ).all()
        assert {a.note for a in changes} == {"Consumed units are covered by FG", "Same seal batch", "Put back after review"}
        assert all(a.done_by == who["quality"].user_id for a in changes)


def test_hold_puts_stock_on_hold_at_once_and_blocks_consumption_and_shipment(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        held = recalls.hold_stock(uow, who["quality"], recall_id=recall.id)
        assert {(s.lot_id, s.quantity) for s in held} == {(chain.component_lot.id, D(90)), (chain.finished_lot.id, D(8))}
        assert all(s.state == "held" for s in held)
        assert _statuses(uow, chain.component_lot.id) == {"on_hold": D(90), "consumed": D(10)}
        assert _statuses(uow, chain.finished_lot.id) == {"on_hold": D(8), "shipped": D(12)}
        moves = uow.session.scalars(sa.select(StockMovement).where(StockMovement.kind == "hold")).all()
        assert {(m.reference_kind, m.reference_id, m.to_status) for m in moves} == {("recall", recall.id, "on_hold")}
        stock = uow.session.scalars(
            sa.select(Stock).where(Stock.lot_id == chain.component_lot.id, Stock.status == "on_hold")
        ).one()
        with pytest.raises(Conflict) as refused:
            inventory.consume(uow, who["warehouse"], stock_id=stock.id, quantity="1")
        assert refused.value.message == inventory.NOT_RELEASED["on_hold"]
        with pytest.raises(ValidationFailed):
            records.record_shipment(
                uow,
                who["warehouse"],
                reference=unique("DN-"),
                customer_id=chain.english.id,
                shipped_at=chain.snapshot.run_at,
                lines=[records.ShippedUnit(item_id=chain.finished.id, quantity=1, lot_id=chain.finished_lot.id)],
            )
        with pytest.raises(Conflict):  # nothing left to hold
            recalls.hold_stock(uow, who["quality"], recall_id=recall.id)
        progress = recalls.progress(uow, who["quality"], recall_id=recall.id)
        assert (progress.held, progress.held_quantity) == (2, D(98))
        kinds = [a.kind for a in recalls.timeline(uow, who["quality"], recall_id=recall.id)]
        assert kinds.count("hold") == 2


def test_suppliers_see_their_own_notice_only_and_acknowledge_it(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        [notice] = recalls.notify_suppliers(uow, who["quality"], recall_id=recall.id, message="Quarantine lot 7 at your site.")
        assert notice.supplier_id == world.suppliers[0].id and notice.message == "Quarantine lot 7 at your site."
        assert [(lot["lot"], lot["quantity"]) for lot in notice.lots] == [(chain.component_lot.number, "100")]
        assert recalls.notify_suppliers(uow, who["quality"], recall_id=recall.id) == []  # once per supplier
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert [n.id for n in recalls.supplier_notices(uow, who["supplier1"]).items] == [notice.id]
        _, its_recall = recalls.get_notice(uow, who["supplier1"], notice_id=notice.id)
        assert its_recall.number == recall.number
        with pytest.raises(ValidationFailed) as empty:
            recalls.acknowledge_notice(uow, who["supplier1"], notice_id=notice.id, response=" ")
        assert "response" in empty.value.errors
        done = recalls.acknowledge_notice(uow, who["supplier1"], notice_id=notice.id, response="Lot 7 quarantined here too.")
        assert done.acknowledged_by == who["supplier1"].user_id and done.acknowledged_at is not None
        with pytest.raises(Conflict):
            recalls.acknowledge_notice(uow, who["supplier1"], notice_id=notice.id, response="again")
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        assert recalls.supplier_notices(uow, who["supplier2"]).items == []
        with pytest.raises(NotFound):
            recalls.get_notice(uow, who["supplier2"], notice_id=notice.id)
        with pytest.raises(NotFound):
            recalls.acknowledge_notice(uow, who["supplier2"], notice_id=notice.id, response="not ours")
        with pytest.raises(Forbidden):
            recalls.get_recall(uow, who["supplier2"], recall_id=recall.id)
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        with pytest.raises(Forbidden):  # the buyer side does not acknowledge for the supplier
            recalls.acknowledge_notice(uow, who["quality"], notice_id=notice.id, response="x")
        timeline = recalls.timeline(uow, who["quality"], recall_id=recall.id)
        assert [(a.kind, a.note) for a in timeline][-1] == ("note", "Lot 7 quarantined here too.")


def _deliver(tx, settings, tenant_id) -> None:
    with tx.uow(tenant_id=tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()


def test_customers_are_emailed_in_their_language(tx, world, who, settings, mailbox):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        sent = recalls.notify_customers(uow, who["quality"], recall_id=recall.id)
        assert {c.id for c in sent.notified} == {chain.english.id, chain.chinese.id} and sent.without_email == []
        again = recalls.notify_customers(uow, who["quality"], recall_id=recall.id)
        assert again.notified == []  # each customer once
        uow.commit()
    _deliver(tx, settings, world.tenant_id)
    received = {m["To"]: m for m in mailbox}
    assert set(received) == {chain.english.email, chain.chinese.email}
    english, chinese = received[chain.english.email], received[chain.chinese.email]
    assert english["Subject"] == f"Recall notice {recall.number} from Tenant {world.slug}"
    assert english["Content-Language"] == "en"
    body = english.get_body(("plain",)).get_content()
    assert "Dear City Hospital," in body and chain.finished_lot.number in body and "Quantity 8" in body
    assert "Class II" in body and "leaking seals" in body
    assert chinese["Content-Language"] == "zh-Hans-CN"
    zh = Translations.load(str(TRANSLATIONS_DIR), ["zh_Hans_CN"])
    expected = zh.gettext("Recall notice %(number)s from %(company)s") % {
        "number": recall.number,
        "company": f"租户 {world.slug}",
    }
    assert chinese["Subject"] == expected
    zh_body = chinese.get_body(("plain",)).get_content()
    assert "上海第一医院" in zh_body and "输液器" in zh_body and "年" in zh_body  # the Chinese name and date
    assert chain.finished_lot.number in zh_body and chain.english.email not in zh_body


def test_a_customer_without_email_is_listed_to_call(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        chain.chinese.email = None
        uow.flush()
        recall = _open(uow, who, chain)
        sent = recalls.notify_customers(uow, who["quality"], recall_id=recall.id)
        assert [c.id for c in sent.notified] == [chain.english.id] and [c.id for c in sent.without_email] == [chain.chinese.id]


def test_returns_are_at_most_what_was_shipped(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        line = next(s for s in _lines(uow, who, recall, place="customer") if s.customer_id == chain.english.id)
        for bad in ("0", "-1", "x", ""):
            with pytest.raises(ValidationFailed) as refused:
                recalls.record_return(uow, who["quality"], scope_id=line.id, quantity=bad)
            assert refused.value.errors == {"quantity": recalls.QUANTITY_POSITIVE}
        with pytest.raises(ValidationFailed) as too_many:
            recalls.record_return(uow, who["quality"], scope_id=line.id, quantity="9")
        assert too_many.value.errors == {"quantity": recalls.MORE_THAN_SHIPPED} and too_many.value.params == {"open": "8"}
        part = recalls.record_return(uow, who["quality"], scope_id=line.id, quantity="3", note="Box 1")
        assert (part.returned_quantity, part.state) == (D(3), "located")
        with pytest.raises(ValidationFailed):
            recalls.record_return(uow, who["quality"], scope_id=line.id, quantity="6")
        rest = recalls.record_return(uow, who["quality"], scope_id=line.id, quantity="5")
        assert (rest.returned_quantity, rest.state) == (D(8), "returned")
        [stock_line] = _lines(uow, who, recall, place="stock", lot=chain.finished_lot)
        with pytest.raises(Conflict):
            recalls.record_return(uow, who["quality"], scope_id=stock_line.id, quantity="1")
        assert recalls.progress(uow, who["quality"], recall_id=recall.id).returned_quantity == D(8)


def test_destruction_rejects_held_stock(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        recalls.hold_stock(uow, who["quality"], recall_id=recall.id)
        [line] = _lines(uow, who, recall, place="stock", lot=chain.component_lot)
        with pytest.raises(ValidationFailed):
            recalls.record_destruction(uow, who["quality"], scope_id=line.id, quantity="91")
        done = recalls.record_destruction(uow, who["quality"], scope_id=line.id, quantity="90", note="Incinerated, cert 12")
        assert (done.destroyed_quantity, done.state) == (D(90), "destroyed")
        assert _statuses(uow, chain.component_lot.id) == {"rejected": D(90), "consumed": D(10)}


def test_all_located_and_the_signed_close(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        with pytest.raises(Conflict) as early:
            recalls.close_recall(uow, who["quality"], recall_id=recall.id, password=PASSWORD, **signing(settings))
        assert early.value.message == recalls.NOT_ALL_LOCATED and early.value.params == {"open": 2}
        line = _lines(uow, who, recall, place="customer")[0]
        with pytest.raises(ValidationFailed) as no_note:
            recalls.mark_located(uow, who["quality"], scope_id=line.id, note="")
        assert no_note.value.errors == {"note": recalls.NOTE_NEEDED}
        _locate_customers(uow, who, recall)
        assert recall.all_located_at is not None and recalls.progress(uow, who["quality"], recall_id=recall.id).all_located
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        with pytest.raises(SignatureRefused):
            recalls.close_recall(uow, who["quality"], recall_id=recall.id, password="wrong password", **signing(settings))
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        assert uow.session.get(Recall, (world.tenant_id, recall.id)).status == "open"
        closed = recalls.close_recall(uow, who["quality"], recall_id=recall.id, password=PASSWORD, **signing(settings))
        assert (closed.status, closed.closed_by) == ("closed", who["quality"].user_id) and closed.closed_at is not None
        signature = uow.session.get(Signature, (world.tenant_id, closed.signature_id))
        assert (signature.record_type, signature.record_id, signature.meaning) == ("recall", recall.id, "approved")
        view = recalls.signature_of(uow, closed)
        assert view.matches and view.printed_name
        with pytest.raises(Conflict):
            recalls.hold_stock(uow, who["quality"], recall_id=recall.id)
        with pytest.raises(Conflict):
            recalls.close_recall(uow, who["quality"], recall_id=recall.id, password=PASSWORD, **signing(settings))
        assert [r.id for r in recalls.list_recalls(uow, who["quality"], state="closed").items] == [recall.id]


def test_another_tenant_sees_no_recall(tx, world, other_world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _open(uow, who, chain)
        recalls.notify_suppliers(uow, who["quality"], recall_id=recall.id)
        uow.commit()
    from tests.erp.traceability.recall_support import people

    strangers = people(tx, other_world)
    with tx.uow(tenant_id=other_world.tenant_id, actor=strangers["quality"]) as uow:
        with pytest.raises(NotFound):
            recalls.get_recall(uow, strangers["quality"], recall_id=recall.id)
        assert recalls.list_recalls(uow, strangers["quality"]).items == []
        assert uow.scalar(sa.select(sa.func.count()).select_from(RecallNotice)) == 0
        with pytest.raises(ValidationFailed):
            recalls.open_recall(
                uow, strangers["quality"], snapshot_id=chain.snapshot.id, title="T", reason="R", classification="class_i"
            )


def test_scope_lines_of_unused_items_are_kept_apart(tx, world, who):
    """A lot of another item with the same number is not pulled in by a code."""
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        other = item(uow)
        receive(uow, who["warehouse"], supplier=world.suppliers[1], item_id=other.id, lot_number=chain.component_lot.number)
        recall = _open(uow, who, chain)
        assert {s.item_id for s in recalls.scope_of(uow, who["quality"], recall_id=recall.id)} == {
            chain.component.id,
            chain.finished.id,
        }


def test_a_recall_opens_from_a_real_trace(tx, world, who):
    """With erp.traceability.trace.run_trace: the component lot traced forward."""
    from erp.traceability.trace import run_trace

    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        snapshot = run_trace(
            uow, who["quality"], code=f"(01){chain.component.udi_di}(10){chain.component_lot.number}", reason="Seal defect"
        )
        recall = recalls.open_recall(
            uow, who["quality"], snapshot_id=snapshot.id, title="T", reason="R", classification="class_i"
        )
        lines = recalls.scope_of(uow, who["quality"], recall_id=recall.id)
        assert {s.lot_id for s in lines} == {chain.component_lot.id, chain.finished_lot.id}
        assert quantities([s for s in lines if s.lot_id == chain.finished_lot.id]) == {
            ("stock", D(8)): 1,
            ("customer", D(8)): 1,
            ("customer", D(4)): 1,
        }
