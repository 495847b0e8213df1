"""The tenant's list of reasons a supplier may give for rejecting a line: the buyers
who manage purchase orders add reasons and retire them. A reason is never deleted (past
answers name it); a retired one is no longer offered."""

from __future__ import annotations

import re

import sqlalchemy as sa

from auth.permissions import require
from erp.purchasing.confirmation import reason_codes
from erp.purchasing.models import PoReasonCode
from kernel.errors import N_, NotFound, ValidationFailed

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_CODE = PoReasonCode.__table__.c.code.type.length
MAX_NAME = PoReasonCode.__table__.c.name.type.length


class ReasonCodeNotFound(NotFound):
    code = "reason-code-not-found"
    message = N_("There is no such reason.")


def list_reason_codes(uow, actor) -> list[PoReasonCode]:
    require(actor, "po.view")
    return reason_codes(uow)


def add_reason_code(uow, actor, *, code: str, name: str, name_zh: str | None = None) -> PoReasonCode:
    require(actor, "po.manage")
    code, name, name_zh = (code or "").strip().lower(), (name or "").strip(), (name_zh or "").strip() or None
    existing = {c.code for c in reason_codes(uow)}
    errors = {}
    if not code:
        errors["code"] = N_("This field is required.")
    elif len(code) > MAX_CODE or not CODE.fullmatch(code):
        errors["code"] = N_("Use up to 30 small letters, digits, - and _, starting with a letter or digit.")
    elif code in existing:
        errors["code"] = N_("There is a reason with this code already.")
    if not name:
        errors["name"] = N_("This field is required.")
    elif len(name) > MAX_NAME:
        errors["name"] = N_("This is too long.")
    if name_zh and len(name_zh) > MAX_NAME:
        errors["name_zh"] = N_("This is too long.")
    if errors:
        raise ValidationFailed(errors=errors)
    reason = PoReasonCode(code=code, name=name, name_zh=name_zh)
    uow.add(reason)
    uow.flush()
    return reason


def set_reason_active(uow, actor, *, code: str, active: bool) -> PoReasonCode:
    require(actor, "po.manage")
    reason = uow.session.scalar(sa.select(PoReasonCode).where(PoReasonCode.code == code))
    if reason is None:
        raise ReasonCodeNotFound()
    if not active and reason.is_active and sum(1 for c in reason_codes(uow) if c.is_active) == 1:
        raise ValidationFailed(N_("Keep at least one reason: a supplier must be able to say why it rejects a line."))
    reason.is_active = active
    uow.flush()
    return reason
