"""Scorecards over the API: a period's list with cursor pagination, one supplier's
detail with the KPI inputs, another supplier's scorecard is refused to a supplier user."""

from __future__ import annotations

from datetime import date

from scoring import service
from scoring.periods import period_of
from tests.portal.support import login
from tests.scoring.support import Books, at, people


def _september(tx, world):
    who = people(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        books = Books(uow, world, world.suppliers[0])
        _, early = books.order(due=date(2026, 9, 10))
        _, late = books.order(due=date(2026, 9, 10))
        books.delivery(early, arrived=at(date(2026, 9, 9)))
        books.delivery(late, arrived=at(date(2026, 9, 13)))
        service.recompute(uow, who["buyer"], period=period_of("month", "2026-09"))
        uow.commit()


def test_the_buyer_lists_a_periods_scorecards_and_reads_the_kpi_inputs(app, client, tx, world):
    _september(tx, world)
    login(client, world.users["buyer"])
    first = client.get("/api/v1/scorecards?period=2026-09&kind=month&limit=1")
    assert first.status_code == 200, first.json
    assert [i["supplier_id"] for i in first.json["items"]] == [str(world.suppliers[0].id)]
    rest = client.get(f"/api/v1/scorecards?period=2026-09&limit=1&cursor={first.json['next_cursor']}")
    assert [i["score"] for i in rest.json["items"]] == [None]
    detail = client.get(f"/api/v1/scorecards/{world.suppliers[0].id}?period=2026-09")
    assert detail.status_code == 200
    on_time = next(k for k in detail.json["kpis"] if k["key"] == "on_time")
    assert (on_time["numerator"], on_time["denominator"], on_time["value"]) == ("1", "2", "50.00")
    assert detail.json["computed_at"] is not None
    assert client.get("/api/v1/scorecards?period=2026-13").status_code == 422


def test_a_supplier_cannot_read_another_suppliers_scorecard(app, client, tx, world):
    _september(tx, world)
    login(client, world.users["supplier2"])
    other = client.get(f"/api/v1/scorecards/{world.suppliers[0].id}?period=2026-09")
    # Not found, as another supplier's orders are (the rule).
    assert other.status_code == 404, other.json
    own = client.get(f"/api/v1/scorecards/{world.suppliers[1].id}?period=2026-09")
    assert own.status_code == 200 and own.json["score"] is None
    listed = client.get("/api/v1/scorecards?period=2026-09")
    assert [i["supplier_id"] for i in listed.json["items"]] == [str(world.suppliers[1].id)]
