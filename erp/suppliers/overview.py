"""What the buyer's supplier pages show beside the list itself: every supplier with its
number of sites and how many entries of the approved supplier list it has per status,
a supplier's sites, and the names of the people who changed an entry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from auth.models import User
from auth.permissions import require
from erp.suppliers.models import ApprovedSource
from erp.suppliers.service import get_supplier
from tenants import service as tenants
from tenants.models import Organisation, Site


@dataclass(frozen=True)
class SupplierSummary:
    supplier: Organisation
    sites: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # status -> entries with it


def supplier_summaries(uow, actor) -> list[SupplierSummary]:
    """The tenant's suppliers by name (for a supplier user: its own company only)."""
    require(actor, "suppliers.view")
    suppliers = tenants.list_suppliers(uow)
    sites = dict(
        uow.execute(
            sa.select(Site.supplier_id, sa.func.count()).where(Site.supplier_id.is_not(None)).group_by(Site.supplier_id)
        ).all()
    )
    statuses: dict[uuid.UUID, dict[str, int]] = {}
    counted = uow.execute(
        sa.select(ApprovedSource.supplier_id, ApprovedSource.status, sa.func.count()).group_by(
            ApprovedSource.supplier_id, ApprovedSource.status
        )
    ).all()
    for supplier_id, status, count in counted:
        statuses.setdefault(supplier_id, {})[status] = count
    return [SupplierSummary(supplier=s, sites=sites.get(s.id, 0), statuses=statuses.get(s.id, {})) for s in suppliers]


def sites_of(uow, actor, *, supplier_id: uuid.UUID) -> list[Site]:
    """A supplier's sites by name."""
    require(actor, "suppliers.view")
    supplier = get_supplier(uow, supplier_id=supplier_id)
    return tenants.sites_of(uow, supplier_id=supplier.id)


def people_names(uow, *, ids) -> dict[uuid.UUID, str]:
    """The names of the people who made changes (those the caller may see)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {
        uid: name or email
        for uid, name, email in uow.execute(sa.select(User.id, User.full_name, User.email).where(User.id.in_(ids)))
    }
