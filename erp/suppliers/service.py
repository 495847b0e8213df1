"""Supplier contacts and the approved supplier list (ISO 13485 §7.4.1).

An entry of the list approves a supplier - every site of it, or one site - for one item
or for a category of items, with a status (approved, conditional, probation,
disqualified) and the reason and time of its last change; every change is also kept in
approved_source_change, which the application can only insert into and read.

For an item, the most specific entry decides (`effective_approvals`): site and item, then
supplier and item, then site and category, then supplier and category. An item no entry
covers has no status: tenants adopt the list gradually, and other domains treat that as
allowed (erp.purchasing.confirmation refuses only "disqualified").

Row-level security limits supplier users to their own company's rows.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC

import sqlalchemy as sa

from auth.permissions import require
from erp.items import service as items
from erp.items.models import CATEGORIES, Item
from erp.suppliers.errors import ApprovalChanged, SupplierDisqualified, SupplierNotFound
from erp.suppliers.models import GRADE_ACTIONS, STATUSES, ApprovedSource, ApprovedSourceChange, SupplierContact, SupplierGrade
from kernel.clock import utcnow
from kernel.errors import N_, REQUIRED, ValidationFailed, checked_text
from tenants import service as tenants
from tenants.models import Organisation, OrganisationKind

MAX_REASON = 2000
MAX_NAME = 200
MAX_EMAIL = 254
MAX_PHONE = 40
MAX_ROLE = 100
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")

REASON = N_("Give the reason for this change.")
STATUS = N_("Choose approved, conditional, probation or disqualified.")
SAME_STATUS = N_("The entry has this status already: choose another status to change it.")
ITEM_OR_CATEGORY = N_("Give either an item or a category of items, not both.")
NO_ITEM = N_("Choose one of the items.")
CATEGORY = N_("Choose one of the item categories.")
SITE = N_("Choose one of this supplier's sites, or none for all of them.")
EMAIL_ADDRESS = N_("Enter a valid email address.")
PHONE_NUMBER = N_("Enter a phone number: digits, spaces and + ( ) . / - only.")

# How specific an entry is, most specific first: (has a site, names the item).
_RANK = {(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}


@dataclass(frozen=True)
class ApprovalRow:
    """An entry of the list with the names shown beside it."""

    entry: ApprovedSource
    supplier_name: str
    site_name: str | None
    part_number: str | None
    item_name: str | None


# -- suppliers -----------------------------------------------------------------------------


def get_supplier(uow, *, supplier_id: uuid.UUID) -> Organisation:
    """A supplier of the tenant in context (for a supplier user: only its own company)."""
    supplier = tenants.organisations_by_id(uow, ids={supplier_id}).get(supplier_id) if supplier_id else None
    if supplier is None or supplier.kind != OrganisationKind.SUPPLIER:
        raise SupplierNotFound()
    return supplier


# -- contacts ------------------------------------------------------------------------------


def add_contact(
    uow,
    actor,
    *,
    supplier_id: uuid.UUID,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    role: str | None = None,
    is_primary: bool = False,
) -> SupplierContact:
    """A person to deal with at the supplier; a new primary contact takes over from the
    previous one."""
    require(actor, "suppliers.manage")
    supplier = get_supplier(uow, supplier_id=supplier_id)
    errors: dict[str, str] = {}
    name = checked_text(name, MAX_NAME, "name", errors, required=True)
    email = checked_text(email, MAX_EMAIL, "email", errors)
    if email and "email" not in errors and not EMAIL.match(email):
        errors["email"] = EMAIL_ADDRESS
    phone = checked_text(phone, MAX_PHONE, "phone", errors)
    if phone and "phone" not in errors and not PHONE.match(phone):
        errors["phone"] = PHONE_NUMBER
    role = checked_text(role, MAX_ROLE, "role", errors)
    if errors:
        raise ValidationFailed(errors=errors)
    if is_primary:
        uow.execute(
            sa.update(SupplierContact)
            .where(SupplierContact.supplier_id == supplier.id, SupplierContact.is_primary)
            .values(is_primary=False, updated_at=utcnow())
        )
    contact = SupplierContact(
        supplier_id=supplier.id, name=name, email=email, phone=phone, role=role, is_primary=bool(is_primary)
    )
    uow.add(contact)
    uow.flush()
    return contact


def list_contacts(uow, actor, *, supplier_id: uuid.UUID) -> list[SupplierContact]:
    """A supplier's contacts, the primary one first."""
    require(actor, "suppliers.view")
    supplier = get_supplier(uow, supplier_id=supplier_id)
    return list(
        uow.session.scalars(
            sa.select(SupplierContact)
            .where(SupplierContact.supplier_id == supplier.id)
            .order_by(SupplierContact.is_primary.desc(), SupplierContact.name, SupplierContact.id)
        )
    )


# -- the approved supplier list ------------------------------------------------------------


def set_approval(
    uow,
    actor,
    *,
    supplier_id: uuid.UUID,
    site_id: uuid.UUID | None = None,
    item_id: uuid.UUID | None = None,
    category: str | None = None,
    status: str,
    reason: str,
) -> ApprovedSource:
    """Create the entry for the supplier (or one of its sites) and the item or category,
    or change its status; either way the change and its reason go into the history. A
    change to the status the entry has already is refused."""
    require(actor, "suppliers.manage")
    supplier = get_supplier(uow, supplier_id=supplier_id)
    errors: dict[str, str] = {}
    if status not in STATUSES:
        errors["status"] = STATUS
    reason = checked_text(reason, MAX_REASON, "reason", errors, required=True)
    if errors.get("reason") == REQUIRED:
        errors["reason"] = REASON
    category = category.strip() or None if isinstance(category, str) else category
    if (item_id is None) == (category is None):
        errors["item_id"] = ITEM_OR_CATEGORY
    elif item_id is not None:
        if uow.scalar(sa.select(Item.id).where(Item.id == item_id)) is None:
            errors["item_id"] = NO_ITEM
    elif category not in CATEGORIES:
        errors["category"] = CATEGORY
    if site_id is not None:
        site = tenants.sites_by_id(uow, ids={site_id}).get(site_id)
        if site is None or site.supplier_id != supplier.id:
            errors["site_id"] = SITE
    if errors:
        raise ValidationFailed(errors=errors)
    entry = uow.scalar(
        sa.select(ApprovedSource)
        .where(
            ApprovedSource.supplier_id == supplier.id,
            ApprovedSource.site_id.is_not_distinct_from(site_id),
            ApprovedSource.item_id.is_not_distinct_from(item_id),
            ApprovedSource.category.is_not_distinct_from(category),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    now = utcnow()
    before = entry.status if entry is not None else None
    if before == status:
        raise ValidationFailed(errors={"status": SAME_STATUS})
    previous_reason, uow.reason = uow.reason, reason  # the audit trail records it with the rows
    try:
        if entry is None:
            entry = ApprovedSource(supplier_id=supplier.id, site_id=site_id, item_id=item_id, category=category)
            _stamp(entry, status, reason, now, actor)
            try:
                with uow.session.begin_nested():
                    uow.add(entry)
                    uow.flush()
            except sa.exc.IntegrityError as exc:  # created by someone else since the lookup
                raise ApprovalChanged() from exc
        else:
            _stamp(entry, status, reason, now, actor)
        uow.add(
            ApprovedSourceChange(
                approved_source_id=entry.id,
                supplier_id=supplier.id,
                from_status=before,
                to_status=status,
                reason=reason,
                changed_at=now,
                changed_by=actor.user_id,
            )
        )
        uow.flush()
    finally:
        uow.reason = previous_reason
    return entry


def list_approvals(uow, actor, *, supplier_id: uuid.UUID | None = None, item_id: uuid.UUID | None = None) -> list[ApprovalRow]:
    """Entries of the list, of one supplier and/or for one item (an item's own entries,
    not those of its category): by supplier; every site before each site; items by part
    number before categories."""
    require(actor, "suppliers.view")
    stmt = sa.select(ApprovedSource, Item.part_number, Item.name).outerjoin(
        Item, sa.and_(Item.tenant_id == ApprovedSource.tenant_id, Item.id == ApprovedSource.item_id)
    )
    if supplier_id is not None:
        get_supplier(uow, supplier_id=supplier_id)
        stmt = stmt.where(ApprovedSource.supplier_id == supplier_id)
    if actor.supplier_id is not None:
        # Row-level security shows a supplier only its own entries; naming it lets the index serve.
        stmt = stmt.where(ApprovedSource.supplier_id == actor.supplier_id)
    if item_id is not None:
        stmt = stmt.where(ApprovedSource.item_id == item_id)
    rows = uow.execute(stmt).all()
    suppliers = tenants.organisations_by_id(uow, ids={e.supplier_id for e, *_ in rows})
    sites = tenants.sites_by_id(uow, ids={e.site_id for e, *_ in rows if e.site_id})
    found = [
        ApprovalRow(
            entry=e,
            supplier_name=suppliers[e.supplier_id].name if e.supplier_id in suppliers else "",
            site_name=sites[e.site_id].name if e.site_id in sites else None,
            part_number=part_number,
            item_name=item_name,
        )
        for e, part_number, item_name in rows
    ]
    return sorted(
        found,
        key=lambda r: (
            r.supplier_name,
            r.entry.site_id is not None,
            r.site_name or "",
            r.entry.item_id is None,
            r.part_number or "",
            r.entry.category or "",
        ),
    )


def approval_history(
    uow, actor, *, approved_source_id: uuid.UUID | None = None, supplier_id: uuid.UUID | None = None
) -> list[ApprovedSourceChange]:
    """The changes of one entry, or of every entry of a supplier, newest first."""
    require(actor, "suppliers.view")
    stmt = sa.select(ApprovedSourceChange)
    if approved_source_id is not None:
        stmt = stmt.where(ApprovedSourceChange.approved_source_id == approved_source_id)
    if supplier_id is not None:
        stmt = stmt.where(ApprovedSourceChange.supplier_id == supplier_id)
    if actor.supplier_id is not None:
        stmt = stmt.where(ApprovedSourceChange.supplier_id == actor.supplier_id)
    return list(uow.session.scalars(stmt.order_by(ApprovedSourceChange.changed_at.desc(), ApprovedSourceChange.id.desc())))


# -- for other domains: what the list says about an item ------------------------------------


def effective_approvals(
    uow, *, supplier_id: uuid.UUID, item_ids, site_id: uuid.UUID | None = None
) -> dict[uuid.UUID, ApprovedSource]:
    """The entry that decides for each item the supplier would supply (from `site_id`,
    or with no site named): site and item, then supplier and item, then site and
    category, then supplier and category. Entries of the supplier's other sites do not
    count; an item no entry covers is left out. No permission of its own: the caller's
    operation has checked one (row-level security still applies)."""
    item_ids = {i for i in item_ids if i is not None}
    if not item_ids or supplier_id is None:
        return {}
    categories = items.categories_of(uow, item_ids=item_ids)
    if not categories:
        return {}
    entries = uow.session.scalars(
        sa.select(ApprovedSource).where(
            ApprovedSource.supplier_id == supplier_id,
            sa.or_(ApprovedSource.site_id.is_(None), ApprovedSource.site_id == site_id)
            if site_id
            else ApprovedSource.site_id.is_(None),
            sa.or_(ApprovedSource.item_id.in_(categories), ApprovedSource.category.in_(set(categories.values()))),
        )
    ).all()
    best: dict[uuid.UUID, ApprovedSource] = {}
    for item_id, category in categories.items():
        covering = [e for e in entries if e.item_id == item_id or (e.item_id is None and e.category == category)]
        if covering:
            best[item_id] = min(covering, key=lambda e: _RANK[(e.site_id is not None, e.item_id is not None)])
    return best


def approval_for(uow, *, supplier_id: uuid.UUID, item_id: uuid.UUID, site_id: uuid.UUID | None = None) -> str | None:
    """The effective status of the supplier (or its site) for the item; None when the
    list says nothing about it."""
    entry = effective_approvals(uow, supplier_id=supplier_id, item_ids={item_id}, site_id=site_id).get(item_id)
    return entry.status if entry is not None else None


def disqualified_items(uow, *, supplier_id: uuid.UUID, item_ids) -> dict[uuid.UUID, ApprovedSource]:
    """The items (of `item_ids`) the supplier as a whole is disqualified for, with the
    deciding entry."""
    found = effective_approvals(uow, supplier_id=supplier_id, item_ids=item_ids)
    return {item_id: entry for item_id, entry in found.items() if entry.status == "disqualified"}


def disqualification(
    supplier: Organisation, item: Item, entry: ApprovedSource, *, errors: dict[str, str]
) -> SupplierDisqualified:
    """The error refusing an order: names the supplier, the item, and the date and reason
    of the disqualification."""
    return SupplierDisqualified(
        errors=errors,
        supplier=supplier.name,
        part_number=item.part_number,
        since=entry.changed_at.astimezone(UTC).date().isoformat(),
        reason=entry.reason,
    )


# -- helpers -----------------------------------------------------------------------------------


def _stamp(entry: ApprovedSource, status: str, reason: str, now, actor) -> None:
    entry.status, entry.reason, entry.changed_at, entry.changed_by = status, reason, now, actor.user_id


# -- scorecard grade (written by scoring, read by the order issue gate) --------------------


def set_grade(uow, *, supplier_id: uuid.UUID, grade: str | None, score, action: str, period_key: str | None) -> SupplierGrade:
    """Record the supplier's current grade and its action (scoring calls this after a
    recompute; no permission of its own: the caller's operation checks one)."""
    if action not in GRADE_ACTIONS:
        raise ValueError(f"unknown grade action {action!r}")
    row = uow.scalar(sa.select(SupplierGrade).where(SupplierGrade.supplier_id == supplier_id))
    if row is None:
        row = SupplierGrade(supplier_id=supplier_id)
        uow.add(row)
    if (row.grade, row.score, row.action, row.period_key) != (grade, score, action, period_key):
        row.grade, row.score, row.action, row.period_key = grade, score, action, period_key
        row.graded_at = utcnow()
    uow.flush()
    return row


def grade_of(uow, *, supplier_id: uuid.UUID) -> SupplierGrade | None:
    """The supplier's current grade, None before its first scorecard."""
    return uow.scalar(sa.select(SupplierGrade).where(SupplierGrade.supplier_id == supplier_id))
