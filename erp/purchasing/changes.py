"""Change orders: the buyer changes an issued order, which becomes a new revision with a
visible diff and goes back to the supplier for confirmation.

A change is a list of {line_id, quantity?, unit_price?, requested_date?} (a changed
line), {line_id, remove: true} (a removed line) or {item_id, quantity, unit_price,
requested_date} (an added line), with a reason. Changed and added lines are open again
for the supplier's answer; lines the change does not touch keep their acceptance (the
supplier confirmed them as they still are); removed lines are cancelled. Answers still
pending on the old revision are superseded. The lines as they were and the diff are
kept in `po_revision`, so every revision can be shown and compared.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa

from auth.permissions import require
from erp.items.models import Item
from erp.purchasing.confirmation import (
    _as_uuid,
    _current,
    _date,
    _given,
    _lines,
    _locked,
    _price,
    _quantity,
    _recompute,
    _write,
)
from erp.purchasing.errors import WrongStatus
from erp.purchasing.models import PoLineResponse, PoRevision, PurchaseOrder, PurchaseOrderLine
from kernel.clock import utcnow
from kernel.errors import N_, ValidationFailed

# Orders a change order applies to: issued and not yet in delivery (a draft is simply edited).
CHANGEABLE = ("issued", "partially_acknowledged", "acknowledged")
FIELDS = ("quantity", "unit_price", "requested_date")
MAX_REASON = 2000

NO_CHANGES = N_("A change order needs at least one change.")
REASON_REQUIRED = N_("Give the reason for the change; the supplier sees it.")
NOT_A_LINE = N_("This line is not on the order.")
NOTHING_CHANGED = N_("Nothing on this line changes.")
LINE_TWICE = N_("This line is changed twice.")
CANCELLED_LINE = N_("This line is cancelled; add a new line instead.")
UNKNOWN_ITEM = N_("Choose one of the items.")
ALL_REMOVED = N_("A change order cannot remove every line; cancel the order instead.")


def revise_purchase_order(uow, actor, *, po_id: uuid.UUID, version: int, changes: list[dict], reason: str) -> PoRevision:
    require(actor, "po.manage")
    po = _locked(uow, po_id, actor)
    _current(po, version=version)
    if po.status not in CHANGEABLE:
        raise WrongStatus()
    lines = _lines(uow, po)
    by_id = {line.id: line for line in lines}
    today = utcnow().date()
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = REASON_REQUIRED
    elif len(reason) > MAX_REASON:
        errors["reason"] = N_("This is too long.")
    if not changes:
        errors["changes"] = NO_CHANGES
    planned_changes: list[tuple[PurchaseOrderLine, dict]] = []
    removals: list[PurchaseOrderLine] = []
    additions: list[dict] = []
    seen: set[uuid.UUID] = set()
    for n, change in enumerate(changes or []):
        at = f"changes.{n}."
        if change.get("line_id") is None:
            added = _addition(uow, change, errors, at, today)
            if added is not None:
                additions.append(added)
            continue
        line = by_id.get(_as_uuid(change.get("line_id")))
        if line is None:
            errors[at + "line_id"] = NOT_A_LINE
            continue
        if line.id in seen:
            errors[at + "line_id"] = LINE_TWICE
            continue
        seen.add(line.id)
        if line.status == "cancelled":
            errors[at + "line_id"] = CANCELLED_LINE
            continue
        if change.get("remove"):
            removals.append(line)
            continue
        values = _line_change(line, change, errors, at, today)
        if values:
            planned_changes.append((line, values))
        elif values is not None:
            errors[at + "line_id"] = NOTHING_CHANGED
    live_after = [x for x in lines if x.status != "cancelled" and x not in removals]
    if not errors and not live_after and not additions:
        errors["changes"] = ALL_REMOVED
    if errors:
        raise ValidationFailed(errors=errors)
    return _apply(uow, actor, po, lines, planned_changes, removals, additions, reason)


def list_revisions(uow, *, po_id: uuid.UUID) -> list[PoRevision]:
    """The order's change orders, newest first (row-level security: a supplier sees its own)."""
    require(uow.actor, "po.view")
    query = sa.select(PoRevision).where(PoRevision.purchase_order_id == po_id).order_by(PoRevision.revision.desc())
    return list(uow.session.scalars(query))


def _line_change(line: PurchaseOrderLine, change: dict, errors: dict, at: str, today) -> dict | None:
    """The fields that really change ({} when none), or None when one is bad."""
    values = {}
    bad = False
    for field in FIELDS:
        if not _given(change.get(field)):
            continue
        before = len(errors)
        if field == "quantity":
            value = _quantity(change[field], line.uom, errors, at + field)
        elif field == "unit_price":
            value = _price(change[field], errors, at + field)
        else:
            value = _date(change[field], errors, at + field, today=today)
        if len(errors) > before:
            bad = True
        elif value != getattr(line, field):
            values[field] = value
    return None if bad else values


def _addition(uow, change: dict, errors: dict, at: str, today) -> dict | None:
    item_id = _as_uuid(change.get("item_id"))
    item = uow.session.scalar(sa.select(Item).where(Item.id == item_id)) if item_id else None
    if item is None:
        errors[at + "item_id"] = UNKNOWN_ITEM
        return None
    before = len(errors)
    values = {
        "item": item,
        "quantity": _quantity(change.get("quantity"), item.uom, errors, at + "quantity"),
        "unit_price": _price(change.get("unit_price"), errors, at + "unit_price"),
        "requested_date": _date(change.get("requested_date"), errors, at + "requested_date", today=today),
    }
    return values if len(errors) == before else None


def _apply(uow, actor, po: PurchaseOrder, lines, planned_changes, removals, additions, reason: str) -> PoRevision:
    previous = [_snapshot(line) for line in lines]
    diff: list[dict] = []
    for line, values in planned_changes:
        for field, value in values.items():
            was = _json(getattr(line, field))
            diff.append({"line_no": line.line_no, "change": "changed", "field": field, "from": was, "to": _json(value)})
            setattr(line, field, value)
        line.status, line.promised_date = "open", None
    for line in removals:
        diff.append({"line_no": line.line_no, "change": "removed", "field": None, "from": _json(line.quantity), "to": None})
        line.status = "cancelled"
    next_no = max((line.line_no for line in lines), default=0)
    for values in additions:
        next_no += 10
        item = values["item"]
        line = PurchaseOrderLine(
            purchase_order_id=po.id,
            supplier_id=po.supplier_id,
            line_no=next_no,
            item_id=item.id,
            quantity=values["quantity"],
            uom=item.uom,
            unit_price=values["unit_price"],
            requested_date=values["requested_date"],
        )
        uow.add(line)
        lines.append(line)
        diff.append({"line_no": next_no, "change": "added", "field": None, "from": None, "to": _json(values["quantity"])})
    # Answers still waiting on the old revision no longer apply.
    uow.execute(
        sa.update(PoLineResponse)
        .where(PoLineResponse.purchase_order_id == po.id, PoLineResponse.decision == "pending")
        .values(decision="superseded", decided_at=utcnow(), decided_by=actor.user_id)
    )
    po.revision += 1
    uow.flush()
    _recompute(po, lines)
    revision = PoRevision(
        purchase_order_id=po.id,
        supplier_id=po.supplier_id,
        revision=po.revision,
        reason=reason,
        diff=diff,
        previous_lines=previous,
        changed_by=actor.user_id,
    )
    uow.add(revision)
    _write(uow, po)
    return revision


def _snapshot(line: PurchaseOrderLine) -> dict:
    return {
        "line_no": line.line_no,
        "item_id": str(line.item_id),
        "quantity": _json(line.quantity),
        "unit_price": _json(line.unit_price),
        "requested_date": _json(line.requested_date),
        "status": line.status,
    }


def _json(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
