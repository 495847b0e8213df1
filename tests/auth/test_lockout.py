"""Brute force on a password: counted per account, locked for a while, recorded, and
the tenant's administrators alerted by email (real SMTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from auth import lockout
from auth.errors import AccountLocked, InvalidCredentials
from auth.models import SecurityEvent, UnknownLogin, User
from auth.service import authenticate
from kernel.clock import utcnow
from kernel.models import NIL_TENANT_ID
from kernel.uow import Actor
from portal.jobs import dispatcher
from tenants import service as tenants
from tests.factories import PASSWORD, make_user

WRONG = "not-the-password"


@pytest.fixture
def rules(settings):
    return settings.model_copy(update={"login_max_failures": 3, "lockout_minutes": 15, "alert_failed_logins": 10})


@pytest.fixture
def member(tx, world, other_world):
    """A buyer in both tenants: their failures concern both."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="buyer")
        uow.switch_tenant(other_world.tenant_id)
        tenants.add_membership(uow, user=user, role="buyer")
        uow.commit()
    return user


def attempt(tx, email, password, rules):
    """One sign-in attempt, committed whatever its outcome (as the sign-in page keeps it)."""
    with tx.uow() as uow:
        uow.switch_tenant(None, actor=Actor.system("sign-in"))
        try:
            result = authenticate(uow, email=email, password=password, settings=rules)
        except (InvalidCredentials, AccountLocked) as error:
            result = error
        uow.commit()
        uow.session.expunge_all()  # readable after the unit of work closes
    return result


def account(tx, user) -> User:
    with tx.uow() as uow:
        row = uow.session.get(User, user.id)
        uow.session.expunge_all()
    return row


def events(tx, tenant_id, user_id=None, email=None):
    with tx.uow(tenant_id=tenant_id) as uow:
        query = sa.select(SecurityEvent).order_by(SecurityEvent.id)
        if user_id is not None:
            query = query.where(SecurityEvent.user_id == user_id)
        if email is not None:
            query = query.where(SecurityEvent.email == email)
        rows = list(uow.session.scalars(query))
        uow.session.expunge_all()
    return rows


def deliver(tx, settings, tenant_id):
    with tx.uow(tenant_id=tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()


def test_wrong_passwords_are_counted_and_recorded_in_each_of_the_accounts_tenants(tx, member, world, other_world, rules):
    for n in (1, 2):
        assert isinstance(attempt(tx, member.email, WRONG, rules), InvalidCredentials)
        assert account(tx, member).failed_logins == n
    for tenant_id in (world.tenant_id, other_world.tenant_id):
        found = events(tx, tenant_id, user_id=member.id)
        assert [(e.kind, e.severity) for e in found] == [("login_failed", "warning")] * 2
        assert found[-1].detail["consecutive"] == 2 and found[-1].email == member.email
    assert events(tx, NIL_TENANT_ID, user_id=member.id) == []
    assert account(tx, member).locked_until is None


def test_the_last_allowed_failure_locks_the_account_and_alerts_the_administrators(
    tx, member, world, other_world, rules, settings, mailbox
):
    for _ in range(rules.login_max_failures - 1):
        assert isinstance(attempt(tx, member.email, WRONG, rules), InvalidCredentials)
    locked = attempt(tx, member.email, WRONG, rules)
    assert isinstance(locked, AccountLocked) and locked.params == {"minutes": 15}
    assert str(locked) == "Too many failed attempts. Try again in 15 minutes or reset your password."
    row = account(tx, member)
    assert row.failed_logins == 3
    assert timedelta(minutes=14) < row.locked_until - utcnow() <= timedelta(minutes=15)
    [event] = [e for e in events(tx, world.tenant_id, user_id=member.id) if e.kind == "account_locked"]
    assert event.severity == "critical" and event.detail["minutes"] == 15
    assert any(e.kind == "account_locked" for e in events(tx, other_world.tenant_id, user_id=member.id))

    deliver(tx, settings, world.tenant_id)
    admin = world.users["tenant_admin"].email
    alerts = [m for m in mailbox if m["To"] == admin and "Account locked" in m["Subject"]]
    assert len(alerts) == 1
    body = alerts[0].get_body(("plain",)).get_content()
    assert member.email in body and "/admin/security" in body
    # Only those who may read the security events are told.
    assert not [m for m in mailbox if m["To"] == world.users["buyer"].email]


def test_a_locked_account_refuses_even_the_right_password_and_is_not_extended(tx, member, world, rules):
    for _ in range(rules.login_max_failures):
        attempt(tx, member.email, WRONG, rules)
    until = account(tx, member).locked_until
    refused = attempt(tx, member.email, PASSWORD, rules)
    assert isinstance(refused, AccountLocked) and 1 <= refused.params["minutes"] <= 15
    row = account(tx, member)
    assert (row.locked_until, row.failed_logins, row.last_login_at) == (until, 3, None)
    assert events(tx, world.tenant_id, user_id=member.id)[-1].kind == "login_refused_locked"


def test_after_the_lockout_the_right_password_works_and_resets_the_count(tx, member, rules):
    for _ in range(rules.login_max_failures):
        attempt(tx, member.email, WRONG, rules)
    with tx.uow() as uow:  # fifteen minutes later
        uow.execute(sa.update(User).where(User.id == member.id).values(locked_until=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert attempt(tx, member.email, PASSWORD, rules).id == member.id
    row = account(tx, member)
    assert (row.failed_logins, row.locked_until) == (0, None) and row.last_login_at is not None


def test_after_the_lockout_a_wrong_password_starts_a_new_count(tx, member, rules):
    for _ in range(rules.login_max_failures):
        attempt(tx, member.email, WRONG, rules)
    with tx.uow() as uow:
        uow.execute(sa.update(User).where(User.id == member.id).values(locked_until=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert isinstance(attempt(tx, member.email, WRONG, rules), InvalidCredentials)
    row = account(tx, member)
    assert (row.failed_logins, row.locked_until) == (1, None)


def test_a_success_resets_the_count(tx, member, rules):
    attempt(tx, member.email, WRONG, rules)
    attempt(tx, member.email, WRONG, rules)
    attempt(tx, member.email, PASSWORD, rules)
    assert account(tx, member).failed_logins == 0
    attempt(tx, member.email, WRONG, rules)
    attempt(tx, member.email, WRONG, rules)
    assert account(tx, member).locked_until is None  # two, not four


def test_an_unknown_email_gets_the_same_answer_and_a_platform_event(tx, world, rules):
    email = "nobody-here@example.test"
    result = attempt(tx, email, WRONG, rules)
    assert isinstance(result, InvalidCredentials)
    assert [e.kind for e in events(tx, NIL_TENANT_ID, email=email)] == ["login_failed"]
    assert events(tx, world.tenant_id, email=email) == []


def test_an_unknown_email_is_locked_at_the_same_attempt_as_an_account(tx, member, rules):
    """The lockout message would otherwise tell that an account exists."""
    known = [attempt(tx, member.email, WRONG, rules) for _ in range(rules.login_max_failures + 1)]
    unknown = [attempt(tx, "nobody-here@example.test", WRONG, rules) for _ in range(rules.login_max_failures + 1)]
    answers = [[(type(r).__name__, r.params) for r in rs] for rs in (known, unknown)]
    assert answers[0] == answers[1]
    assert [type(r) for r in unknown] == [InvalidCredentials] * (rules.login_max_failures - 1) + [AccountLocked] * 2
    # The same email in other case and spacing is the same one.
    assert isinstance(attempt(tx, " Nobody-Here@Example.test", WRONG, rules), AccountLocked)


def test_an_unknown_emails_lockout_runs_out_and_counting_starts_again(tx, rules):
    email = "nobody-else@example.test"
    for _ in range(rules.login_max_failures):
        attempt(tx, email, WRONG, rules)
    with tx.uow() as uow:
        uow.execute(sa.update(UnknownLogin).values(locked_until=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert isinstance(attempt(tx, email, WRONG, rules), InvalidCredentials)


def test_repeated_failures_within_an_hour_raise_a_critical_event(tx, member, world, settings):
    rules = settings.model_copy(update={"login_max_failures": 100, "alert_failed_logins": 3})
    for _ in range(4):
        attempt(tx, member.email, WRONG, rules)
    severities = [e.severity for e in events(tx, world.tenant_id, user_id=member.id)]
    assert severities == ["warning", "warning", "critical", "warning"]


def test_an_inactive_account_is_refused_with_the_same_words(tx, member, world, rules):
    with tx.uow() as uow:
        uow.execute(sa.update(User).where(User.id == member.id).values(is_active=False))
        uow.commit()
    result = attempt(tx, member.email, PASSWORD, rules)
    assert isinstance(result, InvalidCredentials)
    assert events(tx, world.tenant_id, user_id=member.id)[-1].detail["reason"] == "inactive"


def test_second_factor_failures_count_towards_the_same_lockout(tx, member, world, rules):
    attempt(tx, member.email, WRONG, rules)
    with tx.uow() as uow:
        user = uow.session.get(User, member.id)
        assert lockout.register_failed_attempt(uow, user=user, settings=rules, kind="otp_failed") is False
        assert lockout.register_failed_attempt(uow, user=user, settings=rules, kind="otp_failed") is True
        uow.commit()
    assert lockout.is_locked(account(tx, member))
    kinds = [e.kind for e in events(tx, world.tenant_id, user_id=member.id)]
    assert kinds == ["login_failed", "otp_failed", "otp_failed", "account_locked"]
