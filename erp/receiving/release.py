"""Batch release: quality's signed decision on a lot in quarantine (ISO 13485 §7.4.3,
§8.2.6; 21 CFR 820.80(d) acceptance; 21 CFR Part 11 for the signature).

`decide_lot` releases, rejects or holds a lot. The engineer signs (password, and second
factor when needed) with the meaning "released", "rejected" or, for a hold, "reviewed"
(auth.signatures has no meaning of its own for a hold: the engineer reviewed the lot and
stopped it). The signature covers the lot's facts, the decision, its reason and the
stock it moves, so the lot page can tell later whether the record still is what was
signed. Decisions are insert-only (LotRelease); the latest stands.

- release: quarantine and on-hold stock becomes released (usable);
- reject: quarantine and on-hold stock becomes rejected;
- hold: quarantine stock goes on hold (a question to the supplier, a pending test).

A lot is not released while an inspection of it is open. The time from the lot's first
receipt to its release is the batch release time (`batch_release_times`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from auth import signatures
from auth.permissions import require, require_any
from erp.inventory import service as inventory
from erp.inventory.models import Lot, Stock, StockMovement
from erp.receiving.models import DECISIONS, Inspection, LotRelease, Receipt, ReceiptLine
from kernel.errors import N_, Conflict, Forbidden, ValidationFailed
from kernel.ids import new_id
from kernel.outbox import emit

DECISION_LABELS = {"released": N_("Released"), "rejected": N_("Rejected"), "on_hold": N_("On hold")}
MEANING = {"released": "released", "rejected": "rejected", "on_hold": "reviewed"}
# What each decision takes and makes, and the movement kind it writes.
TAKES = {"released": ("quarantine", "on_hold"), "rejected": ("quarantine", "on_hold"), "on_hold": ("quarantine",)}
KIND = {"released": "release", "rejected": "reject", "on_hold": "hold"}
TOPIC = {"released": "lot.released", "rejected": "lot.rejected", "on_hold": "lot.on_hold"}
MAX_REASON = 2000

INSPECTION_OPEN = N_("An inspection of this lot is still open. Record it before you release the lot.")
NOTHING_TO_DECIDE = N_("Nothing of this lot is in quarantine or on hold: there is nothing to decide.")
NOTHING_TO_HOLD = N_("Nothing of this lot is in quarantine: there is nothing to put on hold.")
REASON_NEEDED = N_("Say why the lot is rejected or put on hold.")


@dataclass(frozen=True)
class ReleaseView:
    release: LotRelease
    signature: signatures.SignatureView | None  # with `matches` for this decision's content


@dataclass(frozen=True)
class ReleaseTimes:
    lots: int
    median_hours: float | None
    p90_hours: float | None


def decide_lot(
    uow,
    actor,
    *,
    lot_id: uuid.UUID,
    decision: str,
    reason: str | None,
    password: str,
    otp: str | None = None,
    settings,
    cipher,
) -> LotRelease:
    """Release, reject or hold a lot, signed by the quality engineer."""
    require(actor, "lot.release")
    if actor.supplier_id is not None:
        raise Forbidden(N_("A supplier cannot release its own lots."))
    errors = {}
    if decision not in DECISIONS:
        errors["decision"] = N_("Choose to release, reject or hold the lot.")
    reason = (reason or "").strip() or None
    if decision in ("rejected", "on_hold") and not reason:
        errors["reason"] = REASON_NEEDED
    elif reason and len(reason) > MAX_REASON:
        errors["reason"] = N_("At most 2,000 characters.")
    if errors:
        raise ValidationFailed(errors=errors)
    # The stock rows are locked below: a concurrent decision waits, then finds them
    # changed. (The lot row is not the application role's to lock.)
    lot = inventory.get_lot(uow, lot_id=lot_id)
    if decision == "released" and _open_inspection(uow, lot.id):
        raise Conflict(INSPECTION_OPEN)
    stock = inventory.stock_of_lot(uow, lot_id=lot.id, statuses=TAKES[decision], lock=True)
    if not stock:
        raise Conflict(NOTHING_TO_HOLD if decision == "on_hold" else NOTHING_TO_DECIDE)
    content = signed_content(lot, decision, reason, [_signed_stock(row) for row in stock])
    signature = signatures.sign(
        uow,
        actor,
        record_type="lot",
        record_id=lot.id,
        content=content,
        meaning=MEANING[decision],
        password=password,
        otp=otp,
        settings=settings,
        cipher=cipher,
        supplier_id=lot.supplier_id,
    )
    release = LotRelease(
        id=new_id(),
        lot_id=lot.id,
        supplier_id=lot.supplier_id,
        decision=decision,
        reason=reason,
        signature_id=signature.id,
        decided_by=actor.user_id,
        decided_at=signature.signed_at,
        received_at=first_received_at(uow, lot_id=lot.id),
    )
    uow.add(release)
    uow.flush()
    for row in stock:
        inventory.change_status(
            uow, actor, stock=row, status=decision, kind=KIND[decision], reference=("lot_release", release.id)
        )
    emit(
        uow,
        TOPIC[decision],
        {
            "lot_id": str(lot.id),
            "lot": lot.number,
            "item_id": str(lot.item_id),
            "supplier_id": str(lot.supplier_id) if lot.supplier_id else None,
            "release_id": str(release.id),
            "decision": decision,
            "reason": reason,
        },
    )
    return release


def signed_content(lot: Lot, decision: str, reason: str | None, stock: list[dict]) -> dict:
    """What the signature is bound to: the lot, the decision and the stock it moves."""
    return {
        "lot_id": str(lot.id),
        "item_id": str(lot.item_id),
        "supplier_id": str(lot.supplier_id) if lot.supplier_id else None,
        "number": lot.number,
        "production_date": lot.production_date.isoformat() if lot.production_date else None,
        "expiry_date": lot.expiry_date.isoformat() if lot.expiry_date else None,
        "decision": decision,
        "reason": reason,
        "stock": sorted(stock, key=lambda s: (s["location_id"], s["status"], s["serial"] or "", s["quantity"])),
    }


def _signed_stock(row: Stock) -> dict:
    return {
        "location_id": str(row.location_id),
        "status": row.status,
        "serial": row.serial,
        "quantity": inventory.plain_quantity(row.quantity),
    }


def _open_inspection(uow, lot_id: uuid.UUID) -> bool:
    return bool(uow.scalar(sa.select(sa.exists().where(Inspection.lot_id == lot_id, Inspection.status == "open"))))


def first_received_at(uow, *, lot_id: uuid.UUID) -> datetime | None:
    """When the lot first arrived: its first receipt, else its first receipt movement."""
    at = uow.scalar(
        sa.select(sa.func.min(Receipt.created_at))
        .join(ReceiptLine, sa.and_(ReceiptLine.tenant_id == Receipt.tenant_id, ReceiptLine.receipt_id == Receipt.id))
        .where(ReceiptLine.lot_id == lot_id)
    )
    if at is None:
        at = uow.scalar(
            sa.select(sa.func.min(StockMovement.moved_at)).where(StockMovement.lot_id == lot_id, StockMovement.kind == "receipt")
        )
    return at


# --- reading -------------------------------------------------------------------------------


def releases_of(uow, actor, *, lot_id: uuid.UUID) -> list[ReleaseView]:
    """A lot's decisions, oldest first, each with its signature and whether what it moved
    (the movements written with it) and said is still what was signed."""
    require_any(actor, "stock.view", "lot.release", "inspection.record")
    lot = inventory.get_lot(uow, lot_id=lot_id)
    releases = list(
        uow.session.scalars(
            sa.select(LotRelease).where(LotRelease.lot_id == lot.id).order_by(LotRelease.decided_at, LotRelease.id)
        )
    )
    signed = {s.id: s for s in signatures.signatures_for(uow, record_type="lot", record_id=lot.id, content={})}
    moved = _moved_by(uow, release_ids=[r.id for r in releases])
    views = []
    for release in releases:
        signature = signed.get(release.signature_id)
        if signature is not None:
            content = signed_content(lot, release.decision, release.reason, moved.get(release.id, []))
            signature = replace(signature, matches=signature.content_hash == signatures.content_hash(content))
        views.append(ReleaseView(release=release, signature=signature))
    return views


def _moved_by(uow, *, release_ids) -> dict[uuid.UUID, list[dict]]:
    if not release_ids:
        return {}
    rows = uow.session.scalars(
        sa.select(StockMovement).where(StockMovement.reference_kind == "lot_release", StockMovement.reference_id.in_(release_ids))
    )
    moved: dict[uuid.UUID, list[dict]] = {}
    for row in rows:
        moved.setdefault(row.reference_id, []).append(
            {
                "location_id": str(row.from_location_id),
                "status": row.from_status,
                "serial": row.serial,
                "quantity": inventory.plain_quantity(row.quantity),
            }
        )
    return moved


def batch_release_times(uow, *, since: datetime) -> ReleaseTimes:
    """Hours from first receipt to release of lots released since `since`: median and
    90th percentile (a lot released twice, after a hold, counts its first release)."""
    first = (
        sa.select(
            LotRelease.lot_id,
            sa.func.min(LotRelease.decided_at).label("decided_at"),
            sa.func.min(LotRelease.received_at).label("received_at"),
        )
        .where(LotRelease.decision == "released", LotRelease.received_at.is_not(None))
        .group_by(LotRelease.lot_id)
        .subquery()
    )
    hours = sa.func.extract("epoch", first.c.decided_at - first.c.received_at) / 3600
    row = uow.execute(
        sa.select(
            sa.func.count(),
            sa.func.percentile_cont(0.5).within_group(hours),
            sa.func.percentile_cont(0.9).within_group(hours),
        ).where(first.c.decided_at >= since)
    ).one()
    count, median, p90 = row
    return ReleaseTimes(
        lots=count, median_hours=float(median) if median is not None else None, p90_hours=float(p90) if p90 is not None else None
    )
