"""Electronic signatures: re-authentication at the moment of signing, the stored record
bound to the content hash, "no longer matches" after a change, refusals that change
nothing but leave a trace, and the table being insert-only."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from auth import signatures
from auth.errors import SignatureRefused, UnknownMeaning
from auth.models import SecurityEvent, Signature
from erp.items.models import Item
from erp.items.service import create_item
from kernel.crypto import FieldCipher
from kernel.errors import Forbidden
from kernel.uow import Actor
from tenants.models import Tenant
from tenants.service import actor_for, memberships_of
from tests.auth.support import enrolled, member, next_code
from tests.factories import PASSWORD, unique


@pytest.fixture
def cipher(settings):
    return FieldCipher.from_settings(settings)


def signer(uow, world, **kw):
    """A new member and their Actor, in the world's tenant."""
    user = member(uow, world, **kw)
    membership = next(m for m in memberships_of(uow, user_id=user.id) if m.tenant_id == world.tenant_id)
    actor = actor_for(user, membership)
    uow.switch_tenant(world.tenant_id, actor=actor)
    return user, actor


def an_item(uow) -> Item:
    return create_item(
        uow, Actor.system(), part_number=unique("SIG-"), name="Sterile barrier pouch", category="sterile_barrier", uom="EA"
    )


def sign_item(uow, actor, item, settings, cipher, **kw):
    kw.setdefault("meaning", "approved")
    kw.setdefault("password", PASSWORD)
    return signatures.sign(
        uow,
        actor,
        record_type="item",
        record_id=item.id,
        content=signatures.content_of(item),
        settings=settings,
        cipher=cipher,
        **kw,
    )


def count(uow, model, *where) -> int:
    return uow.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def failures(uow, user_id) -> list[SecurityEvent]:
    return list(
        uow.session.scalars(
            sa.select(SecurityEvent)
            .where(SecurityEvent.user_id == user_id, SecurityEvent.kind == "signature_failed")
            .order_by(SecurityEvent.occurred_at)
        )
    )


# --- content hashes ------------------------------------------------------------------------


def test_the_content_hash_is_canonical():
    a = {"qty": Decimal("1.50"), "due": date(2026, 3, 1), "id": uuid.UUID(int=7), "names": ["b", "a"], "note": "无菌"}
    b = dict(reversed(list(a.items())))
    assert signatures.content_hash(a) == signatures.content_hash(b)
    assert (
        signatures.canonical_json(a)
        == (
            '{"due":"2026-03-01","id":"00000000-0000-0000-0000-000000000007","names":["b","a"],"note":"无菌","qty":"1.50"}'
        ).encode()
    )
    assert signatures.content_hash({**a, "qty": Decimal("1.5")}) != signatures.content_hash(a)
    # One instant, whatever the zone it was read in.
    moment = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    shanghai = moment.astimezone(timezone(timedelta(hours=8)))
    assert signatures.content_hash({"at": moment}) == signatures.content_hash({"at": shanghai})
    assert signatures.content_hash(b"%PDF-1.7") == hashlib.sha256(b"%PDF-1.7").hexdigest()  # a file: its bytes
    with pytest.raises(TypeError):
        signatures.content_hash({"x": object()})


# --- signing -------------------------------------------------------------------------------


def test_a_signature_is_stored_with_name_time_zone_meaning_and_hash(tx, world, settings, cipher):
    with tx.uow() as uow:
        user, actor = signer(uow, world, role="quality")
        user.timezone = "Asia/Shanghai"
        item = an_item(uow)
        signature = sign_item(uow, actor, item, settings, cipher, meaning="approved")
        row = uow.session.get(Signature, (world.tenant_id, signature.id))
        assert (row.printed_name, row.email, row.time_zone, row.meaning, row.method) == (
            user.full_name,
            user.email,
            "Asia/Shanghai",
            "approved",
            "password",
        )
        assert row.content_hash == signatures.content_hash(signatures.content_of(item)) and len(row.content_hash) == 64
        assert abs(row.signed_at - datetime.now(UTC)) < timedelta(minutes=1)
        assert row.supplier_id is None and row.user_id == user.id
        trail = uow.execute(
            sa.text("select actor_id, reason from audit.event where table_name = 'e_signature' and row_id = :id"),
            {"id": str(signature.id)},
        ).one()
        assert trail.actor_id == user.id and trail.reason == "e-signature: approved"


def test_a_changed_record_shows_its_signature_as_no_longer_matching(tx, world, settings, cipher):
    with tx.uow() as uow:
        _, actor = signer(uow, world, role="quality")
        item = an_item(uow)
        sign_item(uow, actor, item, settings, cipher, meaning="reviewed")
        sign_item(uow, actor, item, settings, cipher, meaning="approved")
        shown = signatures.signatures_for(uow, record_type="item", record_id=item.id, content=signatures.content_of(item))
        assert [(s.meaning, s.matches) for s in shown] == [("reviewed", True), ("approved", True)]

        item.name = "Sterile barrier pouch, 200 mm"
        uow.flush()
        uow.session.refresh(item)
        shown = signatures.signatures_for(uow, record_type="item", record_id=item.id, content=signatures.content_of(item))
        assert [s.matches for s in shown] == [False, False]
        assert shown[0].meaning_label == "Reviewed"
        # Another record's signatures are not this one's.
        other = an_item(uow)
        assert signatures.signatures_for(uow, record_type="item", record_id=other.id, content={}) == []


def test_a_wrong_password_is_refused_changes_nothing_and_counts(tx, world, settings, cipher):
    with tx.uow() as uow:
        user, actor = signer(uow, world, role="quality")
        item = an_item(uow)
        with pytest.raises(SignatureRefused) as refused:
            sign_item(uow, actor, item, settings, cipher, password="not-my-password")
        assert refused.value.message == SignatureRefused.message
        assert count(uow, Signature, Signature.record_id == item.id) == 0
        assert user.failed_logins == 1
        [event] = failures(uow, user.id)
        assert event.severity == "warning" and event.detail["reason"] == "wrong_credentials"
        assert event.detail["record_id"] == str(item.id) and event.detail["meaning"] == "approved"


def test_guessing_the_password_at_signing_locks_the_account(tx, world, settings, cipher):
    with tx.uow() as uow:
        user, actor = signer(uow, world, role="quality")
        item = an_item(uow)
        for _ in range(settings.login_max_failures):
            with pytest.raises(SignatureRefused):
                sign_item(uow, actor, item, settings, cipher, password="guess")
        assert user.locked_until is not None
        with pytest.raises(SignatureRefused) as refused:
            sign_item(uow, actor, item, settings, cipher)  # the right password, while locked
        assert refused.value.reason == "locked"
        assert count(uow, Signature, Signature.record_id == item.id) == 0


def test_with_a_second_factor_the_code_is_needed_too(tx, world, settings, cipher):
    with tx.uow() as uow:
        user, actor = signer(uow, world, role="quality")
        totp, codes = enrolled(uow, user, cipher)
        item = an_item(uow)
        with pytest.raises(SignatureRefused) as missing:
            sign_item(uow, actor, item, settings, cipher)
        assert missing.value.reason == "code_missing" and user.failed_logins == 0
        wrong = str((int(next_code(totp)) + 500_000) % 1_000_000).zfill(6)
        with pytest.raises(SignatureRefused) as wrong_code:
            sign_item(uow, actor, item, settings, cipher, otp=wrong)
        assert wrong_code.value.reason == "wrong_credentials" and user.failed_logins == 1
        with pytest.raises(SignatureRefused):  # a right code does not make up for a wrong password
            sign_item(uow, actor, item, settings, cipher, password="not-it", otp=next_code(totp))
        assert count(uow, Signature, Signature.record_id == item.id) == 0
        assert [e.detail["reason"] for e in failures(uow, user.id)] == ["code_missing", "wrong_credentials", "wrong_credentials"]

        assert sign_item(uow, actor, item, settings, cipher, otp=next_code(totp)).method == "password+totp"
        assert sign_item(uow, actor, item, settings, cipher, otp=codes[0], meaning="verified").method == "password+recovery"
        assert user.failed_logins == 2  # a signature is not a sign-in: the count stays


def test_when_the_tenant_requires_a_second_factor_a_signer_without_one_is_refused(tx, world, settings, cipher):
    with tx.uow() as uow:
        user, actor = signer(uow, world, role="supplier_user", supplier=0)
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        uow.session.get(Tenant, world.tenant_id).mfa_policy = "suppliers"
        uow.flush()
        uow.switch_tenant(world.tenant_id, actor=actor)
        item = an_item(uow)
        with pytest.raises(SignatureRefused) as refused:
            sign_item(uow, actor, item, settings, cipher, meaning="authored")
        assert refused.value.reason == "no_second_factor"
        assert count(uow, Signature, Signature.record_id == item.id) == 0
        assert failures(uow, user.id)[0].detail["reason"] == "no_second_factor"


def test_system_and_api_actors_cannot_sign(tx, world, settings, cipher):
    with tx.uow() as uow:
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        item = an_item(uow)
        api = Actor(user_id=None, name="client:mes", kind="api", permissions=frozenset({"cert.review"}))
        for actor in (Actor.system(), api):
            with pytest.raises(SignatureRefused) as refused:
                sign_item(uow, actor, item, settings, cipher)
            assert refused.value.reason == "not_a_person"
        assert count(uow, Signature, Signature.record_id == item.id) == 0
        events = uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == "signature_failed")).all()
        assert [e.detail["reason"] for e in events if e.detail.get("record_id") == str(item.id)] == ["not_a_person"] * 2


def test_a_meaning_must_be_one_of_the_list(tx, world, settings, cipher):
    with tx.uow() as uow:
        _, actor = signer(uow, world, role="quality")
        item = an_item(uow)
        with pytest.raises(UnknownMeaning):
            sign_item(uow, actor, item, settings, cipher, meaning="liked")
        assert count(uow, Signature, Signature.record_id == item.id) == 0


def test_a_supplier_signs_for_its_own_company_only_and_others_do_not_see_it(tx, world, settings, cipher):
    with tx.uow() as uow:
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        item = an_item(uow)
        _, actor = signer(uow, world, role="supplier_user", supplier=0)
        with pytest.raises(Forbidden):
            sign_item(uow, actor, item, settings, cipher, supplier_id=world.suppliers[1].supplier_id)
        signature = sign_item(uow, actor, item, settings, cipher, meaning="authored")
        assert signature.supplier_id == world.suppliers[0].supplier_id
        signer(uow, world, role="supplier_user", supplier=1)  # the other supplier
        assert signatures.signatures_for(uow, record_type="item", record_id=item.id, content={}) == []
        signer(uow, world, role="quality")  # the tenant's own people see it
        assert len(signatures.signatures_for(uow, record_type="item", record_id=item.id, content={})) == 1


def test_another_tenant_does_not_see_the_signatures(tx, world, other_world, settings, cipher):
    with tx.uow() as uow:
        _, actor = signer(uow, world, role="quality")
        item = an_item(uow)
        sign_item(uow, actor, item, settings, cipher)
        uow.switch_tenant(other_world.tenant_id, actor=Actor.system())
        assert count(uow, Signature, Signature.record_id == item.id) == 0


def test_the_application_role_cannot_change_or_delete_a_signature(tx, world, settings, cipher):
    with tx.uow() as uow:
        _, actor = signer(uow, world, role="quality")
        item = an_item(uow)
        signature = sign_item(uow, actor, item, settings, cipher)
        for statement in (
            sa.update(Signature).where(Signature.id == signature.id).values(meaning="rejected"),
            sa.delete(Signature).where(Signature.id == signature.id),
        ):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                with uow.session.begin_nested():
                    uow.execute(statement)
        assert uow.scalar(sa.select(Signature.meaning).where(Signature.id == signature.id)) == "approved"
