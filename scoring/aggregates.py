"""Pre-aggregated figures of the compliance dashboard, refreshed by a worker job.

The dashboard must answer in a few hundred milliseconds for a tenant with years of
receipts, so it never reads the transactions: it reads these tables, which hold per
UTC day, supplier, receiving site and item category what happened that day
(`ComplianceDay`), and one row per released lot with its batch release time
(`ComplianceRelease`, so the median and 90th percentile are exact, not estimated from a
histogram). `ComplianceRefresh` is the tenant's watermark: what changed in the
transactions up to `watermark` is in the tables.

Derived only: every row is recomputed from audited records (receipts, inspections,
nonconformances, signed lot releases), which keep the trail. These tables carry tenant
and supplier row-level security like every other, but no audit triggers: a refresh
rewrites recent days every few minutes, and auditing a cache would fill the permanent,
hash-chained trail with machine events that record no one's act and no new fact.
(tests/migrations/test_catalog.py lists them as derived.)

What a day counts (each by its own event's UTC day):
- lots_received: distinct (receipt, item, lot) over receipt lines, by the receipt's day;
- lots_inspected / lots_rejected: incoming inspections completed that day / of them,
  those with a rejected quantity;
- nonconformances: nonconformances opened that day;
- lots_released: lots first released that day (their times are in ComplianceRelease);
- lots_returned / lots_reworked: lots (of an item) sent back to their supplier / put back
  into quarantine for rework that day by a nonconformance's disposition
  (erp.receiving.disposition), at the site of the stock they left.

Refresh (`refresh`): the days of events since the last watermark, the days of older
records changed since then (a nonconformance closed, an inspection completed late),
and the days of receipts still open (a scan can still be undone) are recomputed -
deleted and inserted again in one statement each. The first refresh, or `full=True`,
recomputes everything. The watermark is the refreshing transaction's start time less a
margin, so a transaction that committed after this one's snapshot is read next time.

This module reads the receiving tables directly (read-only): an extract over set-based
SQL, which no per-record service function could give at this size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import insert

from erp.inventory.models import Location, StockMovement
from erp.items.models import Item
from erp.receiving.models import Inspection, LotRelease, Nonconformance, Receipt, ReceiptLine
from kernel.models import Base, TenantOwned, tenant_fk

# A transaction that started before the refresh and committed after its snapshot has
# created_at / updated_at before the refresh's start: re-reading this much before the
# watermark catches it.
MARGIN = timedelta(minutes=30)
COUNTERS = (
    "lots_received", "lots_inspected", "lots_rejected", "nonconformances", "lots_released", "lots_returned", "lots_reworked",
)
# Stock movements of a disposition, by the counter they feed.
DISPOSED = {"return": "lots_returned", "rework": "lots_reworked"}


class ComplianceDay(TenantOwned, Base):
    __tablename__ = "compliance_day"
    __table_args__ = (
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["site_id"], "site"),
        sa.Index(
            "uq_compliance_day_key", "tenant_id", "day", "supplier_id", "site_id", "category",
            unique=True, postgresql_nulls_not_distinct=True,
        ),
    )

    day: orm.Mapped[date]
    supplier_id: orm.Mapped[uuid.UUID | None]
    site_id: orm.Mapped[uuid.UUID | None]  # the receiving site (the tenant's own)
    category: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    lots_received: orm.Mapped[int] = orm.mapped_column(server_default="0")
    lots_inspected: orm.Mapped[int] = orm.mapped_column(server_default="0")
    lots_rejected: orm.Mapped[int] = orm.mapped_column(server_default="0")
    nonconformances: orm.Mapped[int] = orm.mapped_column(server_default="0")
    lots_released: orm.Mapped[int] = orm.mapped_column(server_default="0")
    lots_returned: orm.Mapped[int] = orm.mapped_column(server_default="0")
    lots_reworked: orm.Mapped[int] = orm.mapped_column(server_default="0")


class ComplianceRelease(TenantOwned, Base):
    """A lot's first release: hours from its first receipt to the signed release."""

    __tablename__ = "compliance_release"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "lot_id"),
        tenant_fk(["lot_id"], "lot"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["site_id"], "site"),
        sa.Index("ix_compliance_release_day", "tenant_id", "released_on"),
    )

    lot_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    site_id: orm.Mapped[uuid.UUID | None]
    category: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    received_at: orm.Mapped[datetime]
    released_at: orm.Mapped[datetime]
    released_on: orm.Mapped[date]
    hours: orm.Mapped[float] = orm.mapped_column(sa.Float)


class ComplianceRefresh(TenantOwned, Base):
    """One row per tenant: the refresh watermark and when the last refresh ran."""

    __tablename__ = "compliance_refresh"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    watermark: orm.Mapped[datetime]
    refreshed_at: orm.Mapped[datetime]
    days: orm.Mapped[int] = orm.mapped_column(server_default="0")  # days recomputed by the last run


@dataclass(frozen=True)
class Refreshed:
    days: int  # days recomputed
    releases: int  # lots whose release row was written
    full: bool
    refreshed_at: datetime


def _day(column):
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def last_refresh(uow) -> ComplianceRefresh | None:
    return uow.scalar(sa.select(ComplianceRefresh))


def refresh(uow, *, full: bool = False) -> Refreshed:
    """Bring the tenant's aggregates up to date (see the module's docstring). No
    permission: the worker runs it as the system; the dashboard only reads. Idempotent."""
    state = uow.session.scalar(sa.select(ComplianceRefresh).with_for_update())
    started = uow.scalar(sa.select(sa.func.now()))
    full = full or state is None
    if full:
        days = None
        since = None
    else:
        since = state.watermark - MARGIN
        days = sorted(_changed_days(uow, since))
    written_days = _rewrite_days(uow, days)
    releases = _rewrite_releases(uow, since)
    if state is None:
        state = ComplianceRefresh(watermark=started, refreshed_at=started, days=written_days)
        uow.add(state)
    else:
        state.watermark, state.refreshed_at, state.days = started, started, written_days
    uow.flush()
    return Refreshed(days=written_days, releases=releases, full=full, refreshed_at=started)


def _changed_days(uow, since: datetime) -> set[date]:
    """Days whose figures may have changed since `since`."""
    receipt_day = _day(Receipt.created_at)
    queries = [
        # Receipts made or changed since, and every open one (lines can still go).
        sa.select(receipt_day).where(sa.or_(Receipt.updated_at >= since, Receipt.status == "open")),
        sa.select(receipt_day)
        .join(ReceiptLine, sa.and_(ReceiptLine.tenant_id == Receipt.tenant_id, ReceiptLine.receipt_id == Receipt.id))
        .where(ReceiptLine.created_at >= since),
        sa.select(_day(Inspection.completed_at)).where(Inspection.updated_at >= since, Inspection.completed_at.is_not(None)),
        sa.select(_day(Nonconformance.created_at)).where(Nonconformance.updated_at >= since),
        sa.select(_day(LotRelease.decided_at)).where(LotRelease.decided_at >= since),
        # Movements are insert-only: a disposition's day is the day it was recorded.
        sa.select(_day(StockMovement.moved_at)).where(StockMovement.moved_at >= since, StockMovement.kind.in_(DISPOSED)),
    ]
    found = uow.session.scalars(sa.union(*queries)).all()
    return {d for d in found if d is not None}


def _lot_or_item():
    """A line's lot, or for an item without lots, the item: one "lot" per receipt."""
    return sa.func.coalesce(ReceiptLine.lot_id, ReceiptLine.item_id)


def _sources(days: list[date] | None):
    """One row per counted event: (day, supplier, site, category, the COUNTERS)."""
    zero = sa.literal(0)
    received = (
        sa.select(
            _day(Receipt.created_at).label("day"),
            Receipt.supplier_id.label("supplier_id"),
            Receipt.site_id.label("site_id"),
            Item.category.label("category"),
            sa.func.count(sa.distinct(sa.tuple_(ReceiptLine.receipt_id, ReceiptLine.item_id, _lot_or_item()))).label(
                "lots_received"
            ),
            zero.label("lots_inspected"),
            zero.label("lots_rejected"),
            zero.label("nonconformances"),
            zero.label("lots_released"),
            zero.label("lots_returned"),
            zero.label("lots_reworked"),
        )
        .select_from(Receipt)
        .join(ReceiptLine, sa.and_(ReceiptLine.tenant_id == Receipt.tenant_id, ReceiptLine.receipt_id == Receipt.id))
        .join(Item, sa.and_(Item.tenant_id == ReceiptLine.tenant_id, Item.id == ReceiptLine.item_id))
        .group_by(sa.text("1, 2, 3, 4"))
    )
    inspected = (
        sa.select(
            _day(Inspection.completed_at).label("day"),
            Inspection.supplier_id,
            Receipt.site_id,
            Item.category,
            zero,
            sa.func.count(),
            sa.func.count().filter(Inspection.rejected_quantity > 0),
            zero,
            zero,
            zero,
            zero,
        )
        .select_from(Inspection)
        .join(Receipt, sa.and_(Receipt.tenant_id == Inspection.tenant_id, Receipt.id == Inspection.receipt_id))
        .join(Item, sa.and_(Item.tenant_id == Inspection.tenant_id, Item.id == Inspection.item_id))
        .where(Inspection.status == "done", Inspection.completed_at.is_not(None))
        .group_by(sa.text("1, 2, 3, 4"))
    )
    nc_inspection = orm.aliased(Inspection)
    nc_receipt = orm.aliased(Receipt)
    nonconforming = (
        sa.select(
            _day(Nonconformance.created_at).label("day"),
            Nonconformance.supplier_id,
            nc_receipt.site_id,
            Item.category,
            zero,
            zero,
            zero,
            sa.func.count(),
            zero,
            zero,
            zero,
        )
        .select_from(Nonconformance)
        .join(Item, sa.and_(Item.tenant_id == Nonconformance.tenant_id, Item.id == Nonconformance.item_id))
        .outerjoin(
            nc_inspection,
            sa.and_(nc_inspection.tenant_id == Nonconformance.tenant_id, nc_inspection.id == Nonconformance.inspection_id),
        )
        .outerjoin(
            nc_receipt, sa.and_(nc_receipt.tenant_id == nc_inspection.tenant_id, nc_receipt.id == nc_inspection.receipt_id)
        )
        .group_by(sa.text("1, 2, 3, 4"))
    )
    first = _first_releases().subquery()
    released = (
        sa.select(
            _day(first.c.released_at).label("day"),
            first.c.supplier_id,
            first.c.site_id,
            first.c.category,
            zero,
            zero,
            zero,
            zero,
            sa.func.count(),
            zero,
            zero,
        )
        .group_by(sa.text("1, 2, 3, 4"))
    )
    lot = sa.func.coalesce(StockMovement.lot_id, StockMovement.item_id)
    disposed = (
        sa.select(
            _day(StockMovement.moved_at).label("day"),
            StockMovement.supplier_id,
            Location.site_id,
            Item.category,
            zero,
            zero,
            zero,
            zero,
            zero,
            *(
                sa.func.count(sa.distinct(lot)).filter(StockMovement.kind == kind)
                for kind, _ in sorted(DISPOSED.items(), key=lambda pair: COUNTERS.index(pair[1]))
            ),
        )
        .select_from(StockMovement)
        .join(Item, sa.and_(Item.tenant_id == StockMovement.tenant_id, Item.id == StockMovement.item_id))
        .outerjoin(
            Location, sa.and_(Location.tenant_id == StockMovement.tenant_id, Location.id == StockMovement.from_location_id)
        )
        .where(StockMovement.kind.in_(DISPOSED), StockMovement.reference_kind == "nonconformance")
        .group_by(sa.text("1, 2, 3, 4"))
    )
    if days is not None:
        received = received.where(_day(Receipt.created_at).in_(days))
        inspected = inspected.where(_day(Inspection.completed_at).in_(days))
        nonconforming = nonconforming.where(_day(Nonconformance.created_at).in_(days))
        released = released.where(_day(first.c.released_at).in_(days))
        disposed = disposed.where(_day(StockMovement.moved_at).in_(days))
    return sa.union_all(received, inspected, nonconforming, released, disposed).subquery()


def _first_releases():
    """Per released lot: its first release, first receipt, supplier, site, category."""
    first = (
        sa.select(
            LotRelease.lot_id,
            sa.func.min(LotRelease.decided_at).label("released_at"),
            sa.func.min(LotRelease.received_at).label("received_at"),
            sa.func.min(sa.cast(LotRelease.supplier_id, sa.Text)).label("supplier_id"),
        )
        .where(LotRelease.decision == "released", LotRelease.received_at.is_not(None))
        .group_by(LotRelease.lot_id)
        .subquery()
    )
    # The lot's first receipt line: its receiving site and the item's category.
    line = (
        sa.select(Receipt.site_id, Item.category)
        .select_from(ReceiptLine)
        .join(Receipt, sa.and_(Receipt.tenant_id == ReceiptLine.tenant_id, Receipt.id == ReceiptLine.receipt_id))
        .join(Item, sa.and_(Item.tenant_id == ReceiptLine.tenant_id, Item.id == ReceiptLine.item_id))
        .where(ReceiptLine.lot_id == first.c.lot_id)
        .order_by(Receipt.created_at)
        .limit(1)
        .lateral()
    )
    return sa.select(
        first.c.lot_id,
        sa.cast(first.c.supplier_id, sa.Uuid).label("supplier_id"),
        line.c.site_id,
        line.c.category,
        first.c.received_at,
        first.c.released_at,
    ).select_from(first.outerjoin(line, sa.true()))


def _rewrite_days(uow, days: list[date] | None) -> int:
    if days is not None and not days:
        return 0
    table = ComplianceDay.__table__
    delete = sa.delete(table)
    if days is not None:
        delete = delete.where(table.c.day.in_(days))
    uow.execute(delete)
    source = _sources(days)
    counters = COUNTERS
    select = sa.select(
        sa.func.gen_random_uuid(),
        source.c.day,
        source.c.supplier_id,
        source.c.site_id,
        source.c.category,
        *(sa.func.sum(source.c[name]).cast(sa.Integer) for name in counters),
    ).group_by(source.c.day, source.c.supplier_id, source.c.site_id, source.c.category)
    uow.execute(
        sa.insert(table).from_select(["id", "day", "supplier_id", "site_id", "category", *counters], select)
    )
    if days is None:
        return uow.scalar(sa.select(sa.func.count(sa.distinct(table.c.day)))) or 0
    return len(days)


def _rewrite_releases(uow, since: datetime | None) -> int:
    """Insert the release row of lots first released since `since` (all when None). A
    lot's first release never changes (decisions are insert-only), so rows are only
    added."""
    first = _first_releases().subquery()
    hours = sa.func.extract("epoch", first.c.released_at - first.c.received_at) / 3600
    select = sa.select(
        sa.func.gen_random_uuid(),
        first.c.lot_id,
        first.c.supplier_id,
        first.c.site_id,
        first.c.category,
        first.c.received_at,
        first.c.released_at,
        _day(first.c.released_at),
        sa.cast(hours, sa.Float),
    )
    if since is not None:
        select = select.where(first.c.released_at >= since)
    table = ComplianceRelease.__table__
    statement = (
        insert(table)
        .from_select(
            ["id", "lot_id", "supplier_id", "site_id", "category", "received_at", "released_at", "released_on", "hours"], select
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "lot_id"])
    )
    return uow.execute(statement).rowcount or 0


def active_tenants(connection) -> list[uuid.UUID]:
    """Every active tenant (security-definer function: the jobs run with no tenant in
    context, then work in each tenant's own transaction)."""
    return [row[0] for row in connection.execute(sa.text("select * from app.scoring_tenants()"))]
