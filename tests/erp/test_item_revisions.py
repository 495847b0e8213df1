"""Item revisions with effective dates: the first one on create, the one in effect on a
day, scheduling, the refusals (back-dating, duplicate codes, dates not after the
latest), cancelling scheduled ones only, other tenants, who may, and imports."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from audit.models import Event
from erp.items import imports
from erp.items.errors import ItemNotFound, RevisionInEffect, RevisionNotFound
from erp.items.models import Item, ItemRevision
from erp.items.revisions import (
    BACKDATED,
    CODE,
    DATE,
    DUPLICATE,
    IN_EFFECT,
    NOT_AFTER_LATEST,
    REQUIRED,
    SCHEDULED,
    SUPERSEDED,
    add_revision,
    cancel_revision,
    current_revisions,
    list_revisions,
    revision_in_effect,
    states,
    today,
)
from erp.items.service import create_item
from kernel.errors import Forbidden, ValidationFailed
from tests.factories import actor_in, unique

GOOD = {"name": "Luer lock connector", "category": "component", "uom": "EA"}


@pytest.fixture
def buyer(tx, world):
    with tx.uow() as lookup:
        return actor_in(lookup, world, "buyer")


def new_item(tx, world, actor, **kw) -> Item:
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=unique("REV-"), **GOOD, **kw)
        uow.commit()
    return item


def add(tx, world, actor, item, revision, days, description="Tighter tolerance on the bore"):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        row = add_revision(
            uow, actor, item_id=item.id, revision=revision, effective_from=today() + timedelta(days=days), description=description
        )
        uow.commit()
    return row


def refused(tx, world, actor, item, **kw) -> dict[str, str]:
    values = {"revision": "Z", "effective_from": today() + timedelta(days=50), "description": "A change"} | kw
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(ValidationFailed) as info:
            add_revision(uow, actor, item_id=item.id, **values)
        assert codes(uow, item) == ["A"]  # nothing written
    return info.value.errors


def codes(uow, item) -> list[str]:
    return [r.revision for r in list_revisions(uow, item_id=item.id)]


# --- the first revision -------------------------------------------------------------------------


def test_a_new_item_starts_with_revision_a_in_effect_today(tx, world, buyer):
    item = new_item(tx, world, buyer)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        (first,) = list_revisions(uow, item_id=item.id)
        assert revision_in_effect(uow, item_id=item.id, on=today()).id == first.id
        assert (first.revision, first.effective_from, first.description) == ("A", today(), "Initial release")
        assert first.created_by == buyer.user_id and first.tenant_id == world.tenant_id


def test_the_first_revision_code_can_be_given(tx, world, buyer):
    item = new_item(tx, world, buyer, revision=" 01 ")
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        assert codes(uow, item) == ["01"]


def test_a_bad_first_revision_code_is_named_with_the_other_errors_and_nothing_is_created(tx, world, buyer):
    part = unique("REV-")
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        with pytest.raises(ValidationFailed) as info:
            create_item(uow, buyer, part_number=part, name=" ", category="component", uom="EA", revision="A B")
        assert info.value.errors == {"name": REQUIRED, "revision": CODE}
        with pytest.raises(ValidationFailed) as only:
            create_item(uow, buyer, part_number=part, **GOOD, revision="X" * 11)
        assert set(only.value.errors) == {"revision"}
        assert uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == part)) == 0


# --- which revision is in effect ------------------------------------------------------------------


def test_the_revision_in_effect_before_between_and_after(tx, world, buyer):
    item = new_item(tx, world, buyer)
    add(tx, world, buyer, item, "B", 10)
    add(tx, world, buyer, item, "C", 20)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:

        def on(days: int) -> str | None:
            found = revision_in_effect(uow, item_id=item.id, on=today() + timedelta(days=days))
            return found.revision if found else None

        assert [on(-1), on(0), on(9), on(10), on(19), on(20), on(400)] == [None, "A", "A", "B", "B", "C", "C"]
        other = new_item(tx, world, buyer)
        bulk = current_revisions(uow, item_ids=[item.id, other.id, uuid.uuid4()], on=today() + timedelta(days=15))
        assert {k: v.revision for k, v in bulk.items()} == {item.id: "B", other.id: "A"}
        assert current_revisions(uow, item_ids=[], on=today()) == {}


def test_states_on_a_day():
    a, b, c, d = (ItemRevision(id=uuid.uuid4(), effective_from=date(2026, 1, n)) for n in (1, 5, 9, 20))
    assert states([c, a, d, b], on=date(2026, 1, 9)) == {a.id: SUPERSEDED, b.id: SUPERSEDED, c.id: IN_EFFECT, d.id: SCHEDULED}
    assert states([a, b], on=date(2025, 12, 31)) == {a.id: SCHEDULED, b.id: SCHEDULED}


def test_a_revision_can_be_scheduled_and_takes_effect_on_its_day(tx, world, buyer):
    item = new_item(tx, world, buyer)
    row = add(tx, world, buyer, item, " b ", 30, description="  New supplier moulding  ")
    assert (row.revision, row.effective_from, row.description) == ("B", today() + timedelta(days=30), "New supplier moulding")
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        assert revision_in_effect(uow, item_id=item.id, on=today()).revision == "A"
        assert revision_in_effect(uow, item_id=item.id, on=row.effective_from).revision == "B"
        events = uow.session.scalars(
            sa.select(Event.action).where(Event.table_name == "item_revision", Event.row_id == str(row.id))
        ).all()
    assert events == ["I"]


def test_an_item_created_earlier_may_get_a_revision_effective_today(tx, world, buyer):
    item = world.items[0]  # made without revisions (the factory writes the row itself)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        row = add_revision(uow, buyer, item_id=item.id, revision="B", effective_from=today().isoformat(), description="Change")
        assert revision_in_effect(uow, item_id=item.id, on=today()).id == row.id


# --- refusals -------------------------------------------------------------------------------------


def test_back_dating_is_refused(tx, world, buyer):
    item = new_item(tx, world, buyer)
    errors = refused(tx, world, buyer, item, effective_from=today() - timedelta(days=1))
    assert errors == {"effective_from": BACKDATED}


def test_a_duplicate_code_is_refused(tx, world, buyer):
    item = new_item(tx, world, buyer)
    assert refused(tx, world, buyer, item, revision="a") == {"revision": DUPLICATE}


@pytest.mark.parametrize("days", [0, 10])
def test_a_date_not_after_the_latest_revision_is_refused(tx, world, buyer, days):
    item = new_item(tx, world, buyer)
    if days:
        add(tx, world, buyer, item, "B", days)
        with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
            with pytest.raises(ValidationFailed) as info:
                add_revision(
                    uow, buyer, item_id=item.id, revision="C", effective_from=today() + timedelta(days=5), description="x"
                )
            assert codes(uow, item) == ["A", "B"]
        assert info.value.errors == {"effective_from": NOT_AFTER_LATEST}
    else:
        assert refused(tx, world, buyer, item, effective_from=today()) == {"effective_from": NOT_AFTER_LATEST}


def test_every_bad_field_is_named_at_once(tx, world, buyer):
    item = new_item(tx, world, buyer)
    errors = refused(tx, world, buyer, item, revision="", effective_from="31.12.2099", description="   ")
    assert errors == {"revision": REQUIRED, "effective_from": DATE, "description": REQUIRED}
    errors = refused(tx, world, buyer, item, revision="B/1", effective_from=None, description="x" * 2001)
    assert set(errors) == {"revision", "effective_from", "description"} and errors["revision"] == CODE


def test_a_revision_of_an_unknown_item_is_not_found(tx, world, buyer):
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow, pytest.raises(ItemNotFound):
        add_revision(uow, buyer, item_id=uuid.uuid4(), revision="B", effective_from=today(), description="x")


# --- cancelling -----------------------------------------------------------------------------------


def test_a_scheduled_revision_is_cancelled_and_the_trail_keeps_it(tx, world, buyer):
    item = new_item(tx, world, buyer)
    row = add(tx, world, buyer, item, "B", 7)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer, reason="Item revision cancelled") as uow:
        cancel_revision(uow, buyer, revision_id=row.id)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        assert codes(uow, item) == ["A"]
        events = uow.execute(
            sa.select(Event.action, Event.old_values, Event.reason)
            .where(Event.table_name == "item_revision", Event.row_id == str(row.id))
            .order_by(Event.id)
        ).all()
        # The code can be used again, on the same day.
        add_revision(uow, buyer, item_id=item.id, revision="B", effective_from=row.effective_from, description="Again")
    assert [e.action for e in events] == ["I", "D"]
    assert events[1].old_values["revision"] == "B" and events[1].reason == "Item revision cancelled"


def test_a_revision_in_effect_cannot_be_cancelled(tx, world, buyer):
    item = new_item(tx, world, buyer)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        (first,) = list_revisions(uow, item_id=item.id)
        with pytest.raises(RevisionInEffect) as info:
            cancel_revision(uow, buyer, revision_id=first.id)
        assert info.value.status == 409 and info.value.params == {"revision": "A"}
        assert codes(uow, item) == ["A"]


def test_the_database_refuses_to_delete_or_change_a_revision_in_effect(tx, world, buyer):
    item = new_item(tx, world, buyer)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        deleted = uow.execute(sa.delete(ItemRevision).where(ItemRevision.item_id == item.id)).rowcount
        assert deleted == 0 and codes(uow, item) == ["A"]
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            uow.execute(sa.update(ItemRevision).where(ItemRevision.item_id == item.id).values(description="rewritten"))


# --- other tenants and permissions ----------------------------------------------------------------


def test_another_tenant_neither_sees_nor_cancels_revisions(tx, world, other_world, buyer):
    item = new_item(tx, world, buyer)
    row = add(tx, world, buyer, item, "B", 7)
    with tx.uow() as lookup:
        stranger = actor_in(lookup, other_world, "buyer")
    with tx.uow(tenant_id=other_world.tenant_id, actor=stranger) as uow:
        with pytest.raises(ItemNotFound):
            list_revisions(uow, item_id=item.id)
        with pytest.raises(ItemNotFound):
            revision_in_effect(uow, item_id=item.id, on=today())
        assert current_revisions(uow, item_ids=[item.id], on=today()) == {}
        with pytest.raises(RevisionNotFound):
            cancel_revision(uow, stranger, revision_id=row.id)
        with pytest.raises(ItemNotFound):
            add_revision(
                uow, stranger, item_id=item.id, revision="C", effective_from=today() + timedelta(days=9), description="x"
            )
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        assert codes(uow, item) == ["A", "B"]


@pytest.mark.parametrize("who", ["viewer", "supplier1", "quality"])
def test_roles_without_items_manage_may_not_add_or_cancel(tx, world, buyer, who):
    item = new_item(tx, world, buyer)
    row = add(tx, world, buyer, item, "B", 7)
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, who)
    assert "items.manage" not in actor.permissions
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(Forbidden):
            add_revision(uow, actor, item_id=item.id, revision="C", effective_from=today() + timedelta(days=9), description="x")
        with pytest.raises(Forbidden):
            cancel_revision(uow, actor, revision_id=row.id)
        assert codes(uow, item) == ["A", "B"]  # reading needs items.view only


def test_reading_needs_items_view(tx, world, buyer):
    item = new_item(tx, world, buyer)
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "viewer")
    nobody = type(actor)(user_id=actor.user_id, name=actor.name, permissions=frozenset({"po.view"}))
    with tx.uow(tenant_id=world.tenant_id, actor=nobody) as uow:
        for read in (
            lambda: list_revisions(uow, item_id=item.id),
            lambda: revision_in_effect(uow, item_id=item.id, on=today()),
            lambda: current_revisions(uow, item_ids=[item.id], on=today()),
        ):
            with pytest.raises(Forbidden):
                read()


# --- imports --------------------------------------------------------------------------------------


def run(tx, world, actor, text: str):
    parsed = imports.parse(text.encode())
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        report = imports.import_items(uow, actor, rows=parsed.rows)
        uow.commit()
    return report


def revisions_of(tx, world, actor, part_number: str) -> list[tuple[str, date]]:
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = uow.scalar(sa.select(Item).where(Item.part_number == part_number))
        return [(r.revision, r.effective_from) for r in list_revisions(uow, item_id=item.id)]


def test_imported_items_get_their_first_revision(tx, world, buyer):
    one, two, three = unique("IMP-"), unique("IMP-"), unique("IMP-")
    report = run(
        tx,
        world,
        buyer,
        f"part_number,name,category,uom,revision\n{one},Cap,component,EA,c\n{two},Plug,component,EA,\n",
    )
    assert report.ok and report.created == 2
    assert revisions_of(tx, world, buyer, one) == [("C", today())]
    assert revisions_of(tx, world, buyer, two) == [("A", today())]
    assert run(tx, world, buyer, f"part_number,name,category,uom\n{three},Cap,component,EA\n").ok
    assert revisions_of(tx, world, buyer, three) == [("A", today())]


def test_an_import_names_bad_revision_codes_and_revisions_of_existing_items(tx, world, buyer):
    item = new_item(tx, world, buyer)
    new = unique("IMP-")
    text = (
        "part_number,name,category,uom,revision\n"
        f"{new},Cap,component,EA,A B\n"
        f"{item.part_number},Cap,component,EA,B\n"
        f"{item.part_number}-X,,component,EA,a\n"
    )
    report = run(tx, world, buyer, text)
    assert [(e.row, e.field, e.message) for e in report.errors] == [
        (2, "revision", CODE),
        (3, "revision", imports.REVISION_OF_EXISTING),
        (4, "name", "This field is required."),
    ]
    # The existing item's own revision in effect is fine (an exported file, say).
    ok = run(tx, world, buyer, f"part_number,name,category,uom,revision\n{item.part_number},Cap 2,component,EA,a\n")
    assert ok.ok and ok.updated == 1
    assert revisions_of(tx, world, buyer, item.part_number) == [("A", today())]
