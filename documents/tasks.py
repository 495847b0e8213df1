"""Documents jobs: certificate expiry notices and the quality engineers' daily digest
(documents.expiry)."""

from __future__ import annotations

import procrastinate

from documents import expiry

blueprint = procrastinate.Blueprint()
blueprint.traceport_namespace = "documents"


@blueprint.periodic(cron="5 6 * * *", periodic_id="certificate-expiry-notices")
@blueprint.task(name="notify_expiring_certificates", pass_context=True, queue="default")
def notify_expiring_certificates(context: procrastinate.JobContext, timestamp: int) -> int:
    """Daily: the notices due today (UTC). Each goes once however often this runs; a run
    missed is made up by the next, with the most urgent notice due."""
    return expiry.notify_all(context.additional_context["runtime"])


@blueprint.periodic(cron="15 6 * * *", periodic_id="certificate-digest")
@blueprint.task(name="send_certificate_digests", pass_context=True, queue="default")
def send_certificate_digests(context: procrastinate.JobContext, timestamp: int) -> int:
    """Daily: each tenant's digest of certificates lapsing within 30 days (once per day)."""
    return expiry.digest_all(context.additional_context["runtime"])
