"""Server-side sessions: started, checked, idle and absolute limits, revoked."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from auth import sessions
from auth.models import UserSession
from kernel.clock import utcnow
from tests.factories import make_user

IDLE = 30


@pytest.fixture
def person(tx):
    with tx.uow() as uow:
        user = make_user(uow)
        uow.commit()
    return user


def start(uow, user, **kw):
    return sessions.start_session(
        uow,
        user_id=user.id,
        method=kw.get("method", "password"),
        ip=kw.get("ip", "198.51.100.4"),
        user_agent=kw.get("user_agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"),
        absolute_hours=kw.get("absolute_hours", 12),
    )


def age(uow, row, **values):
    uow.execute(sa.update(UserSession).where(UserSession.id == row.id).values(**values))
    uow.session.expire_all()


def test_a_session_starts_with_its_limits_and_origin(tx, person):
    with tx.uow() as uow:
        row = start(uow, person, method="sso", absolute_hours=8)
        assert row.expires_at - row.created_at == timedelta(hours=8)
        assert (row.method, str(row.ip), row.revoked_at) == ("sso", "198.51.100.4", None)
        assert "Firefox" in row.user_agent
        other = start(uow, person)
        assert other.id != row.id  # every sign-in gets a new id


def test_a_good_session_is_found_and_its_idle_clock_moves_once_a_minute(tx, person):
    with tx.uow() as uow:
        row = start(uow, person)
        seen = utcnow() - timedelta(seconds=20)
        age(uow, row, last_seen_at=seen)
        found = sessions.check_session(uow, session_id=row.id, user_id=person.id, idle_minutes=IDLE)
        assert found is not None and found.last_seen_at == seen  # less than a minute: not written
        age(uow, row, last_seen_at=utcnow() - timedelta(minutes=5))
        found = sessions.check_session(uow, session_id=row.id, user_id=person.id, idle_minutes=IDLE)
        assert utcnow() - found.last_seen_at < timedelta(seconds=5)


def test_an_idle_session_ends(tx, person):
    with tx.uow() as uow:
        row = start(uow, person)
        age(uow, row, last_seen_at=utcnow() - timedelta(minutes=IDLE, seconds=1))
        assert sessions.session_status(uow, session_id=row.id, user_id=person.id, idle_minutes=IDLE) == (None, sessions.IDLE)
        closed = uow.session.get(UserSession, row.id)
        assert closed.revoked_at is not None and closed.revoked_reason == "idle"


def test_a_session_past_its_absolute_limit_ends_however_active(tx, person):
    with tx.uow() as uow:
        row = start(uow, person)
        age(uow, row, expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
        assert sessions.session_status(uow, session_id=row.id, user_id=person.id, idle_minutes=IDLE) == (None, sessions.EXPIRED)
        assert uow.session.get(UserSession, row.id).revoked_reason == "expired"


def test_a_revoked_or_unknown_or_someone_elses_session_is_no_session(tx, person):
    with tx.uow() as uow:
        stranger = make_user(uow)
        row = start(uow, person)
        assert sessions.revoke_session(uow, session_id=row.id, user_id=person.id) is True
        assert sessions.revoke_session(uow, session_id=row.id, user_id=person.id) is False  # already ended
        assert sessions.session_status(uow, session_id=row.id, user_id=person.id, idle_minutes=IDLE) == (None, sessions.REVOKED)
        theirs = start(uow, stranger)
        status = sessions.session_status(uow, session_id=theirs.id, user_id=person.id, idle_minutes=IDLE)
        assert status == (None, sessions.UNKNOWN)
        assert sessions.check_session(uow, session_id=uuid.uuid4(), user_id=person.id, idle_minutes=IDLE) is None
        # Someone else's id changes nothing.
        assert sessions.revoke_session(uow, session_id=theirs.id, user_id=person.id) is False
        assert sessions.check_session(uow, session_id=theirs.id, user_id=stranger.id, idle_minutes=IDLE) is not None


def test_revoke_all_ends_every_session_but_the_one_kept_and_no_one_elses(tx, person):
    with tx.uow() as uow:
        stranger = make_user(uow)
        here, there, elsewhere = start(uow, person), start(uow, person), start(uow, person)
        theirs = start(uow, stranger)
        assert sessions.revoke_all(uow, user_id=person.id, reason="password_changed", except_session_id=here.id) == 2
        uow.session.expire_all()
        assert [s.id for s in sessions.list_sessions(uow, user_id=person.id)] == [here.id]
        assert uow.session.get(UserSession, there.id).revoked_reason == "password_changed"
        assert uow.session.get(UserSession, elsewhere.id).revoked_at is not None
        assert sessions.check_session(uow, session_id=theirs.id, user_id=stranger.id, idle_minutes=IDLE) is not None
        assert sessions.revoke_all(uow, user_id=person.id, reason="signed_out_everywhere") == 1
        assert sessions.list_sessions(uow, user_id=person.id) == []


def test_the_list_leaves_out_ended_sessions_and_shows_the_latest_first(tx, person):
    with tx.uow() as uow:
        old, new, idle, expired = (start(uow, person) for _ in range(4))
        age(uow, old, last_seen_at=utcnow() - timedelta(minutes=10))
        age(uow, idle, last_seen_at=utcnow() - timedelta(minutes=IDLE + 1))
        age(uow, expired, expires_at=utcnow() - timedelta(minutes=1))
        assert [s.id for s in sessions.list_sessions(uow, user_id=person.id, idle_minutes=IDLE)] == [new.id, old.id]
