"""Signing a supplier's scorecard from its page: the reviewer's password (and code),
the signature shown to the buyer and to the supplier, a wrong or missing password
refused beside the field with nothing signed, no form for an open period, and the
supplier cannot sign."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.clock import utcnow
from kernel.uow import Actor
from scoring import service as scoring
from scoring.periods import period_of
from tests.factories import PASSWORD
from tests.portal.support import login, signed_in, text_of, token_in
from tests.scoring.support import Books, at


@pytest.fixture
def month():
    return period_of("month", utcnow().date().replace(day=1) - timedelta(days=1))


@pytest.fixture
def data(tx, world, month):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = Books(uow, world, world.suppliers[0])
        _, line = books.order(due=month.start + timedelta(days=1))
        books.delivery(line, arrived=at(month.start + timedelta(days=4)))
        scoring.recompute(uow, Actor.system("test"), period=month)
        uow.commit()
    return books


def page_of(client, world, month) -> str:
    return text_of(client.get(f"/buyer/scorecards/{world.suppliers[0].id}?kind=month&period={month.key}"))


def sign(client, world, month, **form):
    page = client.get(f"/buyer/scorecards/{world.suppliers[0].id}?kind=month&period={month.key}")
    html = text_of(page)
    shown = html.split('name="shown" value="', 1)[1].split('"', 1)[0] if 'name="shown"' in html else ""
    data = {"kind": "month", "period": month.key, "csrf_token": token_in(page.data), "shown": shown, **form}
    return client.post(f"/buyer/scorecards/{world.suppliers[0].id}/sign", data=data)


def test_the_reviewer_signs_and_everyone_sees_it(app, world, data, month):
    quality = signed_in(app, world.users["quality"])
    assert "No reviewer has signed this scorecard." in page_of(quality, world, month)
    response = sign(quality, world, month, password=PASSWORD)
    assert response.status_code == 303
    page = text_of(quality.get(response.headers["Location"]))
    assert f"The scorecard of {month.key} is signed." in page
    assert world.users["quality"].full_name in page and "Signed content unchanged" in page
    assert "Sign as reviewed" not in page  # signed as shown: nothing to sign again
    supplier = text_of(signed_in(app, world.users["supplier1"]).get(f"/supplier/scorecard?kind=month&period={month.key}"))
    assert world.users["quality"].full_name in supplier and "Sign as reviewed" not in supplier


def test_a_missing_or_wrong_password_signs_nothing(app, world, data, month):
    quality = signed_in(app, world.users["quality"])
    empty = sign(quality, world, month, password="")
    assert empty.status_code == 422
    assert "Enter your password to sign." in text_of(empty)
    wrong = sign(quality, world, month, password="not it")
    assert wrong.status_code in (401, 403, 422)
    assert 'aria-invalid="true" aria-describedby="sign-password-error"' in text_of(wrong)
    assert "No reviewer has signed this scorecard." in page_of(quality, world, month)


def test_an_open_period_has_no_signing_form(app, world, data):
    this_month = period_of("month", utcnow().date())
    quality = signed_in(app, world.users["quality"])
    page = page_of(quality, world, this_month)
    assert "Sign as reviewed" not in page
    assert f"{this_month.key} is not over yet" in page
    refused = sign(quality, world, this_month, password=PASSWORD)
    assert refused.status_code == 409
    assert f"{this_month.key} is not over yet" in text_of(refused)


def test_viewers_and_suppliers_cannot_sign(app, world, data, month):
    viewer = signed_in(app, world.users["viewer"])
    assert "Sign as reviewed" not in page_of(viewer, world, month)
    assert sign(viewer, world, month, password=PASSWORD).status_code == 403


def test_the_api_says_who_signed(app, client, world, data, month):
    quality = signed_in(app, world.users["quality"])
    assert sign(quality, world, month, password=PASSWORD).status_code == 303
    login(client, world.users["supplier1"])
    detail = client.get(f"/api/v1/scorecards/{world.suppliers[0].id}?period={month.key}")
    assert detail.status_code == 200
    assert detail.json["signed_by"] == world.users["quality"].full_name and detail.json["signed_at"]


def test_a_scorecard_that_changed_after_it_was_opened_is_not_signed(app, tx, world, data, month):
    quality = signed_in(app, world.users["quality"])
    page = quality.get(f"/buyer/scorecards/{world.suppliers[0].id}?kind=month&period={month.key}")
    shown = text_of(page).split('name="shown" value="', 1)[1].split('"', 1)[0]
    # Meanwhile another late delivery of the month is received and the month recomputed.
    with tx.uow(tenant_id=world.tenant_id) as uow:
        data.uow = uow
        _, line = data.order(due=month.start + timedelta(days=5))
        data.delivery(line, arrived=at(month.start + timedelta(days=9)))
        scoring.recompute(uow, Actor.system("test"), period=month)
        uow.commit()
    form = {"kind": "month", "period": month.key, "csrf_token": token_in(page.data), "shown": shown, "password": PASSWORD}
    refused = quality.post(f"/buyer/scorecards/{world.suppliers[0].id}/sign", data=form)
    assert refused.status_code == 409
    assert "The scorecard changed after you opened it" in text_of(refused)
    assert "No reviewer has signed this scorecard." in page_of(quality, world, month)
