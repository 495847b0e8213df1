"""Purchasing jobs: the overdue-acknowledgement reminders (erp.purchasing.reminders)."""

from __future__ import annotations

import procrastinate

from erp.purchasing import reminders
from kernel.uow import Actor

blueprint = procrastinate.Blueprint()
blueprint.traceport_namespace = "purchasing"


def remind_all(runtime) -> int:
    """Each tenant with orders awaiting the supplier, in its own transaction; the number
    of orders reminded."""
    with runtime.engine.connect() as connection:
        tenant_ids = reminders.tenants_awaiting_acknowledgement(connection)
    total = 0
    for tenant_id in tenant_ids:
        with runtime.uow(tenant_id=tenant_id, actor=Actor.system("overdue reminders")) as uow:
            total += reminders.send_reminders(uow)
            uow.commit()
    return total


@blueprint.periodic(cron="17 * * * *", periodic_id="po-ack-reminders")
@blueprint.task(name="remind_overdue_acknowledgements", pass_context=True, queue="default")
def remind_overdue_acknowledgements(context: procrastinate.JobContext, timestamp: int) -> int:
    """Hourly: an order becomes overdue at some hour of the day, and is reminded within one."""
    return remind_all(context.additional_context["runtime"])
