"""Helpers for tests of the second factor and signatures: a fresh person, enrolled."""

from __future__ import annotations

import time

import pyotp

from auth import mfa
from auth.models import User
from kernel.uow import Actor
from tenants import service as tenants
from tests.factories import make_user


def member(uow, world, *, role: str = "buyer", supplier: int | None = None) -> User:
    """A new person with one membership in the world's tenant; the unit of work acts as them."""
    uow.switch_tenant(world.tenant_id, actor=Actor.system())
    user = make_user(uow)
    organisation = world.suppliers[supplier] if supplier is not None else None
    tenants.add_membership(uow, user=user, role=role, organisation=organisation)
    uow.switch_tenant(world.tenant_id, actor=Actor(user_id=user.id, name=user.email))
    return user


def enrolled(uow, user, cipher) -> tuple[pyotp.TOTP, list[str]]:
    secret, _uri = mfa.begin_enrolment(uow, user=user, cipher=cipher)
    totp = pyotp.TOTP(secret)
    return totp, mfa.confirm_enrolment(uow, user=user, code=totp.now(), cipher=cipher)


def next_code(totp: pyotp.TOTP, steps: int = 1) -> str:
    """The code of a later 30-second step (the one just used cannot be used again)."""
    return totp.at(time.time() + 30 * steps)
