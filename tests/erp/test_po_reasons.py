"""The tenant's rejection reasons: buyers add and retire them; bad input changes nothing;
a retired reason is not offered to suppliers any more."""

from __future__ import annotations

import pytest

from erp.purchasing import confirmation, reasons
from kernel.errors import Forbidden, ValidationFailed
from tests.erp.po_support import actors


def codes(tx, world, active_only=False):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [c.code for c in confirmation.reason_codes(uow, active_only=active_only)]


def test_a_buyer_adds_a_reason_and_retires_one(tx, world):
    buyer = actors(tx, world)["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        reasons.add_reason_code(uow, buyer, code=" Tooling ", name="Tooling not ready", name_zh="模具未就绪")
        reasons.set_reason_active(uow, buyer, code="other", active=False)
        uow.commit()
    assert "tooling" in codes(tx, world, active_only=True)
    assert "other" not in codes(tx, world, active_only=True) and "other" in codes(tx, world)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"code": "", "name": "X"}, "code"),
        ({"code": "has space", "name": "X"}, "code"),
        ({"code": "capacity", "name": "Again"}, "code"),
        ({"code": "ok", "name": ""}, "name"),
        ({"code": "ok", "name": "x" * 101}, "name"),
    ],
)
def test_bad_reasons_are_refused_and_nothing_is_added(tx, world, fields, field):
    buyer = actors(tx, world)["buyer"]
    before = codes(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow, pytest.raises(ValidationFailed) as refused:
        reasons.add_reason_code(uow, buyer, **fields)
    assert field in refused.value.errors
    assert codes(tx, world) == before


def test_the_last_active_reason_stays_and_others_cannot_edit(tx, world):
    who = actors(tx, world)
    buyer = who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        first, *others = [c.code for c in reasons.list_reason_codes(uow, buyer)]
        for code in others:
            reasons.set_reason_active(uow, buyer, code=code, active=False)
        with pytest.raises(ValidationFailed):
            reasons.set_reason_active(uow, buyer, code=first, active=False)
    for role in ("viewer", "supplier1"):
        with tx.uow(tenant_id=world.tenant_id, actor=who[role]) as uow, pytest.raises(Forbidden):
            reasons.add_reason_code(uow, who[role], code="x", name="X")


def test_an_unknown_reason_or_another_tenants_is_not_found_and_nothing_changes(tx, world, other_world):
    theirs = actors(tx, other_world)["buyer"]
    with tx.uow(tenant_id=other_world.tenant_id, actor=theirs) as uow:
        reasons.add_reason_code(uow, theirs, code="theirs-only", name="Another tenant's reason")
        uow.commit()
    buyer = actors(tx, world)["buyer"]
    before = codes(tx, world, active_only=True)
    for code in ("no-such-reason", "theirs-only"):
        with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow, pytest.raises(reasons.ReasonCodeNotFound):
            reasons.set_reason_active(uow, buyer, code=code, active=False)
    assert codes(tx, world, active_only=True) == before
    assert "theirs-only" in codes(tx, other_world, active_only=True)
