"""Disputes (accepted: the score changes; a closed month: refused) and the order issue
gate reading the grade scoring writes onto the supplier."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.purchasing import confirmation as po
from erp.suppliers import service as suppliers
from erp.suppliers.errors import GradeBlocksOrders, GradeNeedsApproval
from kernel.clock import utcnow
from scoring import service
from scoring.periods import period_of
from tests.erp.po_support import order_lines
from tests.scoring.support import Books, at, people


@pytest.fixture
def who(tx, world):
    return people(tx, world)


def test_a_supplier_disputes_a_late_delivery_and_the_buyer_accepts_it(tx, world, who):
    today = utcnow().date()
    month = period_of("month", today)
    supplier = world.suppliers[0]
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = Books(uow, world, supplier)
        _, on_time = books.order(due=month.start)
        _, late = books.order(due=month.start)
        books.delivery(on_time, arrived=at(month.start))
        books.delivery(late, arrived=at(month.start + timedelta(days=1)))  # a day late
        service.recompute(uow, who["buyer"], period=month)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        card = service.scorecard(uow, who["supplier1"], supplier_id=supplier.id, period=month)
        assert card.kpi("on_time").value == Decimal("50.00")
        rows = service.evidence(uow, who["supplier1"], supplier_id=supplier.id, period=month, kpi="on_time")
        (bad,) = [r for r in rows if not r.good]
        assert bad.params["days"] == 1 and "late" in bad.detail
        dispute = service.raise_dispute(uow, who["supplier1"], period=month, kpi="on_time", ref_id=bad.ref_id,
                                        ref_sub_id=bad.ref_sub_id, comment="The carrier's slot was moved by your dock.")
        with pytest.raises(service.AlreadyDisputed):
            service.raise_dispute(uow, who["supplier1"], period=month, kpi="on_time", ref_id=bad.ref_id,
                                  ref_sub_id=bad.ref_sub_id, comment="again")
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        assert service.list_disputes(uow, who["supplier2"]) == []  # not another supplier's
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        (queued,) = service.list_disputes(uow, who["buyer"], status="open")
        assert queued.dispute.id == dispute.id
        service.decide_dispute(uow, who["buyer"], dispute_id=dispute.id, accept=True, reason="Our dock rescheduled it.")
        with pytest.raises(service.DisputeDecided):
            service.decide_dispute(uow, who["buyer"], dispute_id=dispute.id, accept=False, reason="no")
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        card = service.scorecard(uow, who["supplier1"], supplier_id=supplier.id, period=month)
        rows = service.evidence(uow, who["supplier1"], supplier_id=supplier.id, period=month, kpi="on_time")
    assert card.computed_at is not None
    assert card.kpi("on_time").value == Decimal("100.00")  # 1 of 1: the excluded one no longer counts
    (excluded,) = [r for r in rows if r.excluded]
    assert excluded.dispute_status == "accepted" and excluded.exclusion_reason == "Our dock rescheduled it."


def test_a_dispute_on_a_closed_month_is_refused(tx, world, who):
    # Closed: 30 days (the default) after the month's end.
    old = period_of("month", utcnow().date() - timedelta(days=70))
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = Books(uow, world, world.suppliers[0])
        _, line = books.order(due=old.start)
        books.delivery(line, arrived=at(old.start + timedelta(days=3)))
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        (row,) = service.evidence(uow, who["supplier1"], supplier_id=world.suppliers[0].id, period=old, kpi="on_time")
        with pytest.raises(service.DisputePeriodClosed) as refused:
            service.raise_dispute(uow, who["supplier1"], period=old, kpi="on_time", ref_id=row.ref_id, ref_sub_id=row.ref_sub_id,
                                  comment="late?")
        assert refused.value.params["closed"] == (old.end + timedelta(days=30)).isoformat()
        assert service.list_disputes(uow, who["supplier1"]) == []


def test_a_dispute_needs_a_comment_and_a_decision_a_reason(tx, world, who):
    month = period_of("month", utcnow().date())
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = Books(uow, world, world.suppliers[0])
        _, line = books.order(due=month.start)
        books.delivery(line, arrived=at(month.start))
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        (row,) = service.evidence(uow, who["supplier1"], supplier_id=world.suppliers[0].id, period=month, kpi="on_time")
        with pytest.raises(service.ValidationFailed) as refused:
            service.raise_dispute(uow, who["supplier1"], period=month, kpi="on_time", ref_id=row.ref_id,
                                  ref_sub_id=row.ref_sub_id, comment="  ")
        assert "comment" in refused.value.errors
        dispute = service.raise_dispute(uow, who["supplier1"], period=month, kpi="on_time", ref_id=row.ref_id,
                                        ref_sub_id=row.ref_sub_id, comment="why")
        dispute_id = dispute.id
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        with pytest.raises(service.ValidationFailed):
            service.decide_dispute(uow, who["buyer"], dispute_id=dispute_id, accept=False, reason="")
        rejected = service.decide_dispute(uow, who["buyer"], dispute_id=dispute_id, accept=False, reason="On time anyway.")
        assert rejected.status == "rejected"


def _draft(tx, world, who):
    lines = [line | {"requested_date": utcnow().date() + timedelta(days=30)} for line in order_lines(world, 1)]
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        order = po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=lines)
        uow.commit()
        return order.id, order.version


def _grade(tx, world, action: str):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        suppliers.set_grade(uow, supplier_id=world.suppliers[0].id, grade="C", score=Decimal("61.5"), action=action,
                            period_key="R12-2026-11")
        uow.commit()


def test_a_warn_grade_issues_the_order_with_a_warning(tx, world, who):
    _grade(tx, world, "warn")
    po_id, version = _draft(tx, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        order = po.issue_purchase_order(uow, who["buyer"], po_id=po_id, version=version)
        from erp.purchasing import gate

        assert order.status == "issued" and gate.grade_warning(uow, order).grade == "C"


def test_an_approval_grade_refuses_a_buyer_and_lets_an_approver_issue(tx, world, who):
    _grade(tx, world, "approval")
    po_id, version = _draft(tx, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        with pytest.raises(GradeNeedsApproval) as refused:
            po.issue_purchase_order(uow, who["buyer"], po_id=po_id, version=version)
        assert refused.value.params == {"supplier": world.suppliers[0].name, "grade": "C", "score": "61.5"}
    with tx.uow(tenant_id=world.tenant_id, actor=who["tenant_admin"]) as uow:
        order = po.issue_purchase_order(uow, who["tenant_admin"], po_id=po_id, version=version)
        assert order.status == "issued"


def test_a_block_grade_refuses_every_new_order(tx, world, who):
    _grade(tx, world, "block")
    po_id, version = _draft(tx, world, who)
    for person in ("buyer", "tenant_admin"):
        with tx.uow(tenant_id=world.tenant_id, actor=who[person]) as uow:
            with pytest.raises(GradeBlocksOrders) as refused:
                po.issue_purchase_order(uow, who[person], po_id=po_id, version=version)
            assert "grade C (score 61.5)" in str(refused.value)


def test_recompute_writes_the_grade_of_the_last_twelve_complete_months(tx, world, who):
    today = utcnow().date()
    gate_period = service.gate_period(today)
    last_month = period_of("month", gate_period.end - timedelta(days=1))
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = Books(uow, world, world.suppliers[0])
        _, line = books.order(due=last_month.start)
        books.delivery(line, arrived=at(last_month.start + timedelta(days=2)))  # late: 0 % on time
        service.recompute(uow, who["buyer"])
        grade = suppliers.grade_of(uow, supplier_id=world.suppliers[0].id)
        none = suppliers.grade_of(uow, supplier_id=world.suppliers[1].id)
        assert grade.period_key == gate_period.key and grade.grade == "D" and grade.action == "approval"
        assert none.grade is None and none.action == "none"  # no data: no grade, no action
    assert gate_period.end <= today


def test_a_supplier_session_cannot_rewrite_its_own_grade(tx, world, who):
    """Below the services: the supplier reads its grade but an UPDATE in its session
    touches nothing (buyer_writes policies; nobody may DELETE it), so a bug cannot lift
    a block."""
    from erp.suppliers.models import SupplierGrade

    _grade(tx, world, "block")
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert uow.scalar(sa.select(SupplierGrade.action)) == "block"  # it may read it
        assert uow.execute(sa.update(SupplierGrade).values(action="none")).rowcount == 0
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(SupplierGrade.action).where(SupplierGrade.supplier_id == world.suppliers[0].id)) == "block"
