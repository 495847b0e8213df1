"""The tenant's shipping rules: one `shipping_setting` row, made on first change."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from auth.permissions import require
from erp.shipping.models import ShippingSetting
from kernel.errors import N_, ValidationFailed

OVER_DELIVERY = N_("Enter a percentage from 0 to 100.")
SHELF_LIFE = N_("Enter a number of days from 0 to 3650.")


@dataclass(frozen=True)
class ShippingRules:
    over_delivery_pct: Decimal = Decimal(0)
    min_shelf_life_days: int = 0


def rules(uow) -> ShippingRules:
    row = uow.session.execute(sa.select(ShippingSetting.over_delivery_pct, ShippingSetting.min_shelf_life_days)).first()
    return ShippingRules(*row) if row else ShippingRules()


def save_rules(uow, actor, *, over_delivery_pct, min_shelf_life_days) -> ShippingRules:
    """Set the tolerance above the open PO quantity and the shelf life a lot must have
    left on arrival. An upsert: the later of two first saves wins."""
    require(actor, "po.manage")
    errors = {}
    try:
        pct = Decimal(str(over_delivery_pct).strip())
        if not pct.is_finite() or not 0 <= pct <= 100 or pct != round(pct, 2):
            raise ValueError
    except (ArithmeticError, ValueError):
        errors["over_delivery_pct"] = OVER_DELIVERY
    try:
        days = int(str(min_shelf_life_days).strip())
        if not 0 <= days <= 3650:
            raise ValueError
    except ValueError:
        errors["min_shelf_life_days"] = SHELF_LIFE
    if errors:
        raise ValidationFailed(errors=errors)
    values = {"over_delivery_pct": pct, "min_shelf_life_days": days}
    stmt = insert(ShippingSetting).values(**values)
    uow.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_={**values, "updated_at": sa.func.now()}))
    return ShippingRules(pct, days)
