"""The monthly scorecard mail: each supplier gets its scorecard of the month just ended
as a PDF, each of its people who may see scorecards in their own language.

`queue_month` (the tenant in context) records one `ScorecardMailing` per supplier and
period - at most once, however often or concurrently the job runs - and queues one
outbox message ("scoring.scorecard_mail") per recipient in the same transaction. The
PDF is made when the message is delivered (`mail_handler`, registered with the worker's
dispatcher): the outbox keeps a few hundred bytes, not the file, and a retry makes the
same document again. The mail itself is rendered like every other notice (kernel.mail
templates "scoring/scorecard_monthly", in the recipient's language) and leaves over SMTP
with the PDF attached.

A supplier with no stored scorecard in the period gets nothing: there is nothing to send.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import insert

from kernel.clock import utcnow
from kernel.ids import new_id
from kernel.mail import Mailer, MailTemplates, SmtpMailer, build_message, default_templates, normalise_locale
from kernel.models import Base, TenantOwned, tenant_fk
from kernel.outbox import emit
from kernel.uow import Actor
from scoring.aggregates import active_tenants
from scoring.models import ScorecardResult
from scoring.periods import Period, period_of
from tenants import service as tenants

log = logging.getLogger(__name__)

TOPIC = "scoring.scorecard_mail"
TEMPLATE = "scoring/scorecard_monthly"
RECIPIENTS = "scorecard.view"


class ScorecardMailing(TenantOwned, Base):
    """A supplier's scorecard of a period went out (to `recipients` people)."""

    __tablename__ = "scorecard_mailing"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "supplier_id", "period_key"),
        tenant_fk(["supplier_id"], "organisation"),
    )

    supplier_id: orm.Mapped[uuid.UUID]
    period_key: orm.Mapped[str] = orm.mapped_column(sa.String(12))
    recipients: orm.Mapped[int] = orm.mapped_column(server_default="0")
    queued_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


def previous_month(today: date) -> Period:
    return period_of("month", date.fromordinal(today.replace(day=1).toordinal() - 1))


def queue_month(uow, *, period: Period) -> int:
    """Queue the period's scorecard mail of every supplier with a stored scorecard in it
    that has not had it yet (the tenant in context); the number of mails queued."""
    supplier_ids = list(
        uow.session.scalars(
            sa.select(ScorecardResult.supplier_id)
            .where(ScorecardResult.period_key == period.key, ScorecardResult.supplier_id.is_not(None))
            .order_by(ScorecardResult.supplier_id)
        )
    )
    if not supplier_ids:
        return 0
    people = tenants.members_holding_by_organisation(uow, organisation_ids=supplier_ids, permission=RECIPIENTS)
    queued = 0
    for supplier_id in supplier_ids:
        recipients = people.get(supplier_id, [])
        mailing_id = uow.scalar(
            insert(ScorecardMailing.__table__)
            .values(
                tenant_id=uow.tenant_id, id=new_id(), supplier_id=supplier_id, period_key=period.key, recipients=len(recipients)
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "supplier_id", "period_key"])
            .returning(ScorecardMailing.__table__.c.id)
        )
        if mailing_id is None:  # sent already (or by a run at the same time)
            continue
        if not recipients:
            log.warning("scorecard %s of supplier %s: nobody to send it to", period.key, supplier_id)
        for person in recipients:
            emit(
                uow,
                TOPIC,
                {
                    "to": person.email,
                    "name": person.full_name,
                    "locale": normalise_locale(person.locale),
                    "timezone": person.timezone or "UTC",
                    "supplier_id": str(supplier_id),
                    "kind": period.kind,
                    "period": period.key,
                    "message_id": new_id().hex,
                },
            )
            queued += 1
    return queued


def send_all(runtime, *, today: date | None = None) -> int:
    """Every active tenant's mails of last month, each tenant in its own transaction; a
    tenant that fails is rolled back alone (the next run makes up for it)."""
    period = previous_month(today or utcnow().date())
    with runtime.engine.connect() as connection:
        tenant_ids = active_tenants(connection)
    total = 0
    for tenant_id in tenant_ids:
        try:
            with runtime.uow(tenant_id=tenant_id, actor=Actor.system("monthly scorecards")) as uow:
                total += queue_month(uow, period=period)
                uow.commit()
        except Exception:
            log.exception("monthly scorecards: tenant %s failed; rolled back", tenant_id)
    return total


def mail_handler(
    settings, mailer: Mailer | None = None, *, templates: MailTemplates | None = None
) -> Callable[[object, dict], None]:
    """The outbox handler: make the PDF in the recipient's language, render the mail,
    send it with the PDF attached. Exceptions propagate (the dispatcher retries)."""
    from scoring import reports  # weasyprint: only where mail is delivered

    mailer = mailer or SmtpMailer(settings)
    base_url = settings.base_url.rstrip("/")

    def send(uow, payload: dict) -> None:
        supplier_id = uuid.UUID(payload["supplier_id"])
        period = period_of(payload["kind"], payload["period"])
        actor = Actor.system("monthly scorecards")
        locale = payload["locale"]
        pdf, filename = reports.scorecard_pdf(
            uow, actor, supplier_id=supplier_id, period=period, language=locale, timezone=payload.get("timezone", "UTC"),
            for_supplier=True,
        )
        supplier = tenants.organisations_by_id(uow, ids=[supplier_id]).get(supplier_id)
        customer = tenants.own_organisation(uow)
        context = {
            "base_url": base_url,
            "name": payload.get("name") or "",
            "period": period.key,
            "supplier": _name(supplier, locale),
            "customer": _name(customer, locale),
            "link": f"{base_url}/scorecards/{supplier_id}/trends?kind={period.kind}&period={period.key}",
        }
        rendered = (templates or default_templates()).render(TEMPLATE, payload["locale"], context)
        message = build_message(rendered, to=payload["to"], mail_from=settings.mail_from, message_id=payload.get("message_id"))
        language = message["Content-Language"]
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
        # add_attachment makes the message multipart and moves Content-* headers to the body part.
        del message["Content-Language"]
        message["Content-Language"] = language
        mailer.send(message)

    return send


def _name(organisation, locale: str) -> str:
    if organisation is None:
        return ""
    return organisation.name_zh if locale == "zh_Hans_CN" and organisation.name_zh else organisation.name
