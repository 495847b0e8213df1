"""An issued purchase order is mailed (real SMTP) to the supplier's people who confirm
orders, each in their language; nobody else gets it."""

from __future__ import annotations

import sqlalchemy as sa

from auth.models import User
from portal.jobs import dispatcher
from tenants import service as tenants
from tests.erp.po_support import actors, issued_order
from tests.factories import make_user


def deliver(tx, settings, tenant_id) -> None:
    with tx.uow(tenant_id=tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()


def test_issuing_mails_the_suppliers_confirmers_in_their_language(tx, world, settings, mailbox):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        colleague = make_user(uow, locale="zh_Hans_CN")
        tenants.add_membership(uow, user=colleague, role="supplier_user", organisation=world.suppliers[0])
        uow.commit()
    who = actors(tx, world)
    draft = issued_order(tx, world, who, issue=False)
    deliver(tx, settings, world.tenant_id)
    assert mailbox == []  # a draft tells nobody

    po_id = issued_order(tx, world, who)
    deliver(tx, settings, world.tenant_id)

    received = {m["To"]: m for m in mailbox}
    # The supplier's confirmers (the browser tests add more people to this company).
    assert {world.users["supplier1"].email, colleague.email} <= set(received)
    assert world.users["supplier2"].email not in received and world.users["buyer"].email not in received
    with tx.uow(tenant_id=world.tenant_id) as uow:
        number = uow.scalar(sa.text("select number from purchase_order where id = :id"), {"id": po_id})
    english = received[world.users["supplier1"].email]
    assert number in english["Subject"] and "New purchase order" in english["Subject"]
    body = english.get_body(("plain",)).get_content()
    assert f"/purchase-orders/{po_id}" in body and "4 line(s)" in body
    chinese = received[colleague.email]
    assert number in chinese["Subject"] and "采购订单" in chinese["Subject"]
    assert draft != po_id


def test_an_inactive_person_or_another_supplier_is_not_mailed(tx, world, settings, mailbox):
    with tx.uow() as uow:
        uow.execute(sa.update(User).where(User.id == world.users["supplier1"].id).values(is_active=False))
        uow.commit()
    issued_order(tx, world, actors(tx, world))
    deliver(tx, settings, world.tenant_id)
    recipients = {m["To"] for m in mailbox}
    assert world.users["supplier1"].email not in recipients and world.users["supplier2"].email not in recipients
