"""Mock recalls: the same flow as practice. No stock changes, nothing is sent to suppliers
or customers (each action records what it would have done), and the time from opening to
"all located" is kept: the figure auditors ask for."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from erp.inventory.models import Stock, StockMovement
from erp.traceability import recall as recalls
from erp.traceability.models import Recall, RecallAction, RecallNotice
from kernel.outbox import OutboxMessage
from portal.jobs import dispatcher
from tests.erp.receiving.receiving_support import signing
from tests.erp.traceability.recall_support import make_chain, quantities
from tests.erp.traceability.recall_support import who as who  # the fixture
from tests.factories import PASSWORD

D = Decimal


def _mock(uow, who, chain):
    return recalls.open_recall(
        uow,
        who["quality"],
        snapshot_id=chain.snapshot.id,
        title="Practice: tubing",
        reason="Annual mock recall",
        classification="class_ii",
        mock=True,
    )


def test_a_mock_recall_changes_no_stock_and_sends_nothing(tx, world, who, settings, mailbox):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        before = {(s.id, s.status, s.quantity) for s in uow.session.scalars(sa.select(Stock))}
        recall = _mock(uow, who, chain)
        assert recall.mock and recall.number.startswith("MR-")
        assert quantities(recalls.scope_of(uow, who["quality"], recall_id=recall.id)) == {
            ("stock", D(90)): 1,
            ("consumed", D(10)): 1,
            ("stock", D(8)): 1,
            ("customer", D(8)): 1,
            ("customer", D(4)): 1,
        }
        held = recalls.hold_stock(uow, who["quality"], recall_id=recall.id)
        assert {s.state for s in held} == {"held"} and len(held) == 2
        assert recalls.notify_suppliers(uow, who["quality"], recall_id=recall.id) == []
        sent = recalls.notify_customers(uow, who["quality"], recall_id=recall.id)
        assert {c.id for c in sent.notified} == {chain.english.id, chain.chinese.id}
        # Recorded, as what would have been done, and nothing else.
        after = {(s.id, s.status, s.quantity) for s in uow.session.scalars(sa.select(Stock))}
        assert after == before
        assert uow.scalar(sa.select(sa.func.count()).select_from(StockMovement).where(StockMovement.kind == "hold")) == 0
        assert uow.scalar(sa.select(sa.func.count()).select_from(RecallNotice)) == 0
        topics = set(uow.session.scalars(sa.select(OutboxMessage.topic)))
        assert "mail.send" not in topics and "recall.stock_held" not in topics
        kinds = [a.kind for a in recalls.timeline(uow, who["quality"], recall_id=recall.id)]
        assert kinds.count("hold") == 2 and kinds.count("notify_supplier") == 1 and kinds.count("notify_customer") == 2
        # Asked again, the same suppliers and customers are not recorded twice.
        recalls.notify_suppliers(uow, who["quality"], recall_id=recall.id)
        assert recalls.notify_customers(uow, who["quality"], recall_id=recall.id).notified == []
        assert (
            uow.scalar(
                sa.select(sa.func.count())
                .select_from(RecallAction)
                .where(RecallAction.kind.in_(["notify_supplier", "notify_customer"]))
            )
            == 3
        )
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()
    assert mailbox == []
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        assert recalls.list_recalls(uow, who["quality"], state="mock").items[0].id == recall.id
        assert recalls.list_recalls(uow, who["quality"], state="open").items == []


def test_a_mock_recall_is_timed_from_opening_to_all_located(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _mock(uow, who, chain)
        assert recall.all_located_at is None
        assert recalls.progress(uow, who["quality"], recall_id=recall.id).elapsed is None
        # Opened two hours ago (the practice started then).
        uow.execute(sa.update(Recall).where(Recall.id == recall.id).values(created_at=Recall.created_at - timedelta(hours=2)))
        uow.session.expire(recall)
        customers = [s for s in recalls.scope_of(uow, who["quality"], recall_id=recall.id) if s.place == "customer"]
        recalls.mark_located(uow, who["quality"], scope_id=customers[0].id, note="Confirmed by phone")
        assert recall.all_located_at is None
        recalls.record_return(uow, who["quality"], scope_id=customers[1].id, quantity=customers[1].quantity)
        progress = recalls.progress(uow, who["quality"], recall_id=recall.id)
        assert progress.all_located and recall.all_located_at is not None
        assert timedelta(hours=2) <= progress.elapsed < timedelta(hours=2, minutes=5)
        assert recalls.format_elapsed(progress.elapsed).startswith("2:0")
        assert (progress.located, progress.to_locate, progress.percent_located) == (5, 0, 100)
        # The figure stays when the recall is closed (signed, like a real one).
        closed = recalls.close_recall(uow, who["quality"], recall_id=recall.id, password=PASSWORD, **signing(settings))
        assert (
            closed.status == "closed" and recalls.progress(uow, who["quality"], recall_id=recall.id).elapsed == progress.elapsed
        )


def test_a_mock_recall_where_everything_is_in_stock_is_located_at_once(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chain = make_chain(uow, who, world)
        recall = _mock(uow, who, chain)
        for line in recalls.scope_of(uow, who["quality"], recall_id=recall.id):
            if line.place == "customer":
                recalls.take_out_of_scope(uow, who["quality"], scope_id=line.id, reason="Practice on our stock only")
        assert recall.all_located_at is not None
        assert recalls.progress(uow, who["quality"], recall_id=recall.id).excluded == 2
