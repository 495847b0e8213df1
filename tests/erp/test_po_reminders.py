"""Overdue acknowledgements: the tenant's days, reminders by email (real SMTP) to the
supplier's confirmers, once per period, and the job that walks the tenants."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erp.purchasing import reminders
from erp.purchasing.models import PurchaseOrder, PurchasingSetting
from erp.purchasing.tasks import remind_all
from kernel.clock import utcnow
from kernel.errors import Forbidden, ValidationFailed
from portal.jobs import dispatcher
from tests.erp.po_support import actors, issued_order


def age(tx, world, po_id, days: float) -> None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == po_id).values(issued_at=utcnow() - timedelta(days=days)))
        uow.commit()


def deliver(tx, settings, world) -> None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()


def remind(tx, world, now=None) -> int:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        count = reminders.send_reminders(uow, now=now)
        uow.commit()
    return count


def test_an_order_waiting_longer_than_the_tenants_days_is_reminded_once_per_period(tx, world, settings, mailbox):
    who = actors(tx, world)
    fresh = issued_order(tx, world, who)
    late = issued_order(tx, world, who)
    age(tx, world, late, 4)
    deliver(tx, settings, world)
    mailbox.clear()  # the mails of the issue itself

    assert remind(tx, world) == 1
    deliver(tx, settings, world)
    reminded = [m for m in mailbox if "Reminder" in m["Subject"]]
    assert world.users["supplier1"].email in {m["To"] for m in reminded}
    [mail] = [m for m in reminded if m["To"] == world.users["supplier1"].email]
    assert f"/purchase-orders/{late}" in mail.get_body(("plain",)).get_content()
    assert remind(tx, world) == 0  # not again within the period
    # Three days on: the late one again, and the fresh one is now overdue too.
    assert remind(tx, world, now=utcnow() + timedelta(days=3, minutes=1)) == 2
    assert fresh != late


def test_zero_days_turns_reminders_off_and_acknowledged_orders_are_left_alone(tx, world):
    who = actors(tx, world)
    late = issued_order(tx, world, who)
    age(tx, world, late, 30)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        reminders.set_reminder_days(uow, who["buyer"], days="0")
        uow.commit()
    assert remind(tx, world) == 0
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        reminders.set_reminder_days(uow, who["buyer"], days=5)
        assert reminders.reminder_days(uow) == 5
        uow.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == late).values(status="acknowledged"))
        uow.commit()
    assert remind(tx, world) == 0


@pytest.mark.parametrize("days", ["-1", "61", "three", None, "2.5"])
def test_bad_days_are_refused_and_nothing_is_saved(tx, world, days):
    who = actors(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        with pytest.raises(ValidationFailed) as refused:
            reminders.set_reminder_days(uow, who["buyer"], days=days)
        assert "ack_reminder_days" in refused.value.errors
        assert uow.session.scalar(sa.select(PurchasingSetting)) is None
        assert reminders.reminder_days(uow) == reminders.DEFAULT_DAYS


@pytest.mark.parametrize("role", ["viewer", "supplier1"])
def test_only_buyers_with_po_manage_set_the_days(tx, world, role):
    who = actors(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who[role]) as uow, pytest.raises(Forbidden):
        reminders.set_reminder_days(uow, who[role], days=7)


def test_the_job_reminds_each_tenant_in_its_own_context(tx, world, other_world):
    late = issued_order(tx, world, actors(tx, world))
    age(tx, world, late, 10)
    other = issued_order(tx, other_world, actors(tx, other_world))
    age(tx, other_world, other, 10)
    assert remind_all(tx) == 2
    assert remind_all(tx) == 0
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(PurchaseOrder.reminded_at).where(PurchaseOrder.id == late)) is not None


def test_overdue_is_computed_from_the_days_and_the_status():
    now = utcnow()
    assert reminders.is_overdue("issued", now - timedelta(days=4), 3, now)
    assert reminders.is_overdue("partially_acknowledged", now - timedelta(days=4), 3, now)
    assert not reminders.is_overdue("acknowledged", now - timedelta(days=40), 3, now)
    assert not reminders.is_overdue("issued", now - timedelta(days=2), 3, now)
    assert not reminders.is_overdue("issued", now - timedelta(days=40), 0, now)
    assert not reminders.is_overdue("draft", None, 3, now)


def test_lists_flag_overdue_orders(tx, world):
    from erp.purchasing.service import get_purchase_order, list_purchase_orders

    who = actors(tx, world)
    late = issued_order(tx, world, who)
    fresh = issued_order(tx, world, who)
    age(tx, world, late, 4)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        flags = {row.id: row.overdue for row in list_purchase_orders(uow).items}
        assert flags[late] is True and flags[fresh] is False
        assert get_purchase_order(uow, po_id=late).overdue is True
