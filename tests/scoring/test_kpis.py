"""Each KPI's arithmetic against a month worked out by hand, and the bad-input cases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.receiving.models import Inspection
from kernel.clock import utcnow
from kernel.errors import ValidationFailed
from scoring import rules, service
from scoring.periods import period_of
from tests.scoring.support import Books, at, people

SEPTEMBER = period_of("month", "2026-09")


@pytest.fixture
def who(tx, world):
    return people(tx, world)


def september(uow, world):
    """Supplier 1's September 2026, as in the module's comments."""
    books = Books(uow, world, world.suppliers[0])
    _, l1 = books.order(due=date(2026, 9, 10))
    _, l2 = books.order(due=date(2026, 9, 10))
    _, l3 = books.order(due=date(2026, 9, 20))
    _, l4 = books.order(due=date(2026, 9, 20), promised=date(2026, 9, 25))
    _, l5 = books.order(due=date(2026, 9, 5))
    r1 = books.delivery(l1, arrived=at(date(2026, 9, 10)))  # on time, in full
    r2 = books.delivery(l2, arrived=at(date(2026, 9, 15)), submitted=at(date(2026, 9, 15), 12))  # 5 days late, ASN late
    books.delivery(l3, arrived=at(date(2026, 9, 18)), quantity="60", discrepancies=("short",))  # 2 early: on time, not full
    r4 = books.delivery(l4, arrived=at(date(2026, 9, 25)))  # on the promised date
    books.delivery(l5, arrived=at(date(2026, 9, 1)))  # 4 days early: not on time
    books.receipt_without_asn(arrived=at(date(2026, 9, 12)))
    books.inspection(r1, received="100", completed=at(date(2026, 9, 11)))
    books.inspection(r2, received="100", completed=at(date(2026, 9, 16)))
    books.inspection(r4, received="100", rejected="5", completed=at(date(2026, 9, 26)))
    books.nonconformance(opened=at(date(2026, 9, 26)))
    books.order(due=date(2026, 10, 1), issued=at(date(2026, 9, 1)), acknowledged=at(date(2026, 9, 2)))  # 24 h
    books.order(due=date(2026, 10, 1), issued=at(date(2026, 9, 3)), acknowledged=at(date(2026, 9, 6)))  # 72 h
    books.order(due=date(2026, 10, 1), issued=at(date(2026, 9, 4)))  # never: overdue
    return books


def values(card) -> dict:
    return {k.key: k.value for k in card.kpis}


def test_each_kpi_against_a_month_worked_by_hand(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        september(uow, world)
        card = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=SEPTEMBER)
    got = values(card)
    assert got["on_time"] == Decimal("60.00")  # D1, D3, D4 of 5
    assert got["otif"] == Decimal("40.00")  # D1, D4 of 5
    assert got["lot_acceptance"] == Decimal("66.67")  # 2 of 3 lots
    assert got["ppm"] == Decimal("16666.67")  # 5 of 300
    assert got["nc_per_100"] == Decimal("16.67")  # 1 per 6 receipts
    assert got["ack_time"] == Decimal("48.00")  # (24 + 72) / 2
    assert got["ack_in_target"] == Decimal("33.33")  # 1 of 3 (the overdue one counts)
    assert got["asn_accuracy"] == Decimal("66.67")  # 4 of 6 (short; no ASN)
    assert got["asn_timeliness"] == Decimal("66.67")  # 4 of 6 (ASN after arrival; no ASN)
    assert got["returns"] == Decimal("0.00")  # 0 of 470 received returned
    for missing in ("scar_responsiveness", "cert_compliance", "qms_certified"):
        assert got[missing] is None
    on_time = card.kpi("on_time")
    assert (on_time.numerator, on_time.denominator) == (Decimal(3), Decimal(5))
    assert card.kpi("ppm").points == Decimal(0)  # beyond 5,000 ppm
    assert card.kpi("nc_per_100").points == Decimal(0)  # beyond 10
    assert card.kpi("ack_time").points == Decimal(100)  # within 48 h
    # 85 of the 100 weight points have data: on-time's 20 counts as 23.53.
    assert on_time.effective_weight == Decimal("23.53")
    assert sum(k.effective_weight for k in card.kpis) == Decimal("100.00")
    # (60*20 + 40*10 + 66.67*15 + 0*10 + 0*5 + 100*5 (returns) + 100*5 + 33.33*5 + 66.67*5 + 66.67*5) / 85
    # = 4433.4 / 85 = 52.158
    assert card.score == Decimal("52.2")
    assert (card.grade, card.action) == ("D", "approval")
    assert card.computed_at is None  # live: never stored


def test_stored_scorecards_match_the_live_ones_and_list_by_score(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        september(uow, world)
        live = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=SEPTEMBER)
        written = service.recompute(uow, who["buyer"], period=SEPTEMBER)
        assert written == 3  # two suppliers and the tenant average
        stored = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=SEPTEMBER)
        page = service.scorecards(uow, who["buyer"], period=SEPTEMBER, limit=1)
        rest = service.scorecards(uow, who["buyer"], period=SEPTEMBER, cursor=page.next_cursor, limit=1)
        average = service.tenant_average(uow, who["buyer"], kind="month", until=date(2026, 9, 30), count=1)
    assert stored.computed_at is not None
    assert values(stored) == values(live) and stored.score == live.score
    assert [c.supplier_id for c in page.items] == [world.suppliers[0].id]  # scored before "no data"
    assert [c.supplier_id for c in rest.items] == [world.suppliers[1].id] and rest.items[0].score is None
    assert average[0].supplier_id is None and values(average[0])["on_time"] == Decimal("60.00")


def test_a_period_with_no_receipts_has_no_data_not_zero(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        card = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[1].id, period=period_of("month", "2026-08"))
    assert all(k.value is None and k.points is None for k in card.kpis)
    assert (card.score, card.grade, card.action) == (None, None, None)
    assert all(k.effective_weight == 0 for k in card.kpis)


def test_receipts_without_inspections_leave_quality_out_and_share_its_weight(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = Books(uow, world, world.suppliers[1])
        _, line = books.order(due=date(2026, 9, 10))
        books.delivery(line, arrived=at(date(2026, 9, 12)))  # 2 days late
        card = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[1].id, period=SEPTEMBER)
    got = values(card)
    assert got["lot_acceptance"] is None and got["ppm"] is None
    assert got["on_time"] == Decimal("0.00") and got["asn_accuracy"] == Decimal("100.00")
    # With data: on_time 20, otif 10, nc 5, returns 5, asn accuracy 5, timeliness 5 = 50.
    assert card.kpi("on_time").effective_weight == Decimal("40.00")
    assert card.kpi("lot_acceptance").effective_weight == 0
    # nc_per_100 and returns: 0 -> 100 points. (0*20 + 0*10 + 100*5 + 100*5 + 100*5 + 100*5) / 50 = 40
    assert card.score == Decimal("40.0")


def test_the_evidence_names_the_late_receipt_and_by_how_many_days(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        september(uow, world)
        rows = service.evidence(uow, who["supplier1"], supplier_id=world.suppliers[0].id, period=SEPTEMBER, kpi="on_time")
        lots = service.evidence(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=SEPTEMBER, kpi="lot_acceptance")
    late = [r for r in rows if not r.good]
    assert sorted((r.day, r.value) for r in late) == [(date(2026, 9, 1), Decimal(-4)), (date(2026, 9, 15), Decimal(5))]
    assert any("days late" in r.detail and r.params["days"] == 5 for r in late)
    rejected = [r for r in lots if not r.good]
    assert len(lots) == 3 and len(rejected) == 1 and rejected[0].params["rejected"] == "5"


def test_weights_that_do_not_add_up_to_100_are_refused(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        before = rules.load(uow)
        weights = {k: r.weight for k, r in before.kpis.items()} | {"on_time": Decimal(30)}
        with pytest.raises(ValidationFailed) as refused:
            rules.save_kpis(uow, who["buyer"], weights=weights, thresholds={})
        assert refused.value.errors == {"weights": rules.WEIGHTS_SUM}
        assert rules.load(uow) == before


def test_a_threshold_outside_0_to_100_is_refused(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        before = rules.load(uow)
        with pytest.raises(ValidationFailed) as refused:
            rules.save_kpis(uow, who["buyer"], weights={}, thresholds={"on_time": "101"})
        assert refused.value.errors == {"threshold_on_time": rules.THRESHOLD_RANGE}
        with pytest.raises(ValidationFailed):
            rules.save_kpis(uow, who["buyer"], weights={}, thresholds={"ppm": "-1"})
        assert rules.load(uow) == before


def test_weights_change_the_score_of_stored_scorecards(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        september(uow, world)
        service.recompute(uow, who["buyer"], period=SEPTEMBER)
        weights = dict.fromkeys(rules.KPI_INFO, 0) | {"on_time": 100}
        rules.save_kpis(uow, who["buyer"], weights=weights, thresholds={})
        card = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=SEPTEMBER)
    assert card.score == Decimal("60.0") and card.grade == "C"  # C from 60


def test_a_supplier_opening_another_suppliers_scorecard_gets_not_found(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        with pytest.raises(service.ScorecardNotFound) as refused:
            service.scorecard(uow, who["supplier2"], supplier_id=world.suppliers[0].id, period=SEPTEMBER)
        assert refused.value.status == 404
        with pytest.raises(service.ScorecardNotFound):
            service.evidence(uow, who["supplier2"], supplier_id=world.suppliers[0].id, period=SEPTEMBER, kpi="on_time")
        own = service.scorecard(uow, who["supplier2"], supplier_id=world.suppliers[1].id, period=SEPTEMBER)
    assert own.supplier_id == world.suppliers[1].id


def test_suppliers_see_only_their_own_stored_scorecards(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        september(uow, world)
        service.recompute(uow, who["buyer"], period=SEPTEMBER)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        page = service.scorecards(uow, who["supplier2"], period=SEPTEMBER)
    assert [c.supplier_id for c in page.items] == [world.suppliers[1].id]


def test_returns_to_the_supplier_against_the_quantity_received(tx, world, who):
    """September: 470 received (4 deliveries of 100, one of 60 and a receipt of 10); the
    rejected lot's 5 units sent back: 5 / 470 = 1.06 %, 100 * (1 - 1.06 / 5) = 78.8
    points."""
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = september(uow, world)
        rejected = uow.scalar(
            sa.select(Inspection).where(Inspection.rejected_quantity > 0, Inspection.supplier_id == world.suppliers[0].id)
        )
        nc, _ = books.returned(rejected, quantity="5", moved=at(date(2026, 9, 28)), rma="RMA-77")
        card = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=SEPTEMBER)
        rows = service.evidence(uow, who["supplier1"], supplier_id=world.suppliers[0].id, period=SEPTEMBER, kpi="returns")
        october = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=period_of("month", "2026-10"))
    returns = card.kpi("returns")
    assert (returns.numerator, returns.denominator, returns.value) == (Decimal(5), Decimal(470), Decimal("1.06"))
    assert returns.points == Decimal("78.80")
    assert [(r.ref_number, r.value, r.params["rma"], r.good) for r in rows] == [(nc.number, Decimal(5), "RMA-77", False)]
    assert october.kpi("returns").value is None  # nothing received in October: no data, not 0


def test_a_disputed_return_accepted_no_longer_counts(tx, world, who):
    month = period_of("month", utcnow().date().replace(day=1) - timedelta(days=1))
    day = month.start + timedelta(days=2)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = Books(uow, world, world.suppliers[0])
        _, line = books.order(due=day)
        receipt = books.delivery(line, arrived=at(day))
        inspection = books.inspection(receipt, received="100", rejected="4", completed=at(day))
        nc, movement = books.returned(inspection, quantity="4", moved=at(day + timedelta(days=1)))
        service.recompute(uow, who["buyer"], period=month)  # as the daily job does
        before = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=month)
        dispute = service.raise_dispute(
            uow, who["supplier1"], period=month, kpi="returns", ref_id=nc.id, ref_sub_id=movement.id,
            comment="These were never shipped back to us.",
        )
        service.decide_dispute(uow, who["buyer"], dispute_id=dispute.id, accept=True, reason="Still in our warehouse.")
        after = service.scorecard(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=month)
        rows = service.evidence(uow, who["buyer"], supplier_id=world.suppliers[0].id, period=month, kpi="returns")
    assert before.kpi("returns").value == Decimal("4.00")
    assert after.kpi("returns").value == Decimal("0.00")
    assert [(r.excluded, r.dispute_status) for r in rows] == [(True, "accepted")]
