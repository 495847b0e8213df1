"""KPIs from the transactions: monthly numerators and denominators per supplier, summed
into any period, turned into values, points and a score.

Every KPI is a ratio of sums, so a quarter or a rolling twelve months is exactly the sum
of its months' numerators over the sum of their denominators (the quality-system status
excepted: it is the status at the period's end, so its last month's). The transactions
come from the erp domains' fact selects (erp.receiving.performance,
erp.purchasing.performance, erp.suppliers.compliance); a transaction a buyer excluded by
accepting a dispute does not count for the KPI disputed.

KPI                 numerator / denominator (per transaction)                     value
on_time             deliveries arrived within the window / deliveries              %
otif                on time and the PO line complete after it / deliveries         %
lot_acceptance      inspected lots with nothing rejected / inspected lots          %
ppm                 rejected quantity / inspected lots' quantity                   x 1,000,000
nc_per_100          nonconformances opened / closed receipts                       x 100
returns             quantity returned to the supplier / quantity received          %
ack_time            hours from issue to acknowledgement / acknowledged orders      hours
ack_in_target       acknowledged within target / orders acknowledged, or unacknowledged past the target   %
asn_accuracy        receipts against a ship notice with no discrepancy / receipts  %
asn_timeliness      receipts whose ship notice was submitted before arrival / receipts   %
cert_compliance     obligation-days met by a valid certificate / obligation-days   %
qms_certified       ISO 13485 certificate valid at the period's end (1 / 1)        %
scar_responsiveness (no SCARs yet: always no data)                                 %

A return is a nonconformance's disposition "return to supplier"
(erp.receiving.disposition): its quantity counts in the month it left, against the
quantity received on closed receipts that month (as nonconformances count against that
month's receipts).

A delivery is what one closed receipt brought of one PO line (through the ship notice
line); it arrived on the receipt's start day, was due on the line's confirmed (promised)
date, else its requested date, and is on time from `early_days` before to `late_days`
after. Receipts without a ship notice count against ship-notice accuracy and
timeliness (there was none), not in on-time (no PO line is known).

Points (0 to 100) per KPI: a percentage scores itself; ppm, nonconformances per 100
receipts and returns score 100 at 0 falling in a straight line to 0 at the KPI's zero
point (settings: 5,000 ppm, 10 per 100, 5 %); acknowledgement time scores 100 within
the target hours, falling to 0 at the zero point (168 hours). The score is the weighted
mean of the points of the KPIs with data: a KPI with no data (denominator 0) is left
out and its weight shared among the others in proportion to theirs. No KPI with data:
no score (never 0, never 100).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from documents import certificates
from erp.purchasing import performance as purchasing_facts
from erp.receiving import performance as receiving_facts
from erp.suppliers import compliance
from kernel.clock import utcnow
from scoring.models import KPIS, ScorecardDispute
from scoring.periods import Period, add_months, period_of
from scoring.rules import HUNDRED, KPI_INFO, LOWER_IS_BETTER, Rules
from tenants import service as tenants

ZERO = Decimal(0)
MILLION = Decimal(1_000_000)
HOOKS = ("scar_responsiveness",)

Facts = dict[str, list[Decimal]]  # kpi -> [numerator, denominator]


@dataclass(frozen=True)
class Slice:
    """A part of a supplier's business: what was received at one of the tenant's sites,
    or of one category of items, or both. Orders count at their ship-to site and with
    any line of the category; receipts with any line of it. Certificates belong to the
    supplier: they count the same in every slice."""

    site_id: uuid.UUID | None = None
    category: str | None = None

    def __bool__(self) -> bool:
        return self.site_id is not None or self.category is not None

    @property
    def filters(self) -> dict:
        return {"site_id": self.site_id, "category": self.category}


EVERYTHING = Slice()


def _q(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


# --- exclusions ---------------------------------------------------------------------------


def excluded(kpi: str, ref_id, ref_sub_id=None):
    """True for a transaction whose dispute on `kpi` a buyer accepted."""
    accepted = sa.select(ScorecardDispute.ref_id, sa.func.coalesce(ScorecardDispute.ref_sub_id, ScorecardDispute.ref_id)).where(
        ScorecardDispute.status == "accepted", ScorecardDispute.kpi == kpi
    )
    return sa.tuple_(ref_id, ref_sub_id if ref_sub_id is not None else ref_id).in_(accepted)


# --- the rows behind each KPI (shared by the monthly sums and the evidence) ---------------


def delivery_rows(rules: Rules, *, start: date, end: date, supplier_ids=None, part: Slice = EVERYTHING):
    d = receiving_facts.deliveries(supplier_ids=supplier_ids, before=end, **part.filters).subquery("d")
    late = (d.c.day - d.c.due).label("days_late")
    on_time = sa.and_(late >= -rules.early_days, late <= rules.late_days)
    in_full = d.c.received_to_date >= d.c.ordered
    return sa.select(
        d,
        late,
        on_time.label("on_time"),
        sa.and_(on_time, in_full).label("otif"),
        in_full.label("in_full"),
        excluded("on_time", d.c.receipt_id, d.c.line_id).label("x_on_time"),
        excluded("otif", d.c.receipt_id, d.c.line_id).label("x_otif"),
    ).where(d.c.day >= start, d.c.day < end)


def inspection_rows(*, start: date, end: date, supplier_ids=None, detail: bool = False, part: Slice = EVERYTHING):
    i = receiving_facts.inspections(supplier_ids=supplier_ids, detail=detail, **part.filters).subquery("i")
    return sa.select(
        i,
        (i.c.rejected_quantity == 0).label("accepted"),
        excluded("lot_acceptance", i.c.inspection_id).label("x_lot_acceptance"),
        excluded("ppm", i.c.inspection_id).label("x_ppm"),
    ).where(i.c.day >= start, i.c.day < end)


def receipt_rows(*, start: date, end: date, supplier_ids=None, detail: bool = False, part: Slice = EVERYTHING):
    r = receiving_facts.receipts(supplier_ids=supplier_ids, detail=detail, **part.filters).subquery("r")
    accurate = sa.and_(r.c.has_asn, r.c.discrepancies == 0)
    timely = sa.func.coalesce(r.c.asn_submitted_at < r.c.started_at, False)
    return sa.select(
        r,
        accurate.label("accurate"),
        timely.label("timely"),
        excluded("asn_accuracy", r.c.receipt_id).label("x_asn_accuracy"),
        excluded("asn_timeliness", r.c.receipt_id).label("x_asn_timeliness"),
    ).where(r.c.day >= start, r.c.day < end)


def nonconformance_rows(*, start: date, end: date, supplier_ids=None, part: Slice = EVERYTHING):
    n = receiving_facts.nonconformances(supplier_ids=supplier_ids, **part.filters).subquery("n")
    return sa.select(n, excluded("nc_per_100", n.c.nonconformance_id).label("x_nc_per_100")).where(
        n.c.day >= start, n.c.day < end
    )


def return_rows(*, start: date, end: date, supplier_ids=None, part: Slice = EVERYTHING):
    t = receiving_facts.returns(supplier_ids=supplier_ids, **part.filters).subquery("t")
    return sa.select(t, excluded("returns", t.c.nonconformance_id, t.c.movement_id).label("x_returns")).where(
        t.c.day >= start, t.c.day < end
    )


def acknowledgement_rows(
    rules: Rules, *, start: date, end: date, supplier_ids=None, now: datetime | None = None, part: Slice = EVERYTHING
):
    a = purchasing_facts.acknowledgements(supplier_ids=supplier_ids, **part.filters).subquery("a")
    now = now or utcnow()
    hours = (sa.func.extract("epoch", a.c.acknowledged_at - a.c.issued_at) / 3600).label("hours")
    target = rules.ack_target_hours
    overdue = sa.and_(a.c.acknowledged_at.is_(None), a.c.issued_at < now - timedelta(hours=target))
    return sa.select(
        a,
        hours,
        sa.and_(a.c.acknowledged_at.is_not(None), hours <= target).label("in_target"),
        sa.or_(a.c.acknowledged_at.is_not(None), overdue).label("counted"),
        excluded("ack_time", a.c.order_id).label("x_ack_time"),
        excluded("ack_in_target", a.c.order_id).label("x_ack_in_target"),
    ).where(a.c.day >= start, a.c.day < end)


# --- monthly sums --------------------------------------------------------------------------


def _month(column):
    return sa.cast(sa.func.date_trunc(sa.literal_column("'month'"), column), sa.Date)


def _flag(condition):
    return sa.case((condition, 1), else_=0)


def month_facts(
    uow, rules: Rules, *, start: date, end: date, supplier_ids=None, today: date | None = None, part: Slice = EVERYTHING
):
    """{(supplier_id, month start): {kpi: [numerator, denominator]}} for the months from
    `start` to `end` (month starts; end exclusive), of the slice `part` of the business."""
    today = today or utcnow().date()
    facts: dict[tuple, Facts] = defaultdict(lambda: defaultdict(lambda: [ZERO, ZERO]))

    def add(rows, pairs):
        for row in rows:
            key = (row[0], row[1])
            for n, kpi in enumerate(pairs):
                num, den = row[2 + 2 * n], row[3 + 2 * n]
                if den:
                    cell = facts[key][kpi]
                    cell[0] += Decimal(num or 0)
                    cell[1] += Decimal(den)

    d = delivery_rows(rules, start=start, end=end, supplier_ids=supplier_ids, part=part).subquery()
    add(
        uow.execute(
            sa.select(
                d.c.supplier_id,
                _month(d.c.day),
                sa.func.sum(_flag(sa.and_(d.c.on_time, sa.not_(d.c.x_on_time)))),
                sa.func.sum(_flag(sa.not_(d.c.x_on_time))),
                sa.func.sum(_flag(sa.and_(d.c.otif, sa.not_(d.c.x_otif)))),
                sa.func.sum(_flag(sa.not_(d.c.x_otif))),
            ).group_by(d.c.supplier_id, _month(d.c.day))
        ),
        ("on_time", "otif"),
    )
    i = inspection_rows(start=start, end=end, supplier_ids=supplier_ids, part=part).subquery()
    add(
        uow.execute(
            sa.select(
                i.c.supplier_id,
                _month(i.c.day),
                sa.func.sum(_flag(sa.and_(i.c.accepted, sa.not_(i.c.x_lot_acceptance)))),
                sa.func.sum(_flag(sa.not_(i.c.x_lot_acceptance))),
                sa.func.sum(sa.case((sa.not_(i.c.x_ppm), i.c.rejected_quantity), else_=0)),
                sa.func.sum(sa.case((sa.not_(i.c.x_ppm), i.c.received_quantity), else_=0)),
            ).group_by(i.c.supplier_id, _month(i.c.day))
        ),
        ("lot_acceptance", "ppm"),
    )
    r = receipt_rows(start=start, end=end, supplier_ids=supplier_ids, part=part).subquery()
    add(
        uow.execute(
            sa.select(
                r.c.supplier_id,
                _month(r.c.day),
                sa.func.sum(_flag(sa.and_(r.c.accurate, sa.not_(r.c.x_asn_accuracy)))),
                sa.func.sum(_flag(sa.not_(r.c.x_asn_accuracy))),
                sa.func.sum(_flag(sa.and_(r.c.timely, sa.not_(r.c.x_asn_timeliness)))),
                sa.func.sum(_flag(sa.not_(r.c.x_asn_timeliness))),
                sa.literal(0),
                sa.func.count(),
                sa.literal(0),
                sa.func.sum(r.c.quantity),
            ).group_by(r.c.supplier_id, _month(r.c.day))
        ),
        ("asn_accuracy", "asn_timeliness", "nc_per_100", "returns"),
    )
    t = return_rows(start=start, end=end, supplier_ids=supplier_ids, part=part).subquery()
    for supplier_id, month, quantity in uow.execute(
        sa.select(
            t.c.supplier_id, _month(t.c.day), sa.func.sum(sa.case((sa.not_(t.c.x_returns), t.c.quantity), else_=0))
        ).group_by(t.c.supplier_id, _month(t.c.day))
    ):
        if quantity:
            facts[(supplier_id, month)]["returns"][0] += Decimal(quantity)
    n = nonconformance_rows(start=start, end=end, supplier_ids=supplier_ids, part=part).subquery()
    for supplier_id, month, count in uow.execute(
        sa.select(n.c.supplier_id, _month(n.c.day), sa.func.sum(_flag(sa.not_(n.c.x_nc_per_100)))).group_by(
            n.c.supplier_id, _month(n.c.day)
        )
    ):
        # Only counted against receipts of the same month (no receipts: no data).
        if count:
            facts[(supplier_id, month)]["nc_per_100"][0] += Decimal(count)
    a = acknowledgement_rows(rules, start=start, end=end, supplier_ids=supplier_ids, part=part).subquery()
    acked = sa.and_(a.c.acknowledged_at.is_not(None), sa.not_(a.c.x_ack_time))
    add(
        uow.execute(
            sa.select(
                a.c.supplier_id,
                _month(a.c.day),
                sa.func.sum(sa.case((acked, a.c.hours), else_=0)),
                sa.func.sum(_flag(acked)),
                sa.func.sum(_flag(sa.and_(a.c.in_target, sa.not_(a.c.x_ack_in_target)))),
                sa.func.sum(_flag(sa.and_(a.c.counted, sa.not_(a.c.x_ack_in_target)))),
            ).group_by(a.c.supplier_id, _month(a.c.day))
        ),
        ("ack_time", "ack_in_target"),
    )
    _certificate_facts(uow, rules, facts, start=start, end=end, supplier_ids=supplier_ids, today=today)
    return facts


def qms_type_id(uow, rules: Rules) -> uuid.UUID | None:
    """The quality-system certificate type: the tenant's choice, else the type whose code
    or name names 13485."""
    if rules.qms_certificate_type_id is not None:
        return rules.qms_certificate_type_id
    for type_id, kind in sorted(certificates.types_by_id(uow).items(), key=lambda t: t[1].code):
        if "13485" in kind.code or "13485" in kind.name:
            return type_id
    return None


def _certificate_facts(uow, rules, facts, *, start, end, supplier_ids, today) -> None:
    ids = list(supplier_ids) if supplier_ids is not None else [s.id for s in tenants.list_suppliers(uow)]
    if not ids:
        return
    histories = compliance.obligation_histories(uow, supplier_ids=ids, as_of=today)
    qms = qms_type_id(uow, rules)
    qms_held = _qms_stretches(uow, ids, qms, today) if qms else {}
    month = start
    while month < end:
        stop = min(add_months(month, 1), today + timedelta(days=1))
        if stop <= month:
            break
        last_day = stop - timedelta(days=1)
        for supplier_id in ids:
            obligations = histories.get(supplier_id, [])
            if obligations:
                cell = facts[(supplier_id, month)]["cert_compliance"]
                cell[0] += sum(Decimal(o.valid_days(month, stop)) for o in obligations)
                cell[1] += Decimal(len(obligations) * (stop - month).days)
            if qms:
                stretches = qms_held.get(supplier_id, [])
                held = any(first <= last_day and (last is None or last_day <= last) for first, last in stretches)
                facts[(supplier_id, month)]["qms_certified"] = [Decimal(int(held)), Decimal(1)]
        month = add_months(month, 1)


def _qms_stretches(uow, supplier_ids, type_id, today) -> dict:
    views = certificates.certificates_of(uow, supplier_ids=supplier_ids, today=today, include_superseded=True)
    found: dict = defaultdict(list)
    for view in views:
        cert = view.certificate
        if cert.certificate_type_id == type_id and cert.status in ("approved", "superseded"):
            found[cert.supplier_id].extend(compliance.merged_stretches([view]))
    return found


# --- periods, values, points ---------------------------------------------------------------


def period_facts(monthly: dict, supplier_id, period: Period, today: date) -> Facts:
    """The sums of a supplier's months in the period (qms_certified: its last month's)."""
    out: Facts = {}
    month = period.start
    last_month = min(add_months(period.end, -1), period_of("month", today).start)
    while month < period.end:
        for kpi, (num, den) in monthly.get((supplier_id, month), {}).items():
            if kpi == "qms_certified":
                if month == last_month:
                    out[kpi] = [num, den]
                continue
            cell = out.setdefault(kpi, [ZERO, ZERO])
            cell[0] += num
            cell[1] += den
        month = add_months(month, 1)
    return out


def pooled(all_facts: list[Facts]) -> Facts:
    """The tenant's figures: every supplier's numerators and denominators summed."""
    out: Facts = {}
    for facts in all_facts:
        for kpi, (num, den) in facts.items():
            cell = out.setdefault(kpi, [ZERO, ZERO])
            cell[0] += num
            cell[1] += den
    return out


def value_of(kpi: str, num: Decimal, den: Decimal) -> Decimal | None:
    if not den:
        return None
    if kpi == "ppm":
        return _q(num * MILLION / den)
    if kpi == "ack_time":
        return _q(num / den)
    return _q(num * HUNDRED / den)


def points_of(kpi: str, value: Decimal | None, rules: Rules) -> Decimal | None:
    if value is None:
        return None
    rule = rules.kpis[kpi]
    if kpi == "ack_time":
        target = Decimal(rules.ack_target_hours)
        zero = rule.zero_at or Decimal(168)
        if value <= target:
            return HUNDRED
        if value >= zero or zero <= target:
            return ZERO
        return _q(HUNDRED * (zero - value) / (zero - target))
    if kpi in LOWER_IS_BETTER:
        zero = rule.zero_at or Decimal(1)
        return _q(max(ZERO, HUNDRED * (1 - value / zero)))
    return _q(min(HUNDRED, max(ZERO, value)))


def _shares(weights: list[Decimal], total: Decimal) -> list[Decimal]:
    """Each weight's share of 100 in hundredths, adding up to exactly 100 (the largest
    remainders get the hundredths rounding down left over), so the "weight applied"
    column a supplier checks sums to 100."""
    if not total:
        return [ZERO for _ in weights]
    cent = Decimal("0.01")
    exact = [w * HUNDRED / total for w in weights]
    floored = [e.quantize(cent, rounding=ROUND_DOWN) for e in exact]
    left = int((HUNDRED - sum(floored, ZERO)) / cent)
    for index in sorted(range(len(exact)), key=lambda i: exact[i] - floored[i], reverse=True)[:left]:
        floored[index] += cent
    return floored


@dataclass(frozen=True)
class Scored:
    kpis: list[dict]  # key, label, unit, value, numerator, denominator, weight, effective_weight, points, threshold
    score: Decimal | None
    grade: str | None
    action: str | None


def score(facts: Facts, rules: Rules) -> Scored:
    rows = []
    for kpi in KPIS:
        num, den = facts.get(kpi, (None, None))
        value = None if kpi in HOOKS else value_of(kpi, num or ZERO, den or ZERO)
        rows.append(
            {
                "key": kpi,
                "label": KPI_INFO[kpi][0],
                "unit": KPI_INFO[kpi][1],
                "value": value,
                "numerator": num if value is not None else None,
                "denominator": den if value is not None else None,
                "weight": rules.kpis[kpi].weight,
                "threshold": rules.kpis[kpi].threshold,
                "points": points_of(kpi, value, rules),
            }
        )
    with_data = [r for r in rows if r["points"] is not None and r["weight"] > 0]
    total_weight = sum((r["weight"] for r in with_data), ZERO)
    shares = _shares([r["weight"] for r in with_data], total_weight)
    for r in rows:
        r["effective_weight"] = shares[with_data.index(r)] if r in with_data else ZERO
    if not total_weight:
        return Scored(rows, None, None, None)
    result = _q(sum(r["points"] * r["weight"] for r in with_data) / total_weight, "0.1")
    grade, action = rules.grade(result)
    return Scored(rows, result, grade, action)
