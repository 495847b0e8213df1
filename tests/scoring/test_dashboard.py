"""The compliance dashboard (scoring.dashboard) over its aggregates (scoring.aggregates):
figures checked against transactions counted by hand, the incremental refresh, "no data"
rather than zeros, filters refused when unknown, and managers only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.receiving.models import Inspection, LotRelease
from kernel.errors import Forbidden, ValidationFailed
from kernel.uow import Actor
from scoring import aggregates, dashboard
from scoring.aggregates import ComplianceDay, ComplianceRelease
from scoring.periods import period_of
from tests.scoring.support import Books, at, people

SEPTEMBER = date(2026, 9, 1)
TODAY = date(2026, 12, 3)


@pytest.fixture
def who(tx, world):
    return people(tx, world)


def release(uow, books: Books, inspection, *, received: datetime, released: datetime) -> LotRelease:
    row = LotRelease(lot_id=inspection.lot_id, supplier_id=books.supplier.id, decision="released",
                     decided_at=released, received_at=received)
    uow.add(row)
    uow.flush()
    return row


def september(uow, world) -> Books:
    """Supplier 1 in September 2026 at a new site: 4 lots received, 2 inspected (1
    rejected), 1 nonconformance, 2 lots released after 10 and 30 hours."""
    books = Books(uow, world, world.suppliers[0])
    receipts = [books.receipt_without_asn(arrived=at(date(2026, 9, d))) for d in (2, 9, 16, 23)]
    good = books.inspection(receipts[0], received="10", completed=at(date(2026, 9, 3)))
    bad = books.inspection(receipts[1], received="10", rejected="2", completed=at(date(2026, 9, 10)))
    books.nonconformance(opened=at(date(2026, 9, 10)))
    release(uow, books, good, received=at(date(2026, 9, 2), 8), released=at(date(2026, 9, 2), 18))
    release(uow, books, bad, received=at(date(2026, 9, 9), 8), released=at(date(2026, 9, 10), 14))
    return books


def refresh(tx, world, **kw):
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system("test")) as uow:
        done = aggregates.refresh(uow, **kw)
        uow.commit()
    return done


def board(tx, world, actor, **filters):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        chosen = dashboard.filters_from(uow, kind=filters.pop("kind", "month"), period=filters.pop("period", "2026-09"),
                                        site=filters.pop("site", None), category=filters.pop("category", None), today=TODAY)
        return dashboard.dashboard(uow, actor, filters=chosen, today=TODAY)


def test_the_figures_of_a_month_counted_by_hand(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        september(uow, world)
        uow.commit()
    refresh(tx, world)
    found = board(tx, world, who["quality"])
    assert found.lots_received == 4
    assert found.nonconformance.percent == Decimal("25.0")  # 1 of 4 lots
    assert found.rejection.percent == Decimal("50.0")  # 1 of 2 inspected
    assert found.release.lots == 2
    assert found.release.median_hours == Decimal("20.0")  # 10 h and 30 h
    assert found.release.p90_hours == Decimal("28.0")
    assert found.refreshed_at is not None
    months = {m.period.key: m for m in found.months}
    assert months["2026-09"].nonconformance.percent == Decimal("25.0")
    assert months["2026-08"].nonconformance.percent is None  # no lots: no data
    # Traceability and cold chain feed these: none open, none raised in this world.
    assert {t.key: t.count for t in found.provided} == {"open_recalls": 0, "excursions": 0}


def test_a_period_with_no_data_shows_none_not_zeros(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        september(uow, world)
        uow.commit()
    refresh(tx, world)
    found = board(tx, world, who["quality"], period="2026-05")
    assert not found.has_activity
    assert found.nonconformance.percent is None
    assert found.rejection.percent is None
    assert found.release.median_hours is None and found.release.p90_hours is None
    assert found.scores.scored == 0 and found.scores.average is None


def test_filters_by_site_and_category(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = september(uow, world)
        other = Books(uow, world, world.suppliers[1])  # another site
        other.receipt_without_asn(arrived=at(date(2026, 9, 5)))
        site_id, category = str(books.site.id), books.item.category
        uow.commit()
    refresh(tx, world)
    assert board(tx, world, who["quality"]).lots_received == 5
    assert board(tx, world, who["quality"], site=site_id).lots_received == 4
    assert board(tx, world, who["quality"], category=category).lots_received == 5
    other_category = "packaging" if category != "packaging" else "component"
    assert board(tx, world, who["quality"], category=other_category).lots_received == 0


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"site": "00000000-0000-0000-0000-000000000001"}, "site"),
        ({"site": "not-a-site"}, "site"),
        ({"category": "plutonium"}, "category"),
        ({"period": "2026-13"}, "period"),
        ({"kind": "decade"}, "kind"),
    ],
)
def test_unknown_filters_are_refused_with_a_message(tx, world, who, filters, field):
    with pytest.raises(ValidationFailed) as refused:
        board(tx, world, who["quality"], **filters)
    assert set(refused.value.errors) == {field}


def test_a_supplier_site_is_not_a_receiving_site(tx, world, who):
    from tests.factories import site_of

    with tx.uow(tenant_id=world.tenant_id) as uow:
        supplier_site = site_of(uow, world.suppliers[0])
    with pytest.raises(ValidationFailed):
        board(tx, world, who["quality"], site=str(supplier_site))


def test_a_supplier_may_not_open_the_dashboard(tx, world, who):
    with pytest.raises(Forbidden):
        board(tx, world, who["supplier1"])


def test_the_refresh_is_incremental_and_picks_up_late_changes(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = september(uow, world)
        uow.commit()
    first = refresh(tx, world, full=True)
    assert first.full
    again = refresh(tx, world)
    assert not again.full
    # A nonconformance opened later about an old month: its day is recomputed.
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books.uow = uow
        books.nonconformance(opened=at(date(2026, 9, 20)))
        uow.commit()
    later = refresh(tx, world)
    assert not later.full and later.days >= 1
    assert board(tx, world, who["quality"]).nonconformance.percent == Decimal("50.0")
    # A full refresh gives the same rows as the increments did.
    with tx.uow(tenant_id=world.tenant_id) as uow:
        before = sorted(tuple(r) for r in uow.execute(sa.select(ComplianceDay.day, ComplianceDay.lots_received,
                                                                ComplianceDay.nonconformances, ComplianceDay.lots_rejected)))
    refresh(tx, world, full=True)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        after = sorted(tuple(r) for r in uow.execute(sa.select(ComplianceDay.day, ComplianceDay.lots_received,
                                                               ComplianceDay.nonconformances, ComplianceDay.lots_rejected)))
        assert uow.scalar(sa.select(sa.func.count()).select_from(ComplianceRelease)) == 2
    assert before == after


def test_another_tenant_sees_none_of_it(tx, world, other_world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        september(uow, world)
        uow.commit()
    refresh(tx, world)
    refresh(tx, other_world)
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(ComplianceDay)) == 0
        assert uow.scalar(sa.select(sa.func.count()).select_from(ComplianceRelease)) == 0


def test_lists_behind_the_tiles(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        september(uow, world)
        uow.commit()
    refresh(tx, world)
    actor = who["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        filters = dashboard.Filters(period=period_of("month", "2026-09"))
        lines = dashboard.by_supplier(uow, actor, filters=filters)
        assert [(line.supplier_id, line.lots_received, line.nonconformances) for line in lines] == [
            (world.suppliers[0].id, 4, 1)
        ]
        releases = dashboard.release_list(uow, actor, filters=filters)
        assert [r.hours for r in releases] == [Decimal("30.0"), Decimal("10.0")]


def test_the_jobs_refresh_every_active_tenant(runtime, worlds):
    from scoring import tasks
    from scoring.models import ScorecardResult

    # Every tenant the runtime's database holds (other tests' committed ones too).
    assert tasks.refresh_all(runtime) >= len(worlds)
    for world in worlds:
        with runtime.uow(tenant_id=world.tenant_id) as uow:
            assert aggregates.last_refresh(uow) is not None
    # The daily recompute reaches them too: a scorecard row per supplier and period.
    assert tasks.recompute_all(runtime) > 0
    for world in worlds:
        with runtime.uow(tenant_id=world.tenant_id) as uow:
            scored = set(uow.session.scalars(sa.select(ScorecardResult.supplier_id)))
        assert scored - {None} == {s.id for s in world.suppliers}  # None: the tenant average


def test_rework_and_return_rates_per_lot_received(tx, world, who):
    """September as above (4 lots received), plus the rejected lot sent back to the
    supplier and another lot reworked: 1 of 4 each, 25 %; the supplier's line says so;
    the refresh picks up a return recorded after the last one."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = september(uow, world)
        receipt = books.receipt_without_asn(arrived=at(date(2026, 9, 20)))
        reworked = books.inspection(receipt, received="10", rejected="3", completed=at(date(2026, 9, 21)))
        books.reworked(reworked, quantity="3", moved=at(date(2026, 9, 22)))
        uow.commit()
    refresh(tx, world, full=True)
    before = board(tx, world, who["quality"])
    with tx.uow(tenant_id=world.tenant_id) as uow:
        bad = uow.scalar(
            sa.select(Inspection).where(Inspection.rejected_quantity == 2, Inspection.supplier_id == books.supplier.id)
        )
        books.uow = uow
        books.returned(bad, quantity="2", moved=at(date(2026, 9, 12)), rma="RMA-1")
        uow.commit()
    refresh(tx, world)  # incremental: the return's day is recomputed
    after = board(tx, world, who["quality"])
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        chosen = dashboard.filters_from(uow, kind="month", period="2026-09", site=None, category=None, today=TODAY)
        lines = dashboard.by_supplier(uow, who["quality"], filters=chosen)
    assert before.lots_received == 5
    assert (before.rework.numerator, before.rework.percent) == (1, Decimal("20.0"))
    assert before.returns.numerator == 0 and before.returns.percent == Decimal("0.0")
    assert (after.returns.numerator, after.returns.percent) == (1, Decimal("20.0"))
    mine = next(line for line in lines if line.supplier_id == books.supplier.id)
    assert (mine.lots_returned, mine.lots_reworked) == (1, 1)
    assert mine.returns.percent == Decimal("20.0")
    at_site = board(tx, world, who["quality"], site=str(books.site.id))
    assert (at_site.returns.numerator, at_site.rework.numerator) == (1, 1)
    pouches = board(tx, world, who["quality"], category="sterile_barrier")
    assert pouches.returns.percent is None and pouches.rework.percent is None  # none received: no data
