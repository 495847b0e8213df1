"""Overdue acknowledgements: the tenant's rule, the flag on lists, and the reminder mails.

An order is overdue when it has waited longer than the tenant's `ack_reminder_days`
since it was issued and the supplier has not acknowledged every line (status issued or
partially_acknowledged). The supplier's confirmers get a reminder then, and again every
as many days while it stays overdue. 0 days turns both off.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from auth.permissions import require
from erp.purchasing import settings
from erp.purchasing.models import AWAITING, PurchaseOrder, PurchasingSetting
from kernel.clock import utcnow
from kernel.errors import N_, ValidationFailed
from kernel.mail import queue_mail
from tenants import service as tenants

DEFAULT_DAYS = int(PurchasingSetting.__table__.c.ack_reminder_days.server_default.arg)
MAX_DAYS = 60
REMINDER_MAIL = "erp/purchasing/po_reminder"
DAYS_RANGE = N_("Enter a whole number of days from 0 (no reminders) to 60.")


def reminder_days(uow) -> int:
    """The tenant's days before an unacknowledged order is overdue (0: never)."""
    days = uow.scalar(sa.select(PurchasingSetting.ack_reminder_days))
    return DEFAULT_DAYS if days is None else days


def set_reminder_days(uow, actor, *, days) -> int:
    require(actor, "po.manage")
    try:
        value = int(str(days).strip())
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= MAX_DAYS:
        raise ValidationFailed(errors={"ack_reminder_days": DAYS_RANGE})
    settings.save(uow, ack_reminder_days=value)
    return value


def is_overdue(status: str, issued_at: datetime | None, days: int, now: datetime | None = None) -> bool:
    if not days or status not in AWAITING or issued_at is None:
        return False
    return issued_at <= (now or utcnow()) - timedelta(days=days)


def send_reminders(uow, *, now: datetime | None = None) -> int:
    """Mail a reminder for each overdue order of the tenant in context that was not
    reminded within the last `days`; the number of orders reminded. For the job."""
    now = now or utcnow()
    days = reminder_days(uow)
    if not days:
        return 0
    due = now - timedelta(days=days)
    orders = uow.session.scalars(
        sa.select(PurchaseOrder)
        .where(
            PurchaseOrder.status.in_(AWAITING),
            PurchaseOrder.issued_at <= due,
            sa.or_(PurchaseOrder.reminded_at.is_(None), PurchaseOrder.reminded_at <= due),
        )
        .order_by(PurchaseOrder.issued_at)
        .with_for_update(skip_locked=True)  # two workers never remind twice
    ).all()
    if not orders:
        return 0
    customer = tenants.own_organisation(uow)
    suppliers = tenants.organisations_by_id(uow, ids={po.supplier_id for po in orders})
    # One lookup for all suppliers, not one per order: a late supplier often has several.
    confirmers = tenants.members_holding_by_organisation(uow, organisation_ids=suppliers, permission="po.confirm")
    for po in orders:
        supplier = suppliers[po.supplier_id]
        for person in confirmers[po.supplier_id]:
            chinese = (person.locale or "").startswith("zh")
            queue_mail(
                uow,
                to=person.email,
                template=REMINDER_MAIL,
                locale=person.locale,
                context={
                    "full_name": person.full_name,
                    "number": po.number,
                    "customer": customer.name_zh if chinese and customer.name_zh else customer.name,
                    "supplier": supplier.name_zh if chinese and supplier.name_zh else supplier.name,
                    "days": (now - po.issued_at).days,
                    "path": f"/purchase-orders/{po.id}",
                },
            )
    # Not a change the version guards: the supplier's answer must not fail because of it.
    uow.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id.in_([po.id for po in orders])).values(reminded_at=now))
    uow.flush()
    return len(orders)


def tenants_awaiting_acknowledgement(connection) -> list[uuid.UUID]:
    """Tenants with orders awaiting the supplier (security-definer function: the job runs
    with no tenant in context)."""
    return [row[0] for row in connection.execute(sa.text("select * from app.tenants_awaiting_acknowledgement()"))]
