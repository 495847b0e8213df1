"""The monthly scorecard mail (scoring.mailing): each supplier's people get its PDF in
their own language over real SMTP, once however often the job runs; a supplier with no
scorecard gets nothing."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from kernel.uow import Actor
from portal.jobs import dispatcher
from scoring import mailing
from scoring import service as scoring
from scoring.mailing import ScorecardMailing
from scoring.periods import period_of
from tenants import service as tenants
from tests.factories import make_user
from tests.scoring.support import Books, at

NOVEMBER = period_of("month", "2026-11")


def setup(tx, world):
    """Supplier 1 received goods in November and has a second person reading Chinese;
    scorecards are stored for November."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = Books(uow, world, world.suppliers[0])
        receipt = books.receipt_without_asn(arrived=at(date(2026, 11, 5)))
        books.inspection(receipt, received="10", completed=at(date(2026, 11, 6)))
        chinese = make_user(uow, locale="zh_Hans_CN")
        tenants.add_membership(uow, user=chinese, role="supplier_user", organisation=world.suppliers[0])
        scoring.recompute(uow, Actor.system("test"), period=NOVEMBER)
        uow.commit()
    return chinese


def queue(tx, world) -> int:
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system("test")) as uow:
        count = mailing.queue_month(uow, period=NOVEMBER)
        uow.commit()
    return count


def deliver(tx, settings, world) -> None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        while dispatcher(settings).deliver_pending(uow):
            pass
        uow.commit()


def pdf_of(message) -> tuple[str, bytes]:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return part.get_filename(), part.get_content()


def test_each_supplier_person_gets_the_pdf_in_their_language_once(tx, settings, world, mailbox):
    chinese = setup(tx, world)
    english = world.users["supplier1"]
    sent = queue(tx, world)
    assert sent >= 2  # supplier 1's admin and its Chinese-speaking user (supplier 2 too, if scored)
    assert queue(tx, world) == 0  # once
    deliver(tx, settings, world)
    by_address = {m["To"]: m for m in mailbox}
    en, zh = by_address[english.email], by_address[chinese.email]
    assert en["Content-Language"] == "en" and zh["Content-Language"] == "zh-Hans-CN"
    assert "2026-11" in en["Subject"] and "scorecard" in en["Subject"]
    for message in (en, zh):
        name, data = pdf_of(message)
        assert name == "scorecard-S1-2026-11.pdf"
        assert data.startswith(b"%PDF")
    # Nobody of another supplier gets supplier 1's scorecard.
    assert world.users["supplier2"].email not in by_address or pdf_of(by_address[world.users["supplier2"].email])[0] != (
        "scorecard-S1-2026-11.pdf"
    )
    with tx.uow(tenant_id=world.tenant_id) as uow:
        recorded = uow.scalar(
            sa.select(ScorecardMailing.recipients).where(
                ScorecardMailing.supplier_id == world.suppliers[0].id, ScorecardMailing.period_key == "2026-11"
            )
        )
    # As many as were mailed supplier 1's PDF: its two people here (a suite run that
    # committed more members of the shared world's supplier 1 finds them too).
    mailed = [m for m in mailbox if any(p.get_filename() == "scorecard-S1-2026-11.pdf" for p in m.iter_attachments())]
    assert recorded == len(mailed) >= 2


def test_a_period_without_scorecards_sends_nothing(tx, settings, world, mailbox):
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system("test")) as uow:
        assert mailing.queue_month(uow, period=period_of("month", "2019-01")) == 0
    deliver(tx, settings, world)
    assert mailbox == []


def test_last_month_is_the_one_mailed():
    assert mailing.previous_month(date(2027, 1, 2)).key == "2026-12"
