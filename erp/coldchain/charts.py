"""Temperature histories as SVG (kernel.charts): a lot's, a shipment's or one binding's
readings with the storage limits drawn and the excursions shaded, humidity on a second
axis when there is any. Pages show them as <img> (the SVG route), PDF reports embed the
same SVG. Labels come through `translate` (the caller's gettext) so that erp stays free
of the web layer; times are in the viewer's time zone, named on the axis.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from auth.permissions import require_any
from erp.coldchain import alerts as alerting
from erp.coldchain import mkt
from erp.coldchain.models import ColdChainAlert, LoggerBinding, StorageCondition
from erp.coldchain.readings import Window, series
from erp.coldchain.service import conditions_by_item
from erp.inventory import service as inventory
from erp.inventory.models import Stock, StockMovement
from erp.shipping.models import AsnLine, AsnPackage
from kernel import charts
from kernel.errors import N_

TITLE_LOT = N_("Temperature history of lot %(lot)s")
TITLE_ASN = N_("Temperature history of shipment %(asn)s")
TITLE_BINDING = N_("Temperature recorded by logger %(logger)s")
DESCRIPTION = N_(
    "%(count)s readings from %(start)s to %(end)s (UTC): lowest %(low)s °C, highest %(high)s °C, "
    "mean kinetic temperature %(mkt)s °C; allowed %(range)s °C; %(excursions)s excursions shaded."
)
NO_READINGS = N_("No readings recorded.")
TEMPERATURE = N_("Temperature (°C)")
HUMIDITY = N_("Humidity (%RH)")
TIME = N_("Time (%(zone)s)")
LIMIT = N_("Limit")
EXCURSION = N_("Excursion")

EXCURSION_KINDS = ("temperature_high", "temperature_low", "humidity_high", "humidity_low")


@dataclass(frozen=True)
class History:
    """What a chart and its table summary show."""

    points: list[tuple[datetime, float | None, float | None]]
    condition: StorageCondition | None
    alerts: list[ColdChainAlert]
    low: float | None
    high: float | None
    mkt: float | None

    @property
    def excursions(self) -> list[ColdChainAlert]:
        return [a for a in self.alerts if a.kind in EXCURSION_KINDS and a.started_at is not None]


def windows_of(bindings) -> list[Window]:
    return [Window(b.logger_id, b.starts_at, b.ends_at) for b in bindings]


def bindings_of_lot(uow, *, lot_id: uuid.UUID) -> list[LoggerBinding]:
    """The bindings that watched the lot: to it, to a ship notice or package carrying it,
    or to a location where it stood."""
    asn_lines = sa.select(AsnLine.asn_id, AsnLine.package_id).where(AsnLine.lot_id == lot_id).subquery()
    packages = sa.select(AsnPackage.id).where(
        sa.or_(AsnPackage.id.in_(sa.select(asn_lines.c.package_id)), AsnPackage.id.in_(
            sa.select(AsnPackage.parent_id).where(AsnPackage.id.in_(sa.select(asn_lines.c.package_id)))
        ))
    )
    places = sa.union(
        sa.select(Stock.location_id).where(Stock.lot_id == lot_id),
        sa.select(StockMovement.to_location_id).where(StockMovement.lot_id == lot_id),
    )
    return list(
        uow.session.scalars(
            sa.select(LoggerBinding)
            .where(
                sa.or_(
                    sa.and_(LoggerBinding.kind == "lot", LoggerBinding.lot_id == lot_id),
                    sa.and_(LoggerBinding.kind == "asn", LoggerBinding.asn_id.in_(sa.select(asn_lines.c.asn_id))),
                    sa.and_(LoggerBinding.kind == "package", LoggerBinding.package_id.in_(packages)),
                    sa.and_(LoggerBinding.kind == "location", LoggerBinding.location_id.in_(places)),
                )
            )
            .order_by(LoggerBinding.starts_at)
        )
    )


def history(uow, actor, *, bindings, item_ids=(), alerts=None) -> History:
    require_any(actor, "coldchain.view", "lot.release")
    points = series(uow, windows=windows_of(bindings))
    conditions = conditions_by_item(uow, item_ids=item_ids)
    condition = next(iter(conditions.values()), None)
    found = alerts if alerts is not None else alerting.alerts_of_bindings(uow, binding_ids=[b.id for b in bindings])
    temperatures = [t for _, t, _ in points if t is not None]
    energy = float(condition.activation_energy) if condition else 83.144
    return History(
        points=points,
        condition=condition,
        alerts=found,
        low=min(temperatures) if temperatures else None,
        high=max(temperatures) if temperatures else None,
        mkt=mkt.mean_kinetic_temperature(temperatures, energy) if temperatures else None,
    )


def lot_history(uow, actor, *, lot_id: uuid.UUID) -> History:
    lot = inventory.get_lot(uow, lot_id=lot_id)
    return history(uow, actor, bindings=bindings_of_lot(uow, lot_id=lot.id), item_ids=[lot.item_id],
                   alerts=alerting.alerts_of_lot(uow, actor, lot_id=lot.id))


def asn_history(uow, actor, *, asn_id: uuid.UUID) -> History:
    from erp.coldchain.service import bindings_of_asn

    items = list(uow.session.scalars(sa.select(AsnLine.item_id).where(AsnLine.asn_id == asn_id).distinct()))
    return history(uow, actor, bindings=bindings_of_asn(uow, asn_id=asn_id), item_ids=items,
                   alerts=alerting.alerts_of_asn(uow, actor, asn_id=asn_id))


def _zone(name: str | None):
    try:
        return ZoneInfo(name or "UTC"), name or "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC"), "UTC"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def svg(found: History, *, title: str, translate: Callable[..., str] = lambda m, **kw: m % kw if kw else m,
        timezone: str | None = None) -> str:
    """The chart as SVG text with its title and description (the text alternative)."""
    from matplotlib import dates

    zone, zone_name = _zone(timezone)
    fig, ax = charts.figure(width=8.0, height=3.4)
    condition = found.condition
    times = [p[0] for p in found.points]
    temperatures = [p[1] for p in found.points]
    if found.points:
        ax.plot(times, temperatures, color=charts.PALETTE[0], linewidth=1.2, label=translate(TEMPERATURE))
        for excursion in found.excursions:
            ax.axvspan(excursion.started_at, excursion.ended_at or times[-1], color=charts.BAND_COLOUR, alpha=0.6, linewidth=0)
        if condition is not None:
            for limit in (condition.min_temperature, condition.max_temperature):
                if limit is not None:
                    ax.axhline(float(limit), color=charts.LIMIT_COLOUR, linestyle="--", linewidth=1)
        humidity = [p[2] for p in found.points]
        if any(h is not None for h in humidity):
            twin = ax.twinx()
            twin.plot(times, humidity, color=charts.PALETTE[2], linestyle=":", linewidth=1, label=translate(HUMIDITY))
            twin.set_ylabel(translate(HUMIDITY))
            twin.spines[["top"]].set_visible(False)
        ax.xaxis.set_major_formatter(dates.DateFormatter("%m-%d %H:%M", tz=zone))
        fig.autofmt_xdate()
    else:
        ax.text(0.5, 0.5, translate(NO_READINGS), ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel(translate(TEMPERATURE))
    ax.set_xlabel(translate(TIME, zone=zone_name))
    limits = "—"
    if condition is not None:
        limits = f"{_plain(condition.min_temperature)} – {_plain(condition.max_temperature)}"
    description = (
        translate(
            DESCRIPTION,
            count=len(found.points),
            start=times[0].isoformat(timespec="minutes") if times else "—",
            end=times[-1].isoformat(timespec="minutes") if times else "—",
            low=_number(found.low),
            high=_number(found.high),
            mkt=_number(found.mkt),
            range=limits,
            excursions=len(found.excursions),
        )
        if found.points
        else translate(NO_READINGS)
    )
    return charts.to_svg(fig, title=title, description=description)


def _plain(value) -> str:
    return "—" if value is None else f"{float(value):g}"
