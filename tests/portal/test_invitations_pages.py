"""Invitations through the web client, with the real SMTP server (aiosmtpd) and the
worker's outbox dispatcher: inviting, the email, the link once, expired and reused
links, an existing login joining a second tenant, supplier administrators inviting
colleagues, and tampered forms."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent, User
from kernel.clock import utcnow
from portal.jobs import dispatcher
from tenants import service as tenants
from tenants.models import Invitation, Membership
from tests.factories import PASSWORD, unique
from tests.portal.support import login, text_of, token_in

NEW_PASSWORD = "amber kettle drifts over 9 lanterns"
INVALID = "This invitation link is not valid any more. Ask the person who invited you for a new one."
LINK = re.compile(r"https?://[^\s/]+(/invitations/[A-Za-z0-9_-]+)")


def address() -> str:
    return f"{unique('guest')}@example.test"


def deliver(tx, settings, tenant_id) -> None:
    """What the worker's delivery job does for the tenant."""
    with tx.uow(tenant_id=tenant_id) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()


def received(mailbox, to):
    return [m for m in mailbox if m["To"] == to]


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def own_org_id(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return tenants.own_organisation(uow).id


def invite(client, *, email, organisation_id, role="supplier_admin", locale="en", full_name="Li Wei"):
    page = client.get("/admin/invitations")
    assert page.status_code == 200
    return client.post(
        "/admin/invitations",
        data={
            "csrf_token": token_in(page.data),
            "email": email,
            "full_name": full_name,
            "organisation_id": str(organisation_id),
            "role": role,
            "locale": locale,
        },
    )


def invitation_path(tx, settings, mailbox, world, email) -> str:
    deliver(tx, settings, world.tenant_id)
    [message] = received(mailbox, email)
    match = LINK.search(body(message))
    assert match, body(message)
    return match.group(1)


def accept_new(client, path, *, full_name="Li Wei", password=NEW_PASSWORD, confirm=None):
    page = client.get(path)
    return client.post(
        path,
        data={"csrf_token": token_in(page.data), "full_name": full_name, "password": password, "confirm": confirm or password},
    )


def events(tx, tenant_id, kind) -> list[SecurityEvent]:
    with tx.uow(tenant_id=tenant_id) as uow:
        found = list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind)))
        uow.session.expunge_all()
    return found


def invitations_to(tx, world, email) -> list[Invitation]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        found = list(uow.session.scalars(sa.select(Invitation).where(Invitation.email == email)))
        uow.session.expunge_all()
    return found


# --- the whole flow -----------------------------------------------------------------------------


def test_a_buyer_invites_a_supplier_contact_who_accepts_and_lands_on_the_supplier_home(app, tx, world, settings, mailbox):
    email, supplier = address(), world.suppliers[0]
    buyer = app.test_client()
    login(buyer, world.users["buyer"])
    page = text_of(buyer.get("/admin/invitations"))
    assert "Invite a new supplier" in page and supplier.name in page
    assert 'autocomplete="off"' in page and "autofocus" in page
    response = invite(buyer, email=email, organisation_id=supplier.id)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/invitations"
    listing = text_of(buyer.get("/admin/invitations"))
    assert f"Invitation sent to {email}." in listing and email in listing and "Pending" in listing

    deliver(tx, settings, world.tenant_id)
    [message] = received(mailbox, email)
    text = body(message)
    assert message["Subject"] == f"You are invited to Tenant {world.slug} on Traceport"
    assert message["Content-Language"] == "en"
    assert "Hello Li Wei," in text and world.users["buyer"].full_name in text and supplier.name in text
    assert "Supplier administrator" in text and "can be used once" in text
    path = LINK.search(text).group(1)
    assert f"{settings.base_url.rstrip('/')}{path}" in text

    guest = app.test_client()
    form = guest.get(path)
    page = text_of(form)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert f"Join Tenant {world.slug} on Traceport" in page and supplier.name in page and "Supplier administrator" in page
    assert 'autocomplete="new-password"' in page and 'autocomplete="name"' in page and "autofocus" in page
    assert 'value="Li Wei"' in page  # the name the buyer gave, to correct if need be
    response = accept_new(guest, path, full_name="Li Wei")
    assert response.status_code == 303 and response.headers["Location"] == "/supplier/"
    home = text_of(guest.get("/supplier/"))
    assert f"Welcome to Tenant {world.slug}." in home and "Li Wei" in home
    # The new supplier administrator can invite colleagues.
    assert guest.get("/admin/invitations").status_code == 200

    # The link works once; afterwards the same refusal as for any other link.
    again = app.test_client().get(path)
    assert again.status_code == 404 and INVALID in text_of(again)
    with tx.uow() as uow:
        user = uow.session.scalar(sa.select(User).where(User.email == email))
        assert user.full_name == "Li Wei" and user.locale == "en"
        user_id = user.id
    assert [i.accepted_by for i in invitations_to(tx, world, email)] == [user_id]
    assert any(e.detail.get("reason") == "used" for e in events(tx, world.tenant_id, "invitation_refused"))


def test_an_invitation_in_chinese_is_sent_in_chinese(app, tx, world, settings, mailbox):
    email = address()
    admin = app.test_client()
    login(admin, world.users["tenant_admin"])
    assert invite(admin, email=email, organisation_id=world.suppliers[1].id, locale="zh_Hans_CN").status_code == 303
    deliver(tx, settings, world.tenant_id)
    [message] = received(mailbox, email)
    assert message["Content-Language"] == "zh-Hans-CN"
    text = body(message)
    # The tenant's and the role's names in Chinese; the sentences follow the merged catalogs.
    assert f"租户 {world.slug}" in text and "供应商管理员" in text
    assert LINK.search(text)


def test_expired_reused_and_unknown_links_get_the_same_page(app, tx, world, settings, mailbox):
    admin = app.test_client()
    login(admin, world.users["tenant_admin"])
    expired, used = address(), address()
    invite(admin, email=expired, organisation_id=world.suppliers[0].id)
    invite(admin, email=used, organisation_id=world.suppliers[0].id)
    expired_path = invitation_path(tx, settings, mailbox, world, expired)
    used_path = invitation_path(tx, settings, mailbox, world, used)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(Invitation).where(Invitation.email == expired).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert accept_new(app.test_client(), used_path).status_code == 303
    before = len(events(tx, world.tenant_id, "invitation_refused"))

    pages = []
    for path in (expired_path, used_path, "/invitations/not-a-real-token"):
        guest = app.test_client()
        shown = guest.get(path)
        posted = guest.post(path, data={"csrf_token": token_in(guest.get("/login").data), "full_name": "X",
                                        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})  # fmt: skip
        pages.append((shown.status_code, posted.status_code))
        for response in (shown, posted):
            assert INVALID in text_of(response) and "Choose how you are named" not in text_of(response)
    assert pages == [(404, 404)] * 3
    # Each refusal of a real link is logged (GET and POST); the unknown one is not.
    refused = events(tx, world.tenant_id, "invitation_refused")[before:]
    assert sorted(e.detail["reason"] for e in refused) == ["expired", "expired", "used", "used"]
    with tx.uow() as uow:
        assert uow.scalar(sa.select(User).where(User.email == expired)) is None


def test_form_errors_re_render_with_the_message_and_write_nothing(app, tx, world, settings, mailbox):
    email = address()
    admin = app.test_client()
    login(admin, world.users["tenant_admin"])
    invite(admin, email=email, organisation_id=world.suppliers[0].id)
    path = invitation_path(tx, settings, mailbox, world, email)
    guest = app.test_client()
    cases = [
        ({"password": "leavemealone"}, 422, "This password is on a list of commonly used passwords."),
        ({"password": "Short1!"}, 422, "The password must have at least 12 characters."),
        ({"password": email + "-2026"}, 422, "must not contain your email address"),
        ({"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, 200, "The two passwords are not the same."),
        ({"full_name": ""}, 200, "Enter your full name."),
    ]
    for change, status, message in cases:
        fields = {"full_name": "Li Wei", "password": NEW_PASSWORD, "confirm": None} | change
        fields["confirm"] = fields["confirm"] or fields["password"]
        response = accept_new(guest, path, **fields)
        assert response.status_code == status and message in text_of(response), message
        assert 'aria-invalid="true"' in text_of(response)
    with tx.uow() as uow:
        assert uow.scalar(sa.select(User).where(User.email == email)) is None
    assert [i.accepted_at for i in invitations_to(tx, world, email)] == [None]
    assert accept_new(guest, path).status_code == 303


# --- an existing login ----------------------------------------------------------------------------


def test_an_existing_login_joins_a_second_tenant_with_its_password(app, tx, world, other_world, settings, mailbox):
    person = world.users["supplier2"]
    admin = app.test_client()
    login(admin, other_world.users["tenant_admin"])
    invite(admin, email=person.email, organisation_id=other_world.suppliers[0].id, role="supplier_user")
    path = invitation_path(tx, settings, mailbox, other_world, person.email)
    guest = app.test_client()
    page = text_of(guest.get(path))
    assert "Sign in with your existing Traceport password" in page and "Choose how you are named" not in page
    assert 'autocomplete="current-password"' in page

    wrong = guest.post(path, data={"csrf_token": token_in(page), "password": "not the password"})
    assert wrong.status_code == 401 and "The email or password is not correct." in text_of(wrong)
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert (
            uow.scalar(
                sa.select(Membership).where(Membership.user_id == person.id, Membership.tenant_id == other_world.tenant_id)
            )
            is None
        )
        assert uow.session.get(User, person.id).failed_logins == 1  # counted towards the lockout
    response = guest.post(path, data={"csrf_token": token_in(page), "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/supplier/"
    with guest.session_transaction() as session:
        assert session["tenant_id"] == str(other_world.tenant_id)
    home = text_of(guest.get("/supplier/"))
    assert f"Tenant {other_world.slug}" in home and "Switch organisation" in home  # two tenants now
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        joined = uow.scalar(
            sa.select(Membership).where(Membership.user_id == person.id, Membership.tenant_id == other_world.tenant_id)
        )
        assert (joined.role, joined.supplier_id) == ("supplier_user", other_world.suppliers[0].id)


def test_a_person_signed_in_with_the_invited_address_just_confirms(app, tx, world, other_world, settings, mailbox):
    person = world.users["viewer"]
    admin = app.test_client()
    login(admin, other_world.users["tenant_admin"])
    invite(admin, email=person.email, organisation_id=own_org_id(tx, other_world), role="quality")
    path = invitation_path(tx, settings, mailbox, other_world, person.email)
    client = app.test_client()
    login(client, person)
    page = text_of(client.get(path))
    assert "You are signed in with the invited address" in page and 'type="password"' not in page
    response = client.post(path, data={"csrf_token": token_in(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/buyer/"
    with client.session_transaction() as session:
        assert session["tenant_id"] == str(other_world.tenant_id)


# --- supplier administrators and tampered forms ----------------------------------------------------


def test_a_supplier_admin_invites_a_colleague(app, tx, world, settings, mailbox):
    email, own = address(), world.suppliers[0]
    client = app.test_client()
    login(client, world.users["supplier1"])
    page = text_of(client.get("/admin/invitations"))
    assert "Invite a colleague" in page and "Invite a new supplier" not in page
    assert own.name in page and world.suppliers[1].name not in page  # only their own company
    assert "Buyer" not in re.search(r'<select[^>]*name="role".*?</select>', page, re.S).group(0)
    assert 'href="/admin/invitations"' in page  # in the navigation
    assert invite(client, email=email, organisation_id=own.id, role="supplier_user").status_code == 303
    path = invitation_path(tx, settings, mailbox, world, email)
    colleague = app.test_client()
    assert accept_new(colleague, path, full_name="Colleague").headers["Location"] == "/supplier/"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = uow.scalar(sa.select(User).where(User.email == email))
        member = uow.scalar(sa.select(Membership).where(Membership.user_id == user.id))
        assert (member.role, member.supplier_id) == ("supplier_user", own.id)
    # A supplier user may not invite.
    assert colleague.get("/admin/invitations").status_code == 403


@pytest.mark.parametrize(
    ("field", "kind", "message"),
    [
        ("organisation", "isolation_denied", "You can invite people only into an organisation you manage."),
        ("role", "privilege_escalation_denied", "Supplier administrators can give only supplier roles, not Buyer."),
    ],
)
def test_a_supplier_admin_changing_the_form_is_refused_and_logged(app, tx, world, mailbox, field, kind, message):
    email = address()
    client = app.test_client()
    login(client, world.users["supplier1"])
    before = len(events(tx, world.tenant_id, kind))
    organisation = world.suppliers[1].id if field == "organisation" else world.suppliers[0].id
    response = invite(client, email=email, organisation_id=organisation, role="buyer" if field == "role" else "supplier_user")
    assert response.status_code == 403
    page = text_of(response)
    assert message in page and 'role="alert"' in page and "Invite a colleague" in page  # the form again
    assert invitations_to(tx, world, email) == []
    [event] = events(tx, world.tenant_id, kind)[before:]
    assert event.user_id == world.users["supplier1"].id and event.detail["invitee"] == email


def test_a_tenant_or_supplier_id_of_another_tenant_is_refused(app, tx, world, other_world):
    email = address()
    client = app.test_client()
    login(client, world.users["tenant_admin"])
    before = len(events(tx, world.tenant_id, "isolation_denied"))
    response = invite(client, email=email, organisation_id=other_world.suppliers[0].id)
    assert response.status_code == 403
    assert "You can invite people only into an organisation you manage." in text_of(response)
    assert invitations_to(tx, world, email) == [] and invitations_to(tx, other_world, email) == []
    assert len(events(tx, world.tenant_id, "isolation_denied")) == before + 1
    # Not a uuid at all: a plain form error.
    response = invite(client, email=email, organisation_id="not-an-id")
    assert response.status_code == 422 and "Choose one of the organisations offered." in text_of(response)


def test_a_buyer_adds_a_new_supplier_and_invites_its_contact(app, tx, world, settings, mailbox):
    email, code = address(), unique("ACME")
    client = app.test_client()
    login(client, world.users["buyer"])
    page = client.get("/admin/invitations")
    response = client.post(
        "/admin/invitations/supplier",
        data={
            "csrf_token": token_in(page.data),
            "supplier-code": code,
            "supplier-name": "Acme Medical Plastics",
            "supplier-name_zh": "",
            "supplier-country": "DE",
            "supplier-email": email,
            "supplier-full_name": "",
            "supplier-locale": "en",
        },
    )
    assert response.status_code == 303
    listing = text_of(client.get("/admin/invitations"))
    assert "Acme Medical Plastics" in listing and email in listing
    deliver(tx, settings, world.tenant_id)
    [message] = received(mailbox, email)
    assert "Hello," in body(message) and "Acme Medical Plastics" in body(message)
    # The same code again: a clear error, nothing added.
    again = client.post(
        "/admin/invitations/supplier",
        data={
            "csrf_token": token_in(page.data),
            "supplier-code": code.upper(),
            "supplier-name": "Twin",
            "supplier-email": address(),
            "supplier-locale": "en",
        },
    )
    assert again.status_code == 409 and f"There is already a supplier with the code {code.upper()}." in text_of(again)


def test_revoking_an_invitation_ends_its_link(app, tx, world, settings, mailbox):
    email = address()
    admin = app.test_client()
    login(admin, world.users["tenant_admin"])
    invite(admin, email=email, organisation_id=world.suppliers[0].id)
    path = invitation_path(tx, settings, mailbox, world, email)
    [invitation] = invitations_to(tx, world, email)
    page = admin.get("/admin/invitations")
    assert f"/admin/invitations/{invitation.id}/revoke" in text_of(page)
    response = admin.post(f"/admin/invitations/{invitation.id}/revoke", data={"csrf_token": token_in(page.data)})
    assert response.status_code == 303
    assert "its link no longer works" in text_of(admin.get("/admin/invitations"))
    assert app.test_client().get(path).status_code == 404
    # A supplier administrator cannot revoke an invitation to another supplier's company.
    second = address()
    invite(admin, email=second, organisation_id=world.suppliers[1].id)
    [other] = invitations_to(tx, world, second)
    supplier = app.test_client()
    login(supplier, world.users["supplier1"])
    before = len(events(tx, world.tenant_id, "isolation_denied"))
    token = token_in(supplier.get("/admin/invitations").data)
    assert supplier.post(f"/admin/invitations/{other.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert [i.revoked_at for i in invitations_to(tx, world, second)] == [None]
    assert len(events(tx, world.tenant_id, "isolation_denied")) == before + 1


def test_an_existing_login_with_a_second_factor_still_needs_it_to_sign_in(app, tx, world, other_world, settings, mailbox):
    from kernel.crypto import FieldCipher
    from tests.auth.support import enrolled, member

    with tx.uow() as uow:
        person = member(uow, world, role="viewer")
        enrolled(uow, person, FieldCipher.from_settings(settings))
        uow.commit()
    admin = app.test_client()
    login(admin, other_world.users["tenant_admin"])
    invite(admin, email=person.email, organisation_id=own_org_id(tx, other_world), role="viewer")
    path = invitation_path(tx, settings, mailbox, other_world, person.email)
    guest = app.test_client()
    page = text_of(guest.get(path))
    response = guest.post(path, data={"csrf_token": token_in(page), "password": PASSWORD})
    # The invitation is taken up, but the sign-in waits for the second factor.
    assert response.status_code == 302 and response.headers["Location"] == "/login/verify"
    assert guest.get("/buyer/").status_code == 302
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert (
            uow.scalar(
                sa.select(Membership.role).where(Membership.user_id == person.id, Membership.tenant_id == other_world.tenant_id)
            )
            == "viewer"
        )
