"""The tenant's purchasing rules: one `purchasing_setting` row, made on first change."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from erp.purchasing.models import PurchasingSetting


def save(uow, **values) -> None:
    """Set some of the rules; the row is created if missing. An upsert: two people
    saving the tenant's first rules at once both succeed, the later one winning."""
    stmt = insert(PurchasingSetting).values(**values)
    uow.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_={**values, "updated_at": sa.func.now()}))
