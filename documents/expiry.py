"""Certificate expiry: notices 90, 60, 30, 14, 7 and 0 days before a certificate lapses,
and the quality engineers' daily digest.

Notices. The scan (`notify_all`, the daily job and `traceport certificates
notify-expiring`) asks the security-definer function app.certificates_due which approved
certificates have crossed a threshold with no notice yet for it or a more urgent one
(it runs with no tenant in context), then handles each tenant in its own unit of work,
committed on its own (`send_notices`): a crash halfway leaves the tenants done as done and
the others due at the next run. Inside the tenant's transaction each certificate is
locked (`FOR UPDATE SKIP LOCKED`: a second run at the same time skips it), checked again,
and its certificate_notice row is inserted (`ON CONFLICT DO NOTHING` on the unique
(tenant, certificate, threshold)) in the same transaction as the mails are queued in the
outbox. So each (certificate, threshold) gets one notice, however often, late or
concurrently the scan runs: rows and mails commit together or not at all. A scan run
late sends only the most urgent threshold crossed (5 days left with nothing sent: the
7-day notice, not the 90/60/30/14 ones it missed); a certificate already expired gets
the 0-day notice once.

Recipients, each in their own language: the supplier's people who may upload
certificates ("cert.upload"), with a link to upload the renewal, and the quality
engineer responsible for the certificate (the one who approved it) or, when there is
none or they no longer review certificates for the tenant, everyone who does
("cert.review"), with a link to the certificate.

Digest (`send_digest`, `digest_all`): each day, everyone holding "cert.review" gets one
mail listing the approved certificates that lapse within 30 days and those already
lapsed but still approved (in use), soonest first; nothing when the list is empty.
Guarantee: at most one digest per tenant and `as_of` day among runs within
DIGEST_GUARD_HOURS of each other - runs are serialised per tenant by a transaction
advisory lock, and a run skips a tenant whose outbox already holds a digest for that day
queued within that window. A run more than two days after the first for the same
`as_of` (an operator's `--as-of` in the past) sends it again.

Days count in UTC: `as_of` defaults to today's date in UTC.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from documents.models import Certificate, CertificateNotice, CertificateType
from kernel.clock import today, utcnow
from kernel.ids import new_id
from kernel.mail import TOPIC as MAIL_TOPIC
from kernel.mail import normalise_locale, queue_mail
from kernel.outbox import OutboxMessage
from kernel.uow import Actor
from tenants import service as tenants

log = logging.getLogger(__name__)

THRESHOLDS = (90, 60, 30, 14, 7, 0)
DIGEST_DAYS = 30
DIGEST_GUARD_HOURS = 48
NOTICE_MAIL = "documents/certificate_expiring"
DIGEST_MAIL = "documents/certificate_digest"
UPLOADERS = "cert.upload"
REVIEWERS = "cert.review"


@dataclass(frozen=True)
class DueNotice:
    tenant_id: uuid.UUID
    certificate_id: uuid.UUID
    threshold_days: int
    days_left: int


class ExpiryScanIncomplete(RuntimeError):
    """Some tenants failed (each rolled back alone, due again at the next run); the
    others were committed. `done` counts what the run did for those."""

    def __init__(self, failed: list[uuid.UUID], done: int) -> None:
        super().__init__(f"{len(failed)} tenant(s) failed: {', '.join(str(t) for t in failed)}; {done} done")
        self.failed = failed
        self.done = done


def threshold_due(days_left: int, sent: Iterable[int] = ()) -> int | None:
    """The most urgent threshold crossed with `days_left` to go, unless a notice for it
    or a more urgent one went already (`sent`); None when nothing is due. The rule of
    app.certificates_due, for the check inside the tenant's transaction."""
    crossed = [t for t in THRESHOLDS if t >= days_left]
    if not crossed:
        return None
    threshold = min(crossed)
    if any(s <= threshold for s in sent):
        return None
    return threshold


# --- across tenants (no tenant in context) ----------------------------------------------


def due_notices(connection, *, as_of: date) -> list[DueNotice]:
    """Every tenant's notices due on `as_of` (security-definer function: the scan runs
    with no tenant in context), by tenant."""
    rows = connection.execute(
        sa.text(
            "select tenant_id, certificate_id, threshold_days, days_left"
            " from app.certificates_due(:as_of, cast(:thresholds as int[])) order by tenant_id, certificate_id"
        ),
        {"as_of": as_of, "thresholds": list(THRESHOLDS)},
    )
    return [DueNotice(*row) for row in rows]


def digest_tenants(connection, *, as_of: date) -> list[uuid.UUID]:
    """Tenants with approved certificates lapsing by `as_of` + DIGEST_DAYS (or lapsed)."""
    rows = connection.execute(
        sa.text("select * from app.certificate_digest_tenants(:as_of, :days)"), {"as_of": as_of, "days": DIGEST_DAYS}
    )
    return [row[0] for row in rows]


def notify_all(runtime, *, as_of: date | None = None, on_tenant: Callable[[uuid.UUID, int], None] | None = None) -> int:
    """The whole scan: each tenant with notices due, in its own unit of work committed on
    its own; the number of notices queued. A tenant that fails is rolled back alone and
    logged, the others go on; ExpiryScanIncomplete at the end names the failed ones.
    `on_tenant(tenant_id, notices)` is called after each tenant's commit."""
    as_of = as_of or today()
    with runtime.engine.connect() as connection:
        due = due_notices(connection, as_of=as_of)
    by_tenant: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for notice in due:
        by_tenant[notice.tenant_id].append(notice.certificate_id)
    return _each_tenant(
        runtime,
        by_tenant,
        lambda uow, ids: send_notices(uow, as_of=as_of, certificate_ids=ids),
        actor="certificate expiry",
        on_tenant=on_tenant,
    )


def digest_all(runtime, *, as_of: date | None = None, on_tenant: Callable[[uuid.UUID, int], None] | None = None) -> int:
    """Each tenant's digest for `as_of`, each in its own unit of work; mails queued."""
    as_of = as_of or today()
    with runtime.engine.connect() as connection:
        tenant_ids = digest_tenants(connection, as_of=as_of)
    return _each_tenant(
        runtime,
        dict.fromkeys(tenant_ids),
        lambda uow, _: send_digest(uow, as_of=as_of),
        actor="certificate digest",
        on_tenant=on_tenant,
    )


def _each_tenant(runtime, work: dict, step, *, actor: str, on_tenant) -> int:
    total = 0
    failed = []
    for tenant_id, arg in work.items():
        try:
            with runtime.uow(tenant_id=tenant_id, actor=Actor.system(actor)) as uow:
                done = step(uow, arg)
                uow.commit()
        except Exception:
            log.exception("%s: tenant %s failed; rolled back, due again at the next run", actor, tenant_id)
            failed.append(tenant_id)
            continue
        total += done
        if on_tenant is not None:
            on_tenant(tenant_id, done)
    if failed:
        raise ExpiryScanIncomplete(failed, total)
    return total


# --- one tenant (in context) ---------------------------------------------------------------


@dataclass(frozen=True)
class _Recipient:
    user: object
    for_supplier: bool


def send_notices(uow, *, as_of: date, certificate_ids: list | None = None) -> int:
    """Queue the notices due on `as_of` for the tenant in context (only the certificates
    named, when `certificate_ids` is given); the number of notices. Never commits."""
    window = as_of + timedelta(days=max(THRESHOLDS))
    query = sa.select(Certificate).where(
        Certificate.status == "approved", Certificate.expires_on.is_not(None), Certificate.expires_on <= window
    )
    if certificate_ids is not None:
        if not certificate_ids:
            return 0
        query = query.where(Certificate.id.in_(list(certificate_ids)))
    # A run at the same time holds (and notices) these; this one leaves them to it.
    certificates = uow.session.scalars(
        query.order_by(Certificate.expires_on, Certificate.id).with_for_update(skip_locked=True)
    ).all()
    if not certificates:
        return 0
    # Read after the lock: a run that held a certificate has committed its notice by now.
    sent: dict[uuid.UUID, set[int]] = defaultdict(set)
    for certificate_id, threshold in uow.execute(
        sa.select(CertificateNotice.certificate_id, CertificateNotice.threshold_days).where(
            CertificateNotice.certificate_id.in_([c.id for c in certificates])
        )
    ):
        sent[certificate_id].add(threshold)
    due = []
    for certificate in certificates:
        days_left = (certificate.expires_on - as_of).days
        threshold = threshold_due(days_left, sent[certificate.id])
        if threshold is not None:
            due.append((certificate, threshold, days_left))
    if not due:
        return 0

    customer = tenants.own_organisation(uow)
    types = _types(uow, {c.certificate_type_id for c, _, _ in due})
    suppliers = tenants.organisations_by_id(uow, ids={c.supplier_id for c, _, _ in due})
    uploaders = tenants.members_holding_by_organisation(uow, organisation_ids=suppliers, permission=UPLOADERS)
    reviewers = tenants.members_holding(uow, organisation_id=customer.id, permission=REVIEWERS)

    count = 0
    for certificate, threshold, days_left in due:
        recipients = _recipients(uploaders[certificate.supplier_id], reviewers, certificate.responsible_user_id)
        notice_id = uow.scalar(
            pg_insert(CertificateNotice.__table__)
            .values(
                tenant_id=uow.tenant_id,
                id=new_id(),
                certificate_id=certificate.id,
                supplier_id=certificate.supplier_id,
                threshold_days=threshold,
                as_of=as_of,
                days_left=days_left,
                recipients=len(recipients),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "certificate_id", "threshold_days"])
            .returning(CertificateNotice.__table__.c.id)
        )
        if notice_id is None:  # another run noticed it first: its mails went with its row
            continue
        if not recipients:
            log.warning("certificate %s: expiry notice (%s days) has nobody to go to", certificate.id, threshold)
        for recipient in recipients:
            person = recipient.user
            chinese = normalise_locale(person.locale) == "zh_Hans_CN"
            kind = types[certificate.certificate_type_id]
            supplier = suppliers[certificate.supplier_id]
            path = (
                f"/supplier/certificates/{certificate.id}/renew"
                if recipient.for_supplier
                else f"/buyer/certificates/{certificate.id}"
            )
            queue_mail(
                uow,
                to=person.email,
                template=NOTICE_MAIL,
                locale=person.locale,
                context={
                    "full_name": person.full_name,
                    "type_name": _named(kind, chinese),
                    "number": certificate.number,
                    "supplier": _named(supplier, chinese),
                    "customer": _named(customer, chinese),
                    "expires_on": certificate.expires_on,
                    "days_left": days_left,
                    "threshold": threshold,
                    "for_supplier": recipient.for_supplier,
                    "path": path,
                },
            )
        count += 1
    uow.flush()
    return count


def _recipients(uploaders: list, reviewers: list, responsible_user_id) -> list[_Recipient]:
    responsible = [r for r in reviewers if r.id == responsible_user_id]
    people = [_Recipient(u, True) for u in uploaders] + [_Recipient(u, False) for u in (responsible or reviewers)]
    seen: set = set()
    result = []
    for recipient in people:
        if recipient.user.id not in seen:
            seen.add(recipient.user.id)
            result.append(recipient)
    return result


def _types(uow, ids) -> dict[uuid.UUID, CertificateType]:
    return {t.id: t for t in uow.session.scalars(sa.select(CertificateType).where(CertificateType.id.in_(list(ids))))}


def _named(row, chinese: bool) -> str:
    return row.name_zh if chinese and row.name_zh else row.name


# --- the digest ------------------------------------------------------------------------------


def lapsing(uow, *, as_of: date, days: int = DIGEST_DAYS) -> list[Certificate]:
    """The tenant's approved certificates lapsing within `days` of `as_of`, and those
    already lapsed but still approved, soonest first."""
    return list(
        uow.session.scalars(
            sa.select(Certificate)
            .where(
                Certificate.status == "approved",
                Certificate.expires_on.is_not(None),
                Certificate.expires_on <= as_of + timedelta(days=days),
            )
            .order_by(Certificate.expires_on, Certificate.number, Certificate.id)
        )
    )


def send_digest(uow, *, as_of: date) -> int:
    """Queue the digest for the tenant in context to everyone holding "cert.review";
    the number of mails (0: nothing lapsing, or this day's digest went already)."""
    # Runs for the same tenant wait for each other here, so the check below sees the
    # committed digest of a run that went first.
    uow.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"documents.digest:{uow.tenant_id}", 0))))
    certificates = lapsing(uow, as_of=as_of)
    if not certificates or _digest_queued(uow, as_of):
        return 0
    customer = tenants.own_organisation(uow)
    reviewers = tenants.members_holding(uow, organisation_id=customer.id, permission=REVIEWERS)
    types = _types(uow, {c.certificate_type_id for c in certificates})
    suppliers = tenants.organisations_by_id(uow, ids={c.supplier_id for c in certificates})
    for person in reviewers:
        chinese = normalise_locale(person.locale) == "zh_Hans_CN"
        rows = [
            {
                "expires_on": c.expires_on,
                "days_left": (c.expires_on - as_of).days,
                "type_name": _named(types[c.certificate_type_id], chinese),
                "number": c.number,
                "supplier": _named(suppliers[c.supplier_id], chinese),
                "path": f"/buyer/certificates/{c.id}",
            }
            for c in certificates
        ]
        queue_mail(
            uow,
            to=person.email,
            template=DIGEST_MAIL,
            locale=person.locale,
            context={
                "full_name": person.full_name,
                "customer": _named(customer, chinese),
                "as_of": as_of,
                "days": DIGEST_DAYS,
                "lapsed": [r for r in rows if r["days_left"] < 0],
                "lapsing": [r for r in rows if r["days_left"] >= 0],
                "count": len(rows),
                "path": "/buyer/certificates",
            },
        )
    uow.flush()
    return len(reviewers)


def _digest_queued(uow, as_of: date) -> bool:
    """A digest for `as_of` is in this tenant's outbox, queued within DIGEST_GUARD_HOURS
    (ids are UUIDv7: their first 48 bits are the millisecond they were made, so the
    window is a range of the primary key)."""
    since = utcnow() - timedelta(hours=DIGEST_GUARD_HOURS)
    floor = uuid.UUID(int=int(since.timestamp() * 1000) << 80)
    return bool(
        uow.scalar(
            sa.select(
                sa.exists().where(
                    OutboxMessage.id >= floor,
                    OutboxMessage.topic == MAIL_TOPIC,
                    OutboxMessage.payload["template"].astext == DIGEST_MAIL,
                    OutboxMessage.payload["context"]["as_of"].astext == as_of.isoformat(),
                )
            )
        )
    )
