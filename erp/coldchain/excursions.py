"""Excursions: each batch of readings against the storage conditions of the lots its
logger watches.

For each binding of the logger that overlaps the batch, the lots inside - an ASN's lines'
lots, a package's (and, for a pallet, its cases'), the lots with stock at a location
during the period, or the one lot - are grouped by their item's storage condition, and
the readings within the binding's period are read once against each condition:

- an excursion is a run of readings outside [min, max] (above, or below), from the first
  reading outside to the first back inside (or the latest, while it lasts); it breaks
  the limit when it lasts longer than `excursion_minutes` (0: any excursion does);
- the cumulative minutes outside add every interval that starts with a reading outside
  (an interval across a gap counts as outside: what happened then is unknown);
  `cumulative_minutes` 0 leaves it unchecked;
- the mean kinetic temperature of all readings so far (erp.coldchain.mkt) against
  `max_mkt`;
- humidity likewise, against its own range;
- a gap: consecutive readings further apart than `gap_minutes`.

Batches only ever append to a logger's readings (erp.coldchain.readings refuses the
rest), so each binding keeps running totals per condition in `exposure` (the current
run, minutes outside, the MKT sum) and a batch is read once, whatever came before it.
A limit broken raises an alert at once (erp.coldchain.alerts), once.

Most batches are quiet: no run outside the range open, every value inside it, no gap.
Such a batch is read in one pass of built-ins over its columns (lowest, highest, widest
step, the MKT sum) instead of reading by reading; any other batch is read reading by
reading. Both give the same state (the MKT sum is added in the same order).
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from erp.coldchain import alerts as alerting
from erp.coldchain import mkt
from erp.coldchain.models import ColdChainAlert, DataLogger, LoggerBinding, StorageCondition
from erp.coldchain.service import labelled_condition, labels
from erp.inventory import service as inventory
from erp.inventory.models import Lot, Stock, StockMovement
from erp.items.models import Item
from erp.shipping.models import AsnLine, AsnPackage

# Stock no longer at any location (consumed, shipped, returned, scrapped).
GONE = inventory.GONE
_TIME = itemgetter(0)


@dataclass(frozen=True)
class Limits:
    """A storage condition's limits as floats (read once per batch)."""

    id: str
    item_id: uuid.UUID
    t_min: float | None
    t_max: float | None
    h_min: float | None
    h_max: float | None
    excursion_s: float
    cumulative_s: float  # 0: not checked
    max_mkt: float | None
    energy: float
    gap_s: float

    @classmethod
    def of(cls, c: StorageCondition) -> Limits:
        def f(v):
            return None if v is None else float(v)

        return cls(
            id=str(c.id),
            item_id=c.item_id,
            t_min=f(c.min_temperature),
            t_max=f(c.max_temperature),
            h_min=f(c.min_humidity),
            h_max=f(c.max_humidity),
            excursion_s=c.excursion_minutes * 60.0,
            cumulative_s=c.cumulative_minutes * 60.0,
            max_mkt=f(c.max_mkt),
            energy=float(c.activation_energy),
            gap_s=c.gap_minutes * 60.0,
        )


@dataclass
class Finding:
    """An alert to raise (or, `update`, one raised to bring up to date)."""

    kind: str
    measure: str  # temperature | humidity | none
    started_at: datetime | None
    ended_at: datetime | None = None
    minutes: int | None = None
    peak: float | None = None
    limit_value: float | None = None
    update: bool = False
    extra: dict = field(default_factory=dict)


def _side(value: float, low: float | None, high: float | None) -> str | None:
    if high is not None and value > high:
        return "high"
    if low is not None and value < low:
        return "low"
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Run:
    """The current run outside the range of one measure, kept in the state as a dict."""

    def __init__(self, measure: str, saved: dict | None) -> None:
        saved = saved or {}
        self.measure = measure
        self.side: str | None = saved.get("side")
        self.start = _time(saved.get("start"))
        self.last = _time(saved.get("last"))
        self.peak: float | None = saved.get("peak")
        self.alerted: bool = saved.get("alerted", False)

    def saved(self) -> dict:
        return {"side": self.side, "start": _iso(self.start), "last": _iso(self.last), "peak": self.peak, "alerted": self.alerted}


def scan(state: dict, limits: Limits, readings, findings: list[Finding]) -> dict:
    """Read `readings` ((time, temperature, humidity), in order, after the state's last)
    against `limits`, continuing `state`; the findings go to `findings`. Returns the new
    state (JSON)."""
    quiet = _quiet(state, limits, readings, findings)
    if quiet is not None:
        return quiet
    last = _time(state.get("last"))
    t_run, h_run = Run("temperature", state.get("t")), Run("humidity", state.get("h"))
    out = {"temperature": float(state.get("t_out_s", 0.0)), "humidity": float(state.get("h_out_s", 0.0))}
    raised = set(state.get("raised", ()))
    mkt_sum, mkt_n = float(state.get("mkt_sum", 0.0)), int(state.get("mkt_n", 0))
    lowest, highest = state.get("min"), state.get("max")
    factor = mkt.factor(limits.energy)
    exp = mkt.math.exp
    checks = (
        (t_run, limits.t_min, limits.t_max, 1),
        (h_run, limits.h_min, limits.h_max, 2),
    )
    for reading in readings:
        at = reading[0]
        if last is not None:
            step = (at - last).total_seconds()
            if step > limits.gap_s:
                findings.append(Finding("gap", "none", last, at, minutes=int(step // 60), limit_value=limits.gap_s / 60))
            for run, _low, _high, _i in checks:
                if run.side is not None:
                    out[run.measure] += step
                    key = f"cumulative:{run.measure}"
                    if limits.cumulative_s and out[run.measure] > limits.cumulative_s and key not in raised:
                        raised.add(key)
                        findings.append(
                            Finding("cumulative", run.measure, at, minutes=int(out[run.measure] // 60),
                                    limit_value=limits.cumulative_s / 60)
                        )
        for run, low, high, index in checks:
            value = reading[index]
            if value is None or (low is None and high is None):
                continue
            side = _side(value, low, high)
            if side != run.side and run.side is not None:
                _end(run, at, limits, findings)
            if side is None:
                continue
            if side != run.side:
                run.side, run.start, run.peak, run.alerted = side, at, value, False
            elif (side == "high" and value > run.peak) or (side == "low" and value < run.peak):
                run.peak = value
            run.last = at
            lasted = (at - run.start).total_seconds()
            if not run.alerted and (limits.excursion_s == 0 or lasted > limits.excursion_s):
                run.alerted = True
                findings.append(_excursion(run, limits, at, None, lasted))
        temperature = reading[1]
        if temperature is not None:
            mkt_sum += exp(-factor / (temperature + mkt.KELVIN))
            mkt_n += 1
            lowest = temperature if lowest is None or temperature < lowest else lowest
            highest = temperature if highest is None or temperature > highest else highest
        last = at
    for run in (t_run, h_run):
        if run.side is not None and run.alerted:  # still going on: bring the alert up to date
            finding = _excursion(run, limits, run.last, None, (run.last - run.start).total_seconds())
            finding.update = True
            findings.append(finding)
    return _state(last, t_run, h_run, out, raised, mkt_sum, mkt_n, lowest, highest, limits, findings)


def _quiet(state: dict, limits: Limits, readings, findings: list[Finding]) -> dict | None:
    """The new state when the batch is quiet - no run outside open before it, every value
    inside the range, no step longer than the gap allowed - read in one pass over each
    column; None when it is not (then it is read reading by reading)."""
    if not readings:
        return None
    t_run, h_run = Run("temperature", state.get("t")), Run("humidity", state.get("h"))
    if t_run.side is not None or h_run.side is not None:
        return None
    temperatures = [r[1] for r in readings if r[1] is not None]
    for values, low, high in ((temperatures, limits.t_min, limits.t_max),
                              ([r[2] for r in readings if r[2] is not None], limits.h_min, limits.h_max)):
        if values and ((low is not None and min(values) < low) or (high is not None and max(values) > high)):
            return None
    times = [r[0] for r in readings]
    last = _time(state.get("last"))
    allowed = timedelta(seconds=limits.gap_s)
    if last is not None and times[0] - last > allowed:
        return None
    if len(times) > 1 and max(map(datetime.__sub__, times[1:], times[:-1])) > allowed:
        return None
    mkt_sum, mkt_n = float(state.get("mkt_sum", 0.0)), int(state.get("mkt_n", 0))
    lowest, highest = state.get("min"), state.get("max")
    if temperatures:
        factor, kelvin, exp = mkt.factor(limits.energy), mkt.KELVIN, mkt.math.exp
        for value in temperatures:  # in order, as reading by reading: the same sum
            mkt_sum += exp(-factor / (value + kelvin))
        mkt_n += len(temperatures)
        low, high = min(temperatures), max(temperatures)
        lowest = low if lowest is None or low < lowest else lowest
        highest = high if highest is None or high > highest else highest
    out = {"temperature": float(state.get("t_out_s", 0.0)), "humidity": float(state.get("h_out_s", 0.0))}
    raised = set(state.get("raised", ()))
    return _state(times[-1], t_run, h_run, out, raised, mkt_sum, mkt_n, lowest, highest, limits, findings)


def _state(last, t_run, h_run, out, raised, mkt_sum, mkt_n, lowest, highest, limits: Limits, findings) -> dict:
    """The MKT against its limit, then the state to keep (JSON)."""
    value = mkt.from_sum(mkt_sum, mkt_n, limits.energy)
    if limits.max_mkt is not None and value is not None and value > limits.max_mkt and "mkt" not in raised and last:
        raised.add("mkt")
        findings.append(Finding("mkt", "temperature", last, peak=value, limit_value=limits.max_mkt))
    return {
        "last": _iso(last),
        "t": t_run.saved(),
        "h": h_run.saved(),
        "t_out_s": out["temperature"],
        "h_out_s": out["humidity"],
        "mkt_sum": mkt_sum,
        "mkt_n": mkt_n,
        "raised": sorted(raised),
        "min": lowest,
        "max": highest,
    }


def _end(run: Run, at: datetime, limits: Limits, findings: list[Finding]) -> None:
    """The run ends with a reading back inside (or on the other side) at `at`."""
    lasted = (at - run.start).total_seconds()
    if run.alerted:
        finding = _excursion(run, limits, at, at, lasted)
        finding.update = True
        findings.append(finding)
    elif limits.excursion_s == 0 or lasted > limits.excursion_s:
        findings.append(_excursion(run, limits, at, at, lasted))
    run.side, run.start, run.last, run.peak, run.alerted = None, None, None, None, False


def _excursion(run: Run, limits: Limits, at: datetime, ended: datetime | None, lasted: float) -> Finding:
    if run.measure == "temperature":
        limit = limits.t_max if run.side == "high" else limits.t_min
    else:
        limit = limits.h_max if run.side == "high" else limits.h_min
    return Finding(
        f"{run.measure}_{run.side}", run.measure, run.start, ended, minutes=int(lasted // 60), peak=run.peak, limit_value=limit
    )


def mkt_of(state: dict, limits: Limits) -> float | None:
    return mkt.from_sum(float(state.get("mkt_sum", 0.0)), int(state.get("mkt_n", 0)), limits.energy)


# --- a batch ---------------------------------------------------------------------------------


def evaluate(uow, actor, *, logger: DataLogger, readings: list[tuple]) -> list[ColdChainAlert]:
    """Read a stored batch (in order, all after the logger's previous readings) against
    the bindings it falls in; the alerts raised."""
    if not readings:
        return []
    first, last = readings[0][0], readings[-1][0]
    bindings = list(
        uow.session.scalars(
            sa.select(LoggerBinding)
            .where(
                LoggerBinding.logger_id == logger.id,
                LoggerBinding.starts_at <= last,
                sa.or_(LoggerBinding.ends_at.is_(None), LoggerBinding.ends_at > first),
            )
            .order_by(LoggerBinding.starts_at)
        )
    )
    if not bindings:
        return []
    lots = {b.id: lots_of_binding(uow, b, since=first, until=last) for b in bindings}
    conditions = conditions_of_lots(uow, lot_ids={i for found in lots.values() for i in found})
    raised: list[ColdChainAlert] = []
    names = None
    for binding in bindings:
        groups: dict[str, list[uuid.UUID]] = defaultdict(list)
        by_id: dict[str, Limits] = {}
        for lot_id in lots[binding.id]:
            limits = conditions.get(lot_id)
            if limits is not None:
                groups[limits.id].append(lot_id)
                by_id[limits.id] = limits
        if not groups:
            continue
        # The readings are in time order: the binding's period is a slice of them.
        ends_at = binding.ends_at
        window = readings[
            bisect_left(readings, binding.starts_at, key=_TIME) : (
                len(readings) if ends_at is None else bisect_left(readings, ends_at, key=_TIME)
            )
        ]
        if not window:
            continue
        exposure = dict(binding.exposure or {})
        for condition_id, lot_ids in groups.items():
            limits = by_id[condition_id]
            state = exposure.get(condition_id, {})
            if state.get("last") and _time(state["last"]) >= window[0][0]:
                window_here = window[bisect_right(window, _time(state["last"]), key=_TIME) :]
            else:
                window_here = window
            findings: list[Finding] = []
            state = scan(state, limits, window_here, findings)
            exposure[condition_id] = state
            if findings:
                if names is None:
                    names = labels(uow, bindings)
                raised += _act(uow, actor, logger, binding, names.get(binding.id, ""), limits, lot_ids, state, findings)
        binding.exposure = exposure
        flag_modified(binding, "exposure")
    uow.flush()
    return raised


def _act(uow, actor, logger, binding, target, limits: Limits, lot_ids, state, findings) -> list[ColdChainAlert]:
    lot_numbers = sorted(lot.number for lot in inventory.lots_by_id(uow, ids=lot_ids).values())
    value = mkt_of(state, limits)
    done = []
    for finding in findings:
        if finding.update:
            _bring_up_to_date(uow, binding, finding)
            continue
        evidence = {
            "logger": logger.code,
            "target": target,
            "binding_kind": binding.kind,
            "measure": finding.measure,
            "lots": lot_numbers,
            "mkt": round(value, 2) if value is not None else None,
            "condition_id": limits.id,
        }
        low, high = (limits.t_min, limits.t_max) if finding.measure == "temperature" else (limits.h_min, limits.h_max)
        if finding.measure in ("temperature", "humidity"):
            evidence["range"] = f"{_plain(low)} – {_plain(high)}"
        if finding.kind.startswith(("temperature_", "humidity_")):
            evidence["allowed_minutes"] = int(limits.excursion_s // 60)
        if finding.kind == "gap":
            evidence["limit_is_minutes"] = True
            evidence["measure"] = None
        alert = alerting.raise_alert(
            uow,
            actor,
            alerting.Raise(
                kind=finding.kind,
                logger_id=logger.id,
                binding=binding,
                started_at=finding.started_at,
                ended_at=finding.ended_at,
                minutes=finding.minutes,
                peak=finding.peak,
                limit_value=finding.limit_value,
                lot_ids=tuple(lot_ids),
                item_id=limits.item_id,
                evidence=evidence,
            ),
        )
        if alert is not None:
            done.append(alert)
    return done


def _plain(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _bring_up_to_date(uow, binding: LoggerBinding, finding: Finding) -> None:
    alert = uow.session.scalars(
        sa.select(ColdChainAlert).where(
            ColdChainAlert.binding_id == binding.id,
            ColdChainAlert.kind == finding.kind,
            ColdChainAlert.started_at == finding.started_at,
        )
    ).first()
    if alert is not None:
        alert.ended_at, alert.minutes, alert.peak = finding.ended_at, finding.minutes, alerting.two(finding.peak)


# --- what a binding watches ------------------------------------------------------------------


def lots_of_binding(uow, binding: LoggerBinding, *, since: datetime, until: datetime) -> list[uuid.UUID]:
    """The lots a binding's readings between `since` and `until` are about."""
    if binding.kind == "lot":
        return [binding.lot_id]
    if binding.kind == "asn":
        query = sa.select(AsnLine.lot_id).where(AsnLine.asn_id == binding.asn_id, AsnLine.lot_id.is_not(None))
        return list(dict.fromkeys(uow.session.scalars(query)))
    if binding.kind == "package":
        packages = sa.select(AsnPackage.id).where(
            sa.or_(AsnPackage.id == binding.package_id, AsnPackage.parent_id == binding.package_id)
        )
        query = sa.select(AsnLine.lot_id).where(AsnLine.package_id.in_(packages), AsnLine.lot_id.is_not(None))
        return list(dict.fromkeys(uow.session.scalars(query)))
    # A location: the lots standing there now, and those that left it during the period.
    there = sa.select(Stock.lot_id).where(
        Stock.location_id == binding.location_id, Stock.quantity > 0, Stock.status.not_in(GONE), Stock.lot_id.is_not(None)
    )
    left = sa.select(StockMovement.lot_id).where(
        StockMovement.from_location_id == binding.location_id,
        StockMovement.moved_at >= since,
        StockMovement.lot_id.is_not(None),
    )
    return list(dict.fromkeys(uow.session.scalars(sa.union(there, left))))


def conditions_of_lots(uow, *, lot_ids) -> dict[uuid.UUID, Limits]:
    """Each lot's item's storage condition, saved or from its label (lots of items with
    neither are left out). One query: it runs for every batch."""
    ids = list(lot_ids)
    if not ids:
        return {}
    labelled = (
        Item.id, Item.storage_temp_min_c, Item.storage_temp_max_c, Item.storage_humidity_min_pct,
        Item.storage_humidity_max_pct, Item.max_excursion_minutes,
    )  # fmt: skip
    rows = uow.execute(
        sa.select(Lot.id.label("lot_id"), StorageCondition, *labelled)
        .join(Item, Item.id == Lot.item_id)
        .outerjoin(StorageCondition, StorageCondition.item_id == Lot.item_id)
        .where(Lot.id.in_(ids))
    ).all()
    cache: dict[uuid.UUID, Limits] = {}
    found = {}
    for row in rows:
        condition = row.StorageCondition
        if condition is None:
            if all(v is None for v in row[3:7]):
                continue
            condition = labelled_condition(row)  # row has the item's id and storage fields
        if condition.id not in cache:
            cache[condition.id] = Limits.of(condition)
        found[row.lot_id] = cache[condition.id]
    return found


# --- silence: the periodic check -------------------------------------------------------------


def check_silence(uow, actor, *, now: datetime) -> int:
    """For each open binding, a gap alert when its logger has been silent longer than the
    shortest `gap_minutes` of the lots it watches; the number raised. The logger's row is
    locked (skipping one a batch holds: that batch is news from it)."""
    raised = 0
    bindings = list(
        uow.session.scalars(
            sa.select(LoggerBinding).where(LoggerBinding.ends_at.is_(None), LoggerBinding.starts_at <= now)
        )
    )
    for binding in bindings:
        logger = uow.session.scalars(
            sa.select(DataLogger).where(DataLogger.id == binding.logger_id).with_for_update(skip_locked=True)
        ).first()
        if logger is None:
            continue
        lots = lots_of_binding(uow, binding, since=binding.starts_at, until=now)
        conditions = conditions_of_lots(uow, lot_ids=lots)
        if not conditions:
            continue
        gap = min(c.gap_s for c in conditions.values())
        since = max(logger.last_reading_at, binding.starts_at) if logger.last_reading_at else binding.starts_at
        if (now - since).total_seconds() <= gap:
            continue
        limits = min(conditions.values(), key=lambda c: c.gap_s)
        alert = alerting.raise_alert(
            uow,
            actor,
            alerting.Raise(
                kind="gap",
                logger_id=logger.id,
                binding=binding,
                started_at=since,
                minutes=int((now - since).total_seconds() // 60),
                limit_value=gap / 60,
                lot_ids=tuple(lots),
                item_id=limits.item_id,
                evidence={
                    "logger": logger.code,
                    "target": labels(uow, [binding]).get(binding.id, ""),
                    "binding_kind": binding.kind,
                    "measure": None,
                    "limit_is_minutes": True,
                    "lots": sorted(lot.number for lot in inventory.lots_by_id(uow, ids=lots).values()),
                },
            ),
        )
        raised += alert is not None
    return raised
