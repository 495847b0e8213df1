"""Security events land in the tenant they concern, or the platform's; insert-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent
from auth.security import list_security_events, record_security_event
from kernel.errors import Forbidden
from kernel.models import NIL_TENANT_ID
from kernel.uow import Actor, Origin
from tests.factories import actor_in


def kinds(uow, tenant_id):
    uow.switch_tenant(tenant_id, actor=Actor.system())
    return [e.kind for e in uow.session.scalars(sa.select(SecurityEvent).order_by(SecurityEvent.id))]


def test_an_event_goes_to_each_named_tenant_and_nowhere_else(tx, world, other_world):
    with tx.uow() as uow:
        uow.origin = Origin(ip="198.51.100.7", user_agent="pytest")
        record_security_event(uow, kind="login_failed", severity="warning", email="x@example.test", tenant_ids=[world.tenant_id])
        assert uow.tenant_id is None  # context restored
        assert "login_failed" in kinds(uow, world.tenant_id)
        assert "login_failed" not in kinds(uow, other_world.tenant_id)
        uow.switch_tenant(world.tenant_id)
        event = uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == "login_failed")).one()
        assert str(event.ip) == "198.51.100.7" and event.user_agent == "pytest"


def test_with_no_tenant_the_event_goes_to_the_platform(tx, world):
    with tx.uow() as uow:
        record_security_event(uow, kind="login_failed", email="nobody@example.test")
        assert kinds(uow, NIL_TENANT_ID)[-1] == "login_failed"
        assert "login_failed" not in kinds(uow, world.tenant_id)


def test_unknown_kinds_and_severities_are_refused(tx):
    with tx.uow() as uow:
        with pytest.raises(ValueError, match="kind"):
            record_security_event(uow, kind="made_up")
        with pytest.raises(ValueError, match="severity"):
            record_security_event(uow, kind="login_failed", severity="loud")


def test_the_list_needs_security_view_and_pages_newest_first(tx, world):
    with tx.uow() as uow:
        admin = actor_in(uow, world, "tenant_admin")
        viewer = actor_in(uow, world, "viewer")
        uow.switch_tenant(world.tenant_id, actor=admin)
        for _ in range(3):
            record_security_event(uow, kind="permission_denied", severity="warning")
        page, cursor = list_security_events(uow, admin, limit=2, kind="permission_denied")
        assert len(page) == 2 and cursor is not None and page[0].id > page[1].id
        rest, cursor = list_security_events(uow, admin, limit=2, kind="permission_denied", before=cursor)
        assert len(rest) >= 1 and rest[0].id < page[1].id
        with pytest.raises(Forbidden):
            list_security_events(uow, viewer)


def test_the_application_role_cannot_change_or_delete_events(tx, world):
    with tx.uow() as uow:
        uow.switch_tenant(world.tenant_id)
        record_security_event(uow, kind="permission_denied")
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with uow.session.begin_nested():
                uow.execute(sa.update(SecurityEvent).values(kind="login_succeeded"))
