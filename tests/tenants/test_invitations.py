"""Invitations: who may invite whom where, the single-use expiring link, accepting as a
new person or with an existing login, and the refusals (each changes nothing and
leaves a security event)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from auth.errors import InvalidCredentials, WeakPassword
from auth.models import SecurityEvent, User
from auth.passwords import verify_password
from kernel.clock import utcnow
from kernel.crypto import digest
from kernel.errors import Forbidden, ValidationFailed
from kernel.outbox import OutboxMessage
from kernel.uow import Actor
from tenants import invitations
from tenants import service as tenants
from tenants.errors import (
    AlreadyMember,
    BuyerRoleForSupplier,
    InvitationForAnotherEmail,
    InvitationInvalid,
    InvitationNotFound,
    OrganisationNotInvitable,
    RoleDoesNotFit,
    SupplierCodeTaken,
)
from tenants.models import Invitation, Membership, Organisation
from tests.factories import PASSWORD, actor_in, make_user, unique

NEW_PASSWORD = "amber kettle drifts over 9 lanterns"
BASE_URL = "https://traceport.example"
INVALID = "This invitation link is not valid any more. Ask the person who invited you for a new one."


def address() -> str:
    return f"{unique('invitee')}@example.test"


def actor(tx, world, who) -> Actor:
    with tx.uow() as lookup:
        return actor_in(lookup, world, who)


def send(tx, world, who, *, email, organisation_id, role="supplier_admin", locale="en", full_name="Li Wei", days=7):
    """Invite as `who`, commit, and return the invitation and the emailed token."""
    by = actor(tx, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
        invitation = invitations.invite(
            uow,
            by,
            email=email,
            full_name=full_name,
            organisation_id=organisation_id,
            role=role,
            locale=locale,
            expiry_days=days,
            base_url=BASE_URL,
        )
        uow.commit()
    return invitation, token_for(tx, world, email)


def rows(tx, query, *, tenant_id=None) -> list:
    """Rows read in a unit of work of their own, kept usable after it ends."""
    with tx.uow(tenant_id=tenant_id) as uow:
        found = list(uow.session.scalars(query))
        uow.session.expunge_all()
    return found


def mails_to(tx, tenant_id, email) -> list[OutboxMessage]:
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.topic == "mail.send", OutboxMessage.payload["to"].astext == email)
        .order_by(OutboxMessage.id)
    )
    return rows(tx, query, tenant_id=tenant_id)


def token_for(tx, world, email) -> str:
    """The token of the newest invitation mail to the address (the link's last part)."""
    link = mails_to(tx, world.tenant_id, email)[-1].payload["context"]["link"]
    assert link.startswith(f"{BASE_URL}/invitations/")
    return urlsplit(link).path.rsplit("/", 1)[1]


def events(tx, tenant_id, kind, **detail) -> list[SecurityEvent]:
    query = sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)
    return [e for e in rows(tx, query, tenant_id=tenant_id) if all(e.detail.get(k) == v for k, v in detail.items())]


def invitation_rows(tx, world, email) -> list[Invitation]:
    return rows(tx, sa.select(Invitation).where(Invitation.email == email), tenant_id=world.tenant_id)


def accept(tx, settings, token, **kw):
    with tx.uow() as uow:
        user = invitations.accept_invitation(uow, token=token, settings=settings, **kw)
        uow.commit()
    return user


def membership(tx, world, user_id) -> Membership | None:
    query = sa.select(Membership).where(Membership.tenant_id == world.tenant_id, Membership.user_id == user_id)
    found = rows(tx, query, tenant_id=world.tenant_id)
    return found[0] if found else None


def refuse_link(tx, settings, token, **kw) -> InvitationInvalid:
    """Accepting is refused; the refusal's event is kept (as the web layer does)."""
    with tx.uow() as uow:
        with pytest.raises(InvitationInvalid) as caught:
            invitations.accept_invitation(uow, token=token, settings=settings, **kw)
        uow.commit()
    return caught.value


# --- a buyer onboards a supplier contact ------------------------------------------------------------


def test_a_buyer_invites_a_supplier_contact_who_sets_a_password_and_becomes_its_admin(tx, world, settings):
    email, supplier = address(), world.suppliers[0]
    invitation, token = send(tx, world, "buyer", email=email, organisation_id=supplier.id, locale="zh-CN")
    [row] = invitation_rows(tx, world, email)
    assert row.token_hash == digest(token) and token not in row.token_hash  # only the digest is stored
    assert (row.role, row.supplier_id, row.locale, row.invited_by) == (
        "supplier_admin",
        supplier.id,
        "zh_Hans_CN",
        world.users["buyer"].id,
    )
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)
    [mail] = mails_to(tx, world.tenant_id, email)
    context = mail.payload["context"]
    assert mail.payload["template"] == "tenants/invitation" and mail.payload["locale"] == "zh_Hans_CN"
    # The names in the invitee's language; the inviter by name.
    assert context["tenant_name"] == f"租户 {world.slug}" and context["inviter_name"] == world.users["buyer"].full_name
    [sent] = events(tx, world.tenant_id, "invitation_sent", invitation_id=str(invitation.id))
    assert sent.user_id == world.users["buyer"].id and sent.detail["invitee"] == email

    with tx.uow() as uow:
        details = invitations.find_invitation(uow, token=token)
        assert (details.email, details.organisation_name, details.has_login) == (email, supplier.name, False)
    user = accept(tx, settings, token, full_name="李伟", password=NEW_PASSWORD)
    with tx.uow() as uow:
        stored = uow.session.get(User, user.id)
        assert (stored.email, stored.full_name, stored.locale) == (email, "李伟", "zh_Hans_CN")
        assert verify_password(stored.password_hash, NEW_PASSWORD) and stored.password_changed_at is not None
    member = membership(tx, world, user.id)
    assert (member.role, member.organisation_id, member.supplier_id, member.is_active) == (
        "supplier_admin",
        supplier.id,
        supplier.id,
        True,
    )
    [row] = invitation_rows(tx, world, email)
    assert row.accepted_by == user.id and row.accepted_at is not None


def test_the_link_works_once(tx, world, settings):
    email = address()
    invitation, token = send(tx, world, "buyer", email=email, organisation_id=world.suppliers[0].id)
    accept(tx, settings, token, full_name="Once", password=NEW_PASSWORD)
    error = refuse_link(tx, settings, token, full_name="Twice", password=NEW_PASSWORD)
    assert str(error) == INVALID
    [refused] = events(tx, world.tenant_id, "invitation_refused", invitation_id=str(invitation.id))
    assert refused.severity == "warning" and refused.detail["reason"] == "used" and refused.email == email
    with tx.uow() as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email)) == 1


def test_an_expired_link_is_refused_with_the_same_message(tx, world, settings):
    email = address()
    invitation, token = send(tx, world, "buyer", email=email, organisation_id=world.suppliers[0].id)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(
            sa.update(Invitation).where(Invitation.id == invitation.id).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        uow.commit()
    error = refuse_link(tx, settings, token, full_name="Late", password=NEW_PASSWORD)
    assert str(error) == INVALID
    [refused] = events(tx, world.tenant_id, "invitation_refused", invitation_id=str(invitation.id))
    assert refused.detail["reason"] == "expired"
    with tx.uow() as uow:
        assert uow.scalar(sa.select(User).where(User.email == email)) is None


def test_an_unknown_or_malformed_link_is_refused_the_same_way_and_logs_nothing(tx, world, settings):
    before = len(events(tx, world.tenant_id, "invitation_refused"))
    for token in ("no-such-token", "x" * 500, ""):
        assert str(refuse_link(tx, settings, token, full_name="X", password=NEW_PASSWORD)) == INVALID
    assert len(events(tx, world.tenant_id, "invitation_refused")) == before


def test_inviting_again_replaces_the_earlier_link(tx, world, settings):
    email, org = address(), world.suppliers[0].id
    first, first_token = send(tx, world, "buyer", email=email, organisation_id=org)
    _, second_token = send(tx, world, "tenant_admin", email=email.upper(), organisation_id=org)
    assert first_token != second_token
    error = refuse_link(tx, settings, first_token, full_name="Old", password=NEW_PASSWORD)
    assert str(error) == INVALID
    [refused] = events(tx, world.tenant_id, "invitation_refused", invitation_id=str(first.id))
    assert refused.detail["reason"] == "revoked"
    accept(tx, settings, second_token, full_name="New", password=NEW_PASSWORD)


def test_a_weak_password_on_acceptance_changes_nothing_and_the_link_still_works(tx, world, settings):
    email = address()
    _, token = send(tx, world, "buyer", email=email, organisation_id=world.suppliers[1].id)
    for weak, reason in (("short", "too_short"), ("leavemealone", "common"), (email + "-x", "contains_email")):
        with tx.uow() as uow, pytest.raises(WeakPassword) as caught:
            invitations.accept_invitation(uow, token=token, settings=settings, full_name="Weak", password=weak)
        assert caught.value.reason == reason
    with tx.uow() as uow, pytest.raises(ValidationFailed) as caught:
        invitations.accept_invitation(uow, token=token, settings=settings, full_name=" ", password=NEW_PASSWORD)
    assert "full_name" in caught.value.errors
    with tx.uow() as uow:
        assert uow.scalar(sa.select(User).where(User.email == email)) is None
    accept(tx, settings, token, full_name="Strong", password=NEW_PASSWORD)


# --- an existing Traceport login -------------------------------------------------------------------


def test_an_existing_login_joins_a_second_tenant_with_its_password(tx, world, other_world, settings):
    person = world.users["supplier1"]  # a supplier admin in alpha
    _, token = send(
        tx, other_world, "buyer", email=person.email, organisation_id=other_world.suppliers[1].id, role="supplier_user"
    )
    with tx.uow() as uow:
        assert invitations.find_invitation(uow, token=token).has_login
    with tx.uow() as uow, pytest.raises(InvalidCredentials):
        invitations.accept_invitation(uow, token=token, settings=settings, password="not-the-password")
    assert membership(tx, other_world, person.id) is None
    user = accept(tx, settings, token, password=PASSWORD, full_name="ignored")
    assert user.id == person.id and user.full_name == person.full_name
    with tx.uow(actor=Actor(user_id=person.id, name=person.email)) as uow:
        tenants_of = {m.tenant_id: m.role for m in tenants.memberships_of(uow, user_id=person.id)}
    assert tenants_of == {world.tenant_id: "supplier_admin", other_world.tenant_id: "supplier_user"}
    [row] = invitation_rows(tx, other_world, person.email)
    assert row.accepted_by == person.id


def test_a_signed_in_person_joins_only_with_the_invited_address(tx, world, other_world, settings):
    person, stranger = world.users["quality"], world.users["warehouse"]
    _, token = send(tx, other_world, "tenant_admin", email=person.email, organisation_id=_own_org(tx, other_world), role="viewer")
    with tx.uow() as uow, pytest.raises(InvitationForAnotherEmail):
        invitations.accept_invitation(uow, token=token, settings=settings, existing_user=uow.session.get(User, stranger.id))
    with tx.uow() as uow:
        invitations.accept_invitation(uow, token=token, settings=settings, existing_user=uow.session.get(User, person.id))
        uow.commit()
    assert membership(tx, other_world, person.id).role == "viewer"


def test_an_active_member_is_not_invited_again(tx, world):
    by = actor(tx, world, "tenant_admin")
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow, pytest.raises(AlreadyMember):
        invitations.invite(
            uow,
            by,
            email=world.users["buyer"].email.upper(),
            full_name=None,
            organisation_id=_own_org(tx, world),
            role="viewer",
            locale="en",
            expiry_days=7,
            base_url=BASE_URL,
        )


def test_a_revoked_member_comes_back_through_a_new_invitation(tx, world, settings):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        member = tenants.add_membership(uow, user=user, role="supplier_user", organisation=world.suppliers[0])
        member.is_active = False
        uow.commit()
    _, token = send(tx, world, "supplier1", email=user.email, organisation_id=world.suppliers[0].id, role="supplier_admin")
    accept(tx, settings, token, password=PASSWORD)
    back = membership(tx, world, user.id)
    assert (back.id, back.is_active, back.role) == (member.id, True, "supplier_admin")


# --- supplier administrators invite colleagues -------------------------------------------------------


def test_a_supplier_admin_invites_a_colleague_into_their_own_company(tx, world, settings):
    email, own = address(), world.suppliers[0]
    invitation, token = send(tx, world, "supplier1", email=email, organisation_id=own.id, role="supplier_user")
    assert invitation.supplier_id == own.id
    user = accept(tx, settings, token, full_name="Colleague", password=NEW_PASSWORD)
    assert membership(tx, world, user.id).supplier_id == own.id
    # The other supplier's admin does not see it; the buyer side does.
    other = actor(tx, world, "supplier2")
    with tx.uow(tenant_id=world.tenant_id, actor=other) as uow:
        assert email not in {i.email for i in invitations.list_invitations(uow, other)}
    admin = actor(tx, world, "tenant_admin")
    with tx.uow(tenant_id=world.tenant_id, actor=admin) as uow:
        [listed] = [i for i in invitations.list_invitations(uow, admin) if i.email == email]
        assert listed.status == "accepted"


def _nothing_written(tx, world, email):
    assert invitation_rows(tx, world, email) == []
    assert mails_to(tx, world.tenant_id, email) == []


def test_a_supplier_admin_cannot_invite_into_another_suppliers_company(tx, world, settings):
    email, by = address(), actor(tx, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
        with pytest.raises(OrganisationNotInvitable) as caught:
            invitations.invite(
                uow,
                by,
                email=email,
                full_name=None,
                organisation_id=world.suppliers[1].id,  # a changed form field
                role="supplier_admin",
                locale="en",
                expiry_days=7,
                base_url=BASE_URL,
            )
        uow.commit()  # keep what the service wrote: only the event
    assert caught.value.status == 403
    _nothing_written(tx, world, email)
    [event] = events(tx, world.tenant_id, "isolation_denied", invitee=email)
    assert event.user_id == world.users["supplier1"].id and event.severity == "warning"
    assert event.detail["organisation_id"] == str(world.suppliers[1].id)


def test_a_supplier_admin_cannot_give_a_buyer_role(tx, world):
    email, by = address(), actor(tx, world, "supplier1")
    for org, role in ((world.suppliers[0].id, "buyer"), (_own_org(tx, world), "tenant_admin")):
        with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
            with pytest.raises((BuyerRoleForSupplier, OrganisationNotInvitable)):
                invitations.invite(
                    uow,
                    by,
                    email=email,
                    full_name=None,
                    organisation_id=org,
                    role=role,
                    locale="en",
                    expiry_days=7,
                    base_url=BASE_URL,
                )
            uow.commit()
    _nothing_written(tx, world, email)
    [event] = events(tx, world.tenant_id, "privilege_escalation_denied", invitee=email)
    assert event.detail["role"] == "buyer" and event.user_id == world.users["supplier1"].id
    assert events(tx, world.tenant_id, "isolation_denied", invitee=email)  # the buyer side's own company


def test_an_organisation_of_another_tenant_is_refused_and_logged(tx, world, other_world):
    email, by = address(), actor(tx, world, "tenant_admin")
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
        with pytest.raises(OrganisationNotInvitable):
            invitations.invite(
                uow,
                by,
                email=email,
                full_name=None,
                organisation_id=other_world.suppliers[0].id,
                role="supplier_admin",
                locale="en",
                expiry_days=7,
                base_url=BASE_URL,
            )
        uow.commit()
    _nothing_written(tx, world, email)
    assert invitation_rows(tx, other_world, email) == []
    [event] = events(tx, world.tenant_id, "isolation_denied", invitee=email)
    assert event.detail["organisation_id"] == str(other_world.suppliers[0].id)


def test_a_buyer_without_users_manage_invites_supplier_contacts_only(tx, world):
    email, by = address(), actor(tx, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
        orgs = invitations.invitable_organisations(uow, by)
        roles = {r.key for r in invitations.invitable_roles(uow, by)}
        with pytest.raises(OrganisationNotInvitable):
            invitations.invite(
                uow,
                by,
                email=email,
                full_name=None,
                organisation_id=_own_org(tx, world),
                role="viewer",
                locale="en",
                expiry_days=7,
                base_url=BASE_URL,
            )
        uow.commit()
    assert {o.id for o in orgs} >= {s.id for s in world.suppliers} and _own_org(tx, world) not in {o.id for o in orgs}
    assert roles == {"supplier_admin", "supplier_user"}
    _nothing_written(tx, world, email)
    assert events(tx, world.tenant_id, "isolation_denied", invitee=email)


def test_a_role_must_fit_the_organisation_and_people_without_the_permission_cannot_invite(tx, world):
    email, admin = address(), actor(tx, world, "tenant_admin")
    with tx.uow(tenant_id=world.tenant_id, actor=admin) as uow, pytest.raises(RoleDoesNotFit):
        invitations.invite(
            uow,
            admin,
            email=email,
            full_name=None,
            organisation_id=world.suppliers[0].id,
            role="quality",
            locale="en",
            expiry_days=7,
            base_url=BASE_URL,
        )
    for who in ("viewer", "quality", "warehouse"):
        by = actor(tx, world, who)
        with tx.uow(tenant_id=world.tenant_id, actor=by) as uow, pytest.raises(Forbidden):
            invitations.invite(
                uow,
                by,
                email=email,
                full_name=None,
                organisation_id=world.suppliers[0].id,
                role="supplier_admin",
                locale="en",
                expiry_days=7,
                base_url=BASE_URL,
            )
    _nothing_written(tx, world, email)


def test_a_supplier_user_cannot_invite(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="supplier_user", organisation=world.suppliers[0])
        world_user = user
        uow.commit()
    with tx.uow(actor=Actor(user_id=world_user.id, name=world_user.email)) as uow:
        m = next(m for m in tenants.memberships_of(uow, user_id=world_user.id) if m.tenant_id == world.tenant_id)
        by = tenants.actor_for(world_user, m)
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow, pytest.raises(Forbidden):
        invitations.list_invitations(uow, by)


# --- a new supplier in the same step, revoking, listing ---------------------------------------------


def test_a_buyer_adds_a_supplier_company_and_invites_its_contact(tx, world, settings):
    email, code, by = address(), unique("NEW"), actor(tx, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
        invitation = invitations.invite_new_supplier(
            uow,
            by,
            code=code.lower(),
            name="Shenzhen Precision Parts",
            name_zh="深圳精密零件",
            country="cn",
            email=email,
            full_name=None,
            locale="zh_Hans_CN",
            expiry_days=7,
            base_url=BASE_URL,
        )
        uow.commit()
    [org] = rows(tx, sa.select(Organisation).where(Organisation.code == code), tenant_id=world.tenant_id)
    assert (org.kind, org.supplier_id, org.country, org.name_zh) == ("supplier", org.id, "CN", "深圳精密零件")
    assert (invitation.organisation_id, invitation.role) == (org.id, "supplier_admin")
    assert mails_to(tx, world.tenant_id, email)[0].payload["context"]["organisation_name"] == "深圳精密零件"
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow, pytest.raises(SupplierCodeTaken):
        invitations.invite_new_supplier(
            uow,
            by,
            code=code,
            name="Twin",
            name_zh=None,
            country=None,
            email=address(),
            full_name=None,
            locale="en",
            expiry_days=7,
            base_url=BASE_URL,
        )
    for who in ("viewer", "supplier1"):
        other = actor(tx, world, who)
        with tx.uow(tenant_id=world.tenant_id, actor=other) as uow, pytest.raises(Forbidden):
            invitations.invite_new_supplier(
                uow,
                other,
                code=unique("X"),
                name="Nope",
                name_zh=None,
                country=None,
                email=address(),
                full_name=None,
                locale="en",
                expiry_days=7,
                base_url=BASE_URL,
            )


def test_revoking_ends_the_link_and_statuses_are_listed(tx, world, settings):
    pending, accepted, revoked, expired = address(), address(), address(), address()
    org = world.suppliers[0].id
    send(tx, world, "buyer", email=pending, organisation_id=org)
    _, token = send(tx, world, "buyer", email=accepted, organisation_id=org)
    accept(tx, settings, token, full_name="A", password=NEW_PASSWORD)
    to_revoke, revoked_token = send(tx, world, "buyer", email=revoked, organisation_id=org)
    old, _ = send(tx, world, "buyer", email=expired, organisation_id=org)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(Invitation).where(Invitation.id == old.id).values(expires_at=utcnow() - timedelta(days=1)))
        uow.commit()
    by = actor(tx, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
        invitations.revoke_invitation(uow, by, invitation_id=to_revoke.id)
        uow.commit()
    assert str(refuse_link(tx, settings, revoked_token, full_name="R", password=NEW_PASSWORD)) == INVALID
    admin = actor(tx, world, "tenant_admin")
    with tx.uow(tenant_id=world.tenant_id, actor=admin) as uow:
        status = {i.email: i.status for i in invitations.list_invitations(uow, admin)}
    assert [status[e] for e in (pending, accepted, revoked, expired)] == ["pending", "accepted", "revoked", "expired"]


def test_a_supplier_admin_cannot_revoke_another_suppliers_invitation(tx, world):
    email = address()
    invitation, _ = send(tx, world, "buyer", email=email, organisation_id=world.suppliers[1].id)
    by = actor(tx, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id, actor=by) as uow:
        with pytest.raises(InvitationNotFound):
            invitations.revoke_invitation(uow, by, invitation_id=invitation.id)
        uow.commit()
    [row] = invitation_rows(tx, world, email)
    assert row.revoked_at is None
    assert events(tx, world.tenant_id, "isolation_denied", invitation_id=str(invitation.id))


def _own_org(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return tenants.own_organisation(uow).id
