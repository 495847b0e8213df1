"""Scoring jobs: the compliance dashboard's aggregates (scoring.aggregates), the daily
recompute of every tenant's scorecards (scoring.service) and the monthly scorecard mail
(scoring.mailing). Each tenant works in its own transaction; one that fails is rolled
back alone and logged, and the next run makes up for it."""

from __future__ import annotations

import logging

import procrastinate

from kernel.uow import Actor
from scoring import aggregates, mailing, service

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
blueprint.traceport_namespace = "scoring"


def refresh_all(runtime) -> int:
    """Every active tenant's dashboard aggregates brought up to date; the tenants done."""
    with runtime.engine.connect() as connection:
        tenant_ids = aggregates.active_tenants(connection)
    done = 0
    for tenant_id in tenant_ids:
        try:
            with runtime.uow(tenant_id=tenant_id, actor=Actor.system("compliance aggregates")) as uow:
                aggregates.refresh(uow)
                uow.commit()
            done += 1
        except Exception:
            log.exception("compliance aggregates: tenant %s failed; rolled back, refreshed at the next run", tenant_id)
    return done


def recompute_all(runtime) -> int:
    """Each active tenant: this month's and last month's scorecards (their quarters and
    rolling twelve months) and the suppliers' grades; the rows written."""
    with runtime.engine.connect() as connection:
        tenant_ids = aggregates.active_tenants(connection)
    total = 0
    for tenant_id in tenant_ids:
        try:
            with runtime.uow(tenant_id=tenant_id, actor=Actor.system("scorecards")) as uow:
                total += service.recompute(uow, uow.actor)
                uow.commit()
        except Exception:
            log.exception("scorecards: tenant %s failed; rolled back, recomputed at the next run", tenant_id)
    return total


@blueprint.periodic(cron="*/5 * * * *", periodic_id="compliance-aggregates")
@blueprint.task(name="refresh_compliance_aggregates", pass_context=True, queue="default")
def refresh_compliance_aggregates(context: procrastinate.JobContext, timestamp: int) -> int:
    """Every five minutes: the dashboard's figures follow the transactions closely."""
    return refresh_all(context.additional_context["runtime"])


@blueprint.periodic(cron="40 2 * * *", periodic_id="scorecards-recompute")
@blueprint.task(name="recompute_scorecards", pass_context=True, queue="default")
def recompute_scorecards(context: procrastinate.JobContext, timestamp: int) -> int:
    """Daily: scorecards and grades of every tenant."""
    return recompute_all(context.additional_context["runtime"])


@blueprint.periodic(cron="0 6 2 * *", periodic_id="scorecards-monthly-mail")
@blueprint.task(name="mail_monthly_scorecards", pass_context=True, queue="default")
def mail_monthly_scorecards(context: procrastinate.JobContext, timestamp: int) -> int:
    """On the 2nd of each month (after the night's recompute): last month's scorecard to
    each supplier."""
    return mailing.send_all(context.additional_context["runtime"])
