"""The purchasing rules screen: a buyer sets the days before an order is overdue; bad
input is refused on the page and nothing is saved; others cannot reach it."""

from __future__ import annotations

import pytest

from erp.purchasing import reminders
from erp.shipping import settings as shipping
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


def test_a_buyer_sets_the_ship_notice_rules_and_bad_ones_are_refused(client, tx, world):
    login(client, world.users["buyer"])
    page = client.get(PAGE)
    assert "Shelf life left on arrival (days)" in text_of(page)
    token = token_in(page.data)
    refused = client.post(PAGE, data={"csrf_token": token, "over_delivery_pct": "150", "min_shelf_life_days": "-3"})
    assert refused.status_code == 422
    shown = text_of(refused)
    assert "Enter a percentage from 0 to 100." in shown and "Enter a number of days from 0 to 3650." in shown
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert shipping.rules(uow) == shipping.ShippingRules()
    saved = client.post(PAGE, data={"csrf_token": token, "over_delivery_pct": "5", "min_shelf_life_days": "180"})
    assert saved.status_code == 303
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert (shipping.rules(uow).over_delivery_pct, shipping.rules(uow).min_shelf_life_days) == (5, 180)
