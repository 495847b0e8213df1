"""The scorecard PDF (scoring.reports): the supplier's figures in the reader's
language, the trend chart and its numbers, the signature block when signed; a supplier
gets its own only."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from kernel.uow import Actor
from scoring import reports
from scoring import service as scoring
from scoring.periods import period_of
from tests.scoring.support import Books, at, people

NOVEMBER = period_of("month", "2026-11")


@pytest.fixture
def who(tx, world):
    return people(tx, world)


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def november(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = Books(uow, world, world.suppliers[0])
        receipt = books.receipt_without_asn(arrived=at(date(2026, 11, 5)))
        books.inspection(receipt, received="10", rejected="1", completed=at(date(2026, 11, 6)))
        scoring.recompute(uow, Actor.system("test"), period=NOVEMBER)
        uow.commit()


@pytest.mark.parametrize(("language", "words"), [("en", ["Supplier scorecard", "2026-11"]), ("zh_Hans_CN", ["2026-11"])])
def test_the_pdf_in_the_readers_language(tx, world, who, language, words):
    november(tx, world)
    actor = who["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        pdf, name = reports.scorecard_pdf(uow, actor, supplier_id=world.suppliers[0].id, period=NOVEMBER, language=language)
    assert pdf.startswith(b"%PDF")
    assert name == "scorecard-S1-2026-11.pdf"
    found = text(pdf)
    for word in words:
        assert word in found
    assert world.suppliers[0].name in found
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1


def test_chinese_pdf_says_page_in_chinese(tx, world, who):
    november(tx, world)
    actor = who["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        pdf, _ = reports.scorecard_pdf(uow, actor, supplier_id=world.suppliers[0].id, period=NOVEMBER, language="zh")
    assert "第" in text(pdf)  # "第 1 页，共 1 页": the catalog's footer


def test_a_supplier_gets_its_own_pdf_and_not_another(tx, world, who):
    november(tx, world)
    me = who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=me) as uow:
        pdf, _ = reports.scorecard_pdf(uow, me, supplier_id=world.suppliers[0].id, period=NOVEMBER, language="en")
        assert pdf.startswith(b"%PDF")
    other = who["supplier2"]
    with tx.uow(tenant_id=world.tenant_id, actor=other) as uow, pytest.raises(scoring.ScorecardNotFound):
        reports.scorecard_pdf(uow, other, supplier_id=world.suppliers[0].id, period=NOVEMBER, language="en")


def test_the_signature_block_when_signed():
    """Rendered from plain data: a signed card shows the reviewer's name and the meaning."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from scoring.periods import last_periods

    periods = last_periods("month", until=date(2026, 11, 30))
    cards = [
        scoring.Scorecard(None, "Acme", p, Decimal(80), "B", "none", [], None) for p in periods
    ]
    signed = scoring.Scorecard(None, "Acme", periods[-1], Decimal(80), "B", "none", [], None,
                               signed_by="Li Wei", signed_at=datetime(2026, 12, 3, 9, tzinfo=UTC))
    context = reports.PdfContext("Tenant", "租户", "ACME", "亚克米", reports.DEFAULT_GRADES, datetime(2026, 12, 3, tzinfo=UTC))
    found = text(reports.render_pdf(signed, cards, cards, context=context, language="en"))
    assert "Li Wei" in found and "Reviewed and signed" in found
    unsigned = text(reports.render_pdf(cards[-1], cards, cards, context=context, language="en"))
    assert "has not been signed" in unsigned
    chinese = text(reports.render_pdf(signed, cards, cards, context=context, language="zh_Hans_CN"))
    assert "亚克米" in chinese and "租户" in chinese
