"""The compliance dashboard pages (portal/scoring/dashboard.py): managers in both
languages, "no data" for an empty period, unknown filters refused with a message, the
charts as SVG images with their text alternative, the lists behind the tiles, the
scorecard PDF; suppliers refused the dashboard and another supplier's PDF."""

from __future__ import annotations

from datetime import date

import pytest

from kernel.uow import Actor
from scoring import aggregates
from scoring import service as scoring
from scoring.periods import period_of
from tests.portal.support import signed_in, text_of, token_in
from tests.scoring.support import Books, at


def chinese(client) -> None:
    token = token_in(client.get("/buyer/dashboard").data)
    client.post("/language", data={"locale": "zh_Hans_CN", "next": "/", "csrf_token": token})


@pytest.fixture
def data(tx, world):
    """Supplier 1 in November 2026: two lots received, one nonconformance; scorecards
    stored and the aggregates refreshed."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = Books(uow, world, world.suppliers[0])
        for day in (3, 10):
            books.receipt_without_asn(arrived=at(date(2026, 11, day)))
        books.nonconformance(opened=at(date(2026, 11, 11)))
        scoring.recompute(uow, Actor.system("test"), period=period_of("month", "2026-11"))
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system("test")) as uow:
        aggregates.refresh(uow, full=True)
        uow.commit()
    return books


def test_the_manager_sees_the_figures(app, world, data):
    client = signed_in(app, world.users["quality"])
    response = client.get("/buyer/dashboard?kind=month&period=2026-11")
    assert response.status_code == 200
    page = text_of(response)
    assert "Nonconformance rate" in page and "50 %" in page  # 1 of 2 lots
    assert "Rework rate" in page and "Reworked: 0 lots, per 2 lots received" in page
    assert "Returned to the supplier: 0 lots, per 2 lots received" in page
    assert "Figures as of" in page
    assert 'src="/buyer/dashboard/rates.svg?' in page and "<svg" not in page  # images, not inline SVG
    assert "2026-11" in page  # the rates table beside the chart


def test_in_chinese(app, world, data):
    client = signed_in(app, world.users["quality"])
    chinese(client)
    page = text_of(client.get("/buyer/dashboard?kind=month&period=2026-11"))
    assert 'lang="zh' in page
    assert "50 %" in page


def test_an_empty_period_says_no_data_not_zero(app, world, data):
    client = signed_in(app, world.users["quality"])
    page = text_of(client.get("/buyer/dashboard?kind=month&period=2019-01"))
    assert "there is no data to show" in page
    assert "No data" in page
    assert "0 %" not in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("site=00000000-0000-0000-0000-000000000001", "Choose one of your receiving sites"),
        ("category=plutonium", "Choose a category of items"),
        ("period=2026-13", "Choose a period such as"),
    ],
)
def test_unknown_filters_are_refused_with_a_message(app, world, data, query, message):
    client = signed_in(app, world.users["quality"])
    response = client.get(f"/buyer/dashboard?{query}")
    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert "Figures as of" not in page


def test_the_charts_are_svg_images_with_their_text_alternative(app, world, data):
    client = signed_in(app, world.users["quality"])
    for name in ("rates", "scores"):
        response = client.get(f"/buyer/dashboard/{name}.svg?kind=month&period=2026-11")
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        svg = text_of(response)
        assert '<title id="chart-title">' in svg and "<desc" in svg
        assert "script" not in response.headers["Content-Security-Policy"]


def test_the_lists_behind_the_tiles(app, world, data):
    client = signed_in(app, world.users["quality"])
    page = text_of(client.get("/buyer/dashboard/suppliers?kind=month&period=2026-11"))
    assert world.suppliers[0].code in page
    scores = text_of(client.get("/buyer/dashboard/scores?kind=month&period=2026-11"))
    assert f"/scorecards/{world.suppliers[0].id}/2026-11/scorecard.pdf" in scores
    assert client.get("/buyer/dashboard/releases?kind=month&period=2026-11").status_code == 200


def test_a_supplier_may_not_open_the_dashboard(app, world, data):
    client = signed_in(app, world.users["supplier1"])
    assert client.get("/buyer/dashboard").status_code == 403
    assert client.get("/buyer/dashboard/rates.svg").status_code == 403
    assert client.get("/buyer/dashboard/suppliers").status_code == 403


def test_the_scorecard_pdf_one_click(app, world, data):
    supplier_id = world.suppliers[0].id
    manager = signed_in(app, world.users["quality"])
    response = manager.get(f"/scorecards/{supplier_id}/2026-11/scorecard.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    own = signed_in(app, world.users["supplier1"]).get(f"/scorecards/{supplier_id}/2026-11/scorecard.pdf")
    assert own.status_code == 200
    other = signed_in(app, world.users["supplier2"]).get(f"/scorecards/{supplier_id}/2026-11/scorecard.pdf")
    assert other.status_code == 404


def test_trends_page_and_charts(app, world, data):
    supplier_id = world.suppliers[0].id
    client = signed_in(app, world.users["quality"])
    page = text_of(client.get(f"/scorecards/{supplier_id}/trends?kind=month&period=2026-11"))
    assert f"/scorecards/{supplier_id}/trend/score.svg" in page
    assert "2025-12" in page  # the table of the 12 periods
    chart = client.get(f"/scorecards/{supplier_id}/trend/score.svg?kind=month&period=2026-11")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert client.get(f"/scorecards/{supplier_id}/trend/no_such_kpi.svg?kind=month&period=2026-11").status_code == 404
    other = signed_in(app, world.users["supplier2"])
    assert other.get(f"/scorecards/{supplier_id}/trends").status_code == 404
