"""Certificate expiry notices and the quality engineers' digest (documents.expiry): each
(certificate, threshold) notice once, however often, late, concurrently or brokenly the
scan runs; mail over real SMTP to the supplier's uploaders and the responsible quality
engineer, in each one's language; the CLI on the same path."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from documents import expiry
from documents.models import Certificate, CertificateNotice, CertificateType
from kernel.uow import Actor
from portal.cli import main as cli
from portal.jobs import dispatcher
from tenants import service as tenants
from tests.factories import make_tenant_world, make_user, unique
from tests.factories.documents import make_certificate, make_certificate_type

AS_OF = date(2027, 3, 1)


# --- data -------------------------------------------------------------------------------


def add_cert(
    runtime, world, days_left: int | None, *, as_of: date = AS_OF, supplier: int = 0, kind: CertificateType | None = None, **kw
) -> Certificate:
    """A certificate of the world's supplier `supplier` as review leaves it, expiring
    `days_left` days after `as_of` (None: never)."""
    expires_on = None if days_left is None else as_of + timedelta(days=days_left)
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        cert = make_certificate(uow, supplier=world.suppliers[supplier], type=kind, expires_on=expires_on, **kw)
        uow.commit()
    return cert


def send(runtime, world, as_of: date = AS_OF, **kw) -> int:
    with runtime.uow(tenant_id=world.tenant_id, actor=Actor.system("test")) as uow:
        count = expiry.send_notices(uow, as_of=as_of, **kw)
        uow.commit()
    return count


def notices(runtime, world, cert_id=None) -> list[tuple[int, int]]:
    """(threshold, days left) of the world's notices, of one certificate when named."""
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        query = sa.select(CertificateNotice.threshold_days, CertificateNotice.days_left).order_by(
            CertificateNotice.created_at, CertificateNotice.id
        )
        if cert_id is not None:
            query = query.where(CertificateNotice.certificate_id == cert_id)
        return [tuple(row) for row in uow.execute(query)]


def deliver(runtime, world) -> None:
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        while dispatcher(runtime.settings).deliver_pending(uow):
            pass
        uow.commit()


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def to(mailbox, email: str) -> list:
    return [m for m in mailbox if m["To"] == email]


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "sent", "due"),
    [
        (91, (), None),
        (90, (), 90),
        (75, (), 90),
        (75, (90,), None),
        (60, (90,), 60),
        (5, (), 7),  # late: the most urgent crossed, not the ones missed
        (5, (90, 60), 7),
        (5, (7,), None),
        (8, (7,), None),  # a more urgent one went already (a scan run as of a later day)
        (0, (7,), 0),
        (-30, (), 0),
        (-30, (0,), None),
    ],
)
def test_the_threshold_due_is_the_most_urgent_crossed_and_not_sent(days_left, sent, due):
    assert expiry.threshold_due(days_left, sent) == due


# --- one tenant, in a rolled-back transaction ----------------------------------------------------


def test_each_threshold_crossed_sends_one_notice_as_the_days_go_by(tx, world, settings, mailbox):
    start = AS_OF
    cert = add_cert(tx, world, 95, as_of=start)
    sent_on = {}
    for day in range(0, 101):  # from 95 days left to 5 days after expiry, a run every day
        as_of = start + timedelta(days=day)
        if send(tx, world, as_of):
            sent_on[95 - day] = as_of
    assert sorted(sent_on, reverse=True) == [90, 60, 30, 14, 7, 0]
    assert notices(tx, world, cert.id) == [(t, t) for t in expiry.THRESHOLDS]
    deliver(tx, world)
    supplier = world.users["supplier1"].email
    subjects = [m["Subject"] for m in to(mailbox, supplier)]
    assert len(subjects) == 6
    assert subjects[0].strip().startswith("Certificate expires in 90 days: ISO 13485 ")
    assert subjects[-1].strip().startswith("Certificate expires today: ISO 13485 ")
    assert all(cert.number in s and "Supplier 1 of" in s for s in subjects)
    # Nobody else's supplier hears of it.
    assert to(mailbox, world.users["supplier2"].email) == []


def test_running_twice_sends_nothing_more(tx, world, settings, mailbox):
    add_cert(tx, world, 30)
    assert send(tx, world) == 1
    assert send(tx, world) == 0
    deliver(tx, world)
    assert len(to(mailbox, world.users["supplier1"].email)) == 1


def test_a_scan_late_by_ten_days_sends_only_the_most_urgent_notice(tx, world, settings, mailbox):
    cert = add_cert(tx, world, 5)  # the 7-day run was missed, and every one before it
    assert send(tx, world) == 1
    assert notices(tx, world, cert.id) == [(7, 5)]
    assert send(tx, world, AS_OF + timedelta(days=1)) == 0  # 4 days left: still the 7-day one
    deliver(tx, world)
    [mail] = to(mailbox, world.users["supplier1"].email)
    assert mail["Subject"].strip().startswith("Certificate expires in 5 days:")
    assert "in 5 days." in body(mail)
    assert send(tx, world, AS_OF + timedelta(days=5)) == 1
    assert notices(tx, world, cert.id) == [(7, 5), (0, 0)]


def test_an_expired_certificate_gets_the_zero_day_notice_once(tx, world, settings, mailbox):
    cert = add_cert(tx, world, -20)
    assert send(tx, world) == 1
    assert send(tx, world, AS_OF + timedelta(days=3)) == 0
    assert notices(tx, world, cert.id) == [(0, -20)]
    deliver(tx, world)
    [mail] = to(mailbox, world.users["supplier1"].email)
    assert mail["Subject"].strip().startswith("Certificate expired: ISO 13485")
    expired = (AS_OF - timedelta(days=20)).strftime("%b %-d, %Y")
    assert f"expired on {expired}." in " ".join(body(mail).split())


@pytest.mark.parametrize("status", ["pending_review", "rejected", "superseded"])
def test_certificates_not_in_force_get_no_notice(tx, world, status):
    add_cert(tx, world, 3, status=status)
    add_cert(tx, world, None)  # approved, never expires
    add_cert(tx, world, 91)  # approved, not yet within 90 days
    assert send(tx, world) == 0
    assert notices(tx, world) == []


def test_supplier_uploaders_get_the_renewal_link_and_the_responsible_engineer_the_certificate(tx, world, settings, mailbox):
    quality = world.users["quality"]
    cert = add_cert(tx, world, 14, responsible_user_id=quality.id)
    assert send(tx, world) == 1
    deliver(tx, world)
    [supplier_mail] = to(mailbox, world.users["supplier1"].email)
    assert f"{settings.base_url}/supplier/certificates/{cert.id}/renew" in body(supplier_mail)
    assert "Please upload the renewed certificate" in body(supplier_mail)
    [quality_mail] = to(mailbox, quality.email)
    assert f"{settings.base_url}/buyer/certificates/{cert.id}" in body(quality_mail)
    assert "/renew" not in body(quality_mail)
    # The responsible engineer only: the tenant admin (who may review too) is not told.
    assert to(mailbox, world.users["tenant_admin"].email) == []
    assert {m["To"] for m in mailbox} == {world.users["supplier1"].email, quality.email}
    assert notices(tx, world, cert.id) == [(14, 14)]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(CertificateNotice.recipients).where(CertificateNotice.certificate_id == cert.id)) == 2


@pytest.mark.parametrize("responsible", [None, "buyer"])
def test_with_no_responsible_reviewer_every_reviewer_is_told(tx, world, mailbox, responsible):
    # None: nobody approved it by name; "buyer": the one named no longer reviews certificates.
    user_id = world.users[responsible].id if responsible else None
    add_cert(tx, world, 7, responsible_user_id=user_id)
    assert send(tx, world) == 1
    deliver(tx, world)
    told = {m["To"] for m in mailbox}
    assert told == {world.users[w].email for w in ("supplier1", "quality", "tenant_admin")}


def test_each_recipient_reads_it_in_their_own_language(tx, world, settings, mailbox):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        supplier = world.suppliers[0]
        chinese = make_user(uow, locale="zh-CN")
        tenants.add_membership(uow, user=chinese, role="supplier_user", organisation=supplier)
        uow.execute(sa.text("update organisation set name_zh = '一号供应商' where id = :id"), {"id": supplier.id})
        kind = make_certificate_type(uow, name="CE certificate (MDR)", name_zh="CE 证书（MDR）")
        uow.commit()
    cert = add_cert(tx, world, 60, kind=kind)
    assert send(tx, world) == 1
    deliver(tx, world)
    [zh] = to(mailbox, chinese.email)
    assert zh["Content-Language"] == "zh-Hans-CN"
    assert "CE 证书（MDR）" in zh["Subject"] and "一号供应商" in zh["Subject"] and cert.number in zh["Subject"]
    [en] = to(mailbox, world.users["supplier1"].email)
    assert en["Content-Language"] == "en"
    assert (
        en["Subject"].strip()
        == f"Certificate expires in 60 days: CE certificate (MDR) {cert.number} (Supplier 1 of {world.slug})"
    )


def test_only_the_tenant_in_context_is_noticed_and_its_people_told(tx, world, other_world, mailbox):
    theirs = add_cert(tx, other_world, 30)
    assert send(tx, world) == 0
    assert send(tx, world, certificate_ids=[theirs.id]) == 0  # another tenant's id changes nothing
    assert notices(tx, world) == []
    assert send(tx, other_world) == 1
    deliver(tx, other_world)
    deliver(tx, world)
    assert mailbox and all(m["To"].endswith(f".{other_world.slug}@example.test") for m in mailbox)


def test_named_certificates_only_when_ids_are_given(tx, world):
    first = add_cert(tx, world, 30)
    second = add_cert(tx, world, 30)
    assert send(tx, world, certificate_ids=[]) == 0
    assert send(tx, world, certificate_ids=[first.id]) == 1
    assert notices(tx, world, second.id) == []
    assert send(tx, world) == 1


# --- the digest -------------------------------------------------------------------------------------


def digest(runtime, world, as_of: date = AS_OF) -> int:
    with runtime.uow(tenant_id=world.tenant_id, actor=Actor.system("test")) as uow:
        count = expiry.send_digest(uow, as_of=as_of)
        uow.commit()
    return count


def test_the_digest_lists_lapsed_and_lapsing_certificates_soonest_first_once_a_day(tx, world, settings, mailbox):
    lapsed = add_cert(tx, world, -3)
    soon = add_cert(tx, world, 10, supplier=1)
    later = add_cert(tx, world, 30)
    beyond = add_cert(tx, world, 31)
    gone = add_cert(tx, world, 5, status="superseded")
    assert digest(tx, world) == 2  # quality and tenant_admin hold cert.review
    assert digest(tx, world) == 0  # once a day
    deliver(tx, world)
    assert {m["To"] for m in mailbox} == {world.users["quality"].email, world.users["tenant_admin"].email}
    text = body(to(mailbox, world.users["quality"].email)[0])
    assert text.index(lapsed.number) < text.index(soon.number) < text.index(later.number)
    assert text.index("Lapsed and still approved:") < text.index(lapsed.number) < text.index("Lapsing within 30 days:")
    assert beyond.number not in text and gone.number not in text
    assert f"{settings.base_url}/buyer/certificates/{soon.id}" in text
    assert f"Supplier 2 of {world.slug}, ISO 13485 {soon.number}" in text
    assert to(mailbox, world.users["quality"].email)[0]["Subject"].endswith("3 certificates lapse within 30 days or have lapsed")
    # The next day's digest goes again.
    assert digest(tx, world, AS_OF + timedelta(days=1)) == 2


def test_no_digest_when_nothing_lapses(tx, world, mailbox):
    add_cert(tx, world, 31)
    add_cert(tx, world, 2, status="pending_review")
    assert digest(tx, world) == 0
    deliver(tx, world)
    assert mailbox == []


# --- the scan across tenants, committed (fresh tenants; other tests' tenants may be there too) ------


@pytest.fixture
def fresh(runtime):
    """Three new committed tenants (ids in creation order, the scan's order)."""
    made = []
    for _ in range(3):
        with runtime.uow() as uow:
            made.append(make_tenant_world(uow, slug=unique("cx")))
            uow.commit()
    return made


def run_scan(runtime, as_of: date, **kw) -> dict:
    """notify_all; the notices it queued per tenant."""
    counts = {}
    previous = kw.pop("on_tenant", None)

    def note(tenant_id, n):
        counts[tenant_id] = n
        if previous is not None:
            previous(tenant_id, n)

    expiry.notify_all(runtime, as_of=as_of, on_tenant=note, **kw)
    return counts


def test_the_scan_notices_each_tenant_once_however_often_it_runs(runtime, fresh, mailbox):
    today = expiry.today()
    a, b, _ = fresh
    a_certs = [add_cert(runtime, a, d, as_of=today) for d in (90, 29, -1, 200)]
    b_cert = add_cert(runtime, b, 7, as_of=today)
    with runtime.engine.connect() as connection:
        due = {n.certificate_id: (n.threshold_days, n.days_left) for n in expiry.due_notices(connection, as_of=today)}
    assert due[a_certs[0].id] == (90, 90) and due[a_certs[1].id] == (30, 29) and due[a_certs[2].id] == (0, -1)
    assert a_certs[3].id not in due and due[b_cert.id] == (7, 7)
    counts = run_scan(runtime, today)
    assert counts[a.tenant_id] == 3 and counts[b.tenant_id] == 1
    assert run_scan(runtime, today).get(a.tenant_id) is None  # nothing due any more
    assert expiry.notify_all(runtime) >= 0  # as_of defaults to today: nothing more for these
    assert len(notices(runtime, a)) == 3 and len(notices(runtime, b)) == 1
    deliver(runtime, a)
    deliver(runtime, b)
    a_mail = to(mailbox, a.users["supplier1"].email)
    b_mail = to(mailbox, b.users["supplier1"].email)
    assert len(a_mail) == 3 and len(b_mail) == 1
    assert all(b_cert.number not in m["Subject"] for m in a_mail)
    assert b_cert.number in b_mail[0]["Subject"]


def test_two_scans_at_once_notice_once(runtime, fresh, mailbox):
    today = expiry.today()
    a, b, _ = fresh
    certs = [add_cert(runtime, a, d, as_of=today) for d in (60, 14, 0)] + [add_cert(runtime, b, 30, as_of=today)]
    # One run holds the certificates in its open transaction; another meanwhile skips them.
    with runtime.uow(tenant_id=a.tenant_id, actor=Actor.system("first")) as first:
        assert expiry.send_notices(first, as_of=today) == 3
        assert send(runtime, a, today) == 0
        first.commit()
    assert send(runtime, a, today) == 0
    # Two whole scans started together, on their own connections.
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scan():
        try:
            barrier.wait(10)
            results.append(run_scan(runtime, today))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.get(b.tenant_id, 0) for r in results) == 1
    assert len(notices(runtime, a)) == 3 and len(notices(runtime, b)) == 1
    deliver(runtime, a)
    deliver(runtime, b)
    assert len(to(mailbox, a.users["supplier1"].email)) == 3
    assert len(to(mailbox, b.users["supplier1"].email)) == 1
    assert certs


def test_a_scan_that_dies_after_the_first_tenant_leaves_the_rest_due(runtime, fresh, mailbox):
    today = expiry.today()
    a, b, c = fresh
    for world in fresh:
        add_cert(runtime, world, 14, as_of=today)

    class Killed(BaseException):
        pass

    def die_after_a(tenant_id, n):
        if tenant_id == a.tenant_id:
            raise Killed  # the process goes down right after a's commit

    with pytest.raises(Killed):
        run_scan(runtime, today, on_tenant=die_after_a)
    assert len(notices(runtime, a)) == 1
    assert notices(runtime, b) == [] and notices(runtime, c) == []
    counts = run_scan(runtime, today)
    assert a.tenant_id not in counts and counts[b.tenant_id] == 1 and counts[c.tenant_id] == 1
    for world in fresh:
        assert len(notices(runtime, world)) == 1
        deliver(runtime, world)
        assert len(to(mailbox, world.users["supplier1"].email)) == 1


def test_a_tenant_that_fails_is_rolled_back_alone_and_done_at_the_next_run(runtime, fresh, admin, mailbox):
    today = expiry.today()
    a, b, c = fresh
    for world in fresh:
        add_cert(runtime, world, 30, as_of=today)
    broken = b.users["supplier1"]
    # Bad data in one tenant (an address the mailer refuses) fails that tenant's transaction.
    admin.execute("update user_account set email = 'no-address' where id = %s", (broken.id,))
    try:
        counts = {}
        with pytest.raises(expiry.ExpiryScanIncomplete) as incomplete:
            run_scan(runtime, today, on_tenant=lambda t, n: counts.__setitem__(t, n))
        assert b.tenant_id in incomplete.value.failed
        assert counts[a.tenant_id] == 1 and counts[c.tenant_id] == 1 and b.tenant_id not in counts
        assert notices(runtime, b) == []
    finally:
        admin.execute("update user_account set email = %s where id = %s", (broken.email, broken.id))
    counts = run_scan(runtime, today)
    assert counts[b.tenant_id] == 1 and a.tenant_id not in counts and c.tenant_id not in counts
    deliver(runtime, b)
    assert len(to(mailbox, broken.email)) == 1


def test_the_digest_job_covers_each_tenant_with_something_lapsing(runtime, fresh, mailbox):
    today = expiry.today()
    a, b, _ = fresh
    add_cert(runtime, a, 20, as_of=today)
    add_cert(runtime, b, 45, as_of=today)  # nothing within 30 days
    counts = {}
    expiry.digest_all(runtime, on_tenant=lambda t, n: counts.__setitem__(t, n))
    assert counts[a.tenant_id] == 2 and counts.get(b.tenant_id, 0) == 0
    counts.clear()
    expiry.digest_all(runtime, on_tenant=lambda t, n: counts.__setitem__(t, n))
    assert counts[a.tenant_id] == 0  # today's went already
    with runtime.engine.connect() as connection:
        listed = expiry.digest_tenants(connection, as_of=today)
    assert a.tenant_id in listed and b.tenant_id not in listed


# --- the command ------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(db_urls, settings, smtp_server, tmp_path):
    return {
        "TRACEPORT_ENV": "test",
        "DATABASE_URL": db_urls.app,
        "MIGRATION_DATABASE_URL": db_urls.owner,
        "AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "SECRET_KEY": settings.secret_key,
        "DATA_DIR": str(tmp_path),
        "SMTP_URL": smtp_server.url,
        "BASE_URL": "https://portal.example.test",
    }


def test_the_command_runs_the_same_scan_and_sends_the_mail(runtime, fresh, cli_env, mailbox):
    a = fresh[0]
    as_of = expiry.today() + timedelta(days=400)  # as an operator may: a day of their choosing
    cert = add_cert(runtime, a, 7, as_of=as_of)
    result = CliRunner().invoke(cli, ["certificates", "notify-expiring", "--as-of", as_of.isoformat(), "--digest"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "expiry notice(s) queued" in result.output and "digest mail(s) queued" in result.output
    assert notices(runtime, a, cert.id) == [(7, 7)]
    # Sent by the command itself (no worker), to SMTP_URL: notice and digest.
    [notice] = to(mailbox, a.users["supplier1"].email)
    assert f"https://portal.example.test/supplier/certificates/{cert.id}/renew" in body(notice)
    quality = to(mailbox, a.users["quality"].email)
    assert len(quality) == 2 and any("1 certificate lapses within 30 days or has lapsed" in m["Subject"] for m in quality)
    again = CliRunner().invoke(cli, ["certificates", "notify-expiring", "--as-of", as_of.isoformat()], env=cli_env)
    assert again.exit_code == 0, again.output
    assert notices(runtime, a, cert.id) == [(7, 7)]
    assert len(to(mailbox, a.users["supplier1"].email)) == 1


@pytest.mark.parametrize("bad", ["2027-02-30", "01/03/2027", "tomorrow"])
def test_the_command_refuses_a_bad_date(cli_env, bad):
    result = CliRunner().invoke(cli, ["certificates", "notify-expiring", "--as-of", bad], env=cli_env)
    assert result.exit_code == 2
    assert "--as-of" in result.output
