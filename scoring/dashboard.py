"""The compliance dashboard for the tenant's managers: how the supply base did in a
period, at one receiving site or for one category of items, or overall.

Tiles: nonconformance rate, lot rejection rate, rework rate, return rate, the
distribution of supplier scores, batch release time (median and 90th percentile, from
first receipt to release), certificate status, open recalls and temperature excursions.
Each figure is read from the pre-aggregated tables (scoring.aggregates), so the page
costs a few indexed sums however many years of receipts the tenant has; the page says
when they were last refreshed. A figure with nothing to count is None - "no data" - and
never shown as 0.

Rework and return rates: lots put back for rework / sent back to their supplier by a
nonconformance's disposition, per lot received in the period (the same lots may have
been received in an earlier period: these are rates of events, as the nonconformance
rate is). Recalls and excursions come from the traceability and cold-chain work
through `PROVIDERS` (see there).

Every figure is filtered by the period; receipts, inspections, nonconformances and
releases also by receiving site and item category. Scores and certificates belong to a
supplier as a whole: they follow the period only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from auth.permissions import require
from erp.coldchain import alerts
from erp.inventory import service as inventory
from erp.items.models import CATEGORIES
from erp.suppliers import dashboard as certificate_dashboard
from erp.traceability import recall
from kernel.errors import N_, Forbidden, ValidationFailed
from scoring.aggregates import COUNTERS, ComplianceDay, ComplianceRefresh, ComplianceRelease
from scoring.compute import Slice
from scoring.models import ScorecardResult
from scoring.periods import BAD_PERIOD, KINDS, Period, last_periods, period_of
from tenants import service as tenants
from tenants.models import Site

BUYER_ONLY = N_("The compliance dashboard is for the tenant's own people.")
UNKNOWN_SITE = N_("Choose one of your receiving sites, or all sites.")
UNKNOWN_CATEGORY = N_("Choose a category of items, or all categories.")

GRADES = ("A", "B", "C", "D")
NO_GRADE = "-"
HUNDRED = Decimal(100)
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Filters:
    period: Period
    site: Site | None = None
    category: str | None = None

    @property
    def site_id(self) -> uuid.UUID | None:
        return self.site.id if self.site is not None else None

    def args(self) -> dict[str, str]:
        """The query string that gives these filters back."""
        out = {"kind": self.period.kind, "period": self.period.key}
        if self.site is not None:
            out["site"] = str(self.site.id)
        if self.category:
            out["category"] = self.category
        return out


@dataclass(frozen=True)
class Rate:
    """numerator / denominator as a percentage; None when the denominator is 0."""

    numerator: int
    denominator: int

    @property
    def percent(self) -> Decimal | None:
        if not self.denominator:
            return None
        return (Decimal(self.numerator) * HUNDRED / Decimal(self.denominator)).quantize(TENTH, ROUND_HALF_UP)


@dataclass(frozen=True)
class ReleaseTimes:
    lots: int
    median_hours: Decimal | None
    p90_hours: Decimal | None


@dataclass(frozen=True)
class ScoreDistribution:
    by_grade: dict[str, int]  # "A".."D" and NO_GRADE (a scorecard with no data)
    scored: int  # suppliers with a score
    average: Decimal | None  # the tenant average's score in the period

    @property
    def suppliers(self) -> int:
        return sum(self.by_grade.values())


@dataclass(frozen=True)
class CertificateStatus:
    suppliers: int
    compliant: int
    expiring: int  # suppliers with certificates expiring this month
    expired: int  # suppliers with expired certificates
    pending_review: int  # certificates waiting for review


@dataclass(frozen=True)
class ProvidedTile:
    key: str
    label: str  # N_() msgid
    count: int | None  # None: no data (the source is not connected)
    note: str | None = None  # N_() msgid said under the figure
    endpoint: str | None = None  # the list behind the tile (a portal endpoint), with `args`
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MonthFigures:
    period: Period
    nonconformance: Rate
    rejection: Rate


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    lots_received: int
    nonconformances: int
    nonconformance: Rate  # nonconformances per lot received
    rejection: Rate  # lots rejected per lot inspected
    release: ReleaseTimes
    scores: ScoreDistribution
    certificates: CertificateStatus | None  # None: the reader may not see suppliers
    provided: list[ProvidedTile]
    months: list[MonthFigures]  # the twelve months up to the period's end, for the trend
    refreshed_at: datetime | None  # None: never refreshed (the job has not run yet)
    rework: Rate = Rate(0, 0)  # lots reworked per lot received
    returns: Rate = Rate(0, 0)  # lots returned to their supplier per lot received

    @property
    def has_activity(self) -> bool:
        """Anything at all happened in the period under the filters."""
        return bool(self.lots_received or self.nonconformances or self.rejection.denominator or self.release.lots)


# --- providers: figures other domains own ---------------------------------------------------


@dataclass(frozen=True)
class Provider:
    """A tile fed by another domain: `count(uow, filters)` returns how many (int), or
    None when it has no data to give."""

    key: str
    label: str
    count: Callable[[object, Filters], int | None]
    note: str | None = None
    endpoint: str | None = None
    args: Callable[[Filters], dict] | None = None


def _open_recalls(uow, filters: Filters) -> int | None:
    """A recall is open until closed, whatever the period; not per site or category."""
    return recall.open_count(uow)


def _excursions(uow, filters: Filters) -> int | None:
    start = datetime.combine(filters.period.start, time.min, tzinfo=UTC)
    end = datetime.combine(filters.period.end, time.min, tzinfo=UTC)
    return alerts.excursion_count(uow, start=start, end=end)


PROVIDERS: list[Provider] = [
    Provider(
        "open_recalls", N_("Open recalls"), _open_recalls, endpoint="traceability.recalls_list", args=lambda f: {"state": "open"}
    ),
    Provider(
        "excursions",
        N_("Temperature excursions"),
        _excursions,
        note=N_("Limits broken in the period, all sites."),
        endpoint="coldchain.alerts",
    ),
]


def register_provider(provider: Provider) -> None:
    """Put `provider` in place of the one with the same key (or add it)."""
    for index, existing in enumerate(PROVIDERS):
        if existing.key == provider.key:
            PROVIDERS[index] = provider
            return
    PROVIDERS.append(provider)


# --- filters --------------------------------------------------------------------------------


def receiving_sites(uow) -> list[Site]:
    """The tenant's own sites, where goods are received (the site filter's choices)."""
    return tenants.own_sites(uow)


def filters_from(uow, *, kind: str | None, period: str | None, site: str | None, category: str | None, today: date) -> Filters:
    """The filters of a request: period kind and key (default: the rolling twelve months
    ending this month), a receiving site's id and a category (default: all). Anything
    unknown is refused with a message per field."""
    errors: dict[str, str] = {}
    kind = (kind or "rolling12").strip()
    chosen: Period | None = None
    if kind not in KINDS:
        errors["kind"] = N_("Choose month, quarter or rolling 12 months.")
    else:
        try:
            chosen = period_of(kind, (period or "").strip() or today)
        except ValidationFailed:
            errors["period"] = BAD_PERIOD
    chosen_site, category = _site_and_category(uow, site, category, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    assert chosen is not None
    return Filters(period=chosen, site=chosen_site, category=category)


def slice_of(uow, *, site: str | None, category: str | None) -> tuple[Slice, Site | None]:
    """The slice of the business a request names by receiving site id and category
    (blank: all), with the site; anything unknown is refused with a message per field."""
    errors: dict[str, str] = {}
    chosen_site, category = _site_and_category(uow, site, category, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return Slice(site_id=chosen_site.id if chosen_site else None, category=category), chosen_site


def _site_and_category(uow, site: str | None, category: str | None, errors: dict) -> tuple[Site | None, str | None]:
    chosen_site = None
    if site and site.strip():
        try:
            site_id = uuid.UUID(site.strip())
        except ValueError:
            site_id = None
        chosen_site = next((s for s in receiving_sites(uow) if s.id == site_id), None) if site_id else None
        if chosen_site is None:
            errors["site"] = UNKNOWN_SITE
    category = (category or "").strip() or None
    if category is not None and category not in CATEGORIES:
        errors["category"] = UNKNOWN_CATEGORY
    return chosen_site, category


def require_manager(actor) -> None:
    require(actor, "scorecard.view")
    if actor.supplier_id is not None:
        raise Forbidden(BUYER_ONLY)


# --- the dashboard ----------------------------------------------------------------------------


def dashboard(uow, actor, *, filters: Filters, today: date) -> Dashboard:
    require_manager(actor)
    counts = _counts(uow, filters, filters.period.start, filters.period.end)
    months = monthly(uow, actor, filters=filters)
    return Dashboard(
        filters=filters,
        lots_received=counts["lots_received"],
        nonconformances=counts["nonconformances"],
        nonconformance=Rate(counts["nonconformances"], counts["lots_received"]),
        rejection=Rate(counts["lots_rejected"], counts["lots_inspected"]),
        rework=Rate(counts["lots_reworked"], counts["lots_received"]),
        returns=Rate(counts["lots_returned"], counts["lots_received"]),
        release=release_times(uow, filters),
        scores=score_distribution(uow, filters.period),
        certificates=_certificates(uow, actor, today) if _sees_suppliers(actor) else None,
        provided=[_provided(uow, p, filters) for p in PROVIDERS],
        months=months,
        refreshed_at=uow.scalar(sa.select(ComplianceRefresh.refreshed_at)),
    )


def _where(stmt, model, filters: Filters, start: date, end: date, day_column):
    stmt = stmt.where(day_column >= start, day_column < end)
    if filters.site is not None:
        stmt = stmt.where(model.site_id == filters.site.id)
    if filters.category:
        stmt = stmt.where(model.category == filters.category)
    return stmt




def _counts(uow, filters: Filters, start: date, end: date) -> dict[str, int]:
    stmt = sa.select(*(sa.func.coalesce(sa.func.sum(getattr(ComplianceDay, c)), 0) for c in COUNTERS))
    row = uow.execute(_where(stmt, ComplianceDay, filters, start, end, ComplianceDay.day)).one()
    return {name: int(value) for name, value in zip(COUNTERS, row, strict=True)}


def monthly(uow, actor, *, filters: Filters, count: int = 12) -> list[MonthFigures]:
    """The rates month by month, the twelve months up to the period's last, in one query."""
    require_manager(actor)
    months = last_periods("month", until=_last_day(filters.period), count=count)
    month = sa.func.date_trunc("month", ComplianceDay.day)
    stmt = sa.select(month, *(sa.func.sum(getattr(ComplianceDay, c)) for c in COUNTERS)).group_by(month)
    rows = {
        m.date() if isinstance(m, datetime) else m: dict(zip(COUNTERS, (int(v or 0) for v in values), strict=True))
        for m, *values in uow.execute(_where(stmt, ComplianceDay, filters, months[0].start, months[-1].end, ComplianceDay.day))
    }
    out = []
    for period in months:
        c = rows.get(period.start, dict.fromkeys(COUNTERS, 0))
        out.append(
            MonthFigures(
                period=period,
                nonconformance=Rate(c["nonconformances"], c["lots_received"]),
                rejection=Rate(c["lots_rejected"], c["lots_inspected"]),
            )
        )
    return out


def _last_day(period: Period) -> date:
    return date.fromordinal(period.end.toordinal() - 1)


def release_times(uow, filters: Filters) -> ReleaseTimes:
    hours = ComplianceRelease.hours
    stmt = sa.select(
        sa.func.count(),
        sa.func.percentile_cont(0.5).within_group(hours),
        sa.func.percentile_cont(0.9).within_group(hours),
    )
    lots, median, p90 = uow.execute(
        _where(stmt, ComplianceRelease, filters, filters.period.start, filters.period.end, ComplianceRelease.released_on)
    ).one()
    return ReleaseTimes(lots=lots, median_hours=_hours(median), p90_hours=_hours(p90))


def _hours(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(TENTH, ROUND_HALF_UP)


def score_distribution(uow, period: Period) -> ScoreDistribution:
    """Suppliers by grade in the period, from the stored scorecards (scoring.service
    computes them); the tenant average's score beside."""
    rows = uow.execute(
        sa.select(ScorecardResult.grade, sa.func.count())
        .where(ScorecardResult.period_key == period.key, ScorecardResult.supplier_id.is_not(None))
        .group_by(ScorecardResult.grade)
    ).all()
    by_grade = dict.fromkeys((*GRADES, NO_GRADE), 0)
    for grade, n in rows:
        by_grade[grade if grade in GRADES else NO_GRADE] += n
    average = uow.scalar(
        sa.select(ScorecardResult.score).where(ScorecardResult.period_key == period.key, ScorecardResult.supplier_id.is_(None))
    )
    return ScoreDistribution(by_grade=by_grade, scored=sum(by_grade[g] for g in GRADES), average=average)


def _sees_suppliers(actor) -> bool:
    return actor.kind == "system" or "suppliers.view" in actor.permissions


def _certificates(uow, actor, today: date) -> CertificateStatus:
    overview = certificate_dashboard.compliance_overview(uow, actor, today=today)
    return CertificateStatus(
        suppliers=overview.suppliers,
        compliant=overview.compliant,
        expiring=overview.expiring_suppliers,
        expired=overview.expired_suppliers,
        pending_review=overview.pending_review,
    )


def _provided(uow, provider: Provider, filters: Filters) -> ProvidedTile:
    return ProvidedTile(
        key=provider.key,
        label=provider.label,
        count=provider.count(uow, filters),
        note=provider.note,
        endpoint=provider.endpoint,
        args=provider.args(filters) if provider.args else {},
    )


# --- the lists behind the tiles ---------------------------------------------------------------


@dataclass(frozen=True)
class SupplierLine:
    """One supplier's share of the period's figures (the list behind a rate tile)."""

    supplier_id: uuid.UUID | None
    code: str | None
    name: str | None
    name_zh: str | None
    lots_received: int
    lots_inspected: int
    lots_rejected: int
    nonconformances: int
    lots_released: int
    lots_returned: int = 0
    lots_reworked: int = 0

    @property
    def returns(self) -> Rate:
        return Rate(self.lots_returned, self.lots_received)

    @property
    def rework(self) -> Rate:
        return Rate(self.lots_reworked, self.lots_received)

    @property
    def nonconformance(self) -> Rate:
        return Rate(self.nonconformances, self.lots_received)

    @property
    def rejection(self) -> Rate:
        return Rate(self.lots_rejected, self.lots_inspected)


def by_supplier(uow, actor, *, filters: Filters) -> list[SupplierLine]:
    """The period's figures per supplier, the most nonconformances first."""
    require_manager(actor)
    stmt = sa.select(ComplianceDay.supplier_id, *(sa.func.sum(getattr(ComplianceDay, c)) for c in COUNTERS)).group_by(
        ComplianceDay.supplier_id
    )
    rows = uow.execute(_where(stmt, ComplianceDay, filters, filters.period.start, filters.period.end, ComplianceDay.day)).all()
    names = {s.id: s for s in tenants.list_suppliers(uow)}
    lines = []
    for supplier_id, *values in rows:
        supplier = names.get(supplier_id)
        lines.append(
            SupplierLine(
                supplier_id,
                supplier.code if supplier else None,
                supplier.name if supplier else None,
                supplier.name_zh if supplier else None,
                *(int(v or 0) for v in values),
            )
        )
    lines.sort(key=lambda line: (-line.nonconformances, -line.lots_rejected, line.code or ""))
    return lines


@dataclass(frozen=True)
class ReleaseLine:
    lot_id: uuid.UUID
    lot_number: str | None
    supplier_code: str | None
    supplier_name: str | None
    supplier_name_zh: str | None
    received_at: datetime
    released_at: datetime
    hours: Decimal


def release_list(uow, actor, *, filters: Filters, limit: int = 200) -> list[ReleaseLine]:
    """The lots released in the period, the slowest first (the list behind the release
    time tile)."""
    require_manager(actor)
    stmt = sa.select(ComplianceRelease).order_by(ComplianceRelease.hours.desc(), ComplianceRelease.lot_id).limit(limit)
    rows = uow.session.scalars(
        _where(stmt, ComplianceRelease, filters, filters.period.start, filters.period.end, ComplianceRelease.released_on)
    ).all()
    lots = inventory.lots_by_id(uow, ids=[r.lot_id for r in rows])
    names = {s.id: s for s in tenants.list_suppliers(uow)}
    out = []
    for r in rows:
        supplier = names.get(r.supplier_id)
        lot = lots.get(r.lot_id)
        out.append(
            ReleaseLine(
                r.lot_id,
                lot.number if lot else None,
                supplier.code if supplier else None,
                supplier.name if supplier else None,
                supplier.name_zh if supplier else None,
                r.received_at,
                r.released_at,
                _hours(r.hours),
            )
        )
    return out


@dataclass(frozen=True)
class ScoreLine:
    supplier_id: uuid.UUID
    code: str | None
    name: str | None
    name_zh: str | None
    score: Decimal | None
    grade: str | None


def score_list(uow, actor, *, period: Period) -> list[ScoreLine]:
    """Every supplier's stored score in the period, best first, no score last."""
    require_manager(actor)
    rows = uow.session.scalars(
        sa.select(ScorecardResult).where(ScorecardResult.period_key == period.key, ScorecardResult.supplier_id.is_not(None))
    ).all()
    names = {s.id: s for s in tenants.list_suppliers(uow)}
    out = []
    for r in rows:
        supplier = names.get(r.supplier_id)
        out.append(
            ScoreLine(
                r.supplier_id,
                supplier.code if supplier else None,
                supplier.name if supplier else None,
                supplier.name_zh if supplier else None,
                r.score,
                r.grade,
            )
        )
    out.sort(key=lambda line: (line.score is None, -(line.score or 0), line.code or ""))
    return out
