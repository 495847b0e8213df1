"""Creating and changing items: validation, device data, duplicates, who may, the trail."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from audit.models import Event
from erp.items.errors import DuplicatePartNumber, DuplicateUdiDi, ItemNotFound
from erp.items.models import Item
from erp.items.service import create_item, update_item
from kernel.errors import Forbidden, ValidationFailed
from tests.factories import actor_in, gtin, unique

GOOD = {"name": "Luer lock connector", "category": "component", "uom": "EA"}


def test_a_buyer_creates_an_item(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    part = unique("LL-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=f"  {part} ", name_zh=" 鲁尔接头 ", **GOOD)
        stored = uow.session.get(Item, (world.tenant_id, item.id))
    assert (stored.part_number, stored.name_zh, stored.tenant_id) == (part, "鲁尔接头", world.tenant_id)


def test_every_bad_field_is_named(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(ValidationFailed) as info:
        create_item(uow, actor, part_number="has space", name="  ", name_zh="长" * 201, category="toy", uom="parsec")
    assert set(info.value.errors) == {"part_number", "name", "name_zh", "category", "uom"}


def test_a_duplicate_part_number_conflicts_and_leaves_the_transaction_usable(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    part = unique("DUP-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        create_item(uow, actor, part_number=part, **GOOD)
        with pytest.raises(DuplicatePartNumber) as info:
            create_item(uow, actor, part_number=part, **GOOD)
        assert info.value.status == 409 and info.value.params == {"part_number": part}
        create_item(uow, actor, part_number=part + "-B", **GOOD)


def test_the_same_part_number_in_another_tenant_is_fine(tx, world, other_world):
    part = unique("SHARED-")
    for w in (world, other_world):
        with tx.uow() as lookup:
            actor = actor_in(lookup, w, "buyer")
        with tx.uow(tenant_id=w.tenant_id, actor=actor) as uow:
            create_item(uow, actor, part_number=part, **GOOD)
            uow.commit()


@pytest.mark.parametrize("who", ["supplier1", "viewer"])
def test_suppliers_and_viewers_may_not_create_items(tx, world, who):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(Forbidden):
        create_item(uow, actor, part_number=unique("X-"), **GOOD)


# --- device data and storage conditions ----------------------------------------------

DEVICE = {"name": "Infusion set", "category": "finished_device", "uom": "EA"}


def count(uow, part_number: str) -> int:
    return uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == part_number))


def test_device_data_is_normalised_and_stored(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    thirteen = gtin()[1:]  # a GTIN-13, entered with a space as printed under the bar code
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(
            uow,
            actor,
            part_number=unique("FD-"),
            **DEVICE,
            issuing_agency=" gs1 ",
            udi_di=f"{thirteen[:7]} {thirteen[7:]}",
            basic_udi_di="1987654Ad4X4bL5ttr2310c2K",
            device_class="IIb",
            label_lot=True,
            label_expiry_date=True,
            storage_temp_min_c=2,
            storage_temp_max_c="8.0",
            storage_humidity_min_pct=Decimal("30.5"),
            storage_humidity_max_pct=60.0,
            max_excursion_minutes=30,
        )
        uow.session.expire(item)
        stored = uow.session.get(Item, (world.tenant_id, item.id))
    assert (stored.issuing_agency, stored.udi_di, stored.basic_udi_di) == ("GS1", "0" + thirteen, "1987654Ad4X4bL5ttr2310c2K")
    assert stored.device_class == "IIb"
    assert (stored.label_lot, stored.label_serial, stored.label_manufacture_date, stored.label_expiry_date) == (
        True,
        False,
        False,
        True,
    )
    assert (stored.storage_temp_min_c, stored.storage_temp_max_c) == (Decimal("2.0"), Decimal("8.0"))
    assert (stored.storage_humidity_min_pct, stored.storage_humidity_max_pct) == (Decimal("30.5"), Decimal("60.0"))
    assert stored.max_excursion_minutes == 30


def test_an_item_without_device_data_has_none(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=unique("PLAIN-"), **GOOD)
        assert (item.issuing_agency, item.udi_di, item.device_class, item.label_lot) == (None, None, None, False)


BAD_DEVICE_DATA = [
    pytest.param({"issuing_agency": "FDA"}, "issuing_agency", id="unknown agency"),
    pytest.param({"udi_di": "09506000134352", "device_class": "IIa"}, "issuing_agency", id="UDI-DI without agency"),
    pytest.param({"issuing_agency": "GS1", "udi_di": "09506000134353", "device_class": "IIa"}, "udi_di", id="check digit"),
    pytest.param({"issuing_agency": "GS1", "udi_di": "GTIN", "device_class": "IIa"}, "udi_di", id="not digits"),
    pytest.param({"issuing_agency": "AHM", "udi_di": "XX123", "device_class": "CN-II"}, "udi_di", id="AHM format"),
    pytest.param({"issuing_agency": "MA", "basic_udi_di": "1987654Ad4X4bL5ttr2310c2K"}, "basic_udi_di", id="no EU entity"),
    pytest.param({"issuing_agency": "GS1", "basic_udi_di": "1987654Ad4X4bL5ttr2310c2A"}, "basic_udi_di", id="GMN check"),
    pytest.param({"issuing_agency": "GS1", "udi_di": "09506000134352"}, "device_class", id="device without class"),
    pytest.param({"device_class": "IV"}, "device_class", id="unknown class"),
    pytest.param({"label_lot": "yes"}, "label_lot", id="label flag not a bool"),
    pytest.param({"storage_temp_min_c": 2}, "storage_temp_max_c", id="temperature without maximum"),
    pytest.param({"storage_temp_max_c": 8}, "storage_temp_min_c", id="temperature without minimum"),
    pytest.param({"storage_temp_min_c": 8, "storage_temp_max_c": 2}, "storage_temp_max_c", id="temperature max below min"),
    pytest.param({"storage_temp_min_c": "2.25", "storage_temp_max_c": 8}, "storage_temp_min_c", id="two decimals"),
    pytest.param({"storage_temp_min_c": -300, "storage_temp_max_c": 8}, "storage_temp_min_c", id="below absolute zero"),
    pytest.param({"storage_humidity_max_pct": 120}, "storage_humidity_max_pct", id="humidity over 100"),
    pytest.param({"storage_humidity_min_pct": -1}, "storage_humidity_min_pct", id="humidity below 0"),
    pytest.param(
        {"storage_humidity_min_pct": 70, "storage_humidity_max_pct": 40}, "storage_humidity_max_pct", id="humidity max below min"
    ),
    pytest.param({"max_excursion_minutes": -1}, "max_excursion_minutes", id="negative excursion"),
    pytest.param({"max_excursion_minutes": 1.5}, "max_excursion_minutes", id="fractional excursion"),
]


@pytest.mark.parametrize(("fields", "bad"), BAD_DEVICE_DATA)
def test_each_bad_device_field_is_named_and_nothing_is_written(tx, world, fields, bad):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    part = unique("BAD-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(ValidationFailed) as info:
            create_item(uow, actor, part_number=part, **DEVICE, **fields)
        assert set(info.value.errors) == {bad}, info.value.errors
        assert count(uow, part) == 0


def test_every_bad_field_is_named_at_once(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(ValidationFailed) as info:
        create_item(
            uow,
            actor,
            part_number="has space",
            **DEVICE,
            issuing_agency="GS1",
            udi_di="123",
            basic_udi_di="x",
            storage_temp_min_c=9,
            storage_temp_max_c=3,
            storage_humidity_max_pct=101,
            max_excursion_minutes=-5,
        )
    assert set(info.value.errors) == {
        "part_number",
        "udi_di",
        "basic_udi_di",
        "device_class",
        "storage_temp_max_c",
        "storage_humidity_max_pct",
        "max_excursion_minutes",
    }
    assert info.value.errors["device_class"] == "A finished or contract-manufactured device with a UDI-DI needs its device class."


def test_a_contract_manufactured_device_needs_its_class_too(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    fields = {"name": "Catheter", "category": "contract_manufactured", "uom": "EA", "issuing_agency": "GS1", "udi_di": gtin()}
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(ValidationFailed) as info:
            create_item(uow, actor, part_number=unique("CM-"), **fields)
        assert set(info.value.errors) == {"device_class"}
        assert create_item(uow, actor, part_number=unique("CM-"), device_class="CN-III", **fields).device_class == "CN-III"


def test_a_duplicate_udi_di_conflicts_and_names_the_other_item(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    di = gtin()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        first = create_item(uow, actor, part_number=unique("FD-"), **DEVICE, issuing_agency="GS1", udi_di=di, device_class="IIa")
        second = unique("FD-")
        with pytest.raises(DuplicateUdiDi) as info:
            # The same GTIN as a GTIN-13 is the same device identifier.
            create_item(uow, actor, part_number=second, **DEVICE, issuing_agency="GS1", udi_di=di[1:], device_class="IIa")
        assert info.value.status == 409
        assert info.value.params == {"udi_di": di, "part_number": first.part_number}
        assert first.part_number in str(info.value)
        assert count(uow, second) == 0
        # The transaction is still usable.
        create_item(uow, actor, part_number=second, **DEVICE, issuing_agency="GS1", udi_di=gtin(), device_class="IIa")


def test_the_same_udi_di_in_another_tenant_is_fine(tx, world, other_world):
    di = gtin()
    for w in (world, other_world):
        with tx.uow() as lookup:
            actor = actor_in(lookup, w, "buyer")
        with tx.uow(tenant_id=w.tenant_id, actor=actor) as uow:
            create_item(uow, actor, part_number=unique("FD-"), **DEVICE, issuing_agency="GS1", udi_di=di, device_class="III")
            uow.commit()


# --- update_item -----------------------------------------------------------------------


def events_for(uow, row_id) -> list:
    return list(uow.execute(sa.select(Event.__table__).where(Event.row_id == str(row_id)).order_by(Event.id)))


def test_an_update_changes_only_what_is_sent_and_leaves_its_trail(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    di = gtin()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=unique("UP-"), name="Pouch", category="sterile_barrier", uom="EA")
        updated = update_item(
            uow,
            actor,
            item_id=item.id,
            name=" Tyvek pouch ",
            issuing_agency="GS1",
            udi_di=di[1:],
            label_lot=True,
            storage_temp_min_c=15,
            storage_temp_max_c=25,
        )
        assert updated is item
        assert (item.name, item.issuing_agency, item.udi_di, item.label_lot) == ("Tyvek pouch", "GS1", di, True)
        assert (item.category, item.uom, item.storage_temp_max_c) == ("sterile_barrier", "EA", Decimal("25"))
        insert, update = events_for(uow, item.id)
    assert (insert.action, update.action) == ("I", "U")
    assert update.actor_id == world.users["buyer"].id
    assert update.old_values == {
        "name": "Pouch",
        "issuing_agency": None,
        "udi_di": None,
        "label_lot": False,
        "storage_temp_min_c": None,
        "storage_temp_max_c": None,
    }
    assert update.new_values == {
        "name": "Tyvek pouch",
        "issuing_agency": "GS1",
        "udi_di": di,
        "label_lot": True,
        "storage_temp_min_c": 15.0,
        "storage_temp_max_c": 25.0,
    }


def test_an_update_with_nothing_new_leaves_no_event(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=unique("UP-"), **GOOD)
        update_item(uow, actor, item_id=item.id, name=GOOD["name"], uom="EA")
        assert [e.action for e in events_for(uow, item.id)] == ["I"]


def test_null_clears_an_optional_field(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=unique("UP-"), **GOOD, issuing_agency="GS1", udi_di=gtin(), name_zh="接头")
        update_item(uow, actor, item_id=item.id, udi_di=None, issuing_agency=None, name_zh=None)
        assert (item.udi_di, item.issuing_agency, item.name_zh) == (None, None, None)


def test_an_update_is_checked_as_the_whole_item_and_writes_nothing_when_bad(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=unique("UP-"), **GOOD, issuing_agency="GS1", udi_di=gtin())
        # A component with a UDI-DI becomes a finished device: it now needs its class.
        with pytest.raises(ValidationFailed) as info:
            update_item(uow, actor, item_id=item.id, category="finished_device", name="", storage_humidity_min_pct=101)
        assert set(info.value.errors) == {"device_class", "name", "storage_humidity_min_pct"}
        uow.session.expire(item)
        assert (item.category, item.name, item.storage_humidity_min_pct) == ("component", GOOD["name"], None)
        assert [e.action for e in events_for(uow, item.id)] == ["I"]


def test_an_update_to_another_items_udi_di_conflicts(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    di = gtin()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        first = create_item(uow, actor, part_number=unique("UP-"), **GOOD, issuing_agency="GS1", udi_di=di)
        second = create_item(uow, actor, part_number=unique("UP-"), **GOOD)
        with pytest.raises(DuplicateUdiDi) as info:
            update_item(uow, actor, item_id=second.id, issuing_agency="GS1", udi_di=di, name="Renamed")
        assert info.value.params["part_number"] == first.part_number
        assert (second.udi_di, second.name) == (None, GOOD["name"])
        # Its own identifier again is no conflict.
        update_item(uow, actor, item_id=first.id, udi_di=di[1:], name="Renamed")
        assert (first.udi_di, first.name) == (di, "Renamed")


def test_an_update_to_another_items_part_number_conflicts(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        first = create_item(uow, actor, part_number=unique("UP-"), **GOOD)
        second = create_item(uow, actor, part_number=unique("UP-"), **GOOD)
        with pytest.raises(DuplicatePartNumber):
            update_item(uow, actor, item_id=second.id, part_number=first.part_number)


def test_an_item_of_another_tenant_is_not_found(tx, world, other_world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(ItemNotFound):
            update_item(uow, actor, item_id=other_world.items[0].id, name="Mine now")
        with pytest.raises(ItemNotFound):
            update_item(uow, actor, item_id=uuid.uuid4(), name="Nothing")


def test_an_update_of_an_unknown_field_is_a_programming_error(tx, world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(TypeError):
        update_item(uow, actor, item_id=world.items[0].id, colour="red")


@pytest.mark.parametrize("who", ["supplier1", "viewer"])
def test_suppliers_and_viewers_may_not_change_items(tx, world, who):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, who)
    item = world.items[0]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(Forbidden):
            update_item(uow, actor, item_id=item.id, name="Changed")
        assert uow.scalar(sa.select(Item.name).where(Item.id == item.id)) == item.name
