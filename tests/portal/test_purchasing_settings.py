"""The purchasing rules screen: a buyer sets the days before an order is overdue; bad
input is refused on the page and nothing is saved; others cannot reach it."""

from __future__ import annotations

import pytest

from erp.purchasing import reminders
from tests.portal.support import login, text_of, token_in

PAGE = "/buyer/purchasing-settings"


def days(tx, world) -> int:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return reminders.reminder_days(uow)


def test_a_buyer_sets_the_days(client, tx, world):
    login(client, world.users["buyer"])
    page = client.get(PAGE)
    assert page.status_code == 200 and 'value="3"' in text_of(page)
    saved = client.post(PAGE, data={"csrf_token": token_in(page.data), "ack_reminder_days": "7"})
    assert saved.status_code == 303
    assert "The purchasing rules are saved." in text_of(client.get(PAGE))
    assert days(tx, world) == 7


@pytest.mark.parametrize("value", ["", "-1", "61", "three"])
def test_bad_days_are_shown_on_the_form_and_nothing_is_saved(client, tx, world, value):
    login(client, world.users["buyer"])
    page = client.get(PAGE)
    refused = client.post(PAGE, data={"csrf_token": token_in(page.data), "ack_reminder_days": value})
    assert refused.status_code == 422
    assert "Enter a whole number of days from 0 (no reminders) to 60." in text_of(refused)
    assert days(tx, world) == reminders.DEFAULT_DAYS


@pytest.mark.parametrize("who", ["viewer", "supplier1"])
def test_others_cannot_reach_it(client, world, who):
    login(client, world.users[who])
    assert client.get(PAGE).status_code == 403
