"""The tenant's scoring rules: weights, thresholds and zero points per KPI, the on-time
window, the acknowledgement target, grades with their actions, and when a month closes
to disputes. Stored per tenant (scoring_setting, scoring_kpi_setting); a tenant that
changed nothing scores with the defaults below.

Validation: the weights are numbers from 0 to 100 that add up to exactly 100; each
threshold is from 0 to 100; grade minimums go down from A to C within 0 to 100; each
grade's action is none, warn, approval or block.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from auth.permissions import require, require_any
from kernel.errors import N_, ValidationFailed
from scoring.models import ACTIONS, KPIS, ScoringKpiSetting, ScoringSetting

# kpi: (label, unit, default weight, default threshold, default zero point)
KPI_INFO: dict[str, tuple[str, str, int, int, int | None]] = {
    "on_time": (N_("On-time delivery"), "%", 20, 80, None),
    "otif": (N_("On time in full"), "%", 10, 80, None),
    "lot_acceptance": (N_("Lot acceptance rate"), "%", 15, 90, None),
    "ppm": (N_("Defective parts per million"), "ppm", 10, 80, 5000),
    "nc_per_100": (N_("Nonconformances per 100 receipts"), "per100", 5, 80, 10),
    "returns": (N_("Returns to supplier"), "%", 5, 80, 5),
    "ack_time": (N_("Order acknowledgement time"), "hours", 5, 80, 168),
    "ack_in_target": (N_("Orders acknowledged within target"), "%", 5, 80, None),
    "asn_accuracy": (N_("Ship notice accuracy"), "%", 5, 80, None),
    "asn_timeliness": (N_("Ship notices before arrival"), "%", 5, 80, None),
    "cert_compliance": (N_("Certificate compliance"), "%", 5, 90, None),
    "qms_certified": (N_("Quality system certified (ISO 13485)"), "%", 5, 100, None),
    "scar_responsiveness": (N_("Corrective action responsiveness"), "%", 5, 80, None),
}
assert tuple(KPI_INFO) == KPIS
# KPIs where lower is better: their points fall from 100 to 0 at the zero point.
LOWER_IS_BETTER = ("ppm", "nc_per_100", "returns", "ack_time")
GRADES = ("A", "B", "C", "D")
ACTION_LABELS = {
    "none": N_("No action"),
    "warn": N_("Warn on new orders"),
    "approval": N_("New orders need approval"),
    "block": N_("Block new orders"),
}
HUNDRED = Decimal(100)

WEIGHTS_SUM = N_("The weights must add up to 100.")
WEIGHT_RANGE = N_("Enter a weight from 0 to 100.")
THRESHOLD_RANGE = N_("Enter a threshold from 0 to 100.")
ZERO_AT = N_("Enter a number greater than 0.")
GRADE_ORDER = N_("Grade minimums must go down from A to C, within 0 to 100.")
ACTION = N_("Choose no action, warn, approval or block.")
WHOLE_DAYS = N_("Enter a whole number of days from 0 to 60.")
DISPUTE_DAYS = N_("Enter a whole number of days from 0 to 365.")
HOURS = N_("Enter a whole number of hours from 1 to 720.")


@dataclass(frozen=True)
class KpiRule:
    weight: Decimal
    threshold: Decimal
    zero_at: Decimal | None


@dataclass(frozen=True)
class Rules:
    early_days: int = 3
    late_days: int = 0
    ack_target_hours: int = 48
    dispute_days: int = 30
    qms_certificate_type_id: uuid.UUID | None = None
    grade_mins: tuple[Decimal, Decimal, Decimal] = (Decimal(90), Decimal(75), Decimal(60))
    actions: dict[str, str] = field(default_factory=lambda: {"A": "none", "B": "none", "C": "warn", "D": "approval"})
    kpis: dict[str, KpiRule] = field(default_factory=dict)

    def grade(self, score: Decimal | None) -> tuple[str | None, str | None]:
        """The grade of a score and its action; (None, None) for no score."""
        if score is None:
            return None, None
        for grade, minimum in zip(GRADES, self.grade_mins, strict=False):
            if score >= minimum:
                return grade, self.actions[grade]
        return "D", self.actions["D"]


def _defaults() -> dict[str, KpiRule]:
    return {
        k: KpiRule(Decimal(w), Decimal(t), Decimal(z) if z is not None else None) for k, (_, _, w, t, z) in KPI_INFO.items()
    }


def load(uow) -> Rules:
    """The tenant's rules (defaults where it set none). No permission of its own."""
    row = uow.scalar(sa.select(ScoringSetting))
    kpis = _defaults()
    for saved in uow.session.scalars(sa.select(ScoringKpiSetting)):
        kpis[saved.kpi] = KpiRule(saved.weight, saved.threshold, saved.zero_at)
    if row is None:
        return Rules(kpis=kpis)
    return Rules(
        early_days=row.early_days,
        late_days=row.late_days,
        ack_target_hours=row.ack_target_hours,
        dispute_days=row.dispute_days,
        qms_certificate_type_id=row.qms_certificate_type_id,
        grade_mins=(row.grade_a_min, row.grade_b_min, row.grade_c_min),
        actions={"A": row.action_a, "B": row.action_b, "C": row.action_c, "D": row.action_d},
        kpis=kpis,
    )


def get_rules(uow, actor) -> Rules:
    require_any(actor, "scorecard.view", "scorecard.manage")
    return load(uow)


def _number(value, field: str, errors: dict, message: str, *, low=Decimal(0), high=HUNDRED) -> Decimal | None:
    try:
        number = Decimal(str(value).strip()) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or (low is not None and number < low) or (high is not None and number > high):
        errors[field] = message
        return None
    return number


def save_kpis(uow, actor, *, weights: dict, thresholds: dict, zero_points: dict | None = None) -> Rules:
    """Set every KPI's weight and threshold (and zero point, for lower-is-better KPIs).
    Field errors: weight_<kpi>, threshold_<kpi>, zero_at_<kpi>; "weights" when they do
    not add up to 100. Nothing changes on bad input."""
    require(actor, "scorecard.manage")
    errors: dict[str, str] = {}
    current = load(uow).kpis
    parsed: dict[str, KpiRule] = {}
    for kpi in KPIS:
        weight = _number(weights.get(kpi, current[kpi].weight), f"weight_{kpi}", errors, WEIGHT_RANGE)
        threshold = _number(thresholds.get(kpi, current[kpi].threshold), f"threshold_{kpi}", errors, THRESHOLD_RANGE)
        zero_at = current[kpi].zero_at
        if kpi in LOWER_IS_BETTER and zero_points and kpi in zero_points:
            zero_at = _number(zero_points[kpi], f"zero_at_{kpi}", errors, ZERO_AT, high=Decimal("9999999999"))
            if zero_at is not None and zero_at <= 0:
                errors[f"zero_at_{kpi}"] = ZERO_AT
        parsed[kpi] = KpiRule(weight, threshold, zero_at)
    if not any(k.startswith("weight_") for k in errors) and sum(r.weight for r in parsed.values()) != HUNDRED:
        errors["weights"] = WEIGHTS_SUM
    if errors:
        raise ValidationFailed(errors=errors)
    rows = {row.kpi: row for row in uow.session.scalars(sa.select(ScoringKpiSetting))}
    for kpi, rule in parsed.items():
        row = rows.get(kpi)
        if row is None:
            uow.add(ScoringKpiSetting(kpi=kpi, weight=rule.weight, threshold=rule.threshold, zero_at=rule.zero_at))
        elif (row.weight, row.threshold, row.zero_at) != (rule.weight, rule.threshold, rule.zero_at):
            row.weight, row.threshold, row.zero_at = rule.weight, rule.threshold, rule.zero_at
    uow.flush()
    return load(uow)


def save_rules(
    uow,
    actor,
    *,
    grade_mins: tuple,
    actions: dict,
    early_days,
    late_days,
    ack_target_hours,
    dispute_days,
    qms_certificate_type_id: uuid.UUID | None = None,
) -> Rules:
    """Grades (minimum scores of A, B, C; D below) with their actions, the on-time window,
    the acknowledgement target and the days after a month's end it stays open to disputes."""
    require(actor, "scorecard.manage")
    errors: dict[str, str] = {}
    mins = [_number(v, f"grade_{g.lower()}_min", errors, GRADE_ORDER) for g, v in zip(GRADES, grade_mins, strict=False)]
    if len(mins) != 3 or (None not in mins and not (mins[0] >= mins[1] >= mins[2])):
        errors["grade_a_min"] = GRADE_ORDER
    for grade in GRADES:
        if actions.get(grade) not in ACTIONS:
            errors[f"action_{grade.lower()}"] = ACTION
    days = {}
    for name, value, high in (("early_days", early_days, 60), ("late_days", late_days, 60), ("dispute_days", dispute_days, 365)):
        try:
            days[name] = int(str(value).strip())
        except (TypeError, ValueError):
            days[name] = -1
        if not 0 <= days[name] <= high:
            errors[name] = DISPUTE_DAYS if name == "dispute_days" else WHOLE_DAYS
    try:
        hours = int(str(ack_target_hours).strip())
    except (TypeError, ValueError):
        hours = 0
    if not 1 <= hours <= 720:
        errors["ack_target_hours"] = HOURS
    if errors:
        raise ValidationFailed(errors=errors)
    row = uow.scalar(sa.select(ScoringSetting))
    if row is None:
        row = ScoringSetting()
        uow.add(row)
    row.grade_a_min, row.grade_b_min, row.grade_c_min = mins
    row.action_a, row.action_b, row.action_c, row.action_d = (actions[g] for g in GRADES)
    row.early_days, row.late_days, row.dispute_days = days["early_days"], days["late_days"], days["dispute_days"]
    row.ack_target_hours = hours
    row.qms_certificate_type_id = qms_certificate_type_id
    uow.flush()
    return load(uow)
