"""Supplier scorecards: KPIs computed from the transactions (scoring.compute), stored per
supplier and period by `recompute` (and the daily job, scoring.tasks), read by the pages
and the API; the evidence behind each figure is computed live; suppliers dispute a line
of it and buyers decide.

Reading: a stored scorecard is scored again with the tenant's current weights, thresholds
and grades from its stored numerators and denominators (so a change of weights shows at
once); a change of the on-time window or acknowledgement target needs a recompute
(saving the settings page does it). A period never computed is computed live
(computed_at None).

Suppliers see their own scorecard only (row-level security, and another supplier's id
is "not found"), never the tenant average (with few suppliers it would reveal the
others' figures).

Grades and purchasing: each recompute writes each supplier's grade for the rolling
twelve months ending with the last complete month, and its action, onto the supplier
(erp.suppliers.service.set_grade); the order issue gate reads it (erp.purchasing.gate).

Disputes: a supplier disputes one evidence line with a comment while the month of the
transaction is open: a month closes to disputes `dispute_days` (tenant setting, default
30) after it ends, so the figures of a month settle and stay. A buyer with
scorecard.manage accepts (the transaction no longer counts for that KPI; the supplier's
periods containing it are recomputed) or rejects, with a reason; both are in the audit
trail (scorecard_dispute is audited).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert

from auth import signatures
from auth.permissions import require, require_any
from erp import pagination
from erp.pagination import Page
from erp.receiving import performance as receiving_facts
from erp.suppliers import compliance
from erp.suppliers import service as suppliers
from kernel.clock import utcnow
from kernel.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed, checked_text
from kernel.ids import new_id
from scoring import compute
from scoring import rules as scoring_rules
from scoring.compute import EVERYTHING, Slice
from scoring.models import KPIS, ScorecardDispute, ScorecardResult
from scoring.periods import KINDS, Period, add_months, last_periods, period_of
from scoring.rules import Rules
from tenants import service as tenants

KPI_KEYS = KPIS
MAX_COMMENT = 2000
BAD_CURSOR = N_("This page link is not valid. Start again from the first page.")
ZERO = Decimal(0)


class ScorecardNotFound(NotFound):
    code = "scorecard-not-found"
    message = N_("There is no such supplier scorecard.")


class EvidenceNotFound(NotFound):
    code = "evidence-not-found"
    message = N_("This transaction is not behind this figure.")


class DisputeNotFound(NotFound):
    code = "dispute-not-found"
    message = N_("There is no such dispute.")


class DisputePeriodClosed(Conflict):
    code = "dispute-period-closed"
    message = N_("The month of this transaction closed to disputes on %(closed)s.")


class AlreadyDisputed(Conflict):
    code = "already-disputed"
    message = N_("This line is disputed already.")


class DisputeDecided(Conflict):
    code = "dispute-decided"
    message = N_("This dispute has been decided already.")


class NotSignable(Conflict):
    code = "scorecard-not-signable"
    message = N_("%(period)s is not over yet: sign its scorecard once the period has ended.")


class ScorecardChanged(Conflict):
    code = "scorecard-changed"
    message = N_(
        "The scorecard changed after you opened it (recomputed, a dispute decided or the weights changed). "
        "Review it as it is now, then sign."
    )


class NotDisputable(Conflict):
    code = "not-disputable"
    message = N_("This line cannot be disputed: it comes from certificates, not transactions.")


@dataclass(frozen=True)
class KpiValue:
    key: str
    label: str  # an N_() msgid, translated by the view
    value: Decimal | None  # None: no data in the period (excluded, its weight redistributed)
    unit: str  # "%", "ppm", "per100", "hours", "days"
    numerator: Decimal | None
    denominator: Decimal | None
    weight: Decimal
    effective_weight: Decimal
    points: Decimal | None  # 0..100 sub-score
    threshold: Decimal = ZERO  # points below this show as below target

    @property
    def below_threshold(self) -> bool:
        return self.points is not None and self.points < self.threshold


@dataclass(frozen=True)
class Scorecard:
    supplier_id: uuid.UUID | None  # None: the tenant average
    supplier_name: str
    period: Period
    score: Decimal | None
    grade: str | None
    action: str | None  # none | warn | approval | block
    kpis: list[KpiValue]
    computed_at: datetime | None
    signed_by: str | None = None  # the reviewer whose signature still matches, if any
    signed_at: datetime | None = None
    # The reviewers' signatures of this stored scorecard, oldest first, each saying
    # whether the scorecard still has the content signed.
    signatures: tuple[signatures.SignatureView, ...] = ()

    def kpi(self, key: str) -> KpiValue:
        return next(k for k in self.kpis if k.key == key)

    @property
    def stale_signature(self) -> signatures.SignatureView | None:
        """The last signature, when the scorecard changed after it (and none since)."""
        last = self.signatures[-1] if self.signatures else None
        return last if last is not None and not last.matches else None


@dataclass(frozen=True)
class EvidenceRow:
    """One transaction behind a KPI: a delivery, an inspection, an order..."""

    kpi: str
    ref_kind: str  # delivery | receipt | inspection | nonconformance | purchase_order | obligation
    ref_id: uuid.UUID
    ref_number: str
    day: date | None
    good: bool  # counts for the supplier (on time, accepted, acknowledged in target...)
    detail: str  # an N_() msgid with %(name)s params, translated by the view
    params: dict = field(default_factory=dict)
    value: Decimal | None = None  # days late, rejected quantity, hours...
    excluded: bool = False
    exclusion_reason: str | None = None
    dispute_id: uuid.UUID | None = None
    dispute_status: str | None = None
    ref_sub_id: uuid.UUID | None = None
    counted: bool = True  # False: shown for context, not in the figure (an order still within target)
    disputable: bool = True


@dataclass(frozen=True)
class DisputeRow:
    dispute: ScorecardDispute
    supplier_name: str
    kpi_label: str


# --- scorecards ---------------------------------------------------------------------------


def _card(supplier_id, name: str, period: Period, scored: compute.Scored, computed_at) -> Scorecard:
    return Scorecard(
        supplier_id=supplier_id,
        supplier_name=name,
        period=period,
        score=scored.score,
        grade=scored.grade,
        action=scored.action,
        kpis=[KpiValue(**k) for k in scored.kpis],
        computed_at=computed_at,
    )


def _stored_facts(row: ScorecardResult) -> compute.Facts:
    return {kpi: [Decimal(v["n"]), Decimal(v["d"])] for kpi, v in (row.kpis or {}).items()}


def _check_supplier(uow, actor, supplier_id) -> str:
    """The supplier's name; another supplier's (for a supplier user) or none: not found."""
    if actor.supplier_id is not None and supplier_id != actor.supplier_id:
        raise ScorecardNotFound()
    try:
        return suppliers.get_supplier(uow, supplier_id=supplier_id).name
    except NotFound as exc:
        raise ScorecardNotFound() from exc


def scorecard(uow, actor, *, supplier_id: uuid.UUID, period: Period, part: Slice = EVERYTHING) -> Scorecard:
    """One supplier's scorecard for a period (stored, else computed live); of one slice
    of its business (a site, a category), always computed live."""
    require(actor, "scorecard.view")
    name = _check_supplier(uow, actor, supplier_id)
    rules = scoring_rules.load(uow)
    row = None if part else _stored(uow, supplier_id, period)
    if row is not None:
        return _signed(uow, row, _card(supplier_id, name, period, compute.score(_stored_facts(row), rules), row.computed_at))
    live = _compute(uow, rules, [period], supplier_ids=[supplier_id], part=part)
    return _card(supplier_id, name, period, live[(supplier_id, period.key)], None)


# --- the reviewer's signature ------------------------------------------------------------


def signed_content(card: Scorecard) -> dict:
    """What a reviewer's signature covers: the supplier and period, the score, grade and
    consequence, and each KPI's inputs, weights and points as the reviewer saw them. A
    recompute that changes a figure, an accepted dispute or new weights change it, and
    the signature then shows as no longer matching (when it was computed does not
    count: a recompute that changes nothing keeps the signature)."""
    return {
        "supplier_id": card.supplier_id,
        "period": {"key": card.period.key, "start": card.period.start, "end": card.period.end},
        "score": card.score,
        "grade": card.grade,
        "action": card.action,
        "kpis": [
            {
                "key": k.key,
                "value": k.value,
                "numerator": k.numerator,
                "denominator": k.denominator,
                "weight": k.weight,
                "effective_weight": k.effective_weight,
                "points": k.points,
                "threshold": k.threshold,
            }
            for k in card.kpis
        ],
    }


def _signed(uow, row: ScorecardResult, card: Scorecard) -> Scorecard:
    found = tuple(signatures.signatures_for(uow, record_type="scorecard", record_id=row.id, content=signed_content(card)))
    matching = [v for v in found if v.matches]
    if not matching:
        return replace(card, signatures=found)
    return replace(card, signatures=found, signed_by=matching[-1].printed_name, signed_at=matching[-1].signed_at)


def _stored(uow, supplier_id, period: Period) -> ScorecardResult | None:
    return uow.scalar(
        sa.select(ScorecardResult).where(ScorecardResult.supplier_id == supplier_id, ScorecardResult.period_key == period.key)
    )


def shown_hash(card: Scorecard) -> str:
    """The hash of a scorecard as shown: the signing form carries it, so what is signed
    is what the reviewer saw."""
    return signatures.content_hash(signed_content(card))


def sign_scorecard(
    uow,
    actor,
    *,
    supplier_id: uuid.UUID,
    period: Period,
    password: str,
    otp: str | None = None,
    shown: str | None = None,
    settings,
    cipher,
) -> Scorecard:
    """The reviewer signs a supplier's scorecard of an ended period (meaning "reviewed":
    password, and second factor when required): stored first if it was never computed.
    `shown`: the `shown_hash` of the scorecard the reviewer looked at; when the
    scorecard changed since, nothing is signed (ScorecardChanged). Returns the signed
    scorecard."""
    require(actor, "scorecard.manage")
    if actor.supplier_id is not None:
        raise Forbidden()
    _check_supplier(uow, actor, supplier_id)
    today = utcnow().date()
    if period.end > today:
        raise NotSignable(NotSignable.message, period=period.key)
    if _stored(uow, supplier_id, period) is None:
        # As the daily job would store it (the grade too, for the gate period): what is
        # signed must stay on record.
        _write(uow, scoring_rules.load(uow), [period], supplier_ids=[supplier_id], today=today)
    row = _stored(uow, supplier_id, period)
    card = scorecard(uow, actor, supplier_id=supplier_id, period=period)
    if shown is not None and shown != shown_hash(card):
        raise ScorecardChanged()
    signatures.sign(
        uow,
        actor,
        record_type="scorecard",
        record_id=row.id,
        content=signed_content(card),
        meaning="reviewed",
        password=password,
        otp=otp,
        settings=settings,
        cipher=cipher,
        # The supplier reads who reviewed its scorecard (e_signature's supplier policy).
        supplier_id=supplier_id,
    )
    return scorecard(uow, actor, supplier_id=supplier_id, period=period)


def scorecards(
    uow,
    actor,
    *,
    period: Period,
    cursor: str | None = None,
    limit: int = 50,
    descending: bool = True,
    part: Slice = EVERYTHING,
) -> Page[Scorecard]:
    """The suppliers' stored scorecards of a period, best score first (descending=False:
    worst first); no score ("no data") last either way. Keyset pagination. Of a slice
    of the business (a site, a category): computed live for every supplier."""
    require(actor, "scorecard.view")
    limit = pagination.check_limit(limit)
    rules = scoring_rules.load(uow)
    sort = "score_desc" if descending else "score_asc"
    after_cursor = _sort_cursor(cursor, sort) if cursor else None
    if part:
        return _live_scorecards(uow, actor, rules, period, part, after_cursor, limit, descending, sort)
    sort_value = sa.func.coalesce(ScorecardResult.score, -1 if descending else 101)
    stmt = sa.select(ScorecardResult).where(ScorecardResult.period_key == period.key, ScorecardResult.supplier_id.is_not(None))
    if after_cursor:
        value, last_id = after_cursor
        after = sort_value < value if descending else sort_value > value
        stmt = stmt.where(sa.or_(after, sa.and_(sort_value == value, ScorecardResult.supplier_id > last_id)))
    order = sort_value.desc() if descending else sort_value.asc()
    rows = list(uow.session.scalars(stmt.order_by(order, ScorecardResult.supplier_id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    names = tenants.organisations_by_id(uow, ids=[r.supplier_id for r in rows])
    items = [
        _card(
            r.supplier_id,
            names[r.supplier_id].name if r.supplier_id in names else "",
            period,
            compute.score(_stored_facts(r), rules),
            r.computed_at,
        )
        for r in rows
    ]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        shown = last.score if last.score is not None else Decimal(-1 if descending else 101)
        next_cursor = pagination.encode_sort_cursor(sort, str(shown), last.supplier_id)
    return Page(items=items, next_cursor=next_cursor)


def _sort_cursor(cursor: str, sort: str) -> tuple[Decimal, uuid.UUID]:
    value, last_id = pagination.decode_sort_cursor(cursor, sort=sort, kind=str)
    try:
        return Decimal(value), last_id
    except ArithmeticError as exc:
        raise ValidationFailed(errors={"cursor": BAD_CURSOR}) from exc


def _live_scorecards(uow, actor, rules, period, part, after_cursor, limit, descending, sort) -> Page[Scorecard]:
    """A slice's scorecards: every supplier the actor sees, computed now, in the stored
    list's order and with its cursors."""
    ids = [s.id for s in tenants.list_suppliers(uow)]
    if actor.supplier_id is not None:
        ids = [i for i in ids if i == actor.supplier_id]
    live = _compute(uow, rules, [period], supplier_ids=ids, part=part)
    no_score = Decimal(-1 if descending else 101)

    def key(supplier_id):
        value = live[(supplier_id, period.key)].score
        value = no_score if value is None else value
        return (-value if descending else value, supplier_id)

    ordered = sorted(ids, key=key)
    if after_cursor:
        value, last_id = after_cursor
        ordered = [i for i in ordered if key(i) > (-value if descending else value, last_id)]
    page, more = ordered[:limit], len(ordered) > limit
    names = tenants.organisations_by_id(uow, ids=page)
    items = [_card(i, names[i].name if i in names else "", period, live[(i, period.key)], None) for i in page]
    next_cursor = None
    if more and page:
        last = live[(page[-1], period.key)].score
        next_cursor = pagination.encode_sort_cursor(sort, str(no_score if last is None else last), page[-1])
    return Page(items=items, next_cursor=next_cursor)


def breakdown(uow, actor, *, supplier_id: uuid.UUID, period: Period) -> list[tuple[str, str, Scorecard]]:
    """The supplier's scorecard of the period per receiving site and per item category
    with any transaction in the period: [(kind "site" | "category", the site id or
    category, scorecard)], sites first. Computed live."""
    require(actor, "scorecard.view")
    _check_supplier(uow, actor, supplier_id)
    out = []
    for kind, key, part in _slices_of(uow, supplier_id, period):
        card = scorecard(uow, actor, supplier_id=supplier_id, period=period, part=part)
        out.append((kind, key, card))
    return out


def _slices_of(uow, supplier_id, period: Period):
    """The tenant's own sites and the categories of the supplier's receipts and orders
    in the period (an order to another address is in no site's slice)."""
    seen = receiving_facts.sites_and_categories(uow, supplier_id=supplier_id, start=period.start, end=period.end)
    own = {site.id for site in tenants.own_sites(uow)}
    return [("site", str(site_id), Slice(site_id=site_id)) for site_id in seen["sites"] if site_id in own] + [
        ("category", category, Slice(category=category)) for category in seen["categories"]
    ]


def trend(
    uow, actor, *, supplier_id: uuid.UUID, kind: str, until: date, count: int = 12, part: Slice = EVERYTHING
) -> list[Scorecard]:
    """The supplier's last `count` periods of `kind` up to the one containing `until`,
    oldest first (stored where computed, the rest and any slice live)."""
    require(actor, "scorecard.view")
    name = _check_supplier(uow, actor, supplier_id)
    return _series(uow, supplier_id, name, last_periods(kind, until=until, count=count), part)


def tenant_average(uow, actor, *, kind: str, until: date, count: int = 12, part: Slice = EVERYTHING) -> list[Scorecard]:
    """The tenant's pooled figures (every supplier's numerators and denominators summed)
    for the last `count` periods, oldest first. Not for supplier users."""
    require(actor, "scorecard.view")
    if actor.supplier_id is not None:
        raise Forbidden()
    return _series(uow, None, "", last_periods(kind, until=until, count=count), part)


def _series(uow, supplier_id, name: str, periods: list[Period], part: Slice = EVERYTHING) -> list[Scorecard]:
    rules = scoring_rules.load(uow)
    stored = {}
    if not part:
        stored = {
            r.period_key: r
            for r in uow.session.scalars(
                sa.select(ScorecardResult).where(
                    ScorecardResult.supplier_id.is_(None)
                    if supplier_id is None
                    else ScorecardResult.supplier_id == supplier_id,
                    ScorecardResult.period_key.in_([p.key for p in periods]),
                )
            )
        }
    missing = [p for p in periods if p.key not in stored]
    live = {}
    if missing:
        live = _compute(
            uow,
            rules,
            missing,
            supplier_ids=None if supplier_id is None else [supplier_id],
            average=supplier_id is None,
            part=part,
        )
    cards = []
    for p in periods:
        if p.key in stored:
            cards.append(
                _card(supplier_id, name, p, compute.score(_stored_facts(stored[p.key]), rules), stored[p.key].computed_at)
            )
        else:
            cards.append(_card(supplier_id, name, p, live[(supplier_id, p.key)], None))
    return cards


# --- computing and storing ------------------------------------------------------------------


def _compute(
    uow,
    rules: Rules,
    periods: list[Period],
    *,
    supplier_ids=None,
    average: bool = False,
    raw: bool = False,
    part: Slice = EVERYTHING,
):
    """{(supplier_id or None for the average, period key): Scored (raw: Facts)}."""
    today = utcnow().date()
    ids = list(supplier_ids) if supplier_ids is not None else [s.id for s in tenants.list_suppliers(uow)]
    start = min(p.start for p in periods)
    end = min(max(p.end for p in periods), period_of("month", today).end)
    monthly = (
        compute.month_facts(uow, rules, start=start, end=max(end, start), supplier_ids=ids, today=today, part=part)
        if ids
        else {}
    )
    out = {}
    for period in periods:
        all_facts = []
        for supplier_id in ids:
            facts = compute.period_facts(monthly, supplier_id, period, today)
            all_facts.append(facts)
            out[(supplier_id, period.key)] = facts if raw else compute.score(facts, rules)
        if average:
            pooled = compute.pooled(all_facts)
            out[(None, period.key)] = pooled if raw else compute.score(pooled, rules)
    return out


def default_periods(today: date) -> list[Period]:
    """What the daily job recomputes: this month and the last, their quarters, and the
    rolling twelve months ending with each."""
    this_month = period_of("month", today)
    last_month = period_of("month", this_month.start - timedelta(days=1))
    periods = {}
    for month in (last_month, this_month):
        for kind in KINDS:
            p = period_of(kind, month.start)
            periods[p.key] = p
    return list(periods.values())


def gate_period(today: date) -> Period:
    """The period whose grade gates purchasing: the rolling twelve months ending with the
    last complete month."""
    return period_of("rolling12", period_of("month", today).start - timedelta(days=1))


def recompute(uow, actor, *, period: Period | None = None, periods: list[Period] | None = None) -> int:
    """Compute and store the scorecards of every supplier of the tenant (and the tenant
    average) for `period`, or `periods`, or by default `default_periods`; writes the
    suppliers' grades when the gate period is among them. Returns the rows written."""
    require(actor, "scorecard.manage")
    today = utcnow().date()
    chosen = [period] if period is not None else (periods or default_periods(today))
    chosen = [p for p in chosen if p.start <= today]
    if not chosen:
        return 0
    return _write(uow, scoring_rules.load(uow), chosen, today=today)


def _write(uow, rules: Rules, periods: list[Period], *, supplier_ids=None, today: date) -> int:
    average = supplier_ids is None
    raw = _compute(uow, rules, periods, supplier_ids=supplier_ids, average=average, raw=True)
    now = utcnow()
    by_key = {p.key: p for p in periods}
    rows = []
    for (supplier_id, key), facts in raw.items():
        period = by_key[key]
        scored = compute.score(facts, rules)
        rows.append(
            {
                "supplier_id": supplier_id,
                "period_kind": period.kind,
                "period_key": key,
                "period_start": period.start,
                "period_end": period.end,
                "score": scored.score,
                "grade": scored.grade,
                "action": scored.action,
                "kpis": {k: {"n": str(n), "d": str(d)} for k, (n, d) in sorted(facts.items())},
                "computed_at": now,
            }
        )
    if rows:
        uow.execute(_upsert(rows))
    gate = gate_period(today)
    if gate.key in by_key:
        for row in rows:
            if row["period_key"] == gate.key and row["supplier_id"] is not None:
                suppliers.set_grade(
                    uow,
                    supplier_id=row["supplier_id"],
                    grade=row["grade"],
                    score=row["score"],
                    action=row["action"] or "none",
                    period_key=gate.key,
                )
    uow.flush()
    return len(rows)


# The stored columns, as jsonb_to_recordset reads them.
_RESULT_COLUMNS = (
    ("id", sa.Uuid),
    ("supplier_id", sa.Uuid),
    ("period_kind", sa.String),
    ("period_key", sa.String),
    ("period_start", sa.Date),
    ("period_end", sa.Date),
    ("score", sa.Numeric),
    ("grade", sa.String),
    ("action", sa.String),
    ("kpis", JSONB),
    ("computed_at", sa.DateTime(timezone=True)),
)


def _upsert(rows: list[dict]):
    """One INSERT ... SELECT FROM jsonb_to_recordset(one parameter) ON CONFLICT UPDATE for
    any number of results: a multi-row VALUES was compiled anew per 1,000 rows and an
    executemany ran one statement per row (together most of a recompute's time, measured
    in make bench's scorecards section)."""
    payload = json.dumps([{**row, "id": str(new_id())} for row in rows], default=str)
    source = (
        sa.func.jsonb_to_recordset(sa.cast(sa.bindparam("results", payload, type_=sa.Text), JSONB))
        .table_valued(*(sa.column(name, kind) for name, kind in _RESULT_COLUMNS))
        .render_derived(name="result", with_types=True)
    )
    names = [name for name, _ in _RESULT_COLUMNS]
    stmt = insert(ScorecardResult.__table__).from_select(names, sa.select(*(source.c[name] for name in names)))
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", "period_key", "supplier_id"],
        set_={c: stmt.excluded[c] for c in ("score", "grade", "action", "kpis", "computed_at")},
    )


def periods_containing(day: date, today: date) -> list[Period]:
    """The stored periods a transaction of `day` counts in: its month, its quarter and the
    rolling twelve months ending with each month from its own (up to this month)."""
    found = [period_of("month", day), period_of("quarter", day)]
    month = period_of("month", day).start
    this_month = period_of("month", today).start
    for n in range(12):
        end_month = add_months(month, n)
        if end_month > this_month:
            break
        found.append(period_of("rolling12", end_month))
    return found


# --- evidence ---------------------------------------------------------------------------------


def evidence(
    uow, actor, *, supplier_id: uuid.UUID, period: Period, kpi: str, part: Slice = EVERYTHING
) -> list[EvidenceRow]:
    """The transactions behind one KPI of one supplier's period (of a slice of its
    business), computed live, with the disputes on them. A KPI with no data source yet
    (SCARs) has none."""
    require(actor, "scorecard.view")
    if kpi not in KPIS:
        raise ScorecardNotFound()
    _check_supplier(uow, actor, supplier_id)
    return _evidence(uow, scoring_rules.load(uow), supplier_id, period, kpi, part)


def _evidence(uow, rules: Rules, supplier_id, period: Period, kpi: str, part: Slice = EVERYTHING) -> list[EvidenceRow]:
    ids = [supplier_id]
    span = {"start": period.start, "end": period.end, "supplier_ids": ids, "part": part}
    rows: list[EvidenceRow] = []
    if kpi in ("on_time", "otif"):
        q = compute.delivery_rows(rules, **span).subquery()
        for r in uow.execute(sa.select(q).order_by(q.c.day, q.c.receipt_number, q.c.line_no)).mappings():
            params = {"po": r["po_number"], "line": r["line_no"], "due": r["due"].isoformat(), "days": abs(r["days_late"])}
            if r["days_late"] > rules.late_days:
                detail = N_("%(po)s line %(line)s: due %(due)s, arrived %(days)s days late")
            elif r["days_late"] < -rules.early_days:
                detail = N_("%(po)s line %(line)s: due %(due)s, arrived %(days)s days early")
            elif kpi == "otif" and not r["in_full"]:
                detail = N_("%(po)s line %(line)s: on time, but %(received)s of %(ordered)s received by then")
                params |= {"received": _plain(r["received_to_date"]), "ordered": _plain(r["ordered"])}
            else:
                detail = (
                    N_("%(po)s line %(line)s: due %(due)s, on time")
                    if kpi == "on_time"
                    else N_("%(po)s line %(line)s: due %(due)s, on time and in full")
                )
            rows.append(
                EvidenceRow(
                    kpi,
                    "delivery",
                    r["receipt_id"],
                    r["receipt_number"],
                    r["day"],
                    bool(r[kpi]),
                    detail,
                    params,
                    Decimal(r["days_late"]),
                    bool(r[f"x_{kpi}"]),
                    ref_sub_id=r["line_id"],
                )
            )
    elif kpi in ("lot_acceptance", "ppm"):
        q = compute.inspection_rows(**span, detail=True).subquery()
        for r in uow.execute(sa.select(q).order_by(q.c.day, q.c.receipt_number)).mappings():
            params = {
                "lot": r["lot_number"] or "-",
                "part": r["part_number"],
                "received": _plain(r["received_quantity"]),
                "rejected": _plain(r["rejected_quantity"]),
                "codes": ", ".join(r["defect_codes"] or []),
            }
            detail = (
                N_("Lot %(lot)s of %(part)s: accepted, %(received)s inspected")
                if r["accepted"]
                else N_("Lot %(lot)s of %(part)s: %(rejected)s of %(received)s rejected (%(codes)s)")
            )
            rows.append(
                EvidenceRow(
                    kpi,
                    "inspection",
                    r["inspection_id"],
                    r["receipt_number"],
                    r["day"],
                    bool(r["accepted"]),
                    detail,
                    params,
                    r["rejected_quantity"],
                    bool(r[f"x_{kpi}"]),
                )
            )
    elif kpi == "nc_per_100":
        q = compute.nonconformance_rows(**span).subquery()
        for r in uow.execute(sa.select(q).order_by(q.c.day, q.c.number)).mappings():
            rows.append(
                EvidenceRow(
                    kpi,
                    "nonconformance",
                    r["nonconformance_id"],
                    r["number"],
                    r["day"],
                    False,
                    N_("Nonconformance opened"),
                    {},
                    r["quantity"],
                    bool(r["x_nc_per_100"]),
                )
            )
    elif kpi == "returns":
        q = compute.return_rows(**span).subquery()
        for r in uow.execute(sa.select(q).order_by(q.c.day, q.c.nonconformance_number)).mappings():
            params = {
                "quantity": _plain(r["quantity"]),
                "part": r["part_number"],
                "lot": r["lot_number"] or "-",
                "rma": r["rma_number"] or "-",
            }
            rows.append(
                EvidenceRow(
                    kpi,
                    "nonconformance",
                    r["nonconformance_id"],
                    r["nonconformance_number"],
                    r["day"],
                    False,
                    N_("Returned %(quantity)s of %(part)s lot %(lot)s to the supplier (RMA %(rma)s)"),
                    params,
                    r["quantity"],
                    bool(r["x_returns"]),
                    ref_sub_id=r["movement_id"],
                )
            )
    elif kpi in ("asn_accuracy", "asn_timeliness"):
        q = compute.receipt_rows(**span, detail=True).subquery()
        found = list(uow.execute(sa.select(q).order_by(q.c.day, q.c.receipt_number)).mappings())
        kinds = receiving_facts.discrepancy_kinds(uow, receipt_ids=[r["receipt_id"] for r in found])
        for r in found:
            params = {
                "asn": r["asn_number"] or "-",
                "arrived": r["started_at"].strftime("%Y-%m-%d %H:%M"),
                "submitted": r["asn_submitted_at"].strftime("%Y-%m-%d %H:%M") if r["asn_submitted_at"] else "-",
            }
            if not r["has_asn"]:
                detail = N_("Received without a ship notice")
            elif kpi == "asn_accuracy":
                params["kinds"] = ", ".join(kinds.get(r["receipt_id"], []))
                detail = (
                    N_("Ship notice %(asn)s: discrepancies (%(kinds)s)")
                    if r["discrepancies"]
                    else N_("Ship notice %(asn)s: received as announced")
                )
            else:
                detail = N_("Ship notice %(asn)s submitted %(submitted)s, arrival %(arrived)s")
            good = r["accurate"] if kpi == "asn_accuracy" else r["timely"]
            rows.append(
                EvidenceRow(
                    kpi,
                    "receipt",
                    r["receipt_id"],
                    r["receipt_number"],
                    r["day"],
                    bool(good),
                    detail,
                    params,
                    Decimal(r["discrepancies"]),
                    bool(r[f"x_{kpi}"]),
                )
            )
    elif kpi in ("ack_time", "ack_in_target"):
        q = compute.acknowledgement_rows(rules, **span).subquery()
        now = utcnow()
        for r in uow.execute(sa.select(q).order_by(q.c.day, q.c.number)).mappings():
            acked = r["acknowledged_at"] is not None
            hours = Decimal(str(r["hours"])) if acked else Decimal((now - r["issued_at"]).total_seconds() / 3600)
            params = {"issued": r["issued_at"].strftime("%Y-%m-%d %H:%M"), "hours": _plain(hours.quantize(Decimal("0.1")))}
            if acked:
                detail = N_("Issued %(issued)s, acknowledged after %(hours)s hours")
            elif r["counted"]:
                detail = N_("Issued %(issued)s, not acknowledged after %(hours)s hours")
            else:
                detail = N_("Issued %(issued)s, awaiting acknowledgement (within target)")
            counted = acked if kpi == "ack_time" else bool(r["counted"])
            good = bool(r["in_target"])
            rows.append(
                EvidenceRow(
                    kpi,
                    "purchase_order",
                    r["order_id"],
                    r["number"],
                    r["day"],
                    good,
                    detail,
                    params,
                    hours.quantize(Decimal("0.1")),
                    bool(r[f"x_{kpi}"]),
                    counted=counted,
                )
            )
    elif kpi == "cert_compliance":
        today = utcnow().date()
        stop = min(period.end, today + timedelta(days=1))
        histories = compliance.obligation_histories(uow, supplier_ids=ids, as_of=today).get(supplier_id, [])
        days = max(0, (stop - period.start).days)
        for o in histories:
            valid = o.valid_days(period.start, stop)
            params = {"type": o.type.name, "site": o.site.name if o.site else "-", "valid": valid, "days": days}
            rows.append(
                EvidenceRow(
                    kpi,
                    "obligation",
                    o.type.id,
                    ", ".join(o.certificates) or "-",
                    None,
                    valid == days,
                    N_("%(type)s at %(site)s: valid on %(valid)s of %(days)s days"),
                    params,
                    Decimal(valid),
                    ref_sub_id=o.site.id if o.site else None,
                    disputable=False,
                )
            )
    elif kpi == "qms_certified":
        facts = _compute(uow, rules, [period], supplier_ids=ids, raw=True)[(supplier_id, period.key)]
        num, den = facts.get("qms_certified", (None, None))
        type_id = compute.qms_type_id(uow, rules)
        if den and type_id:
            from documents import certificates

            kind = certificates.types_by_id(uow).get(type_id)
            last = min(period.end, utcnow().date() + timedelta(days=1)) - timedelta(days=1)
            params = {"type": kind.name if kind else "ISO 13485", "day": last.isoformat()}
            detail = N_("%(type)s valid on %(day)s") if num else N_("No valid %(type)s on %(day)s")
            rows.append(
                EvidenceRow(kpi, "obligation", type_id, params["type"], last, bool(num), detail, params, disputable=False)
            )
    return _with_disputes(uow, rows, kpi)


def _plain(value) -> str:
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return text


def _with_disputes(uow, rows: list[EvidenceRow], kpi: str) -> list[EvidenceRow]:
    ids = [r.ref_id for r in rows if r.disputable]
    if not ids:
        return rows
    disputes = {}
    for d in uow.session.scalars(
        sa.select(ScorecardDispute)
        .where(ScorecardDispute.kpi == kpi, ScorecardDispute.ref_id.in_(ids))
        .order_by(ScorecardDispute.raised_at)
    ):
        disputes[(d.ref_id, d.ref_sub_id)] = d  # the latest wins
    out = []
    for r in rows:
        d = disputes.get((r.ref_id, r.ref_sub_id))
        if d is None:
            out.append(r)
            continue
        out.append(
            EvidenceRow(
                **{
                    **r.__dict__,
                    "dispute_id": d.id,
                    "dispute_status": d.status,
                    "exclusion_reason": d.decision_reason if d.status == "accepted" else None,
                }
            )
        )
    return out


# --- disputes -----------------------------------------------------------------------------------


def dispute_closes(rules: Rules, day: date) -> date:
    """The first day a transaction of `day` can no longer be disputed."""
    return period_of("month", day).end + timedelta(days=rules.dispute_days)


def raise_dispute(
    uow, actor, *, period: Period, kpi: str, ref_id: uuid.UUID, ref_sub_id: uuid.UUID | None = None, comment: str
) -> ScorecardDispute:
    """A supplier disputes one line of the evidence of its own scorecard."""
    require(actor, "scorecard.view")
    if actor.supplier_id is None:
        raise Forbidden()
    errors: dict[str, str] = {}
    comment = checked_text(comment, MAX_COMMENT, "comment", errors, required=True)
    if kpi not in KPIS:
        raise EvidenceNotFound()
    rules = scoring_rules.load(uow)
    row = next(
        (r for r in _evidence(uow, rules, actor.supplier_id, period, kpi) if r.ref_id == ref_id and r.ref_sub_id == ref_sub_id),
        None,
    )
    if row is None:
        raise EvidenceNotFound()
    if not row.disputable:
        raise NotDisputable()
    closes = dispute_closes(rules, row.day)
    if utcnow().date() >= closes:
        raise DisputePeriodClosed(closed=closes.isoformat())
    if row.dispute_status in ("open", "accepted"):
        raise AlreadyDisputed()
    if errors:
        raise ValidationFailed(errors=errors)
    dispute = ScorecardDispute(
        supplier_id=actor.supplier_id,
        kpi=kpi,
        ref_kind=row.ref_kind,
        ref_id=row.ref_id,
        ref_sub_id=row.ref_sub_id,
        ref_number=row.ref_number[:80],
        ref_day=row.day,
        period_key=period.key,
        comment=comment,
        raised_by=actor.user_id,
    )
    uow.add(dispute)
    uow.flush()
    return dispute


def decide_dispute(uow, actor, *, dispute_id: uuid.UUID, accept: bool, reason: str) -> ScorecardDispute:
    """Accept (the transaction no longer counts for the KPI; the supplier's periods that
    contain it are recomputed) or reject a dispute, with a reason."""
    require(actor, "scorecard.manage")
    if actor.supplier_id is not None:
        raise Forbidden()
    dispute = uow.scalar(sa.select(ScorecardDispute).where(ScorecardDispute.id == dispute_id).with_for_update())
    if dispute is None:
        raise DisputeNotFound()
    errors: dict[str, str] = {}
    reason = checked_text(reason, MAX_COMMENT, "reason", errors, required=True)
    if errors:
        raise ValidationFailed(errors=errors)
    if dispute.status != "open":
        raise DisputeDecided()
    dispute.status = "accepted" if accept else "rejected"
    dispute.decided_by, dispute.decided_at, dispute.decision_reason = actor.user_id, utcnow(), reason
    uow.flush()
    if accept:
        today = utcnow().date()
        _write(
            uow,
            scoring_rules.load(uow),
            periods_containing(dispute.ref_day, today),
            supplier_ids=[dispute.supplier_id],
            today=today,
        )
    return dispute


def list_disputes(uow, actor, *, status: str | None = None, limit: int = 200) -> list[DisputeRow]:
    """Disputes newest first (a supplier: its own)."""
    require_any(actor, "scorecard.view", "scorecard.manage")
    stmt = sa.select(ScorecardDispute).order_by(ScorecardDispute.raised_at.desc(), ScorecardDispute.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(ScorecardDispute.status == status)
    found = list(uow.session.scalars(stmt))
    names = tenants.organisations_by_id(uow, ids=[d.supplier_id for d in found])
    return [
        DisputeRow(d, names[d.supplier_id].name if d.supplier_id in names else "", scoring_rules.KPI_INFO[d.kpi][0])
        for d in found
    ]


def get_dispute(uow, actor, *, dispute_id: uuid.UUID) -> DisputeRow:
    require_any(actor, "scorecard.view", "scorecard.manage")
    dispute = uow.scalar(sa.select(ScorecardDispute).where(ScorecardDispute.id == dispute_id))
    if dispute is None:
        raise DisputeNotFound()
    names = tenants.organisations_by_id(uow, ids=[dispute.supplier_id])
    return DisputeRow(
        dispute, names[dispute.supplier_id].name if dispute.supplier_id in names else "", scoring_rules.KPI_INFO[dispute.kpi][0]
    )
