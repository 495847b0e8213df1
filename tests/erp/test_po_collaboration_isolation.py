"""The tables of migration 0007 seen from another tenant: messages, change orders and
purchasing settings of tenant A are not there for tenant B (row-level security)."""

from __future__ import annotations

import sqlalchemy as sa

from erp.purchasing import changes, messages, reminders
from erp.purchasing.models import PoMessage, PoRevision, PurchasingSetting
from tests.erp.po_support import actors, issued_order


def test_another_tenant_sees_none_of_the_thread_the_change_orders_or_the_settings(tx, world, other_world):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    buyer = who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        messages.post_message(uow, buyer, po_id=po_id, body="Early?", author_name="Bo")
        line_id = uow.scalar(sa.text("select id from purchase_order_line where purchase_order_id = :p limit 1"), {"p": po_id})
        version = uow.scalar(sa.text("select version from purchase_order where id = :p"), {"p": po_id})
        changes.revise_purchase_order(
            uow, buyer, po_id=po_id, version=version, changes=[{"line_id": line_id, "quantity": "150"}], reason="More"
        )
        reminders.set_reminder_days(uow, buyer, days=9)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        counts = [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (PoMessage, PoRevision, PurchasingSetting)]
        assert counts == [1, 1, 1]
    other_buyer = actors(tx, other_world)["buyer"]
    with tx.uow(tenant_id=other_world.tenant_id, actor=other_buyer) as uow:
        for table in (PoMessage, PoRevision, PurchasingSetting):
            assert uow.scalar(sa.select(sa.func.count()).select_from(table)) == 0
        assert messages.list_messages(uow, other_buyer, po_id=po_id) == []
        assert changes.list_revisions(uow, po_id=po_id) == []
        assert reminders.reminder_days(uow) == reminders.DEFAULT_DAYS


def test_a_supplier_sees_only_the_change_orders_of_its_own_orders(tx, world):
    who = actors(tx, world)
    buyer = who["buyer"]
    orders = [issued_order(tx, world, who, supplier=n) for n in (0, 1)]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        for po_id in orders:
            line_id = uow.scalar(sa.text("select id from purchase_order_line where purchase_order_id = :p limit 1"), {"p": po_id})
            version = uow.scalar(sa.text("select version from purchase_order where id = :p"), {"p": po_id})
            changes.revise_purchase_order(
                uow, buyer, po_id=po_id, version=version, changes=[{"line_id": line_id, "quantity": "150"}], reason="More"
            )
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        both = sa.select(PoRevision.purchase_order_id).where(PoRevision.purchase_order_id.in_(orders))
        assert sorted(uow.session.scalars(both)) == sorted(orders)
    for supplier, (own, theirs) in (("supplier1", orders), ("supplier2", orders[::-1])):
        with tx.uow(tenant_id=world.tenant_id, actor=who[supplier]) as uow:
            assert list(uow.session.scalars(both)) == [own]
            hidden = sa.select(sa.func.count()).select_from(PoRevision).where(PoRevision.purchase_order_id == theirs)
            assert uow.scalar(hidden) == 0
            assert [r.revision for r in changes.list_revisions(uow, po_id=own)] == [2]
