"""A reviewer signs a supplier's scorecard (21 CFR Part 11 e-signature, meaning
"reviewed"): bound to the figures as shown, so a recompute that changes nothing keeps
it and new figures or weights make it no longer match; refused for an open period, a
wrong password, a supplier; the supplier reads who reviewed its scorecard; the PDF
prints the signature, or says the figures changed since."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from auth.errors import SignatureRefused
from auth.models import SecurityEvent, Signature
from kernel.clock import utcnow
from kernel.crypto import FieldCipher
from kernel.errors import Forbidden
from scoring import reports, rules, service
from scoring.periods import period_of
from tests.factories import PASSWORD
from tests.scoring.support import Books, at, people

SEPTEMBER = period_of("month", "2026-09")


@pytest.fixture
def who(tx, world):
    return people(tx, world)


@pytest.fixture
def keys(settings):
    return {"settings": settings, "cipher": FieldCipher.from_settings(settings)}


def one_late_delivery(uow, world):
    books = Books(uow, world, world.suppliers[0])
    _, on_time = books.order(due=date(2026, 9, 10))
    _, late = books.order(due=date(2026, 9, 10))
    books.delivery(on_time, arrived=at(date(2026, 9, 10)))
    books.delivery(late, arrived=at(date(2026, 9, 14)))
    return books


def sign(uow, actor, keys, **kw):
    kw.setdefault("password", PASSWORD)
    return service.sign_scorecard(uow, actor, supplier_id=kw.pop("supplier_id"), period=kw.pop("period", SEPTEMBER), **kw, **keys)


def signatures_of(uow) -> list[Signature]:
    return list(uow.session.scalars(sa.select(Signature).where(Signature.record_type == "scorecard")))


def test_the_reviewer_signs_the_figures_as_shown(tx, world, who, keys):
    quality = who["quality"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        one_late_delivery(uow, world)
        # Never computed: stored as it stands, then signed.
        signed = sign(uow, quality, keys, supplier_id=supplier_id)
        stored = [(s.meaning, s.supplier_id, s.content_hash) for s in signatures_of(uow)]
        again = service.scorecard(uow, quality, supplier_id=supplier_id, period=SEPTEMBER)
    assert signed.computed_at is not None
    assert signed.signed_by == world.users["quality"].full_name and signed.signed_at is not None
    assert [meaning for meaning, _, _ in stored] == ["reviewed"]
    assert stored[0][1] == supplier_id  # so the supplier reads who reviewed it
    assert again.signed_by == signed.signed_by and again.stale_signature is None
    assert again.signatures[0].content_hash == stored[0][2]


def test_a_recompute_that_changes_nothing_keeps_the_signature_and_new_weights_do_not(tx, world, who, keys):
    buyer = who["buyer"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        books = one_late_delivery(uow, world)
        service.recompute(uow, buyer, period=SEPTEMBER)
        sign(uow, buyer, keys, supplier_id=supplier_id)
        service.recompute(uow, buyer, period=SEPTEMBER)
        kept = service.scorecard(uow, buyer, supplier_id=supplier_id, period=SEPTEMBER)
        rules.save_kpis(uow, buyer, weights=dict.fromkeys(rules.KPI_INFO, 0) | {"on_time": 100}, thresholds={})
        reweighted = service.scorecard(uow, buyer, supplier_id=supplier_id, period=SEPTEMBER)
        # A late delivery of the month arriving later changes the figures as well.
        _, line = books.order(due=date(2026, 9, 20))
        books.delivery(line, arrived=at(date(2026, 9, 25)))
        service.recompute(uow, buyer, period=SEPTEMBER)
        recomputed = service.scorecard(uow, buyer, supplier_id=supplier_id, period=SEPTEMBER)
    assert kept.signed_by is not None and kept.stale_signature is None
    assert reweighted.signed_by is None and reweighted.stale_signature is not None
    assert recomputed.kpi("on_time").denominator == 3
    assert recomputed.stale_signature.printed_name == world.users["buyer"].full_name
    printed = " ".join(pdf_text(reports.render_pdf(recomputed, [], [], context=_context(), language="en")).split())
    assert f"{world.users['buyer'].full_name} signed this scorecard on" in printed
    assert "no longer covers these figures" in printed and "Reviewed and signed" not in printed


def _context():
    return reports.PdfContext(
        tenant_name="T", tenant_name_zh=None, supplier_code="S", supplier_name_zh=None, grades={}, printed_at=utcnow()
    )


def test_an_open_period_is_not_signed(tx, world, who, keys):
    buyer = who["buyer"]
    this_month = period_of("month", utcnow().date())
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        with pytest.raises(service.NotSignable) as refused:
            sign(uow, buyer, keys, supplier_id=world.suppliers[0].id, period=this_month)
        assert signatures_of(uow) == []
    assert refused.value.status == 409
    assert this_month.key in str(refused.value)


def test_a_wrong_password_signs_nothing_and_leaves_a_trace(tx, world, who, keys):
    buyer = who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        one_late_delivery(uow, world)
        with pytest.raises(SignatureRefused):
            sign(uow, buyer, keys, supplier_id=world.suppliers[0].id, password="not the password")
        assert signatures_of(uow) == []
        failed = uow.scalar(
            sa.select(sa.func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == "signature_failed")
        )
    assert failed >= 1


def test_suppliers_do_not_sign_but_read_who_reviewed(tx, world, who, keys):
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        one_late_delivery(uow, world)
        sign(uow, who["quality"], keys, supplier_id=supplier_id)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        with pytest.raises(Forbidden):
            sign(uow, who["supplier1"], keys, supplier_id=supplier_id)
        own = service.scorecard(uow, who["supplier1"], supplier_id=supplier_id, period=SEPTEMBER)
    assert own.signed_by == world.users["quality"].full_name
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        with pytest.raises(service.ScorecardNotFound):
            service.scorecard(uow, who["supplier2"], supplier_id=supplier_id, period=SEPTEMBER)


def test_the_pdf_prints_the_reviewers_signature(tx, world, who, keys):
    quality = who["quality"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        one_late_delivery(uow, world)
        unsigned, _ = reports.scorecard_pdf(uow, quality, supplier_id=supplier_id, period=SEPTEMBER, language="en")
        sign(uow, quality, keys, supplier_id=supplier_id)
        signed, _ = reports.scorecard_pdf(uow, quality, supplier_id=supplier_id, period=SEPTEMBER, language="en")
    assert pdf_text(signed).count(world.users["quality"].full_name) == 1
    assert "Reviewed and signed" in pdf_text(signed)
    assert "has not been signed" in pdf_text(unsigned)


def pdf_text(data: bytes) -> str:
    import subprocess

    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()



def test_what_is_signed_is_what_was_shown(tx, world, who, keys):
    buyer = who["buyer"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        books = one_late_delivery(uow, world)
        shown = service.shown_hash(service.scorecard(uow, buyer, supplier_id=supplier_id, period=SEPTEMBER))
        _, line = books.order(due=date(2026, 9, 20))
        books.delivery(line, arrived=at(date(2026, 9, 20)))  # the figures move before the signature
        with pytest.raises(service.ScorecardChanged):
            sign(uow, buyer, keys, supplier_id=supplier_id, shown=shown)
        assert signatures_of(uow) == []
        now = service.shown_hash(service.scorecard(uow, buyer, supplier_id=supplier_id, period=SEPTEMBER))
        signed = sign(uow, buyer, keys, supplier_id=supplier_id, shown=now)
    assert signed.signed_by == world.users["buyer"].full_name
