"""Scorecard tables: the tenant's scoring rules, the stored results per supplier and
period, and suppliers' disputes of the transactions behind a figure.

Results are computed (scoring.compute), never typed in: `scorecard_result` holds, per
supplier (or the tenant average, supplier_id null) and period, the score, grade and
each KPI's inputs (numerator, denominator) as computed at `computed_at`. A dispute names
one transaction behind one KPI; an accepted dispute excludes that transaction from that
KPI. Every table carries supplier_id where a supplier owns rows, for the supplier policy.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

KPIS = (
    "on_time", "otif", "lot_acceptance", "ppm", "nc_per_100", "returns", "ack_time", "ack_in_target",
    "asn_accuracy", "asn_timeliness", "cert_compliance", "qms_certified", "scar_responsiveness",
)
ACTIONS = ("none", "warn", "approval", "block")
PERIOD_KINDS = ("month", "quarter", "rolling12")
DISPUTE_STATUSES = ("open", "accepted", "rejected")
REF_KINDS = ("delivery", "receipt", "inspection", "nonconformance", "purchase_order", "obligation")


class ScoringSetting(TenantOwned, Timestamps, Base):
    """The tenant's scoring rules; one row per tenant, made on first change."""

    __tablename__ = "scoring_setting"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id"),
        tenant_fk(["qms_certificate_type_id"], "certificate_type"),
        sa.CheckConstraint("early_days between 0 and 60 and late_days between 0 and 60", name="window"),
        sa.CheckConstraint("ack_target_hours between 1 and 720", name="ack_target_hours"),
        sa.CheckConstraint("dispute_days between 0 and 365", name="dispute_days"),
        sa.CheckConstraint(
            "grade_c_min >= 0 and grade_c_min <= grade_b_min and grade_b_min <= grade_a_min and grade_a_min <= 100",
            name="grades",
        ),
        sa.CheckConstraint(within("action_a", ACTIONS), name="action_a"),
        sa.CheckConstraint(within("action_b", ACTIONS), name="action_b"),
        sa.CheckConstraint(within("action_c", ACTIONS), name="action_c"),
        sa.CheckConstraint(within("action_d", ACTIONS), name="action_d"),
    )

    # A delivery is on time from `early_days` before to `late_days` after its confirmed date.
    early_days: orm.Mapped[int] = orm.mapped_column(server_default="3")
    late_days: orm.Mapped[int] = orm.mapped_column(server_default="0")
    # An order acknowledged within this many hours of its issue is in target.
    ack_target_hours: orm.Mapped[int] = orm.mapped_column(server_default="48")
    # A month is closed to disputes this many days after it ends.
    dispute_days: orm.Mapped[int] = orm.mapped_column(server_default="30")
    # The quality-system certificate (ISO 13485); null: the type whose code names 13485.
    qms_certificate_type_id: orm.Mapped[uuid.UUID | None]
    grade_a_min: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(5, 2), server_default="90")
    grade_b_min: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(5, 2), server_default="75")
    grade_c_min: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(5, 2), server_default="60")
    action_a: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="none")
    action_b: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="none")
    action_c: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="warn")
    action_d: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="approval")


class ScoringKpiSetting(TenantOwned, Timestamps, Base):
    """One KPI's weight (the weights of a tenant add up to 100), threshold (the points
    below which the KPI shows as below target) and, for KPIs where lower is better, the
    value at which its points reach 0."""

    __tablename__ = "scoring_kpi_setting"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "kpi"),
        sa.CheckConstraint(within("kpi", KPIS), name="kpi"),
        sa.CheckConstraint("weight between 0 and 100", name="weight"),
        sa.CheckConstraint("threshold between 0 and 100", name="threshold"),
        sa.CheckConstraint("zero_at is null or zero_at > 0", name="zero_at"),
    )

    kpi: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    weight: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(5, 2))
    threshold: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(5, 2))
    zero_at: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(12, 2))


class ScorecardResult(TenantOwned, Base):
    """A computed scorecard: one supplier (or the tenant average: supplier_id null) in
    one period. kpis: {kpi: {"n": numerator, "d": denominator}} as strings; the values,
    points and score follow from them and the settings at computed_at."""

    __tablename__ = "scorecard_result"
    __table_args__ = (
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("uq_scorecard_result_period", "tenant_id", "period_key", "supplier_id", unique=True,
                 postgresql_nulls_not_distinct=True),
        # The list of a period, best first (keyset on score, supplier).
        sa.Index("ix_scorecard_result_score", "tenant_id", "period_key", "score", "supplier_id"),
        sa.Index("ix_scorecard_result_supplier", "tenant_id", "supplier_id", "period_kind", "period_start"),
        sa.CheckConstraint(within("period_kind", PERIOD_KINDS), name="period_kind"),
        sa.CheckConstraint("action is null or " + within("action", ACTIONS), name="action"),
        sa.CheckConstraint("score is null or score between 0 and 100", name="score"),
    )

    supplier_id: orm.Mapped[uuid.UUID | None]
    period_kind: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    period_key: orm.Mapped[str] = orm.mapped_column(sa.String(12))
    period_start: orm.Mapped[date]
    period_end: orm.Mapped[date]
    score: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(5, 2))
    grade: orm.Mapped[str | None] = orm.mapped_column(sa.String(2))
    action: orm.Mapped[str | None] = orm.mapped_column(sa.String(10))
    kpis: orm.Mapped[dict] = orm.mapped_column(JSONB)
    computed_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class ScorecardDispute(TenantOwned, Base):
    """A supplier's dispute of one transaction behind one KPI, and the buyer's decision.
    Accepted, the transaction no longer counts for that KPI."""

    __tablename__ = "scorecard_dispute"
    __table_args__ = (
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_scorecard_dispute_status", "tenant_id", "status", "raised_at"),
        sa.Index("ix_scorecard_dispute_supplier", "tenant_id", "supplier_id", "raised_at"),
        # One live dispute (open or accepted) per transaction and KPI.
        sa.Index("uq_scorecard_dispute_live", "tenant_id", "kpi", "ref_id", "ref_sub_id", unique=True,
                 postgresql_nulls_not_distinct=True, postgresql_where=sa.text("status in ('open', 'accepted')")),
        sa.CheckConstraint(within("kpi", KPIS), name="kpi"),
        sa.CheckConstraint(within("ref_kind", REF_KINDS), name="ref_kind"),
        sa.CheckConstraint(within("status", DISPUTE_STATUSES), name="status"),
        sa.CheckConstraint("btrim(comment) <> ''", name="comment"),
        sa.CheckConstraint("status = 'open' or btrim(coalesce(decision_reason, '')) <> ''", name="decision_reason"),
    )

    supplier_id: orm.Mapped[uuid.UUID]
    kpi: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    ref_kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    ref_id: orm.Mapped[uuid.UUID]
    ref_sub_id: orm.Mapped[uuid.UUID | None]
    ref_number: orm.Mapped[str] = orm.mapped_column(sa.String(80))
    ref_day: orm.Mapped[date]
    # The period the supplier was looking at (for the way back to it).
    period_key: orm.Mapped[str] = orm.mapped_column(sa.String(12))
    comment: orm.Mapped[str] = orm.mapped_column(sa.Text)
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="open")
    raised_by: orm.Mapped[uuid.UUID | None]
    raised_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    decided_by: orm.Mapped[uuid.UUID | None]
    decided_at: orm.Mapped[datetime | None]
    decision_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
