"""Storage conditions, loggers and bindings: what is refused, with which message, and
that nothing is saved then; a logger is bound to one thing at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from erp.coldchain import service as coldchain
from erp.coldchain.errors import LoggerBusy
from erp.coldchain.models import LoggerBinding, StorageCondition
from kernel.errors import Forbidden, ValidationFailed
from tests.erp.coldchain.support import T0, call, logger, rows, who
from tests.erp.receiving.test_receipts import submitted_asn


@pytest.fixture
def people_(tx, world):
    return who(tx, world)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"min_temperature": "8", "max_temperature": "2"}, "max_temperature", coldchain.RANGE_ORDER),
        ({"min_temperature": "5", "max_temperature": "5"}, "max_temperature", coldchain.RANGE_ORDER),
        ({"min_humidity": "60", "max_humidity": "20"}, "max_humidity", coldchain.RANGE_ORDER),
        ({"max_humidity": "120"}, "max_humidity", coldchain.NOT_A_HUMIDITY),
        ({"excursion_minutes": "-1"}, "excursion_minutes", coldchain.NOT_MINUTES),
        ({"cumulative_minutes": "1.5"}, "cumulative_minutes", coldchain.NOT_MINUTES),
        ({"gap_minutes": "0"}, "gap_minutes", coldchain.NOT_GAP),
        ({"activation_energy": "0"}, "activation_energy", coldchain.NOT_ENERGY),
        ({"activation_energy": "-83"}, "activation_energy", coldchain.NOT_ENERGY),
        ({"max_temperature": "warm"}, "max_temperature", coldchain.NOT_A_TEMPERATURE),
    ],
)
def test_bad_storage_conditions_are_refused_with_a_message_and_nothing_is_saved(tx, world, people_, fields, field, message):
    quality = people_["quality"]
    with tx.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        with pytest.raises(ValidationFailed) as refused:
            coldchain.save_storage_condition(uow, quality, item_id=world.items[0].id, **fields)
        assert refused.value.errors[field] == message
    assert rows(tx, world, StorageCondition, StorageCondition.item_id == world.items[0].id) == []


def test_a_storage_condition_is_saved_and_replaced(tx, world, people_):
    quality = people_["quality"]
    saved = call(tx, world, quality, coldchain.save_storage_condition, item_id=world.items[0].id, min_temperature="2",
                 max_temperature="8", excursion_minutes="30")
    assert (saved.min_temperature, saved.max_temperature, saved.excursion_minutes) == (2, 8, 30)
    assert str(saved.activation_energy) == "83.144" and saved.gap_minutes == 60
    again = call(tx, world, quality, coldchain.save_storage_condition, item_id=world.items[0].id, max_temperature="25",
                 activation_energy="100")
    assert again.id == saved.id and again.min_temperature is None and again.max_temperature == 25
    assert str(again.activation_energy) == "100.000"


@pytest.mark.parametrize("role", ["viewer", "buyer", "supplier1"])
def test_only_cold_chain_recorders_on_the_buyer_side_change_conditions_and_loggers(tx, world, people_, role):
    actor = people_[role]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(Forbidden):
        coldchain.save_storage_condition(uow, actor, item_id=world.items[0].id, max_temperature="8")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(Forbidden):
        coldchain.register_logger(uow, actor, code="X-1")


def test_a_logger_code_is_registered_once(tx, world, other_world, people_):
    first = logger(tx, world, people_["warehouse"], code="LOG-ONE")
    assert first.code == "LOG-ONE"
    with tx.uow(tenant_id=world.tenant_id, actor=people_["warehouse"]) as uow:
        with pytest.raises(ValidationFailed) as refused:
            coldchain.register_logger(uow, people_["warehouse"], code=" LOG-ONE ")
        assert refused.value.errors == {"code": coldchain.CODE_TAKEN}
    # Another tenant has its own codes.
    assert logger(tx, other_world, who(tx, other_world)["warehouse"], code="LOG-ONE").code == "LOG-ONE"


def test_a_logger_bound_to_two_shipments_at_once_is_refused(tx, world, people_):
    operator = people_["warehouse"]
    _, _, first_asn = submitted_asn(tx, world)
    _, _, second_asn = submitted_asn(tx, world)
    box = logger(tx, world, operator)
    bound = call(tx, world, operator, coldchain.bind_logger, logger_id=box.id, kind="asn", target_id=first_asn,
                 starts_at=T0, ends_at=T0 + timedelta(days=3))
    assert bound.asn_id == first_asn and bound.kind == "asn"
    for starts, ends in ((T0 + timedelta(days=1), None), (T0 - timedelta(days=1), T0 + timedelta(hours=1))):
        with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
            with pytest.raises(LoggerBusy) as refused:
                coldchain.bind_logger(uow, operator, logger_id=box.id, kind="asn", target_id=second_asn, starts_at=starts,
                                      ends_at=ends)
            assert refused.value.params["logger"] == box.code
    # After the first shipment's period it is free again.
    later = call(tx, world, operator, coldchain.bind_logger, logger_id=box.id, kind="asn", target_id=second_asn,
                 starts_at=T0 + timedelta(days=3))
    assert later.ends_at is None
    assert len(rows(tx, world, LoggerBinding, LoggerBinding.logger_id == box.id)) == 2


def test_an_open_binding_blocks_until_it_is_ended(tx, world, people_):
    operator = people_["warehouse"]
    _, _, first_asn = submitted_asn(tx, world)
    box = logger(tx, world, operator)
    open_one = call(tx, world, operator, coldchain.bind_logger, logger_id=box.id, kind="asn", target_id=first_asn, starts_at=T0)
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow, pytest.raises(LoggerBusy):
        coldchain.bind_logger(uow, operator, logger_id=box.id, kind="asn", target_id=first_asn, starts_at=T0 + timedelta(days=9))
    ended = call(tx, world, operator, coldchain.end_binding, binding_id=open_one.id, ends_at=T0 + timedelta(days=2))
    assert ended.ends_at == T0 + timedelta(days=2)
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        with pytest.raises(ValidationFailed) as refused:
            coldchain.end_binding(uow, operator, binding_id=open_one.id)
        assert refused.value.errors == {"ends_at": coldchain.ENDED_ALREADY}
    call(tx, world, operator, coldchain.bind_logger, logger_id=box.id, kind="asn", target_id=first_asn,
         starts_at=T0 + timedelta(days=9))


@pytest.mark.parametrize(
    ("kw", "errors"),
    [
        ({"kind": "truck", "target_id": None, "starts_at": T0}, {"kind"}),
        ({"kind": "lot", "target_id": "not-an-id", "starts_at": T0}, {"target_id"}),
        ({"kind": "location", "target_id": None, "starts_at": "2026-11-02T08:00:00"}, {"target_id", "starts_at"}),
        ({"kind": "asn", "target_id": None, "starts_at": T0, "ends_at": T0 - timedelta(hours=1)}, {"target_id", "ends_at"}),
    ],
)
def test_bad_bindings_are_refused_by_field(tx, world, people_, kw, errors):
    operator = people_["warehouse"]
    box = logger(tx, world, operator)
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        with pytest.raises(ValidationFailed) as refused:
            coldchain.bind_logger(uow, operator, logger_id=box.id, **kw)
        assert set(refused.value.errors) == errors
    assert rows(tx, world, LoggerBinding, LoggerBinding.logger_id == box.id) == []


def test_a_package_binding_names_its_ship_notice(tx, world, people_):
    from erp.shipping.models import AsnPackage

    operator = people_["warehouse"]
    _, data, asn_id = submitted_asn(tx, world)
    [case] = rows(tx, world, AsnPackage, AsnPackage.sscc == data["packages"][1]["sscc"])
    box = logger(tx, world, operator)
    bound = call(tx, world, operator, coldchain.bind_logger, logger_id=box.id, kind="package", target_id=case.id, starts_at=T0)
    assert bound.asn_id == asn_id and bound.package_id == case.id
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        assert coldchain.describe(uow, bound) == case.sscc
