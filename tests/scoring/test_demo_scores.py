"""The demo's scorecard data (scoring.demo), on a tenant made by erp's demo seed (rolled
back with the test): Acme's scorecard of the last complete month shows the late
delivery behind its on-time figure, Acme disputes it, the buyer accepts and the score
changes - the README's demo walk, through the services."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from auth import service as auth_service
from erp import demo
from kernel.clock import utcnow
from kernel.uow import Actor
from scoring import service as scoring
from scoring.demo import demo_month, seed_demo_scores
from scoring.periods import period_of
from tenants import service as tenants
from tenants.models import Organisation


def actor(tx, tenant_id, email):
    with tx.uow() as uow:
        user = auth_service.find_user_by_email(uow, email=email)
        uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
        return tenants.actor_in(uow, user, tenant_id)


def test_the_demo_scorecard_shows_a_late_delivery_that_a_dispute_takes_out(tx):
    assert demo.seed(tx) is True
    with tx.uow() as uow:
        assert seed_demo_scores(uow) is True
        uow.commit()
    with tx.uow() as uow:
        assert seed_demo_scores(uow) is False  # once: a second run changes nothing
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id) as uow:
        acme = uow.scalar(sa.select(Organisation).where(Organisation.code == "ACME"))
        sterile = uow.scalar(sa.select(Organisation).where(Organisation.code == "SZST"))
        acme_id, sterile_id = acme.id, sterile.id
    start, _ = demo_month(utcnow().date())
    month = period_of("month", start)
    sales = actor(tx, tenant_id, "sales@acme-polymers.example")
    buyer = actor(tx, tenant_id, "buyer@demo.example")

    with tx.uow(tenant_id=tenant_id, actor=sales) as uow:
        card = scoring.scorecard(uow, sales, supplier_id=acme_id, period=month)
        assert card.computed_at is not None  # stored by the seed's recompute
        on_time = card.kpi("on_time")
        assert (on_time.numerator, on_time.denominator, on_time.value) == (Decimal(3), Decimal(4), Decimal("75.00"))
        assert card.kpi("lot_acceptance").denominator == 1  # the infusion sets' inspection
        assert card.kpi("asn_timeliness").value == Decimal("100.00")  # submitted before arrival
        rows = scoring.evidence(uow, sales, supplier_id=acme_id, period=month, kpi="on_time")
        (late,) = [r for r in rows if not r.good]
        assert late.params["days"] == 3 and "late" in late.detail
        before = card.score
        dispute = scoring.raise_dispute(
            uow, sales, period=month, kpi="on_time", ref_id=late.ref_id, ref_sub_id=late.ref_sub_id,
            comment="The truck was at your gate on the promised day; your dock booked it three days later.",
        )
        uow.commit()
    with tx.uow(tenant_id=tenant_id, actor=buyer) as uow:
        assert scoring.scorecard(uow, buyer, supplier_id=sterile_id, period=month).supplier_name
        scoring.decide_dispute(uow, buyer, dispute_id=dispute.id, accept=True, reason="Our dock rescheduled it.")
        uow.commit()
    with tx.uow(tenant_id=tenant_id, actor=sales) as uow:
        after = scoring.scorecard(uow, sales, supplier_id=acme_id, period=month)
    assert after.kpi("on_time").value == Decimal("100.00")
    assert after.score > before


def test_no_demo_tenant_nothing_to_seed(tx):
    with tx.uow() as uow:
        assert seed_demo_scores(uow) is False
