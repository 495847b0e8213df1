"""Incoming inspection (ISO 13485 §7.4.3): which received lots are inspected, how many
units are sampled, and what the quality engineer found.

A tenant sets an InspectionPlan per item category: inspect or not, and the AQL the
sample follows (erp.receiving.sampling, ISO 2859-1 level II). A category with no plan is
inspected when its items go into or become the device (DEFAULT_INSPECTED), at the
default AQL; other categories (packaging, consumables, services) are not, and quality
releases their lots without an inspection.

When a receipt closes, receiving calls `open_inspections`: one inspection per item and
lot received. The engineer records the lot's accepted and rejected quantities; rejects
need defect codes, open a nonconformance and take the rejected quantity (of stock that
is not serialised) out of quarantine into status rejected. Serialised units stay in
quarantine for the lot decision (erp.receiving.release), which says which units go.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from math import ceil

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from auth.permissions import require, require_any
from erp.inventory import service as inventory
from erp.items import service as items
from erp.items.models import CATEGORIES
from erp.receiving.models import Inspection, InspectionPlan, Nonconformance, ReceiptLine
from erp.receiving.sampling import SamplingPlan, parse_aql, plan_for
from kernel.clock import utcnow
from kernel.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed, checked_text
from kernel.ids import new_id
from kernel.outbox import emit
from tenants import service as tenants

# Categories inspected when the tenant set no plan for them: what touches the patient or
# is the device itself.
DEFAULT_INSPECTED = frozenset({"sterile_barrier", "finished_device", "contract_manufactured"})
DEFAULT_AQL = Decimal("1.0")

# Defect codes, the same for every tenant until master data makes them editable.
DEFECT_CODES = {
    "dimension": N_("Dimension out of tolerance"),
    "contamination": N_("Contamination or foreign matter"),
    "packaging": N_("Packaging damaged"),
    "labelling": N_("Labelling wrong or missing"),
    "documentation": N_("Documentation missing or wrong"),
    "function": N_("Does not function"),
    "other": N_("Other (see the note)"),
}
MAX_NOTE = 2000

INSPECTION_NOT_FOUND = N_("This inspection does not exist.")
ALREADY_DONE = N_("This inspection was already recorded.")
NOT_A_QUANTITY = N_("Enter a quantity of zero or more.")
DO_NOT_ADD_UP = N_("Accepted and rejected together must be the received quantity, %(received)s.")
CODES_NEEDED = N_("Choose at least one defect code for the rejected units.")
UNKNOWN_CODE = N_("Choose defect codes from the list.")
NOTE_FOR_OTHER = N_("Describe the defect in the note when you choose “Other”.")


@dataclass(frozen=True)
class PlanView:
    """A category's rule as it applies: the tenant's plan, or the default."""

    category: str
    inspect: bool
    aql: Decimal
    is_default: bool


# --- plans ---------------------------------------------------------------------------------


def plans(uow, actor) -> list[PlanView]:
    """Every category's rule, the tenant's or the default."""
    require(actor, "inspection.record")
    saved = _saved_plans(uow)
    return [_rule(category, saved.get(category)) for category in CATEGORIES]


def save_plan(uow, actor, *, category: str, inspect: bool, aql) -> InspectionPlan:
    require(actor, "inspection.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    errors = {}
    if category not in CATEGORIES:
        errors["category"] = N_("Choose one of the categories offered.")
    chosen = parse_aql(aql)
    if chosen is None:
        errors["aql"] = N_("Choose an AQL of the ISO 2859-1 series, from 0.10 to 10.")
    if errors:
        raise ValidationFailed(errors=errors)
    uow.execute(
        insert(InspectionPlan)
        .values(tenant_id=uow.tenant_id, id=new_id(), category=category, inspect=bool(inspect), aql=chosen)
        .on_conflict_do_update(
            index_elements=["tenant_id", "category"], set_={"inspect": bool(inspect), "aql": chosen, "updated_at": sa.func.now()}
        )
    )
    return uow.session.scalars(
        sa.select(InspectionPlan).where(InspectionPlan.category == category).execution_options(populate_existing=True)
    ).one()


def _saved_plans(uow) -> dict[str, InspectionPlan]:
    return {plan.category: plan for plan in uow.session.scalars(sa.select(InspectionPlan))}


def _rule(category: str, plan: InspectionPlan | None) -> PlanView:
    if plan is None:
        return PlanView(category=category, inspect=category in DEFAULT_INSPECTED, aql=DEFAULT_AQL, is_default=True)
    return PlanView(category=category, inspect=plan.inspect, aql=Decimal(plan.aql), is_default=False)


def sampling_of(received: Decimal, aql: Decimal) -> SamplingPlan:
    """The sampling plan for a received quantity: a fraction of a unit counts as a unit."""
    return plan_for(max(1, ceil(received)), aql)


# --- opening -------------------------------------------------------------------------------


def open_inspections(uow, actor, *, receipt_id: uuid.UUID) -> list[Inspection]:
    """An inspection per item and lot of the receipt whose category is inspected, with the
    received quantity and the sample size. Idempotent: calling it again adds only what
    is missing (a line scanned after a first call) and changes nothing open."""
    require_any(actor, "receipt.scan", "inspection.record")
    received: dict[tuple, Decimal] = defaultdict(Decimal)
    suppliers: dict[tuple, uuid.UUID | None] = {}
    for line in uow.session.scalars(sa.select(ReceiptLine).where(ReceiptLine.receipt_id == receipt_id)):
        key = (line.item_id, line.lot_id)
        received[key] += line.quantity
        suppliers[key] = line.supplier_id
    categories = items.categories_of(uow, item_ids={item_id for item_id, _ in received})
    saved = _saved_plans(uow)
    existing = {(i.item_id, i.lot_id) for i in _of_receipt(uow, receipt_id)}
    for key, quantity in received.items():
        rule = _rule(categories.get(key[0], ""), saved.get(categories.get(key[0], "")))
        if not rule.inspect or key in existing:
            continue
        uow.add(
            Inspection(
                receipt_id=receipt_id,
                supplier_id=suppliers[key],
                item_id=key[0],
                lot_id=key[1],
                received_quantity=quantity,
                sample_size=sampling_of(quantity, rule.aql).sample_size,
            )
        )
    uow.flush()
    return _of_receipt(uow, receipt_id)


def _of_receipt(uow, receipt_id: uuid.UUID) -> list[Inspection]:
    return list(
        uow.session.scalars(
            sa.select(Inspection).where(Inspection.receipt_id == receipt_id).order_by(Inspection.created_at, Inspection.id)
        )
    )


# --- reading -------------------------------------------------------------------------------


def list_inspections(uow, actor, *, limit: int = 200) -> list[Inspection]:
    """Open inspections first (oldest first: they wait longest), then the done ones,
    newest first."""
    require(actor, "inspection.record")
    open_first = sa.case((Inspection.status == "open", 0), else_=1)
    newest_done = sa.case((Inspection.status == "open", Inspection.created_at), else_=None)
    return list(
        uow.session.scalars(
            sa.select(Inspection)
            .order_by(open_first, newest_done.asc(), Inspection.completed_at.desc(), Inspection.id)
            .limit(limit)
        )
    )


def get_inspection(uow, actor, *, inspection_id: uuid.UUID, lock: bool = False) -> Inspection:
    require_any(actor, "inspection.record", "lot.release", "stock.view")
    query = sa.select(Inspection).where(Inspection.id == inspection_id)
    found = uow.session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound(INSPECTION_NOT_FOUND)
    return found


def inspections_of_lot(uow, *, lot_id: uuid.UUID) -> list[Inspection]:
    return list(uow.session.scalars(sa.select(Inspection).where(Inspection.lot_id == lot_id).order_by(Inspection.created_at)))


def aql_for(uow, inspection: Inspection) -> Decimal:
    """The AQL of the inspection's item category now (the tenant's plan or the default)."""
    category = items.categories_of(uow, item_ids=[inspection.item_id]).get(inspection.item_id, "")
    return _rule(category, _saved_plans(uow).get(category)).aql


def sampling_for(uow, inspection: Inspection) -> SamplingPlan:
    """The plan to show beside an inspection: its category's AQL now, on its quantity."""
    return sampling_of(inspection.received_quantity, aql_for(uow, inspection))


def nonconformances_of(uow, *, inspection_ids) -> dict[uuid.UUID, Nonconformance]:
    ids = list(inspection_ids)
    if not ids:
        return {}
    rows = uow.session.scalars(sa.select(Nonconformance).where(Nonconformance.inspection_id.in_(ids)))
    return {row.inspection_id: row for row in rows}


# --- recording -----------------------------------------------------------------------------


def record_inspection(
    uow,
    actor,
    *,
    inspection_id: uuid.UUID,
    accepted_quantity,
    rejected_quantity,
    defect_codes=(),
    note: str | None = None,
) -> Inspection:
    """The lot's result: accepted and rejected quantities (adding up to what was
    received), defect codes for the rejects, a note. Rejects open a nonconformance and
    move that much non-serialised quarantine stock of the lot to rejected."""
    require(actor, "inspection.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    inspection = get_inspection(uow, actor, inspection_id=inspection_id, lock=True)
    if inspection.status != "open":
        raise Conflict(ALREADY_DONE)
    accepted, rejected, codes, note = _checked(inspection, accepted_quantity, rejected_quantity, defect_codes, note)
    inspection.accepted_quantity, inspection.rejected_quantity = accepted, rejected
    inspection.defect_codes, inspection.note = codes, note
    inspection.status, inspection.inspected_by, inspection.completed_at = "done", actor.user_id, utcnow()
    uow.flush()
    if rejected > 0:
        nonconformance = _open_nonconformance(uow, actor, inspection)
        _reject_stock(uow, actor, inspection, rejected, nonconformance)
    return inspection


def _checked(inspection: Inspection, accepted, rejected, defect_codes, note):
    errors: dict[str, str] = {}
    accepted = _quantity(accepted, "accepted_quantity", errors)
    rejected = _quantity(rejected, "rejected_quantity", errors)
    codes = sorted({str(c).strip() for c in (defect_codes or ()) if str(c).strip()})
    note = checked_text(note, MAX_NOTE, "note", errors)
    if accepted is not None and rejected is not None and accepted + rejected != inspection.received_quantity:
        errors["rejected_quantity"] = DO_NOT_ADD_UP
    if any(code not in DEFECT_CODES for code in codes):
        errors["defect_codes"] = UNKNOWN_CODE
    elif rejected and not codes:
        errors["defect_codes"] = CODES_NEEDED
    elif "other" in codes and not note:
        errors["note"] = NOTE_FOR_OTHER
    if errors:
        raise ValidationFailed(errors=errors, received=inventory.plain_quantity(inspection.received_quantity))
    return accepted, rejected, codes, note


def _quantity(value, field: str, errors: dict[str, str]) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        errors[field] = NOT_A_QUANTITY
        return None
    return amount


def _open_nonconformance(uow, actor, inspection: Inspection) -> Nonconformance:
    lot = inventory.lots_by_id(uow, ids=[inspection.lot_id]).get(inspection.lot_id)
    part = items.part_numbers(uow, item_ids=[inspection.item_id]).get(inspection.item_id, "")
    # The record's own text, in the tenant's records (not a UI string): the codes say
    # what, the quality issue adds the workflow.
    description = f"Incoming inspection rejected {inventory.plain_quantity(inspection.rejected_quantity)} of {part}"
    description += f" lot {lot.number}" if lot else ""
    if inspection.note:
        description += f": {inspection.note}"
    nonconformance = Nonconformance(
        number=tenants.next_number(uow, name="NC", prefix="NC", year=utcnow().year),
        supplier_id=inspection.supplier_id,
        item_id=inspection.item_id,
        lot_id=inspection.lot_id,
        inspection_id=inspection.id,
        quantity=inspection.rejected_quantity,
        defect_codes=list(inspection.defect_codes),
        description=description,
        created_by=actor.user_id,
    )
    uow.add(nonconformance)
    uow.flush()
    emit(
        uow,
        "nonconformance.opened",
        {
            "nonconformance_id": str(nonconformance.id),
            "number": nonconformance.number,
            "inspection_id": str(inspection.id),
            "lot_id": str(inspection.lot_id) if inspection.lot_id else None,
            "quantity": str(inspection.rejected_quantity),
            "defect_codes": list(inspection.defect_codes),
        },
    )
    return nonconformance


def _reject_stock(uow, actor, inspection: Inspection, rejected: Decimal, nonconformance: Nonconformance) -> None:
    """Up to the rejected quantity of the lot's non-serialised quarantine stock goes to
    rejected; serialised units wait for the lot decision, which names them."""
    if inspection.lot_id is None:
        return
    left = rejected
    for stock in inventory.stock_of_lot(uow, lot_id=inspection.lot_id, statuses=("quarantine",), lock=True):
        if left <= 0:
            break
        if stock.serial is not None or stock.item_id != inspection.item_id:
            continue
        amount = min(left, stock.quantity)
        inventory.change_status(
            uow,
            actor,
            stock=stock,
            status="rejected",
            kind="reject",
            quantity=amount,
            reference=("nonconformance", nonconformance.id),
        )
        left -= amount
