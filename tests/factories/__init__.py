"""Factory functions for test data, built through the services (no raw inserts)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from biip.checksums import gs1_standard_check_digit

from auth import service as auth_service
from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from kernel.uow import Actor
from tenants import service as tenants
from tenants.models import Site
from tenants.service import actor_for, memberships_of

PASSWORD = "correct-horse-battery-staple-42"
_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_seq)}"


def gtin() -> str:
    """A valid GTIN-14 nobody else uses (GS1 prefix 950, random item reference)."""
    body = "0950" + f"{uuid.uuid4().int % 10**9:09d}"
    return body + str(gs1_standard_check_digit(body))


@dataclass
class TenantWorld:
    tenant_id: object
    slug: str
    suppliers: list = field(default_factory=list)  # two supplier organisations
    users: dict = field(default_factory=dict)  # role or supplier code -> User
    items: list = field(default_factory=list)
    purchase_orders: list = field(default_factory=list)


def make_user(uow, *, email: str | None = None, locale: str = "en"):
    email = email or f"{unique('user')}@example.test"
    return auth_service.create_user(uow, email=email, full_name=email.split("@")[0].title(), password=PASSWORD, locale=locale)


def make_item(uow, **kw) -> Item:
    item = Item(
        part_number=kw.pop("part_number", unique("P-")),
        name=kw.pop("name", "Part"),
        category=kw.pop("category", "component"),
        uom=kw.pop("uom", "EA"),
        **kw,
    )
    uow.add(item)
    uow.flush()
    return item


def make_purchase_order(uow, *, supplier, item, quantity: str = "100", price: str = "1.50") -> PurchaseOrder:
    po = PurchaseOrder(
        number=tenants.next_number(uow, name="PO", prefix="PO", year=2026),
        supplier_id=supplier.id,
        status="issued",
        currency="EUR",
        order_date=date(2026, 11, 1),
    )
    uow.add(po)
    uow.flush()
    uow.add(
        PurchaseOrderLine(
            purchase_order_id=po.id,
            supplier_id=supplier.id,
            line_no=10,
            item_id=item.id,
            quantity=Decimal(quantity),
            uom=item.uom,
            unit_price=Decimal(price),
            requested_date=date(2026, 12, 15),
        )
    )
    uow.flush()
    return po


def make_tenant_world(uow, *, slug: str | None = None) -> TenantWorld:
    """A tenant with two suppliers, a user per buyer-side role, a supplier admin per
    supplier, an item and a purchase order per supplier."""
    slug = slug or unique("t")
    tenant = tenants.create_tenant(uow, slug=slug, name=f"Tenant {slug}", name_zh=f"租户 {slug}")
    world = TenantWorld(tenant_id=tenant.id, slug=slug)
    for role in ("tenant_admin", "buyer", "quality", "warehouse", "viewer"):
        user = make_user(uow, email=f"{role}.{slug}@example.test")
        tenants.add_membership(uow, user=user, role=role)
        world.users[role] = user
    for n in (1, 2):
        supplier = tenants.create_supplier(uow, code=f"S{n}", name=f"Supplier {n} of {slug}")
        tenants.create_site(uow, organisation=supplier, name=f"Site {n}", kind="manufacturing")
        user = make_user(uow, email=f"supplier{n}.{slug}@example.test")
        tenants.add_membership(uow, user=user, role="supplier_admin", organisation=supplier)
        world.suppliers.append(supplier)
        world.users[f"supplier{n}"] = user
        item = make_item(uow)
        world.items.append(item)
        world.purchase_orders.append(make_purchase_order(uow, supplier=supplier, item=item))
    return world


def actor_in(uow, world: TenantWorld, who: str) -> Actor:
    """The Actor for a world's user (a role name or 'supplier1'/'supplier2')."""
    user = world.users[who]
    uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
    membership = next(m for m in memberships_of(uow, user_id=user.id) if m.tenant_id == world.tenant_id)
    return actor_for(user, membership)


def site_of(uow, supplier) -> uuid.UUID:
    """The id of the site a world's supplier (an Organisation) was made with."""
    return uow.scalar(sa.select(Site.id).where(Site.supplier_id == supplier.id))
