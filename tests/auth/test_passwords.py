"""Password rules, setting and changing a password."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from auth import service as auth_service
from auth.errors import AccountLocked, WeakPassword, WrongCurrentPassword
from auth.models import SecurityEvent, User, UserSession
from auth.passwords import MAX_LENGTH, check_password, verify_password
from auth.sessions import start_session
from kernel.uow import Actor
from tests.factories import PASSWORD, make_user

EMAIL = "li.wei@example.test"
GOOD = "violet tractor sings above 7 harbours"


def refused(password: str, *, email: str = EMAIL, min_length: int = 12) -> str:
    with pytest.raises(WeakPassword) as caught:
        check_password(password, email=email, min_length=min_length)
    return caught.value.reason


def test_a_long_unusual_phrase_is_accepted():
    check_password(GOOD, email=EMAIL, min_length=12)
    check_password(PASSWORD, email=EMAIL, min_length=12)
    check_password("x" * 3 + GOOD * 6, email=EMAIL, min_length=12)  # 200+ characters: scored by its start


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!pw", "too_short"),
        ("a" * (MAX_LENGTH + 1), "too_long"),
        ("li.wei@example.test-2026!", "contains_email"),
        ("MyNameIsLi.Wei2026!x", "contains_email"),
        ("Li_Wei likes tea 88", "contains_email"),
        ("leavemealone", "common"),
        ("LeaveMeAlone", "common"),  # the list is matched whatever the case
        ("qwerty123456", "common"),
        ("passwordpassword", "guessable"),
        ("aaaaaaaaaaaaaaaa", "guessable"),
        ("qwertyuiop123456", "guessable"),
        ("monkey123monkey", "guessable"),
        ("Password1234", "common"),
    ],
)
def test_weak_passwords_are_refused_naming_the_rule(password, reason):
    assert refused(password) == reason


def test_the_minimum_length_is_the_settings():
    assert refused(GOOD, min_length=len(GOOD) + 1) == "too_short"
    with pytest.raises(WeakPassword) as caught:
        check_password("short", email=EMAIL, min_length=14)
    assert caught.value.params == {"min_length": 14}
    assert str(caught.value) == "The password must have at least 14 characters."


def test_every_reason_has_its_own_message():
    messages = {reason: WeakPassword(reason=reason, min_length=12, max_length=256).message for reason in WeakPassword.REASONS}
    assert len(set(messages.values())) == len(messages)
    assert "email" in messages["contains_email"] and "common" in messages["common"]


def _events(uow, user_id, kind):
    return list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.user_id == user_id, SecurityEvent.kind == kind)))


def test_set_password_checks_hashes_unlocks_and_ends_the_other_sessions(tx, world):
    from tenants import service as tenants

    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="viewer")
        user.failed_logins = 4
        keep = start_session(uow, user_id=user.id, method="password", ip=None, user_agent=None, absolute_hours=1)
        other = start_session(uow, user_id=user.id, method="password", ip=None, user_agent=None, absolute_hours=1)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = uow.session.get(User, user.id)
        auth_service.set_password(uow, user=user, password=GOOD, min_length=12, keep_session_id=keep.id)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = uow.session.get(User, user.id)
        assert verify_password(user.password_hash, GOOD) and not verify_password(user.password_hash, PASSWORD)
        assert user.password_changed_at is not None and user.failed_logins == 0 and user.locked_until is None
        assert uow.session.get(UserSession, keep.id).revoked_at is None
        ended = uow.session.get(UserSession, other.id)
        assert ended.revoked_at is not None and ended.revoked_reason == "password_changed"
        [event] = _events(uow, user.id, "password_changed")
        assert event.detail == {"via": "change"}


def test_a_weak_new_password_changes_nothing(tx, world):
    with tx.uow() as uow:
        user = make_user(uow, email="weak.new@example.test")
        session = start_session(uow, user_id=user.id, method="password", ip=None, user_agent=None, absolute_hours=1)
        uow.commit()
    with tx.uow() as uow, pytest.raises(WeakPassword):
        auth_service.set_password(uow, user=uow.session.get(User, user.id), password="weak.new2026!!", min_length=12)
    with tx.uow() as uow:
        assert verify_password(uow.session.get(User, user.id).password_hash, PASSWORD)
        assert uow.session.get(UserSession, session.id).revoked_at is None


def test_change_password_needs_the_current_one(tx, world, settings):
    with tx.uow() as uow:
        user = make_user(uow)
        uow.commit()
    with tx.uow(actor=Actor(user_id=user.id, name=user.email)) as uow:
        with pytest.raises(WrongCurrentPassword):
            auth_service.change_password(uow, user_id=user.id, current_password="not it", new_password=GOOD, settings=settings)
        uow.commit()  # what the web layer does: the failed attempt is kept
    with tx.uow() as uow:
        stored = uow.session.get(User, user.id)
        assert verify_password(stored.password_hash, PASSWORD) and stored.failed_logins == 1
    with tx.uow(actor=Actor(user_id=user.id, name=user.email)) as uow:
        auth_service.change_password(uow, user_id=user.id, current_password=PASSWORD, new_password=GOOD, settings=settings)
        uow.commit()
    with tx.uow() as uow:
        stored = uow.session.get(User, user.id)
        assert verify_password(stored.password_hash, GOOD) and stored.failed_logins == 0


def test_guessing_the_current_password_locks_the_account(tx, world, settings):
    with tx.uow() as uow:
        user = make_user(uow)
        uow.commit()
    for _ in range(settings.login_max_failures):
        with tx.uow(actor=Actor(user_id=user.id, name=user.email)) as uow:
            with pytest.raises((WrongCurrentPassword, AccountLocked)):
                auth_service.change_password(uow, user_id=user.id, current_password="guess", new_password=GOOD, settings=settings)
            uow.commit()
    with tx.uow(actor=Actor(user_id=user.id, name=user.email)) as uow, pytest.raises(AccountLocked):
        auth_service.change_password(uow, user_id=user.id, current_password=PASSWORD, new_password=GOOD, settings=settings)
    with tx.uow() as uow:
        assert verify_password(uow.session.get(User, user.id).password_hash, PASSWORD)
