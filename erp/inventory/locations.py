"""Locations: where stock stands at the tenant's sites. Receiving needs one at every site
goods arrive at, so `receiving_location` makes a default one the first time a site
receives, and a warehouse that never set up locations can still scan its first truck."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from auth.permissions import require, require_any
from erp.inventory.models import LOCATION_KINDS, Location
from kernel.errors import N_, REQUIRED, ValidationFailed, checked_text
from tenants.models import Site

CODE_MAX = 40
NAME_MAX = 200
CODE_TAKEN = N_("A location with this code exists already.")
UNKNOWN_KIND = N_("Choose a kind of location.")
UNKNOWN_SITE = N_("Choose one of your sites.")
RECEIVING_PREFIX = "RECEIVING-"


def list_locations(uow, actor, *, site_id: uuid.UUID | None = None, kind: str | None = None) -> list[Location]:
    """The tenant's locations by code, of one site and kind when given."""
    require_any(actor, "stock.view", "receipt.scan", "stock.move")
    stmt = sa.select(Location)
    if site_id is not None:
        stmt = stmt.where(Location.site_id == site_id)
    if kind is not None:
        stmt = stmt.where(Location.kind == kind)
    return list(uow.session.scalars(stmt.order_by(Location.code)))


def create_location(
    uow, actor, *, code: str, name: str | None = None, site_id: uuid.UUID | None = None, kind: str = "storage"
) -> Location:
    """A new location; its code is unique in the tenant (it is what a label says)."""
    require(actor, "stock.move")
    errors: dict[str, str] = {}
    code = checked_text(code, CODE_MAX, "code", errors, required=True)
    name = checked_text(name, NAME_MAX, "name", errors)
    if kind not in LOCATION_KINDS:
        errors["kind"] = UNKNOWN_KIND
    if site_id is not None and uow.scalar(sa.select(Site.id).where(Site.id == site_id, Site.supplier_id.is_(None))) is None:
        errors["site_id"] = UNKNOWN_SITE
    if code and "code" not in errors and _code_taken(uow, code.upper()):
        errors["code"] = CODE_TAKEN
    if errors:
        raise ValidationFailed(errors=errors)
    return _add(uow, code=code.upper(), name=name or code, site_id=site_id, kind=kind)


def receiving_location(uow, site_id: uuid.UUID) -> Location:
    """The site's receiving location, made as "RECEIVING-<site name>" the first time the
    site receives. Internal to receiving (the caller has checked its permission)."""
    if site_id is None:
        raise ValidationFailed(errors={"site_id": REQUIRED})
    found = uow.scalar(
        sa.select(Location)
        .where(Location.site_id == site_id, Location.kind == "receiving")
        .order_by(Location.created_at, Location.id)
        .limit(1)
    )
    if found is not None:
        return found
    site = uow.scalar(sa.select(Site).where(Site.id == site_id, Site.supplier_id.is_(None)))
    if site is None:
        raise ValidationFailed(errors={"site_id": UNKNOWN_SITE})
    code = (RECEIVING_PREFIX + "-".join(site.name.upper().split()))[:CODE_MAX]
    if _code_taken(uow, code):  # two sites of one name: the site id tells them apart
        code = f"{code[: CODE_MAX - 9]}-{site.id.hex[-8:].upper()}"
    return _add(uow, code=code, name=site.name, site_id=site.id, kind="receiving")


def _code_taken(uow, code: str) -> bool:
    return uow.scalar(sa.select(Location.id).where(sa.func.upper(Location.code) == code)) is not None


def _add(uow, **values) -> Location:
    location = Location(**values)
    uow.add(location)
    uow.flush()
    return location
