"""The kernel's own jobs: delivering the outbox. The runtime and the dispatcher are
reached through the job context's `additional_context`, set by the worker."""

from __future__ import annotations

import uuid

import procrastinate

from kernel.outbox import tenants_with_pending
from kernel.uow import Actor

blueprint = procrastinate.Blueprint()
blueprint.traceport_namespace = "kernel"


@blueprint.task(
    name="deliver_outbox",
    pass_context=True,
    queue="outbox",
    retry=procrastinate.RetryStrategy(max_attempts=10, exponential_wait=2),
)
def deliver_outbox(context: procrastinate.JobContext, tenant_id: str) -> int:
    runtime = context.additional_context["runtime"]
    dispatcher = context.additional_context["dispatcher"]
    with runtime.uow(tenant_id=uuid.UUID(tenant_id), actor=Actor.system("outbox")) as uow:
        sent = dispatcher.deliver_pending(uow)
        uow.commit()
    return sent


@blueprint.periodic(cron="* * * * *", periodic_id="sweep-outbox")
@blueprint.task(name="sweep_outbox", pass_context=True, queue="outbox")
def sweep_outbox(context: procrastinate.JobContext, timestamp: int) -> int:
    """Safety net: deliver anything a crash left between commit and defer."""
    runtime = context.additional_context["runtime"]
    with runtime.engine.connect() as connection:
        tenants = tenants_with_pending(connection)
    for tenant in tenants:
        deliver_outbox.defer(tenant_id=str(tenant))
    return len(tenants)
