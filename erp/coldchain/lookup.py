"""Finding what people type on the cold-chain screens: the ASN number, SSCC, location
code or lot number a logger is bound to, and the items to set conditions for."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from erp.inventory.models import Location, Lot
from erp.items.models import Item
from erp.shipping.models import Asn, AsnPackage


def target_by_name(uow, *, kind: str, text: str) -> uuid.UUID | None:
    """The id of what `text` names for a binding of `kind` (an id is taken as it is);
    None when nothing, or more than one lot, has that name."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    if kind == "asn":
        query = sa.select(Asn.id).where(Asn.number == text)
    elif kind == "package":
        query = sa.select(AsnPackage.id).where(AsnPackage.sscc == text.removeprefix("(00)"))
    elif kind == "location":
        query = sa.select(Location.id).where(Location.code == text)
    elif kind == "lot":
        query = sa.select(Lot.id).where(Lot.number == text)
    else:
        return None
    found = list(uow.session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


def items_for_conditions(uow) -> list[Item]:
    return list(uow.session.scalars(sa.select(Item).order_by(Item.part_number).limit(2000)))
