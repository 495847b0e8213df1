"""Second factor: TOTP enrolment, codes good once, recovery codes, lockout on guessing,
removal, and the tenant's rule."""

from __future__ import annotations

import time

import pyotp
import pytest
import sqlalchemy as sa

from auth import mfa
from auth.errors import (
    AccountLocked,
    InvalidCode,
    SecondFactorAlreadyEnabled,
    SecondFactorNotStarted,
    SecondFactorRequired,
    WrongCurrentPassword,
)
from auth.models import RecoveryCode, SecurityEvent, User
from kernel.crypto import FieldCipher, digest
from kernel.errors import Forbidden, ValidationFailed
from kernel.uow import Actor
from tenants.models import Tenant
from tenants.security import get_mfa_policy, mfa_required, set_mfa_policy, tenants_requiring_mfa
from tests.auth.support import enrolled, member, next_code
from tests.factories import PASSWORD, actor_in


@pytest.fixture
def cipher(settings):
    return FieldCipher.from_settings(settings)


def events(uow, tenant_id, user_id, kind: str | None = None) -> list[SecurityEvent]:
    home, actor = uow.tenant_id, uow.actor
    uow.switch_tenant(tenant_id, actor=Actor.system())
    query = sa.select(SecurityEvent).where(SecurityEvent.user_id == user_id).order_by(SecurityEvent.occurred_at)
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    rows = list(uow.session.scalars(query))
    uow.switch_tenant(home, actor=actor)
    return rows


# --- enrolment -----------------------------------------------------------------------------


def test_enrolment_stores_the_seed_encrypted_and_not_in_force(tx, world, cipher):
    with tx.uow() as uow:
        user = member(uow, world)
        secret, uri = mfa.begin_enrolment(uow, user=user, cipher=cipher)
        assert uri.startswith("otpauth://totp/Traceport:") and f"secret={secret}" in uri and "issuer=Traceport" in uri
        stored = uow.scalar(sa.select(User.totp_secret).where(User.id == user.id))
        assert secret.encode() not in bytes(stored) and cipher.decrypt(stored) == secret
        assert user.totp_enabled_at is None
        assert mfa.pending_enrolment(user, cipher=cipher) == (secret, uri)


def test_confirming_with_the_apps_code_turns_it_on_and_gives_ten_recovery_codes(tx, world, cipher):
    with tx.uow() as uow:
        user = member(uow, world)
        _, codes = enrolled(uow, user, cipher)
        assert user.totp_enabled_at is not None and user.totp_last_step is not None
        assert len(codes) == 10 and len(set(codes)) == 10
        assert all(len(code) == 11 and code[5] == "-" for code in codes)
        stored = set(uow.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
        assert len(stored) == 10 and not any(code.replace("-", "") in "".join(stored) for code in codes)
        assert [e.kind for e in events(uow, world.tenant_id, user.id)] == ["mfa_enabled"]
        assert mfa.pending_enrolment(user, cipher=cipher) is None
        with pytest.raises(SecondFactorAlreadyEnabled):
            mfa.begin_enrolment(uow, user=user, cipher=cipher)


def test_a_wrong_confirmation_code_changes_nothing(tx, world, cipher):
    with tx.uow() as uow:
        user = member(uow, world)
        secret, _ = mfa.begin_enrolment(uow, user=user, cipher=cipher)
        wrong = str((int(pyotp.TOTP(secret).now()) + 1) % 1_000_000).zfill(6)
        with pytest.raises(InvalidCode):
            mfa.confirm_enrolment(uow, user=user, code=wrong, cipher=cipher)
        assert user.totp_enabled_at is None and mfa.recovery_codes_left(uow, user_id=user.id) == 0
        with pytest.raises(SecondFactorNotStarted):
            other = member(uow, world)
            mfa.confirm_enrolment(uow, user=other, code="123456", cipher=cipher)


# --- verification --------------------------------------------------------------------------


def test_a_code_is_good_once_and_older_codes_not_after_it(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        totp, _ = enrolled(uow, user, cipher)
        code = next_code(totp)
        assert mfa.verify_second_factor(uow, user=user, code=code, cipher=cipher, settings=settings) == "totp"
        with pytest.raises(InvalidCode):  # replayed
            mfa.verify_second_factor(uow, user=user, code=code, cipher=cipher, settings=settings)
        with pytest.raises(InvalidCode):  # the code of the step before: also spent
            mfa.verify_second_factor(uow, user=user, code=totp.now(), cipher=cipher, settings=settings)
        assert user.failed_logins == 2
        assert [e.kind for e in events(uow, world.tenant_id, user.id, "otp_failed")] == ["otp_failed", "otp_failed"]


def test_codes_outside_the_window_are_refused(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        totp, _ = enrolled(uow, user, cipher)
        for far in (totp.at(time.time() + 90), totp.at(time.time() - 90)):
            with pytest.raises(InvalidCode):
                mfa.verify_second_factor(uow, user=user, code=far, cipher=cipher, settings=settings)


def test_spaces_in_a_typed_code_do_not_matter(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        totp, codes = enrolled(uow, user, cipher)
        code = next_code(totp)
        assert mfa.verify_second_factor(uow, user=user, code=f" {code[:3]} {code[3:]} ", cipher=cipher, settings=settings)
        assert mfa.verify_second_factor(uow, user=user, code=codes[0].lower(), cipher=cipher, settings=settings)


def test_a_recovery_code_works_once_and_leaves_a_warning(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        _, codes = enrolled(uow, user, cipher)
        assert mfa.verify_second_factor(uow, user=user, code=codes[3], cipher=cipher, settings=settings) == "recovery"
        assert mfa.recovery_codes_left(uow, user_id=user.id) == 9
        with pytest.raises(InvalidCode):
            mfa.verify_second_factor(uow, user=user, code=codes[3], cipher=cipher, settings=settings)
        used = events(uow, world.tenant_id, user.id, "recovery_code_used")
        assert len(used) == 1 and used[0].severity == "warning" and used[0].detail["left"] == 9


def test_recovery_codes_are_bound_to_their_account(tx, world, cipher, settings):
    with tx.uow() as uow:
        alice, bob = member(uow, world), member(uow, world)
        _, alice_codes = enrolled(uow, alice, cipher)
        uow.switch_tenant(world.tenant_id, actor=Actor(user_id=bob.id, name=bob.email))
        enrolled(uow, bob, cipher)
        with pytest.raises(InvalidCode):
            mfa.verify_second_factor(uow, user=bob, code=alice_codes[0], cipher=cipher, settings=settings)
        plain = alice_codes[0].replace("-", "")
        unsalted = sa.select(sa.func.count()).select_from(RecoveryCode).where(RecoveryCode.code_hash == digest(plain))
        assert uow.scalar(unsalted) == 0


def test_guessing_codes_locks_the_account_and_then_even_the_right_code_is_refused(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        totp, codes = enrolled(uow, user, cipher)
        wrong = str((int(next_code(totp)) + 500_000) % 1_000_000).zfill(6)
        for _ in range(settings.login_max_failures - 1):
            with pytest.raises(InvalidCode):
                mfa.verify_second_factor(uow, user=user, code=wrong, cipher=cipher, settings=settings)
        with pytest.raises(AccountLocked):
            mfa.verify_second_factor(uow, user=user, code=wrong, cipher=cipher, settings=settings)
        assert user.locked_until is not None
        for good in (next_code(totp), codes[0]):
            with pytest.raises(AccountLocked):
                mfa.verify_second_factor(uow, user=user, code=good, cipher=cipher, settings=settings)
        assert mfa.recovery_codes_left(uow, user_id=user.id) == 10  # nothing used up while locked
        kinds = [e.kind for e in events(uow, world.tenant_id, user.id)]
        assert kinds.count("otp_failed") == settings.login_max_failures
        assert kinds.count("account_locked") == 1 and kinds.count("login_refused_locked") == 2
        locked = events(uow, world.tenant_id, user.id, "account_locked")[0]
        assert locked.severity == "critical"


def test_a_good_code_after_a_lockout_ran_out_starts_the_count_again(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        totp, _ = enrolled(uow, user, cipher)
        user.failed_logins = 3
        uow.flush()
        assert mfa.verify_second_factor(uow, user=user, code=next_code(totp), cipher=cipher, settings=settings)
        assert user.failed_logins == 0 and user.locked_until is None


def test_a_correct_password_does_not_reset_a_code_guessing_run(tx, world, cipher, settings):
    """Else whoever knows the password could guess codes without end, re-entering the
    password before each lockout."""
    from auth import service as auth_service

    with tx.uow() as uow:
        user = member(uow, world)
        totp, _ = enrolled(uow, user, cipher)
        wrong = str((int(next_code(totp)) + 500_000) % 1_000_000).zfill(6)
        for _ in range(settings.login_max_failures - 1):
            with pytest.raises(InvalidCode):
                mfa.verify_second_factor(uow, user=user, code=wrong, cipher=cipher, settings=settings)
        auth_service.authenticate(uow, email=user.email, password=PASSWORD, settings=settings)
        with pytest.raises(AccountLocked):
            mfa.verify_second_factor(uow, user=user, code=wrong, cipher=cipher, settings=settings)


# --- recovery codes and removal ------------------------------------------------------------


def test_new_recovery_codes_replace_the_old_ones_and_need_the_password(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        _, old = enrolled(uow, user, cipher)
        with pytest.raises(WrongCurrentPassword):
            mfa.regenerate_recovery_codes(uow, user=user, password="not-it", settings=settings)
        assert user.failed_logins == 1 and mfa.recovery_codes_left(uow, user_id=user.id) == 10
        new = mfa.regenerate_recovery_codes(uow, user=user, password=PASSWORD, settings=settings)
        assert len(new) == 10 and not set(new) & set(old)
        assert len(events(uow, world.tenant_id, user.id, "recovery_codes_regenerated")) == 1
        with pytest.raises(InvalidCode):
            mfa.verify_second_factor(uow, user=user, code=old[0], cipher=cipher, settings=settings)
        assert mfa.verify_second_factor(uow, user=user, code=new[0], cipher=cipher, settings=settings) == "recovery"


def test_removing_the_second_factor_needs_the_password(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world)
        enrolled(uow, user, cipher)
        with pytest.raises(WrongCurrentPassword):
            mfa.disable_mfa(uow, user=user, password="not-it", settings=settings)
        assert user.totp_enabled_at is not None
        assert events(uow, world.tenant_id, user.id, "login_failed")[0].detail["reason"] == "mfa_disable"
        mfa.disable_mfa(uow, user=user, password=PASSWORD, settings=settings)
        assert user.totp_secret is None and user.totp_enabled_at is None
        assert mfa.recovery_codes_left(uow, user_id=user.id) == 0
        removed = events(uow, world.tenant_id, user.id, "mfa_disabled")
        assert len(removed) == 1 and removed[0].severity == "warning"


def test_a_second_factor_the_tenant_requires_cannot_be_removed(tx, world, cipher, settings):
    with tx.uow() as uow:
        user = member(uow, world, role="supplier_user", supplier=0)
        enrolled(uow, user, cipher)
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        uow.session.get(Tenant, world.tenant_id).mfa_policy = "suppliers"
        uow.flush()
        uow.switch_tenant(world.tenant_id, actor=Actor(user_id=user.id, name=user.email))
        assert [t.id for t in tenants_requiring_mfa(uow, user_id=user.id)] == [world.tenant_id]
        with pytest.raises(SecondFactorRequired):
            mfa.disable_mfa(uow, user=user, password=PASSWORD, settings=settings)
        assert user.totp_enabled_at is not None and user.failed_logins == 0


# --- the tenant's rule -----------------------------------------------------------------------


def test_the_rule_asks_suppliers_or_everyone():
    class M:
        def __init__(self, supplier_id):
            self.supplier_id = supplier_id

    supplier, buyer = M("s"), M(None)
    assert not mfa_required("none", supplier) and not mfa_required("none", buyer)
    assert mfa_required("suppliers", supplier) and not mfa_required("suppliers", buyer)
    assert mfa_required("all", supplier) and mfa_required("all", buyer)


def test_setting_the_rule_needs_roles_manage_and_is_audited(tx, world, other_world):
    with tx.uow() as uow:
        buyer = actor_in(uow, world, "buyer")
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=buyer)
        with pytest.raises(Forbidden):
            set_mfa_policy(uow, buyer, policy="all")
        uow.switch_tenant(world.tenant_id, actor=admin)
        with pytest.raises(ValidationFailed):
            set_mfa_policy(uow, admin, policy="sometimes")
        set_mfa_policy(uow, admin, policy="all")
        assert get_mfa_policy(uow, admin) == "all"
        set_mfa_policy(uow, admin, policy="none")
        changes = events(uow, world.tenant_id, admin.user_id, "mfa_policy_changed")
        assert [(e.detail["from"], e.detail["to"], e.severity) for e in changes[-2:]] == [
            ("none", "all", "info"),
            ("all", "none", "warning"),
        ]
        trail = uow.execute(
            sa.text(
                "select reason, new_values->>'mfa_policy' from audit.event"
                " where table_name = 'tenant' and row_id = :id order by id desc limit 2"
            ),
            {"id": str(world.tenant_id)},
        ).all()
        assert [row[1] for row in trail] == ["none", "all"] and trail[0][0] == "second-factor rule: all -> none"
        uow.switch_tenant(other_world.tenant_id, actor=Actor.system())
        assert uow.session.get(Tenant, other_world.tenant_id).mfa_policy == "none"  # the other tenant is untouched
