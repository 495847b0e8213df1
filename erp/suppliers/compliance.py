"""The requirement matrix of the approved supplier list, and each supplier's standing
against it (ISO 13485 §7.4.1: suppliers are evaluated and controlled; their
certificates are part of the evidence).

A requirement says a certificate type is needed by every supplier, by the suppliers
approved for a category of items, by one supplier site, or by the suppliers approved
for one item. Applied to the approved supplier list, it gives each supplier site its
obligations (`obligations`): per certificate type (and item, for item requirements),
the best certificate it has and that certificate's state on the day — missing, pending
review, valid, expiring, expired, rejected. A site is compliant when every obligation
is met by a valid certificate.

Issuing an order checks the same rules for the order's items (`order_gaps`); the
tenant's purchasing setting decides whether a gap warns the buyer or blocks the issue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from auth.permissions import require
from documents import certificates
from documents.certificates import CertificateView
from documents.errors import CertificateTypeNotFound
from documents.models import CertificateType
from erp.items import service as items
from erp.items.models import CATEGORIES
from erp.suppliers import service as suppliers
from erp.suppliers.errors import RequirementNotFound
from erp.suppliers.models import REQUIREMENT_SCOPES, ApprovedSource, CertificateRequirement
from kernel.clock import utcnow
from kernel.errors import N_, ValidationFailed
from tenants import service as tenants
from tenants.models import Site

SCOPE_LABELS = {
    "all": N_("Every supplier"),
    "category": N_("Suppliers of a category"),
    "site": N_("One supplier site"),
    "item": N_("Suppliers of an item"),
}
assert set(SCOPE_LABELS) == set(REQUIREMENT_SCOPES)


@dataclass(frozen=True)
class Obligation:
    """One certificate a site must hold, and the best it has."""

    type: CertificateType
    item_id: uuid.UUID | None  # set for item requirements: the certificate must cover it
    state: str
    certificate: CertificateView | None

    @property
    def met(self) -> bool:
        return certificates.counts_as_valid(self.state)


@dataclass(frozen=True)
class SiteStanding:
    site: Site | None  # None: the supplier as a whole (it has no sites yet)
    obligations: list[Obligation] = field(default_factory=list)

    @property
    def compliant(self) -> bool:
        return all(o.met for o in self.obligations)


# --- the matrix -----------------------------------------------------------------------


def list_requirements(uow, actor) -> list[CertificateRequirement]:
    """Every rule the caller may see (a supplier: the general ones and its own sites')."""
    _require_reader(actor)
    return list(
        uow.session.scalars(
            sa.select(CertificateRequirement).order_by(CertificateRequirement.scope, CertificateRequirement.created_at)
        )
    )


def add_requirement(
    uow,
    actor,
    *,
    certificate_type_id: uuid.UUID | None,
    scope: str,
    category: str | None = None,
    site_id: uuid.UUID | None = None,
    item_id: uuid.UUID | None = None,
) -> CertificateRequirement:
    require(actor, "suppliers.manage")
    errors: dict[str, str] = {}
    try:
        kind = certificates.get_type(uow, type_id=certificate_type_id) if certificate_type_id else None
    except CertificateTypeNotFound:
        kind = None
    if kind is None:
        errors["certificate_type_id"] = N_("Choose the type of certificate.")
    row = CertificateRequirement(tenant_id=uow.tenant_id, certificate_type_id=certificate_type_id, scope=scope)
    if scope == "category":
        if category not in CATEGORIES:
            errors["category"] = N_("Choose a category.")
        row.category = category
    elif scope == "site":
        site = tenants.sites_by_id(uow, ids=[site_id]).get(site_id) if site_id else None
        if site is None or site.supplier_id is None:
            errors["site_id"] = N_("Choose a site of a supplier.")
        else:
            row.site_id, row.supplier_id = site.id, site.supplier_id
    elif scope == "item":
        if item_id is None or item_id not in items.categories_of(uow, item_ids=[item_id]):
            errors["item_id"] = N_("Choose an item.")
        row.item_id = item_id
    elif scope != "all":
        errors["scope"] = N_("Choose what the requirement applies to.")
    if not errors and _exists(uow, row):
        errors["scope"] = N_("This requirement exists already.")
    if errors:
        raise ValidationFailed(errors=errors)
    uow.add(row)
    uow.flush()
    return row


def remove_requirement(uow, actor, *, requirement_id: uuid.UUID) -> None:
    require(actor, "suppliers.manage")
    row = uow.session.get(CertificateRequirement, (uow.tenant_id, requirement_id))
    if row is None:
        raise RequirementNotFound()
    uow.session.delete(row)
    uow.flush()


def _exists(uow, row: CertificateRequirement) -> bool:
    same = sa.select(sa.func.count()).select_from(CertificateRequirement)
    for column in ("certificate_type_id", "scope", "category", "site_id", "item_id"):
        value = getattr(row, column)
        attr = getattr(CertificateRequirement, column)
        same = same.where(attr.is_(None) if value is None else attr == value)
    return bool(uow.scalar(same))


# --- standing ---------------------------------------------------------------------------


def obligations(uow, actor, *, supplier_id: uuid.UUID, today: date | None = None) -> list[SiteStanding]:
    """What each site of the supplier owes, with the state of what it has."""
    _require_reader(actor)
    suppliers.get_supplier(uow, supplier_id=supplier_id)  # SupplierNotFound
    return standings(uow, supplier_ids=[supplier_id], today=today or utcnow().date())[supplier_id]


def standings(uow, *, supplier_ids, today: date) -> dict[uuid.UUID, list[SiteStanding]]:
    """Obligations of many suppliers at once (the compliance dashboard). No permission of
    its own: the caller's operation checks one."""
    supplier_ids = list(dict.fromkeys(supplier_ids))
    rules = list(uow.session.scalars(sa.select(CertificateRequirement)))
    types = certificates.types_by_id(uow, active_only=True)
    entries = _approved_entries(uow, supplier_ids)
    item_ids = {r.item_id for r in rules if r.item_id} | {e.item_id for es in entries.values() for e in es if e.item_id}
    item_categories = items.categories_of(uow, item_ids=item_ids)
    held = _by_supplier(certificates.certificates_of(uow, supplier_ids=supplier_ids, today=today))
    sites = tenants.sites_by_supplier(uow, supplier_ids=supplier_ids)
    result = {}
    for supplier_id in supplier_ids:
        result[supplier_id] = [
            _standing(site, rules, types, entries.get(supplier_id, []), item_categories, held.get(supplier_id, []))
            for site in sites.get(supplier_id) or [None]
        ]
    return result


def _standing(site, rules, types, entries, item_categories, held) -> SiteStanding:
    site_id = site.id if site is not None else None
    needed = _needed(site_id, rules, types, entries, item_categories)
    obligations_ = []
    for type_id, item_id in needed:
        best = _best_held(held, type_id, item_id=item_id, site_id=site_id)
        obligations_.append(Obligation(types[type_id], item_id, best.state if best else "missing", best))
    obligations_.sort(key=lambda o: (o.met, o.type.name))
    return SiteStanding(site=site, obligations=obligations_)


def _needed(site_id, rules, types, entries, item_categories) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    """The (certificate type, item or None) pairs the rules ask of one site."""
    here = [e for e in entries if e.site_id is None or e.site_id == site_id]
    categories = {e.category for e in here if e.category} | {item_categories.get(e.item_id) for e in here if e.item_id}
    items = {e.item_id for e in here if e.item_id}
    needed: set[tuple[uuid.UUID, uuid.UUID | None]] = set()
    for rule in rules:
        if rule.certificate_type_id not in types:
            continue
        applies = (
            rule.scope == "all"
            or (rule.scope == "site" and site_id is not None and rule.site_id == site_id)
            or (rule.scope == "category" and rule.category in categories)
            or (rule.scope == "item" and (rule.item_id in items or item_categories.get(rule.item_id) in categories))
        )
        if applies:
            needed.add((rule.certificate_type_id, rule.item_id if rule.scope == "item" else None))
    return needed


@dataclass(frozen=True)
class ObligationHistory:
    """One obligation of a supplier site and the stretches of days a valid certificate
    met it: (first day, last day or None for no end), merged and in order."""

    site: Site | None
    type: CertificateType
    item_id: uuid.UUID | None
    valid: list[tuple[date, date | None]]
    certificates: list[str]  # the numbers of the certificates that met it

    def valid_days(self, start: date, end: date) -> int:
        """Days from `start` (inclusive) to `end` (exclusive) a valid certificate met it."""
        total = 0
        for first, last in self.valid:
            stop = end if last is None else min(end, last + timedelta(days=1))
            total += max(0, (stop - max(start, first)).days)
        return total


def obligation_histories(uow, *, supplier_ids, as_of: date) -> dict[uuid.UUID, list[ObligationHistory]]:
    """Each supplier site's obligations (the requirement matrix and approved supplier list
    as they are on `as_of`: neither keeps a history) with the days each was met. A
    certificate meets an obligation from its validity start or its approval, whichever is
    later, to its expiry; renewed (superseded) certificates count for the days they
    covered. No permission of its own: the caller's operation checks one (scoring)."""
    supplier_ids = list(dict.fromkeys(supplier_ids))
    rules = list(uow.session.scalars(sa.select(CertificateRequirement)))
    types = certificates.types_by_id(uow, active_only=True)
    entries = _approved_entries(uow, supplier_ids)
    item_ids = {r.item_id for r in rules if r.item_id} | {e.item_id for es in entries.values() for e in es if e.item_id}
    item_categories = items.categories_of(uow, item_ids=item_ids)
    held = _by_supplier(certificates.certificates_of(uow, supplier_ids=supplier_ids, today=as_of, include_superseded=True))
    sites = tenants.sites_by_supplier(uow, supplier_ids=supplier_ids)
    result: dict[uuid.UUID, list[ObligationHistory]] = {}
    for supplier_id in supplier_ids:
        mine = [v for v in held.get(supplier_id, []) if v.certificate.status in ("approved", "superseded")]
        found = []
        for site in sites.get(supplier_id) or [None]:
            site_id = site.id if site is not None else None
            for type_id, item_id in _needed(site_id, rules, types, entries.get(supplier_id, []), item_categories):
                covering = [
                    v
                    for v in mine
                    if v.certificate.certificate_type_id == type_id
                    and (site_id is None or not v.site_ids or site_id in v.site_ids)
                    and (item_id is None or not v.item_ids or item_id in v.item_ids)
                ]
                found.append(
                    ObligationHistory(
                        site, types[type_id], item_id, merged_stretches(covering), sorted(v.certificate.number for v in covering)
                    )
                )
        found.sort(key=lambda o: (o.type.name, o.site.name if o.site else ""))
        result[supplier_id] = found
    return result


def merged_stretches(views) -> list[tuple[date, date | None]]:
    stretches = []
    for view in views:
        cert = view.certificate
        approved = (cert.reviewed_at or cert.created_at).date() if (cert.reviewed_at or cert.created_at) else cert.valid_from
        first = max(cert.valid_from, approved)
        if cert.expires_on is not None and cert.expires_on < first:
            continue
        stretches.append((first, cert.expires_on))
    stretches.sort(key=lambda s: s[0])
    merged: list[tuple[date, date | None]] = []
    for first, last in stretches:
        if merged:
            prev_first, prev_last = merged[-1]
            if prev_last is None or first <= prev_last + timedelta(days=1):
                merged[-1] = (prev_first, None if prev_last is None or last is None else max(prev_last, last))
                continue
        merged.append((first, last))
    return merged


def _approved_entries(uow, supplier_ids) -> dict[uuid.UUID, list[ApprovedSource]]:
    """Entries that let the supplier supply (a disqualified one needs no certificates:
    it gets no orders)."""
    rows = uow.session.scalars(
        sa.select(ApprovedSource).where(ApprovedSource.supplier_id.in_(supplier_ids), ApprovedSource.status != "disqualified")
    )
    found: dict[uuid.UUID, list[ApprovedSource]] = {}
    for row in rows:
        found.setdefault(row.supplier_id, []).append(row)
    return found


def _by_supplier(views: list[CertificateView]) -> dict[uuid.UUID, list[CertificateView]]:
    found: dict[uuid.UUID, list[CertificateView]] = {}
    for view in views:
        found.setdefault(view.certificate.supplier_id, []).append(view)
    return found


def _best_held(held, type_id, *, item_id=None, site_id=None) -> CertificateView | None:
    """The supplier's best certificate of the type that covers the site and the item (a
    certificate naming no sites or no items covers them all)."""
    covering = [
        view
        for view in held
        if view.certificate.certificate_type_id == type_id
        and (site_id is None or not view.site_ids or site_id in view.site_ids)
        and (item_id is None or not view.item_ids or item_id in view.item_ids)
    ]
    return min(covering, key=lambda view: certificates.rank(view.state), default=None)


def _require_reader(actor) -> None:
    """The tenant's people read the matrix and standings with suppliers.view; a supplier's
    people, their own, with cert.upload."""
    require(actor, "suppliers.view" if actor.supplier_id is None else "cert.upload")


# --- orders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """A certificate an order's supplier lacks for the order's items."""

    type: CertificateType
    item_id: uuid.UUID | None
    state: str


def order_gaps(uow, *, supplier_id: uuid.UUID, item_ids, today: date | None = None) -> list[Gap]:
    """Requirements that apply to this supplier supplying these items (every supplier,
    the items' categories, the items) without a valid certificate of the supplier that
    covers the item. Site requirements are checked on the site's standing, not here: an
    order does not name the supplier's shipping site."""
    today = today or utcnow().date()
    item_ids = {i for i in item_ids if i is not None}
    categories = items.categories_of(uow, item_ids=item_ids)
    rules = uow.session.scalars(
        sa.select(CertificateRequirement).where(
            sa.or_(
                CertificateRequirement.scope == "all",
                CertificateRequirement.category.in_(set(categories.values())),
                CertificateRequirement.item_id.in_(item_ids),
            )
        )
    ).all()
    if not rules:
        return []
    types = certificates.types_by_id(uow, active_only=True)
    held = certificates.certificates_of(uow, supplier_ids=[supplier_id], today=today)
    gaps, seen = [], set()
    for rule in rules:
        if rule.certificate_type_id not in types:
            continue
        targets = (
            [rule.item_id]
            if rule.scope == "item"
            else [i for i, c in categories.items() if rule.scope == "all" or c == rule.category]
        )
        for item_id in targets or [None]:
            key = (rule.certificate_type_id, item_id)
            if key in seen:
                continue
            seen.add(key)
            best = _best_held(held, rule.certificate_type_id, item_id=item_id)
            if best is None or not certificates.counts_as_valid(best.state):
                gaps.append(Gap(types[rule.certificate_type_id], item_id, best.state if best else "missing"))
    return gaps
