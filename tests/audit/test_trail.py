"""Every audited write leaves an event; the chain is sealed, signed and verifiable."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from audit.models import Event
from auth.models import User
from erp.items.models import Item
from kernel.uow import Actor
from tests.audit.conftest import seal_tenant, verify
from tests.factories import make_item, make_tenant_world, make_user, unique


def events_for(uow, row_id) -> list:
    """The row's events as plain rows (they outlive the unit of work)."""
    return list(uow.execute(sa.select(Event.__table__).where(Event.row_id == str(row_id)).order_by(Event.id)))


def test_insert_update_delete_are_recorded_with_actor_reason_and_request(tx, world):
    actor = Actor(user_id=world.users["buyer"].id, name="buyer@alpha")
    with tx.uow(tenant_id=world.tenant_id, actor=actor, reason="new part", request_id="req-1") as uow:
        item = make_item(uow, name="Housing")
        uow.reason = "typo in the name"
        item.name = "Housing, PC"
        uow.flush()
        uow.execute(sa.delete(Item).where(Item.id == item.id))
        insert, update, delete = events_for(uow, item.id)
    assert (insert.action, update.action, delete.action) == ("I", "U", "D")
    assert {e.actor_id for e in (insert, update, delete)} == {world.users["buyer"].id}
    assert insert.actor == "buyer@alpha" and insert.request_id == "req-1"
    assert insert.reason == "new part" and update.reason == "typo in the name"
    assert insert.new_values["name"] == "Housing" and insert.tenant_id == world.tenant_id
    # An update keeps the earlier value beside the new one, and only what changed.
    assert update.old_values == {"name": "Housing"} and update.new_values == {"name": "Housing, PC"}
    assert delete.old_values["name"] == "Housing, PC" and delete.new_values is None


def test_an_update_that_changes_nothing_leaves_no_event(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow)
        uow.execute(sa.update(Item).where(Item.id == item.id).values(name=item.name))
        assert [e.action for e in events_for(uow, item.id)] == ["I"]


def test_a_bulk_update_after_a_one_row_update_pairs_each_row_with_its_own(tx, world):
    """The update trigger pairs old and new rows by grouping (migration 0017): in one
    session a one-row update, then one statement changing 150 rows and leaving 50 as
    they were, records 1 + 150 events, each with its own row's old and new value."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        items = [make_item(uow, name=f"Part {n}") for n in range(200)]
        uow.execute(sa.update(Item).where(Item.id == items[0].id).values(name="Part 0, renamed"))
        uow.execute(
            sa.update(Item)
            .where(Item.id.in_([i.id for i in items]))
            .values(name=sa.case((Item.name.like("Part 1%"), Item.name), else_=Item.name + " (v2)"))
        )
        updates = list(
            uow.execute(
                sa.select(Event.row_id, Event.old_values, Event.new_values)
                .where(Event.row_id.in_([str(i.id) for i in items]), Event.action == "U")
                .order_by(Event.id)
            )
        )
    unchanged = sum(1 for n in range(200) if f"Part {n}".startswith("Part 1"))
    assert len(updates) == 1 + 200 - unchanged
    assert updates[0].new_values == {"name": "Part 0, renamed"}
    names = {str(i.id): f"Part {n}" for n, i in enumerate(items)} | {str(items[0].id): "Part 0, renamed"}
    for row_id, old, new in updates[1:]:
        assert old == {"name": names[row_id]} and new == {"name": names[row_id] + " (v2)"}


def test_password_hashes_are_redacted_in_the_trail(tx):
    with tx.uow() as uow:
        user = make_user(uow)
        uow.switch_tenant(uuid_nil())
        [event] = events_for(uow, user.id)
    assert event.table_name == "user_account"
    assert event.new_values["password_hash"].startswith("redacted:")
    assert "argon2" not in event.new_values["password_hash"]


def uuid_nil() -> uuid.UUID:
    return uuid.UUID(int=0)


def test_events_are_isolated_by_tenant(tx, world, other_world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert set(uow.session.scalars(sa.select(Event.tenant_id).distinct())) == {world.tenant_id}


@pytest.mark.parametrize(
    "statement",
    [
        "update audit.event set actor = 'x'",
        "delete from audit.event",
        "truncate audit.event",
        "update audit.seal set hash = ''",
        "delete from audit.checkpoint",
    ],
)
def test_application_role_cannot_rewrite_the_trail(tx, world, statement):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            uow.execute(sa.text(statement))


def test_sealed_chain_verifies(runtime, sealed_tenant, signing_key):
    report = verify(runtime, sealed_tenant.tenant_id, signing_key.public_key())
    assert report.intact, report.problems
    assert report.events > 20 and report.checkpoints == 3 and report.unsealed == 0


def test_unsealed_events_are_reported(runtime, sealed_tenant, signing_key):
    with runtime.uow(tenant_id=sealed_tenant.tenant_id) as uow:
        make_item(uow)
        uow.commit()
    report = verify(runtime, sealed_tenant.tenant_id, signing_key.public_key())
    assert report.intact and report.unsealed == 1
    seal_tenant(runtime, sealed_tenant.tenant_id, signing_key)
    assert verify(runtime, sealed_tenant.tenant_id, signing_key.public_key()).unsealed == 0


def test_sixteen_concurrent_writers_leave_one_unbroken_chain(runtime, signing_key):
    with runtime.uow() as uow:
        world = make_tenant_world(uow, slug=unique("busy"))
        uow.commit()
    seal_tenant(runtime, world.tenant_id, signing_key)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with runtime.uow(tenant_id=world.tenant_id, actor=Actor.system(f"writer-{n}")) as uow:
                    make_item(uow, name=f"w{n}-{i}")
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def sealer() -> None:
        while not stop.is_set():
            seal_tenant(runtime, world.tenant_id, signing_key)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]  # two sealers must not fork the chain
    for t in threads + sealers:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in sealers:
        t.join()
    seal_tenant(runtime, world.tenant_id, signing_key)
    assert errors == []
    report = verify(runtime, world.tenant_id, signing_key.public_key())
    assert report.intact, report.problems
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        seqs = list(
            uow.session.scalars(sa.text("select seq from audit.seal where tenant_id = :t order by seq"), {"t": world.tenant_id})
        )
        events = uow.scalar(sa.select(sa.func.count()).select_from(Event))
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == events
    assert report.events == events >= 16 * 15


def test_user_changes_without_tenant_go_to_the_platform_chain(runtime, signing_key):
    with runtime.uow(actor=Actor.system("admin-cli")) as uow:
        user = uow.session.scalar(sa.select(User).limit(1))
        user.full_name = user.full_name + " "
        uow.commit()
    nil = uuid_nil()
    seal_tenant(runtime, nil, signing_key)
    assert verify(runtime, nil, signing_key.public_key()).intact


def test_admin_tamper_connection_is_really_superuser(admin):
    # The tamper tests below rely on a superuser (it can bypass the refusal triggers).
    assert admin.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0] is True


def test_a_transaction_committing_late_is_sealed_later_and_nothing_is_lost(runtime, signing_key):
    with runtime.uow() as uow:
        world = make_tenant_world(uow, slug=unique("late"))
        uow.commit()
    seal_tenant(runtime, world.tenant_id, signing_key)
    with runtime.uow(tenant_id=world.tenant_id) as slow:
        make_item(slow, name="slow")  # holds the older transaction id, still open
        with runtime.uow(tenant_id=world.tenant_id) as fast:
            make_item(fast, name="fast")
            fast.commit()
        # The fast event is committed but a transaction before it still runs: not final yet.
        assert seal_tenant(runtime, world.tenant_id, signing_key).sealed == 0
        slow.commit()
    assert seal_tenant(runtime, world.tenant_id, signing_key).sealed == 2
    report = verify(runtime, world.tenant_id, signing_key.public_key())
    assert report.intact and report.unsealed == 0
