"""Password reset by email: the same outcome for every address, a single-use expiring
link, and what using it does."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from auth import resets
from auth.errors import ResetLinkInvalid, WeakPassword
from auth.models import PasswordReset, SecurityEvent, User, UserSession
from auth.passwords import verify_password
from auth.sessions import start_session
from kernel.clock import utcnow
from kernel.crypto import digest
from kernel.models import NIL_TENANT_ID
from kernel.outbox import OutboxMessage
from tenants import service as tenants
from tests.factories import PASSWORD, make_user

BASE_URL = "https://traceport.example"
NEW_PASSWORD = "copper heron counts 41 quiet bridges"
INVALID = "This password reset link is not valid any more. Ask for a new one."


def rows(tx, query, *, tenant_id=None) -> list:
    with tx.uow(tenant_id=tenant_id) as uow:
        found = list(uow.session.scalars(query))
        uow.session.expunge_all()
    return found


def platform_mails(tx, email) -> list[OutboxMessage]:
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.topic == "mail.send", OutboxMessage.payload["to"].astext == email)
        .order_by(OutboxMessage.id)
    )
    return rows(tx, query, tenant_id=NIL_TENANT_ID)


def events(tx, tenant_id, kind, user_id) -> list[SecurityEvent]:
    query = sa.select(SecurityEvent).where(SecurityEvent.kind == kind, SecurityEvent.user_id == user_id)
    return rows(tx, query, tenant_id=tenant_id)


def ask(tx, email, minutes=60) -> None:
    with tx.uow() as uow:
        assert resets.request_password_reset(uow, email=email, base_url=BASE_URL, minutes=minutes) is None
        uow.commit()


def token_for(tx, email) -> str:
    link = platform_mails(tx, email)[-1].payload["context"]["link"]
    assert link.startswith(f"{BASE_URL}/password/reset/")
    return urlsplit(link).path.rsplit("/", 1)[1]


@pytest.fixture
def member(tx, world):
    """A fresh login with a membership in `world`, and an open session."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow, locale="zh_Hans_CN")
        tenants.add_membership(uow, user=user, role="viewer")
        session = start_session(uow, user_id=user.id, method="password", ip=None, user_agent=None, absolute_hours=1)
        uow.commit()
    user.session_id = session.id
    return user


def test_a_reset_link_is_emailed_in_the_users_language_and_only_its_digest_is_stored(tx, world, member):
    ask(tx, member.email.upper())
    [mail] = platform_mails(tx, member.email)
    assert mail.tenant_id == NIL_TENANT_ID and mail.payload["template"] == "auth/password_reset"
    assert mail.payload["locale"] == "zh_Hans_CN" and mail.payload["context"]["minutes"] == 60
    token = token_for(tx, member.email)
    [reset] = rows(tx, sa.select(PasswordReset).where(PasswordReset.user_id == member.id))
    assert reset.token_hash == digest(token) and reset.used_at is None
    assert timedelta(minutes=59) < reset.expires_at - utcnow() <= timedelta(minutes=60)
    [event] = events(tx, world.tenant_id, "password_reset_requested", member.id)
    assert event.email == member.email


def test_an_unknown_or_inactive_address_gets_the_same_outcome_and_no_mail(tx, world):
    with tx.uow() as uow:
        inactive = make_user(uow)
        inactive.is_active = False
        uow.commit()
    for email in ("nobody@example.test", inactive.email, "", "x" * 300):
        ask(tx, email)
        assert platform_mails(tx, email) == []
    assert rows(tx, sa.select(PasswordReset).where(PasswordReset.user_id == inactive.id)) == []


def test_the_link_sets_a_new_password_once_and_ends_every_session(tx, world, member):
    ask(tx, member.email)
    token = token_for(tx, member.email)
    with tx.uow() as uow:
        _, user = resets.find_reset(uow, token=token)
        assert user.id == member.id
        resets.reset_password(uow, token=token, password=NEW_PASSWORD, min_length=12)
        uow.commit()
    [user] = rows(tx, sa.select(User).where(User.id == member.id))
    assert verify_password(user.password_hash, NEW_PASSWORD) and not verify_password(user.password_hash, PASSWORD)
    [session] = rows(tx, sa.select(UserSession).where(UserSession.id == member.session_id))
    assert session.revoked_at is not None and session.revoked_reason == "password_changed"
    [reset] = rows(tx, sa.select(PasswordReset).where(PasswordReset.user_id == member.id))
    assert reset.used_at is not None
    [changed] = events(tx, world.tenant_id, "password_changed", member.id)
    assert changed.detail == {"via": "reset"}

    with tx.uow() as uow:
        with pytest.raises(ResetLinkInvalid) as caught:
            resets.reset_password(uow, token=token, password="another " + NEW_PASSWORD, min_length=12)
        uow.commit()  # the web layer keeps the refusal's event
    assert str(caught.value) == INVALID
    [refused] = events(tx, world.tenant_id, "reset_refused", member.id)
    assert refused.severity == "warning" and refused.detail["reason"] == "used"
    [user] = rows(tx, sa.select(User).where(User.id == member.id))
    assert verify_password(user.password_hash, NEW_PASSWORD)


def test_an_expired_link_is_refused_with_the_same_message(tx, world, member):
    ask(tx, member.email, minutes=5)
    token = token_for(tx, member.email)
    with tx.uow() as uow:
        uow.execute(sa.update(PasswordReset).where(PasswordReset.user_id == member.id).values(expires_at=utcnow()))
        uow.commit()
    with tx.uow() as uow:
        with pytest.raises(ResetLinkInvalid) as caught:
            resets.reset_password(uow, token=token, password=NEW_PASSWORD, min_length=12)
        uow.commit()
    assert str(caught.value) == INVALID
    [refused] = events(tx, world.tenant_id, "reset_refused", member.id)
    assert refused.detail["reason"] == "expired"
    [user] = rows(tx, sa.select(User).where(User.id == member.id))
    assert verify_password(user.password_hash, PASSWORD)


def test_unknown_links_are_refused_alike_and_log_nothing(tx, world):
    before = rows(tx, sa.select(SecurityEvent).where(SecurityEvent.kind == "reset_refused"), tenant_id=NIL_TENANT_ID)
    for token in ("no-such-token", "y" * 400, ""):
        with tx.uow() as uow, pytest.raises(ResetLinkInvalid) as caught:
            resets.reset_password(uow, token=token, password=NEW_PASSWORD, min_length=12)
        assert str(caught.value) == INVALID
    after = rows(tx, sa.select(SecurityEvent).where(SecurityEvent.kind == "reset_refused"), tenant_id=NIL_TENANT_ID)
    assert len(after) == len(before)


def test_asking_again_replaces_the_earlier_link(tx, world, member):
    ask(tx, member.email)
    first = token_for(tx, member.email)
    ask(tx, member.email)
    second = token_for(tx, member.email)
    assert first != second
    with tx.uow() as uow, pytest.raises(ResetLinkInvalid):
        resets.find_reset(uow, token=first)
    with tx.uow() as uow:
        resets.reset_password(uow, token=second, password=NEW_PASSWORD, min_length=12)
        uow.commit()


def test_a_weak_password_changes_nothing_and_the_link_still_works(tx, world, member):
    ask(tx, member.email)
    token = token_for(tx, member.email)
    for weak, reason in (("short1!", "too_short"), ("qwerty123456", "common"), (member.email + "!!", "contains_email")):
        with tx.uow() as uow, pytest.raises(WeakPassword) as caught:
            resets.reset_password(uow, token=token, password=weak, min_length=12)
        assert caught.value.reason == reason
    [reset] = rows(tx, sa.select(PasswordReset).where(PasswordReset.user_id == member.id))
    assert reset.used_at is None
    [session] = rows(tx, sa.select(UserSession).where(UserSession.id == member.session_id))
    assert session.revoked_at is None
    with tx.uow() as uow:
        resets.reset_password(uow, token=token, password=NEW_PASSWORD, min_length=12)
        uow.commit()
