"""The compliance dashboard: the tenant's suppliers at a glance against the requirement
matrix (erp.suppliers.compliance), the certificates expiring soon, and the rows of the
compliance export.

Buyer side only: a supplier sees its own obligations on its certificate pages. Every
figure comes from a few set-based queries over all suppliers at once (one `standings`
call, one aggregate over the certificates), never a query per supplier.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from auth.permissions import require
from documents.models import Certificate, CertificateType
from erp.items import service as items
from erp.suppliers.compliance import Obligation, SiteStanding, standings
from kernel.errors import N_, Forbidden
from tenants import service as tenants
from tenants.models import Organisation, Site

BUYER_ONLY = N_("The compliance dashboard is for the tenant's own people.")
# How many months the expiry calendar shows at most.
MAX_MONTHS = 12


@dataclass(frozen=True)
class SupplierCompliance:
    """One supplier's line on the dashboard."""

    supplier: Organisation
    standings: list[SiteStanding]
    next_expiry: date | None = None  # the soonest expiry, today or later, of its approved certificates
    expiring_this_month: int = 0  # approved certificates expiring from today to the month's end
    expired: int = 0  # approved (not superseded) certificates past their expiry
    pending_review: int = 0

    @property
    def obligations(self) -> int:
        return sum(len(s.obligations) for s in self.standings)

    @property
    def unmet(self) -> int:
        return sum(1 for s in self.standings for o in s.obligations if not o.met)

    @property
    def compliant(self) -> bool:
        """Every site meets every obligation (true, too, when none applies)."""
        return all(s.compliant for s in self.standings)

    @property
    def no_requirements(self) -> bool:
        return self.obligations == 0


@dataclass(frozen=True)
class Overview:
    today: date
    month_end: date  # the last day of today's month: "expiring this month" ends there
    rows: list[SupplierCompliance] = field(default_factory=list)  # not compliant first, then by name

    @property
    def suppliers(self) -> int:
        return len(self.rows)

    @property
    def compliant(self) -> int:
        """Fully compliant suppliers, those with no requirements included."""
        return sum(1 for r in self.rows if r.compliant)

    @property
    def no_requirements(self) -> int:
        return sum(1 for r in self.rows if r.no_requirements)

    @property
    def expiring_suppliers(self) -> int:
        return sum(1 for r in self.rows if r.expiring_this_month)

    @property
    def expiring_certificates(self) -> int:
        return sum(r.expiring_this_month for r in self.rows)

    @property
    def expired_suppliers(self) -> int:
        return sum(1 for r in self.rows if r.expired)

    @property
    def expired_certificates(self) -> int:
        return sum(r.expired for r in self.rows)

    @property
    def pending_suppliers(self) -> int:
        return sum(1 for r in self.rows if r.pending_review)

    @property
    def pending_review(self) -> int:
        return sum(r.pending_review for r in self.rows)


def compliance_overview(uow, actor, *, today: date) -> Overview:
    """Every supplier organisation of the tenant with its standing and certificate
    figures on `today`."""
    _require_buyer(actor)
    suppliers = tenants.list_suppliers(uow)
    month_end = last_day(today)
    ids = [s.id for s in suppliers]
    standing = standings(uow, supplier_ids=ids, today=today) if ids else {}
    figures = _certificate_figures(uow, today=today, month_end=month_end)
    rows = [
        SupplierCompliance(supplier=s, standings=standing.get(s.id, []), **figures.get(s.id, {}))
        for s in suppliers  # by name already
    ]
    rows.sort(key=lambda r: r.compliant)  # stable: by name within each group
    return Overview(today=today, month_end=month_end, rows=rows)


def _certificate_figures(uow, *, today: date, month_end: date) -> dict[uuid.UUID, dict]:
    """Per supplier, in one aggregate: the next expiry and how many certificates expire
    this month, have expired, wait for review. Superseded ones count nowhere: only the
    approved status is current."""
    approved = Certificate.status == "approved"
    stmt = sa.select(
        Certificate.supplier_id,
        sa.func.min(Certificate.expires_on).filter(approved, Certificate.expires_on >= today),
        sa.func.count().filter(approved, Certificate.expires_on.between(today, month_end)),
        sa.func.count().filter(approved, Certificate.expires_on < today),
        sa.func.count().filter(Certificate.status == "pending_review"),
    ).group_by(Certificate.supplier_id)
    return {
        supplier_id: {"next_expiry": nxt, "expiring_this_month": expiring, "expired": expired, "pending_review": pending}
        for supplier_id, nxt, expiring, expired, pending in uow.execute(stmt)
    }


# --- the expiry calendar ------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    """An approved certificate expiring on a day of the calendar."""

    certificate_id: uuid.UUID
    number: str
    expires_on: date
    days_left: int  # from today; negative when the day is past
    supplier_id: uuid.UUID
    supplier_code: str
    supplier_name: str
    supplier_name_zh: str | None
    type_name: str
    type_name_zh: str | None


@dataclass(frozen=True)
class CalendarMonth:
    month: date  # its first day
    days: dict[date, list[Expiry]] = field(default_factory=dict)  # days with expiries, in order

    @property
    def count(self) -> int:
        return sum(len(e) for e in self.days.values())

    @property
    def weeks(self) -> list[list[date | None]]:
        """The month as weeks from Monday to Sunday; None for days of the months around it."""
        weeks = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(self.month.year, self.month.month)
        return [[d if d.month == self.month.month else None for d in week] for week in weeks]


def expiry_calendar(uow, actor, *, start: date, months: int = 3, today: date | None = None) -> list[CalendarMonth]:
    """Approved (so not superseded) certificates expiring from `start` to the end of the
    `months`-th month counting start's own, grouped by month and day, soonest first.
    Days left count from `today` (default: start)."""
    _require_buyer(actor)
    months = max(1, min(int(months), MAX_MONTHS))
    today = today or start
    firsts = [add_months(start.replace(day=1), n) for n in range(months)]
    end = last_day(firsts[-1])
    stmt = (
        sa.select(Certificate, CertificateType, Organisation)
        .join(CertificateType, CertificateType.id == Certificate.certificate_type_id)
        .join(Organisation, Organisation.id == Certificate.supplier_id)
        .where(Certificate.status == "approved", Certificate.expires_on.between(start, end))
        .order_by(Certificate.expires_on, Organisation.name, CertificateType.name, Certificate.number)
    )
    result = {first: CalendarMonth(month=first) for first in firsts}
    for certificate, kind, supplier in uow.execute(stmt):
        day = certificate.expires_on
        result[day.replace(day=1)].days.setdefault(day, []).append(
            Expiry(
                certificate_id=certificate.id,
                number=certificate.number,
                expires_on=day,
                days_left=(day - today).days,
                supplier_id=supplier.id,
                supplier_code=supplier.code,
                supplier_name=supplier.name,
                supplier_name_zh=supplier.name_zh,
                type_name=kind.name,
                type_name_zh=kind.name_zh,
            )
        )
    return list(result.values())


# --- the export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ObligationRow:
    """One line of the compliance export: one obligation of one supplier site."""

    supplier: Organisation
    site: Site | None  # None: the supplier as a whole (it has no sites)
    obligation: Obligation
    part_number: str | None  # for an item requirement

    @property
    def days_left(self) -> int | None:
        view = self.obligation.certificate
        return view.days_left if view is not None else None


def obligation_rows(uow, actor, *, today: date) -> list[ObligationRow]:
    """Every obligation of every site of every supplier, by supplier and site name (a
    supplier without obligations has no row)."""
    _require_buyer(actor)
    suppliers = tenants.list_suppliers(uow)
    standing = standings(uow, supplier_ids=[s.id for s in suppliers], today=today) if suppliers else {}
    item_ids = {o.item_id for sites in standing.values() for s in sites for o in s.obligations if o.item_id}
    parts = items.part_numbers(uow, item_ids=item_ids)
    return [
        ObligationRow(supplier=supplier, site=s.site, obligation=o, part_number=parts.get(o.item_id) if o.item_id else None)
        for supplier in suppliers
        for s in standing.get(supplier.id, [])
        for o in s.obligations
    ]


# --- dates ---------------------------------------------------------------------------------


def last_day(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(first: date, months: int) -> date:
    """The first day of the month `months` after (or before) `first`'s."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _require_buyer(actor) -> None:
    require(actor, "suppliers.view")
    if actor.supplier_id is not None:
        raise Forbidden(BUYER_ONLY)
