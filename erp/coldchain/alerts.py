"""Cold-chain alerts: raising one (once), what follows at once, and reading them.

A broken limit (a temperature or humidity excursion longer than allowed, the cumulative
minutes outside the range, the MKT) puts the lots watched on hold - a "hold" movement
referencing the alert for each of their quarantined or released stock rows - opens a
nonconformance whose description records the evidence, and mails the quality engineers
(everyone of the tenant's own organisation whose role holds "lot.release" or
"coldchain.view"), each in their language, through the outbox. A gap (a logger silent
too long), a late shipment or a seal mismatch is an alert and a mail: it says the
record is incomplete or doubtful, not that a limit was broken, so nothing is held.

An alert is raised once: a binding's alert of a kind starting at one moment exists at
most once however often overlapping batches or job runs meet it again; a late shipment
once per ASN and a seal mismatch once per receipt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from auth.permissions import require, require_any
from erp.coldchain.errors import AlertNotFound
from erp.coldchain.models import ALERT_STATUSES, ColdChainAlert, LoggerBinding
from erp.inventory import service as inventory
from erp.pagination import Page, check_limit, decode_sort_cursor, encode_sort_cursor
from erp.receiving.models import Nonconformance
from kernel.clock import utcnow
from kernel.errors import N_, Conflict, Forbidden, ValidationFailed, checked_text
from kernel.mail import queue_mail
from tenants import service as tenants

KIND_LABELS = {
    "temperature_high": N_("Temperature above the limit"),
    "temperature_low": N_("Temperature below the limit"),
    "humidity_high": N_("Humidity above the limit"),
    "humidity_low": N_("Humidity below the limit"),
    "cumulative": N_("Cumulative time outside the range"),
    "mkt": N_("Mean kinetic temperature above the limit"),
    "gap": N_("Logger silent too long"),
    "delayed": N_("Shipment late"),
    "seal_mismatch": N_("Seal number differs"),
}
STATUS_LABELS = {"open": N_("Open"), "acknowledged": N_("Acknowledged"), "closed": N_("Closed")}
# The kinds that break a limit: the lots go on hold and a nonconformance opens.
HOLDING = frozenset({"temperature_high", "temperature_low", "humidity_high", "humidity_low", "cumulative", "mkt"})
HELD_FROM = ("quarantine", "released")
RECIPIENTS = ("lot.release", "coldchain.view")
ALERT_MAIL = "erp/coldchain/alert"
MAX_NOTE = 2000
SORT = "alerts"

BAD_CURSOR = N_("This page link is not valid. Start again from the first page.")
ACKNOWLEDGED_ALREADY = N_("This alert was acknowledged already.")


@dataclass(frozen=True)
class Raise:
    """What an alert says; `binding` None for a late shipment or a seal mismatch."""

    kind: str
    logger_id: uuid.UUID | None = None
    binding: LoggerBinding | None = None
    asn_id: uuid.UUID | None = None
    receipt_id: uuid.UUID | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    minutes: int | None = None
    peak: float | None = None
    limit_value: float | None = None
    lot_ids: tuple = ()
    item_id: uuid.UUID | None = None
    evidence: dict | None = None


def raise_alert(uow, actor, what: Raise) -> ColdChainAlert | None:
    """The alert, its holds, nonconformance and mails; None when it was raised already."""
    if _raised(uow, what):
        return None
    lot_ids = [str(i) for i in dict.fromkeys(what.lot_ids)]
    alert = ColdChainAlert(
        kind=what.kind,
        logger_id=what.logger_id,
        binding_id=what.binding.id if what.binding is not None else None,
        asn_id=what.asn_id if what.asn_id else (what.binding.asn_id if what.binding is not None else None),
        receipt_id=what.receipt_id,
        started_at=what.started_at,
        ended_at=what.ended_at,
        minutes=what.minutes,
        peak=two(what.peak),
        limit_value=two(what.limit_value),
        lot_ids=lot_ids,
        evidence=dict(what.evidence or {}),
    )
    uow.add(alert)
    uow.flush()
    if what.kind in HOLDING and lot_ids:
        _hold(uow, actor, alert)
        if what.item_id is not None:
            alert.nonconformance_id = _nonconformance(uow, actor, alert, what.item_id).id
            uow.flush()
    _mail(uow, alert)
    return alert


def _raised(uow, what: Raise) -> bool:
    query = sa.select(ColdChainAlert.id).where(ColdChainAlert.kind == what.kind)
    if what.binding is not None:
        query = query.where(
            ColdChainAlert.binding_id == what.binding.id, ColdChainAlert.started_at.is_not_distinct_from(what.started_at)
        )
    elif what.receipt_id is not None:
        query = query.where(ColdChainAlert.receipt_id == what.receipt_id)
    elif what.asn_id is not None:
        query = query.where(ColdChainAlert.asn_id == what.asn_id)
    else:
        return False
    return uow.scalar(query.limit(1)) is not None


def two(value) -> Decimal | None:
    return None if value is None else Decimal(f"{float(value):.2f}")


def _hold(uow, actor, alert: ColdChainAlert) -> None:
    for lot_id in alert.lot_ids:
        for stock in inventory.stock_of_lot(uow, lot_id=uuid.UUID(lot_id), statuses=HELD_FROM, lock=True):
            inventory.change_status(
                uow, actor, stock=stock, status="on_hold", kind="hold", reference=("cold_chain_alert", alert.id)
            )


def _nonconformance(uow, actor, alert: ColdChainAlert, item_id: uuid.UUID) -> Nonconformance:
    lots = inventory.lots_by_id(uow, ids=[uuid.UUID(i) for i in alert.lot_ids])
    single = next(iter(lots.values())) if len(lots) == 1 else None
    record = Nonconformance(
        number=tenants.next_number(uow, name="NC", prefix="NC", year=utcnow().year),
        supplier_id=single.supplier_id if single else None,
        item_id=item_id,
        lot_id=single.id if single else None,
        defect_codes=["cold_chain"],
        description=evidence_text(alert),
        created_by=actor.user_id,
    )
    uow.add(record)
    uow.flush()
    return record


def evidence_text(alert: ColdChainAlert) -> str:
    """The evidence as the nonconformance records it (the tenant's record, in English as
    receiving's are): what, which logger, when, how far and how long, against what limit."""
    e = alert.evidence or {}
    unit = "%RH" if e.get("measure") == "humidity" else "°C"
    parts = [f"Cold-chain alert ({alert.kind.replace('_', ' ')})"]
    if e.get("logger"):
        parts.append(f"logger {e['logger']}" + (f" on {e['target']}" if e.get("target") else ""))
    if alert.started_at:
        period = f"from {alert.started_at.isoformat(timespec='minutes')}"
        period += f" to {alert.ended_at.isoformat(timespec='minutes')}" if alert.ended_at else " (still going on)"
        parts.append(period)
    if alert.peak is not None:
        parts.append(f"{'MKT' if alert.kind == 'mkt' else 'peak'} {alert.peak} {unit}")
    if alert.minutes is not None:
        parts.append(f"{alert.minutes} min {'without readings' if alert.kind == 'gap' else 'outside the range'}")
    if e.get("allowed_minutes") is not None:
        parts.append(f"{e['allowed_minutes']} min allowed")
    if e.get("range"):
        parts.append(f"allowed range {e['range']} {unit}")
    if alert.limit_value is not None:
        in_minutes = alert.kind == "cumulative" or e.get("limit_is_minutes")
        parts.append(f"limit {alert.limit_value} {'min' if in_minutes else unit}")
    if e.get("mkt") is not None:
        parts.append(f"MKT so far {e['mkt']} °C")
    if e.get("lots"):
        parts.append("lots " + ", ".join(e["lots"]))
    return "; ".join(parts) + "."


def _mail(uow, alert: ColdChainAlert) -> None:
    customer = tenants.own_organisation(uow)
    if customer is None:
        return
    people = {}
    for permission in RECIPIENTS:
        for person in tenants.members_holding(uow, organisation_id=customer.id, permission=permission):
            people.setdefault(person.id, person)
    e = alert.evidence or {}
    for person in people.values():
        queue_mail(
            uow,
            to=person.email,
            template=ALERT_MAIL,
            locale=person.locale,
            context={
                "full_name": person.full_name,
                "kind_label": KIND_LABELS[alert.kind],
                "logger": e.get("logger") or "",
                "target": e.get("target") or "",
                "started_at": alert.started_at,
                "ended_at": alert.ended_at,
                "minutes": alert.minutes,
                "peak": str(alert.peak) if alert.peak is not None else None,
                "limit": str(alert.limit_value) if alert.limit_value is not None else None,
                "unit": "%RH" if e.get("measure") == "humidity" else "°C",
                "mkt": e.get("mkt"),
                "lots": ", ".join(e.get("lots") or []),
                "held": alert.kind in HOLDING and bool(alert.lot_ids),
                "detail": e.get("detail") or "",
                "timezone": person.timezone or "UTC",
                "path": f"/cold-chain/alerts/{alert.id}",
            },
        )


# --- reading -------------------------------------------------------------------------------


def list_alerts(uow, actor, *, status: str | None = None, limit: int = 50, cursor: str | None = None) -> Page[ColdChainAlert]:
    """Open alerts first, then the others; newest first within each."""
    require(actor, "coldchain.view")
    check_limit(limit)
    if status is not None and status not in ALERT_STATUSES:
        raise ValidationFailed(errors={"status": N_("Choose one of the statuses offered.")})
    rank = sa.case((ColdChainAlert.status == "open", 0), else_=1)
    query = sa.select(ColdChainAlert, rank.label("rank"))
    if status is not None:
        query = query.where(ColdChainAlert.status == status)
    if cursor:
        value, row_id = decode_sort_cursor(cursor, sort=SORT, kind=str)
        try:
            after_rank, raised = int(value[0]), datetime.fromisoformat(value[2:])
        except (ValueError, IndexError) as exc:
            raise ValidationFailed(errors={"cursor": BAD_CURSOR}) from exc
        query = query.where(
            sa.or_(
                rank > after_rank,
                sa.and_(rank == after_rank, sa.tuple_(ColdChainAlert.raised_at, ColdChainAlert.id) < sa.tuple_(raised, row_id)),
            )
        )
    rows = uow.execute(query.order_by(rank, ColdChainAlert.raised_at.desc(), ColdChainAlert.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last, last_rank = rows[-1]
        next_cursor = encode_sort_cursor(SORT, f"{last_rank}|{last.raised_at.isoformat()}", last.id)
    return Page(items=[row[0] for row in rows], next_cursor=next_cursor)


def excursion_count(uow, *, start: datetime, end: datetime) -> int:
    """Temperature and humidity alerts (limits broken) raised in [start, end): the quality
    dashboard's tile. Gaps, delays and seal mismatches are alerts but not excursions."""
    return uow.scalar(
        sa.select(sa.func.count())
        .select_from(ColdChainAlert)
        .where(ColdChainAlert.kind.in_(list(HOLDING)), ColdChainAlert.raised_at >= start, ColdChainAlert.raised_at < end)
    )


def get_alert(uow, actor, *, alert_id: uuid.UUID, lock: bool = False) -> ColdChainAlert:
    require(actor, "coldchain.view")
    query = sa.select(ColdChainAlert).where(ColdChainAlert.id == alert_id)
    found = uow.session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise AlertNotFound()
    return found


def alerts_of_lot(uow, actor, *, lot_id: uuid.UUID) -> list[ColdChainAlert]:
    require_any(actor, "coldchain.view", "lot.release")
    return list(
        uow.session.scalars(
            sa.select(ColdChainAlert)
            .where(ColdChainAlert.lot_ids.contains([str(lot_id)]))
            .order_by(ColdChainAlert.raised_at.desc(), ColdChainAlert.id.desc())
        )
    )


def alerts_of_asn(uow, actor, *, asn_id: uuid.UUID) -> list[ColdChainAlert]:
    require(actor, "coldchain.view")
    return list(
        uow.session.scalars(
            sa.select(ColdChainAlert)
            .where(ColdChainAlert.asn_id == asn_id)
            .order_by(ColdChainAlert.raised_at.desc(), ColdChainAlert.id.desc())
        )
    )


def alerts_of_bindings(uow, *, binding_ids) -> list[ColdChainAlert]:
    ids = list({i for i in binding_ids if i})
    if not ids:
        return []
    return list(
        uow.session.scalars(
            sa.select(ColdChainAlert).where(ColdChainAlert.binding_id.in_(ids)).order_by(ColdChainAlert.started_at)
        )
    )


def nonconformance_numbers(uow, *, ids) -> dict[uuid.UUID, str]:
    ids = list({i for i in ids if i})
    if not ids:
        return {}
    return dict(uow.execute(sa.select(Nonconformance.id, Nonconformance.number).where(Nonconformance.id.in_(ids))).all())


def acknowledge_alert(uow, actor, *, alert_id: uuid.UUID, note: str | None) -> ColdChainAlert:
    """Someone looked at it and says what is done: the note is kept with the evidence
    and, as the reason, in the audit trail."""
    require(actor, "coldchain.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    alert = get_alert(uow, actor, alert_id=alert_id, lock=True)
    if alert.status != "open":
        raise Conflict(ACKNOWLEDGED_ALREADY)
    errors: dict[str, str] = {}
    note = checked_text(note, MAX_NOTE, "note", errors, required=True)
    if errors:
        raise ValidationFailed(errors=errors)
    uow.reason = f"Cold-chain alert acknowledged: {note}"[:500]
    alert.status, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", actor.user_id, utcnow()
    alert.evidence = {**(alert.evidence or {}), "note": note}
    uow.flush()
    return alert
