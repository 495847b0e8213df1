"""Cold-chain test data: an item with storage conditions, a lot of it in stock (as
receiving leaves it), a logger bound to it, and batches of readings every `step`
minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from erp.coldchain import readings as ingesting
from erp.coldchain import service as coldchain
from kernel.clock import utcnow
from tests.erp.receiving.receiving_support import item, people, receive
from tests.factories import unique

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def who(tx, world) -> dict:
    return people(tx, world)


def call(tx, world, actor, fn, **kw):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        result = fn(uow, actor, **kw)
        uow.commit()
        return result


def rows(tx, world, model, *where, order=None):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        query = sa.select(model).where(*where)
        if order is not None:
            query = query.order_by(order)
        found = list(uow.session.scalars(query))
        uow.session.expunge_all()
        return found


def cold_lot(tx, world, people_, *, minutes: int = 30, cumulative: int = 0, max_mkt=None, gap: int = 60, humidity=(None, None)):
    """A vaccine-like item kept at 2-8 °C, a lot of 100 of it received into quarantine.
    Returns (received, condition)."""
    quality = people_["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        thing = item(uow, category="component")
        condition = coldchain.save_storage_condition(
            uow, quality, item_id=thing.id, min_temperature="2", max_temperature="8", excursion_minutes=minutes,
            cumulative_minutes=cumulative, max_mkt=max_mkt, gap_minutes=gap, min_humidity=humidity[0], max_humidity=humidity[1],
        )
        received = receive(uow, quality, supplier=world.suppliers[0], item_id=thing.id)
        uow.commit()
        uow.session.expunge_all()
    return received, condition


def logger(tx, world, actor, code: str | None = None):
    return call(tx, world, actor, coldchain.register_logger, code=code or unique("LOG-"), name="Fridge logger")


def bind_lot(tx, world, actor, logger_, lot, *, starts_at=T0, ends_at=None):
    return call(
        tx, world, actor, coldchain.bind_logger, logger_id=logger_.id, kind="lot", target_id=lot.id, starts_at=starts_at,
        ends_at=ends_at,
    )


def series(temperatures, *, start=T0, step: int = 10, humidity=None):
    """Readings every `step` minutes from `start`."""
    return [
        (start + timedelta(minutes=step * n), t, humidity[n] if humidity else None) for n, t in enumerate(temperatures)
    ]


def send(tx, world, actor, logger_, readings, *, key=None, now=None):
    return call(
        tx, world, actor, ingesting.ingest, logger_code=logger_.code, key=key or unique("B-"), readings=readings,
        now=now or utcnow(),
    )
