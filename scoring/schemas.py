"""Scorecards over the API (pydantic): a period's list and one supplier's detail with
each KPI's inputs (numerator and denominator), so a client can check every figure."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ScorecardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str | None = Field(
        None,
        description="A period key of `kind`, or a month key: 2026-11, 2026-Q4, R12-2026-11; by default the period ending "
        "with the last complete month",
        examples=["2026-11"],
    )
    kind: str = Field("month", description="month, quarter or rolling12")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)
    site: uuid.UUID | None = Field(
        None, description="A receiving site's id: count only what was received there (computed live, not stored)"
    )
    category: str | None = Field(
        None, description="An item category (component, sterile_barrier...): count only items of it (computed live)"
    )


class ScorecardDetailQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(examples=["2026-11"])
    kind: str = Field("month", description="month, quarter or rolling12")
    site: uuid.UUID | None = Field(
        None, description="A receiving site's id: count only what was received there (computed live, not stored)"
    )
    category: str | None = Field(
        None, description="An item category (component, sterile_barrier...): count only items of it (computed live)"
    )


class PeriodOut(BaseModel):
    key: str = Field(examples=["2026-11"])
    kind: str
    start: date
    end: date = Field(description="Exclusive")


class KpiOut(BaseModel):
    key: str
    label: str
    value: Decimal | None = Field(description="null: no data in the period (left out, its weight shared by the others)")
    unit: str
    numerator: Decimal | None
    denominator: Decimal | None
    weight: Decimal
    effective_weight: Decimal
    points: Decimal | None
    threshold: Decimal
    below_threshold: bool


class ScorecardOut(BaseModel):
    supplier_id: uuid.UUID | None
    supplier_name: str
    period: PeriodOut
    score: Decimal | None = Field(description="null: no KPI had data")
    grade: str | None
    action: str | None
    computed_at: datetime | None = Field(description="null: computed live, not stored yet")

    @classmethod
    def fields_of(cls, card) -> dict:
        return {
            "supplier_id": card.supplier_id,
            "supplier_name": card.supplier_name,
            "period": PeriodOut(key=card.period.key, kind=card.period.kind, start=card.period.start, end=card.period.end),
            "score": card.score,
            "grade": card.grade,
            "action": card.action,
            "computed_at": card.computed_at,
        }

    @classmethod
    def of(cls, card) -> ScorecardOut:
        return cls(**cls.fields_of(card))


class ScorecardDetailOut(ScorecardOut):
    kpis: list[KpiOut]
    signed_by: str | None = Field(
        None, description="The reviewer whose e-signature (meaning: reviewed) covers these figures; null: not signed, or"
        " the figures changed since"
    )
    signed_at: datetime | None = None

    @classmethod
    def of(cls, card, translate=lambda s: s) -> ScorecardDetailOut:
        return cls(
            **cls.fields_of(card),
            signed_by=card.signed_by,
            signed_at=card.signed_at,
            kpis=[
                KpiOut(
                    key=k.key, label=translate(k.label), value=k.value, unit=k.unit, numerator=k.numerator,
                    denominator=k.denominator, weight=k.weight, effective_weight=k.effective_weight, points=k.points,
                    threshold=k.threshold, below_threshold=k.below_threshold,
                )
                for k in card.kpis
            ],
        )


class ScorecardList(BaseModel):
    items: list[ScorecardOut]
    next_cursor: str | None
