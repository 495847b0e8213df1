"""Cold-chain jobs: loggers gone silent (every 5 minutes) and late shipments (hourly),
each tenant in its own transaction (app.coldchain_tenants: tenants with open bindings or
late ASNs)."""

from __future__ import annotations

import uuid
from datetime import date

import procrastinate
import sqlalchemy as sa

from erp.coldchain import excursions, transport
from kernel.clock import today, utcnow
from kernel.uow import Actor

blueprint = procrastinate.Blueprint()
blueprint.traceport_namespace = "coldchain"


def coldchain_tenants(runtime, *, as_of: date) -> list[uuid.UUID]:
    """Tenants with open bindings or ASNs late on `as_of` (a security-definer function:
    no tenant is in context yet)."""
    with runtime.uow() as uow:
        return [row[0] for row in uow.execute(sa.text("select * from app.coldchain_tenants(:d)"), {"d": as_of})]


def _each_tenant(runtime, work, *, name: str, as_of: date) -> int:
    tenant_ids = coldchain_tenants(runtime, as_of=as_of)
    total = 0
    for tenant_id in tenant_ids:
        actor = Actor.system(name)
        with runtime.uow(tenant_id=tenant_id, actor=actor) as uow:
            total += work(uow, actor)
            uow.commit()
    return total


def silence_all(runtime, *, now=None) -> int:
    """Gap alerts for loggers silent too long, in every tenant; the number raised."""
    now = now or utcnow()
    return _each_tenant(runtime, lambda uow, actor: excursions.check_silence(uow, actor, now=now), name="cold chain",
                        as_of=now.date())


def delayed_all(runtime, *, on=None) -> int:
    """Alerts for late cold-chain shipments, in every tenant; the number raised."""
    on = on or today()
    return _each_tenant(runtime, lambda uow, actor: transport.check_delayed(uow, actor, today=on), name="cold chain", as_of=on)


@blueprint.periodic(cron="*/5 * * * *", periodic_id="coldchain-silent-loggers")
@blueprint.task(name="check_silent_loggers", pass_context=True, queue="default")
def check_silent_loggers(context: procrastinate.JobContext, timestamp: int) -> int:
    return silence_all(context.additional_context["runtime"])


@blueprint.periodic(cron="23 * * * *", periodic_id="coldchain-late-shipments")
@blueprint.task(name="check_late_shipments", pass_context=True, queue="default")
def check_late_shipments(context: procrastinate.JobContext, timestamp: int) -> int:
    return delayed_all(context.additional_context["runtime"])
