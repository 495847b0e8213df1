"""Revisions of items with the day each takes effect (ISO 13485 §7.3.9 design change
control, §4.2.3 medical device file).

An item has a history of revisions, each with its code ("A", "B", "01"), the day it takes
effect, what changed, and who recorded it when. On any day exactly one revision is in
effect: the one with the latest effective_from on or before that day. A new revision
takes effect today or later (never in the past) and after every revision the item
already has; revision codes are unique per item. The history is a record: a revision is
never changed, and only one that has not yet taken effect (a scheduled one) may be
cancelled. Creating an item gives it its first revision, effective from the day it is
created (erp.items.service.create_item).

Days are counted in UTC (kernel.clock), as everywhere in the services.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from auth.permissions import require
from erp.items.errors import ItemNotFound, RevisionInEffect, RevisionNotFound
from erp.items.models import Item, ItemRevision
from kernel.clock import today
from kernel.errors import N_, REQUIRED, TOO_LONG, ValidationFailed

INITIAL_REVISION = "A"
INITIAL_DESCRIPTION = "Initial release"  # stored as data, like the migration's backfill
MAX_REVISION = ItemRevision.__table__.c.revision.type.length
MAX_DESCRIPTION = 2000
# Revision codes as drawings and labels carry them; kept in capitals, so "b" is "B".
REVISION_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")
REVISION_CONSTRAINT = "uq_item_revision_tenant_id_item_id_revision"
DATE_CONSTRAINT = "uq_item_revision_tenant_id_item_id_effective_from"

IN_EFFECT, SUPERSEDED, SCHEDULED = "in_effect", "superseded", "scheduled"

CODE = N_("Use letters, digits and . _ - only, starting with a letter or digit.")
DUPLICATE = N_("This item already has a revision with this code.")
DATE = N_("Enter a date.")
BACKDATED = N_("A revision cannot take effect in the past. Choose today or a later date.")
NOT_AFTER_LATEST = N_(
    "A new revision must take effect after the item's latest revision. Choose a later date than that revision's."
)


def checked_code(value) -> tuple[str | None, str | None]:
    """A revision code as stored (trimmed, in capitals) and None; or None and the message
    saying what is wrong with it."""
    code = (value or "").strip().upper() if isinstance(value, str) or value is None else None
    if code is None:
        return None, CODE
    if not code:
        return None, REQUIRED
    if len(code) > MAX_REVISION:
        return None, TOO_LONG
    if not REVISION_CODE.fullmatch(code):
        return None, CODE
    return code, None


def first_revision(actor, *, item_id: uuid.UUID, revision: str) -> ItemRevision:
    """The revision a new item starts with (its code already checked with checked_code):
    in effect from today, the day the item is created. The caller adds it."""
    return ItemRevision(
        item_id=item_id,
        revision=revision,
        effective_from=today(),
        description=INITIAL_DESCRIPTION,
        created_by=actor.user_id,
    )


def add_revision(
    uow, actor, *, item_id: uuid.UUID, revision: str, effective_from: date | str | None, description: str
) -> ItemRevision:
    """Schedule a new revision of the item (or put it in effect today). Every bad field
    is named at once (ValidationFailed); nothing is written then."""
    require(actor, "items.manage")
    # Locked: two revisions added at once are checked one after the other.
    item = uow.scalar(sa.select(Item).where(Item.id == item_id).with_for_update())
    if item is None:
        raise ItemNotFound()
    errors: dict[str, str] = {}
    code, message = checked_code(revision)
    if message:
        errors["revision"] = message
    text = (description or "").strip() if isinstance(description, str) or description is None else ""
    if not text:
        errors["description"] = REQUIRED
    elif len(text) > MAX_DESCRIPTION:
        errors["description"] = TOO_LONG
    when = _date(effective_from, errors)
    if code is not None and uow.scalar(
        sa.select(sa.literal(True)).where(ItemRevision.item_id == item.id, ItemRevision.revision == code)
    ):
        errors["revision"] = DUPLICATE
    if when is not None:
        latest = uow.scalar(sa.select(sa.func.max(ItemRevision.effective_from)).where(ItemRevision.item_id == item.id))
        if latest is not None and when <= latest:
            errors["effective_from"] = NOT_AFTER_LATEST
    if errors:
        raise ValidationFailed(errors=errors)
    row = ItemRevision(item_id=item.id, revision=code, effective_from=when, description=text, created_by=actor.user_id)
    try:
        # The unique constraints decide in the end; inside a savepoint the transaction
        # stays usable when they refuse.
        with uow.session.begin_nested():
            uow.add(row)
            uow.flush()
    except sa.exc.IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        if constraint == REVISION_CONSTRAINT:
            raise ValidationFailed(errors={"revision": DUPLICATE}) from exc
        if constraint == DATE_CONSTRAINT:
            raise ValidationFailed(errors={"effective_from": NOT_AFTER_LATEST}) from exc
        raise
    return row


def _date(value, errors: dict[str, str]) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors["effective_from"] = REQUIRED
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date) or hasattr(value, "hour"):  # a datetime is not a day
        errors["effective_from"] = DATE
        return None
    if value < today():
        errors["effective_from"] = BACKDATED
        return None
    return value


def cancel_revision(uow, actor, *, revision_id: uuid.UUID) -> ItemRevision:
    """Cancel (delete) a revision that has not yet taken effect; the audit trail keeps it.
    One in effect or superseded raises RevisionInEffect."""
    require(actor, "items.manage")
    row = uow.scalar(sa.select(ItemRevision).where(ItemRevision.id == revision_id))
    if row is None:
        raise RevisionNotFound()
    # The item's lock orders this against revisions being added.
    uow.scalar(sa.select(Item.id).where(Item.id == row.item_id).with_for_update())
    if row.effective_from <= today():
        raise RevisionInEffect(revision=row.revision)
    delete = sa.delete(ItemRevision).where(ItemRevision.id == row.id).execution_options(synchronize_session=False)
    deleted = uow.execute(delete).rowcount
    if deleted != 1:
        # The database's policy refused it: the day turned between the check and the delete.
        raise RevisionInEffect(revision=row.revision)
    uow.session.expunge(row)
    return row


def get_revision(uow, *, revision_id: uuid.UUID) -> ItemRevision:
    """One revision of the tenant in context (RevisionNotFound otherwise)."""
    _may_read(uow.actor)
    row = uow.scalar(sa.select(ItemRevision).where(ItemRevision.id == revision_id))
    if row is None:
        raise RevisionNotFound()
    return row


def list_revisions(uow, *, item_id: uuid.UUID) -> list[ItemRevision]:
    """The item's revisions, oldest first (ItemNotFound for an item not in the tenant)."""
    _may_read(uow.actor)
    _visible(uow, item_id)
    stmt = sa.select(ItemRevision).where(ItemRevision.item_id == item_id).order_by(ItemRevision.effective_from)
    return list(uow.session.scalars(stmt))


def revision_in_effect(uow, *, item_id: uuid.UUID, on: date) -> ItemRevision | None:
    """The revision in effect on the day `on`; None before the first one."""
    _may_read(uow.actor)
    _visible(uow, item_id)
    stmt = (
        sa.select(ItemRevision)
        .where(ItemRevision.item_id == item_id, ItemRevision.effective_from <= on)
        .order_by(ItemRevision.effective_from.desc())
        .limit(1)
    )
    return uow.scalar(stmt)


def current_revisions(uow, *, item_ids: Iterable[uuid.UUID], on: date) -> dict[uuid.UUID, ItemRevision]:
    """The revision in effect on `on` of each of the items that has one, by item id (one
    query; for lists). Items not in the tenant are simply absent."""
    _may_read(uow.actor)
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    wanted = sa.bindparam("item_ids", ids, type_=postgresql.ARRAY(postgresql.UUID(as_uuid=True)))
    stmt = (
        sa.select(ItemRevision)
        .where(ItemRevision.item_id == sa.any_(wanted), ItemRevision.effective_from <= on)
        .ext(postgresql.distinct_on(ItemRevision.item_id))
        .order_by(ItemRevision.item_id, ItemRevision.effective_from.desc())
    )
    return {row.item_id: row for row in uow.session.scalars(stmt)}


def states(revisions: Iterable[ItemRevision], *, on: date) -> dict[uuid.UUID, str]:
    """Each revision's state on the day `on`, by id: the one in effect, those it
    superseded, and those scheduled to take effect later."""
    ordered = sorted(revisions, key=lambda r: r.effective_from)
    past = [r for r in ordered if r.effective_from <= on]
    result = {r.id: SUPERSEDED for r in past[:-1]}
    if past:
        result[past[-1].id] = IN_EFFECT
    result.update({r.id: SCHEDULED for r in ordered if r.effective_from > on})
    return result


def _may_read(actor) -> None:
    # items.view; or items.manage (an API client may hold only that, and reads back the
    # item it creates with its revision).
    if "items.manage" not in actor.permissions:
        require(actor, "items.view")


def _visible(uow, item_id: uuid.UUID) -> None:
    if uow.scalar(sa.select(Item.id).where(Item.id == item_id)) is None:
        raise ItemNotFound()
