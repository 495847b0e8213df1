"""A supplier's scorecard per receiving site and item category through the pages and
the API: the breakdown on the scorecard, a slice's KPIs, evidence, list and trend with
the slice carried on every link, and an unknown site or category refused beside its
field (422), in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.clock import utcnow
from kernel.uow import Actor
from scoring import service as scoring
from scoring.periods import period_of
from tests.factories import make_item
from tests.portal.support import login, signed_in, text_of, token_in
from tests.scoring.support import Books, at


@pytest.fixture
def month():
    return period_of("month", utcnow().date().replace(day=1) - timedelta(days=1))


@pytest.fixture
def books(tx, world, month):
    """Supplier 1 last month: a component delivered late to one site, sterile barrier
    pouches on time to another; the month stored."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        components = Books(uow, world, world.suppliers[0])
        pouches = Books(uow, world, world.suppliers[0], item=make_item(uow, category="sterile_barrier"))
        _, late = components.order(due=month.start + timedelta(days=1))
        components.delivery(late, arrived=at(month.start + timedelta(days=4)))
        _, on_time = pouches.order(due=month.start + timedelta(days=1))
        pouches.delivery(on_time, arrived=at(month.start + timedelta(days=1)))
        scoring.recompute(uow, Actor.system("test"), period=month)
        uow.commit()
    return components, pouches


def query(month) -> str:
    return f"kind=month&period={month.key}"


def test_the_scorecard_breaks_down_by_site_and_category(app, world, books, month):
    components, pouches = books
    supplier_id = world.suppliers[0].id
    page = text_of(signed_in(app, world.users["quality"]).get(f"/buyer/scorecards/{supplier_id}?{query(month)}"))
    assert "By receiving site and item category" in page
    assert components.site.name in page and pouches.site.name in page
    assert "Sterile barrier" in page and "Component" in page
    assert f"site={components.site.id}" in page and "category=sterile_barrier" in page
    assert "50 %" in page  # the whole: one of two on time


def test_a_site_of_the_scorecard_counts_only_its_own_and_carries_on(app, world, books, month):
    components, _ = books
    supplier_id = world.suppliers[0].id
    client = signed_in(app, world.users["buyer"])
    response = client.get(f"/buyer/scorecards/{supplier_id}?{query(month)}&site={components.site.id}")
    assert response.status_code == 200
    page = text_of(response)
    assert f"Only what was received at {components.site.name} counts here" in page
    assert "0 %" in page and "0 / 1" in page  # its one delivery was late
    assert f'<option value="{components.site.id}" selected>' in page
    assert f"/evidence/on_time?kind=month&amp;period={month.key}&amp;site={components.site.id}" in page
    assert "By receiving site and item category" not in page  # a slice has no breakdown of its own
    assert "scorecard.pdf" not in page  # the PDF is of the whole scorecard
    evidence = text_of(client.get(f"/buyer/scorecards/{supplier_id}/evidence/on_time?{query(month)}&site={components.site.id}"))
    assert "arrived 3 days late" in evidence and ", on time" not in evidence
    assert f"site={components.site.id}" in evidence  # the way back keeps the slice
    chart = client.get(f"/scorecards/{supplier_id}/trend/score.svg?{query(month)}&site={components.site.id}")
    assert chart.status_code == 200 and "<svg" in text_of(chart)
    trends = text_of(client.get(f"/scorecards/{supplier_id}/trends?{query(month)}&category=sterile_barrier"))
    assert "Only items of the category Sterile barrier count here" in trends
    assert "category=sterile_barrier" in trends


def test_the_list_of_a_category_is_computed_now(app, world, books, month):
    page = text_of(signed_in(app, world.users["buyer"]).get(f"/buyer/scorecards?{query(month)}&category=sterile_barrier"))
    assert "Only items of the category Sterile barrier count here" in page
    assert world.suppliers[0].code in page and world.suppliers[1].code in page
    assert "Recompute now" not in page  # a slice is never stored
    assert "category=sterile_barrier" in page


def test_an_unknown_site_or_category_is_refused_beside_its_field(app, world, books, month):
    client = signed_in(app, world.users["buyer"])
    response = client.get(f"/buyer/scorecards/{world.suppliers[0].id}?{query(month)}&site=not-a-site&category=toys")
    assert response.status_code == 422
    page = text_of(response)
    assert "Choose one of your receiving sites, or all sites." in page
    assert "Choose a category of items, or all categories." in page
    listed = client.get(f"/buyer/scorecards?{query(month)}&category=toys")
    assert listed.status_code == 422


def test_the_supplier_sees_its_own_scorecard_per_site_in_chinese(app, world, books, month):
    components, _ = books
    client = signed_in(app, world.users["supplier1"])
    token = token_in(client.get("/supplier/scorecard").data)
    client.post("/language", data={"locale": "zh_Hans_CN", "next": "/", "csrf_token": token})
    response = client.get(f"/supplier/scorecard?{query(month)}&site={components.site.id}")
    assert response.status_code == 200
    page = text_of(response)
    assert 'lang="zh' in page and components.site.name in page
    assert f"/supplier/scorecard/evidence/on_time?kind=month&amp;period={month.key}&amp;site={components.site.id}" in page


def test_the_api_gives_a_slice_and_refuses_an_unknown_one(app, client, world, books, month):
    pouches = books[1]
    supplier_id = world.suppliers[0].id
    login(client, world.users["buyer"])
    detail = client.get(f"/api/v1/scorecards/{supplier_id}?period={month.key}&site={pouches.site.id}")
    assert detail.status_code == 200, detail.json
    on_time = next(k for k in detail.json["kpis"] if k["key"] == "on_time")
    assert (on_time["numerator"], on_time["denominator"]) == ("1", "1")
    assert detail.json["computed_at"] is None
    listed = client.get(f"/api/v1/scorecards?period={month.key}&kind=month&category=component")
    assert listed.status_code == 200
    assert listed.json["items"][0]["supplier_id"] == str(supplier_id)
    assert listed.json["items"][0]["score"] is not None
    bad = client.get(f"/api/v1/scorecards?period={month.key}&category=toys")
    assert bad.status_code == 422
    assert "category" in str(bad.json)
