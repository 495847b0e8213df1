"""Invitations: how people join a tenant.

A buyer invites a supplier company's contact (who becomes its supplier administrator),
and an administrator invites colleagues - a tenant administrator anyone fitting an
organisation's side, a supplier administrator only into their own company and only
supplier roles. The invitee gets an email (in their language) with a link that holds a
random token; only its SHA-256 is stored. The link is good once, until it expires or is
revoked; inviting the same address to the same organisation again revokes the earlier
link. Following it, a new person sets a name and password, a person who already has a
Traceport login proves it with that password; either way they gain a membership here.

Link lookups come before any tenant is known: `app.invitation_tenant(hash)` (security
definer) gives the tenant id and only that, and the row is then read under that
tenant's row-level security. Every refusal of a link has the same words, so a link
tells nothing about whether it ever existed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from auth import service as auth_service
from auth.errors import RoleNotFound
from auth.models import Role, User
from auth.permissions import require
from auth.roles import get_role, list_roles
from auth.security import record_security_event
from kernel.clock import utcnow
from kernel.crypto import digest, new_token
from kernel.errors import N_, Forbidden, ValidationFailed
from kernel.mail import normalise_locale, queue_mail
from kernel.uow import Actor
from tenants.errors import (
    AlreadyMember,
    BuyerRoleForSupplier,
    InvitationClosed,
    InvitationForAnotherEmail,
    InvitationInvalid,
    InvitationNotFound,
    OrganisationNotInvitable,
    RoleDoesNotFit,
    RoleNotGrantable,
    SupplierCodeTaken,
)
from tenants.models import Invitation, Membership, Organisation, OrganisationKind, Tenant
from tenants.service import add_membership, create_supplier, grantable

MAIL_TEMPLATE = "tenants/invitation"
# A token is 43 characters (kernel.crypto.new_token); anything much longer is not one.
_MAX_TOKEN = 128
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

STATUS_LABELS = {
    "pending": N_("Pending"),
    "accepted": N_("Accepted"),
    "expired": N_("Expired"),
    "revoked": N_("Revoked"),
}


@dataclass(frozen=True)
class InvitationView:
    """An invitation as the administration page lists it."""

    id: uuid.UUID
    email: str
    full_name: str | None
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_name_zh: str | None
    is_supplier: bool
    role: str
    locale: str
    status: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    invited_by_name: str | None


@dataclass(frozen=True)
class InvitationDetails:
    """What the invitee sees on the link's page."""

    invitation: Invitation
    tenant_id: uuid.UUID
    tenant_name: str
    tenant_name_zh: str | None
    organisation_name: str
    organisation_name_zh: str | None
    role: str
    role_name: str
    role_name_zh: str | None
    # Whether the invited address already has a Traceport login: the page then asks for
    # that password instead of a new one. Only the link's holder learns it.
    has_login: bool

    @property
    def email(self) -> str:
        return self.invitation.email


# --- who may invite whom --------------------------------------------------------------------


def may_invite(actor: Actor) -> bool:
    return actor.kind == "system" or bool({"users.manage", "suppliers.invite"} & actor.permissions)


def _require_inviter(actor: Actor) -> None:
    if not may_invite(actor):
        raise Forbidden()


def may_manage_colleagues(actor: Actor) -> bool:
    return actor.kind == "system" or "users.manage" in actor.permissions


def invitable_organisations(uow, actor: Actor) -> list[Organisation]:
    """The organisations the actor may invite into, for the form's choices: a supplier
    administrator their own company; a buyer-side administrator the tenant's own company
    and every supplier; a buyer with `suppliers.invite` the suppliers."""
    _require_inviter(actor)
    query = sa.select(Organisation).where(Organisation.tenant_id == uow.tenant_id)
    if actor.supplier_id is not None:
        query = query.where(Organisation.id == actor.supplier_id)
    elif not may_manage_colleagues(actor):
        query = query.where(Organisation.kind == OrganisationKind.SUPPLIER)
    return list(uow.session.scalars(query.order_by(Organisation.kind.desc(), Organisation.name)))


def invitable_roles(uow, actor: Actor) -> list[Role]:
    """The roles the actor may give by invitation (either side; the form pairs them
    with the organisation): supplier roles into a supplier company, and roles of the
    actor's own side within their own powers."""
    _require_inviter(actor)
    return [role for role in list_roles(uow) if _may_give(actor, role, supplier_org=role.side == "supplier")]


def _may_give(actor: Actor, role: Role, *, supplier_org: bool) -> bool:
    if actor.kind == "system":
        return True
    if actor.supplier_id is not None:
        # A supplier administrator: supplier roles within their own powers only.
        return "users.manage" in actor.permissions and role.side == "supplier" and grantable(actor, role)
    if supplier_org:
        # The buyer side onboards a supplier's people: supplier roles hold no buyer powers.
        return role.side == "supplier"
    return "users.manage" in actor.permissions and role.side == "buyer" and grantable(actor, role)


# --- inviting --------------------------------------------------------------------------------


def invite(
    uow,
    actor: Actor,
    *,
    email: str,
    full_name: str | None,
    organisation_id: uuid.UUID,
    role: str,
    locale: str | None,
    expiry_days: int,
    base_url: str,
) -> Invitation:
    """Invite a person into an organisation of the tenant in context with a role, and
    email them the link. Refusals of a tampered form (another supplier's company, a
    role above the actor) change nothing and leave a security event."""
    _require_inviter(actor)
    email = (email or "").strip()
    full_name = (full_name or "").strip() or None
    if not _EMAIL.match(email) or len(email) > 254:
        raise ValidationFailed(errors={"email": N_("Enter a valid email address.")})
    if full_name and len(full_name) > 200:
        raise ValidationFailed(errors={"full_name": N_("This is too long.")})
    organisation = _organisation_for(uow, actor, organisation_id, email=email)
    found = get_role(uow, key=role)
    if found is None:
        raise RoleNotFound()
    supplier_org = organisation.kind == OrganisationKind.SUPPLIER
    if not supplier_org and not may_manage_colleagues(actor):
        _refuse(uow, actor, "isolation_denied", email=email, organisation_id=organisation_id, why="own company, no users.manage")
        raise OrganisationNotInvitable()
    fits = (found.side == "supplier") == supplier_org
    if not _may_give(actor, found, supplier_org=supplier_org) and (fits or actor.supplier_id is not None):
        by_supplier = actor.supplier_id is not None and found.side != "supplier"
        _refuse(uow, actor, "privilege_escalation_denied", email=email, organisation_id=organisation_id, role=role)
        raise (BuyerRoleForSupplier if by_supplier else RoleNotGrantable)(role=role)
    if not fits:
        # An honest mistake on the form (a buyer-side administrator's), not an attack.
        raise RoleDoesNotFit(role=role, errors={"role": N_("This role does not fit the organisation.")})
    existing = auth_service.find_user_by_email(uow, email=email)
    if existing is not None and _active_membership(uow, existing.id) is not None:
        raise AlreadyMember(email=email)

    uow.reason = "invitation"
    now = utcnow()
    # A new invitation replaces a pending one to the same address and organisation.
    uow.execute(
        sa.update(Invitation)
        .where(
            Invitation.tenant_id == uow.tenant_id,
            sa.func.lower(Invitation.email) == email.lower(),
            Invitation.organisation_id == organisation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    token = new_token()
    invitation = Invitation(
        tenant_id=uow.tenant_id,
        email=email,
        full_name=full_name,
        organisation_id=organisation.id,
        supplier_id=organisation.supplier_id,
        role=found.key,
        locale=normalise_locale(locale),
        token_hash=digest(token),
        invited_by=actor.user_id,
        expires_at=now + timedelta(days=expiry_days),
    )
    uow.add(invitation)
    uow.flush()
    _send(uow, actor, invitation, organisation, found, token=token, base_url=base_url)
    record_security_event(
        uow,
        kind="invitation_sent",
        user_id=actor.user_id,
        email=_actor_email(actor),
        detail={
            "invitation_id": str(invitation.id),
            "invitee": email,
            "organisation_id": str(organisation.id),
            "role": found.key,
        },
    )
    return invitation


def invite_new_supplier(
    uow,
    actor: Actor,
    *,
    code: str,
    name: str,
    name_zh: str | None,
    country: str | None,
    email: str,
    full_name: str | None,
    locale: str | None,
    expiry_days: int,
    base_url: str,
) -> Invitation:
    """Create a supplier company and invite its first contact as its supplier
    administrator, in one step. Creating the company needs `suppliers.manage` (it adds
    to the tenant's supplier master data), inviting needs `suppliers.invite` or
    `users.manage`."""
    _require_inviter(actor)
    require(actor, "suppliers.manage")
    code = (code or "").strip().upper()
    name = (name or "").strip()
    country = (country or "").strip().upper() or None
    errors = {}
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9._-]{0,39}", code):
        errors["code"] = N_("Use up to 40 letters, digits, dots, dashes or underscores.")
    if not name or len(name) > 200:
        errors["name"] = N_("Enter the company's name (at most 200 characters).")
    if name_zh and len(name_zh.strip()) > 200:
        errors["name_zh"] = N_("This is too long.")
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        errors["country"] = N_("Use the two-letter country code (ISO 3166), for example CN or DE.")
    if errors:
        raise ValidationFailed(errors=errors)
    taken = uow.scalar(sa.select(Organisation.id).where(Organisation.tenant_id == uow.tenant_id, Organisation.code == code))
    if taken is not None:
        raise SupplierCodeTaken(code=code)
    uow.reason = "supplier onboarding"
    organisation = create_supplier(uow, code=code, name=name, name_zh=(name_zh or "").strip() or None, country=country)
    return invite(
        uow,
        actor,
        email=email,
        full_name=full_name,
        organisation_id=organisation.id,
        role="supplier_admin",
        locale=locale,
        expiry_days=expiry_days,
        base_url=base_url,
    )


def _organisation_for(uow, actor: Actor, organisation_id, *, email: str) -> Organisation:
    """The organisation named in the form, if the actor may invite into it. Another
    supplier's company, or an id from another tenant, is a tampered form: refused, and
    logged."""
    try:
        organisation_id = uuid.UUID(str(organisation_id))
    except ValueError:
        raise ValidationFailed(errors={"organisation_id": N_("Choose one of the organisations offered.")}) from None
    if actor.supplier_id is not None and organisation_id != actor.supplier_id:
        _refuse(uow, actor, "isolation_denied", email=email, organisation_id=organisation_id, why="another supplier's company")
        raise OrganisationNotInvitable()
    organisation = uow.session.scalar(
        sa.select(Organisation).where(Organisation.tenant_id == uow.tenant_id, Organisation.id == organisation_id)
    )
    if organisation is None:
        _refuse(
            uow, actor, "isolation_denied", email=email, organisation_id=organisation_id, why="not an organisation of this tenant"
        )
        raise OrganisationNotInvitable()
    return organisation


def _refuse(uow, actor: Actor, kind: str, *, email: str | None = None, organisation_id=None, **detail) -> None:
    record_security_event(
        uow,
        kind=kind,
        # Granting a role the page never offers is a tampered form: mailed to the administrators.
        severity="critical" if kind == "privilege_escalation_denied" else "warning",
        user_id=actor.user_id,
        email=_actor_email(actor),
        detail={
            "action": "invite",
            "invitee": email,
            "organisation_id": str(organisation_id) if organisation_id else None,
            "actor_supplier_id": str(actor.supplier_id) if actor.supplier_id else None,
            **detail,
        },
    )


def _actor_email(actor: Actor) -> str | None:
    return actor.name if actor.kind == "user" else None


def _send(uow, actor: Actor, invitation: Invitation, organisation: Organisation, role: Role, *, token, base_url) -> None:
    tenant = uow.session.get(Tenant, uow.tenant_id)
    chinese = invitation.locale.startswith("zh")
    inviter = auth_service.get_user(uow, user_id=actor.user_id) if actor.user_id else None

    def pick(name: str, name_zh: str | None) -> str:
        return name_zh if chinese and name_zh else name

    queue_mail(
        uow,
        to=invitation.email,
        template=MAIL_TEMPLATE,
        locale=invitation.locale,
        context={
            "link": f"{base_url.rstrip('/')}/invitations/{token}",
            "full_name": invitation.full_name,
            "tenant_name": pick(tenant.name, tenant.name_zh),
            "organisation_name": pick(organisation.name, organisation.name_zh),
            "is_supplier": organisation.kind == OrganisationKind.SUPPLIER,
            "role_name": pick(role.name, role.name_zh),
            "inviter_name": inviter.full_name if inviter else None,
            "expires_at": invitation.expires_at,
        },
    )


# --- the link --------------------------------------------------------------------------------


def find_invitation(uow, *, token: str, lock: bool = False) -> InvitationDetails:
    """The pending invitation behind a link; the unit of work switches into its tenant
    (as the system, until the invitee is known). InvitationInvalid, with one message,
    for a link that is unknown, expired, revoked or used; when it matched an invitation
    the refusal is a security event of that tenant."""
    if not token or len(token) > _MAX_TOKEN:
        raise InvitationInvalid()
    token_hash = digest(token)
    tenant_id = uow.scalar(sa.text("select app.invitation_tenant(:hash)"), {"hash": token_hash})
    if tenant_id is None:
        raise InvitationInvalid()
    uow.switch_tenant(tenant_id, actor=Actor.system("invitation"))
    query = sa.select(Invitation).where(Invitation.tenant_id == tenant_id, Invitation.token_hash == token_hash)
    invitation = uow.session.scalar(query.with_for_update() if lock else query)
    if invitation is None:  # pragma: no cover - the lookup just found it
        raise InvitationInvalid()
    problem = _closed_reason(invitation)
    if problem is not None:
        record_security_event(
            uow,
            kind="invitation_refused",
            severity="warning",
            email=invitation.email,
            user_id=invitation.accepted_by,
            detail={"invitation_id": str(invitation.id), "reason": problem},
        )
        raise InvitationInvalid()
    tenant = uow.session.get(Tenant, tenant_id)
    organisation = uow.session.scalar(
        sa.select(Organisation).where(Organisation.tenant_id == tenant_id, Organisation.id == invitation.organisation_id)
    )
    role = get_role(uow, key=invitation.role)
    return InvitationDetails(
        invitation=invitation,
        tenant_id=tenant_id,
        tenant_name=tenant.name,
        tenant_name_zh=tenant.name_zh,
        organisation_name=organisation.name,
        organisation_name_zh=organisation.name_zh,
        role=invitation.role,
        role_name=role.name if role else invitation.role,
        role_name_zh=role.name_zh if role else None,
        has_login=auth_service.find_user_by_email(uow, email=invitation.email) is not None,
    )


def _closed_reason(invitation: Invitation) -> str | None:
    if invitation.accepted_at is not None:
        return "used"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= utcnow():
        return "expired"
    return None


def accept_invitation(
    uow,
    *,
    token: str,
    password: str | None = None,
    full_name: str | None = None,
    existing_user: User | None = None,
    settings,
) -> User:
    """Take up an invitation; returns the user, now a member of the invitation's tenant.

    - `existing_user`: someone the caller has authenticated already (a signed-in
      session); their email must be the invited one.
    - otherwise, when the invited address has a Traceport login: `password` is that
      login's password (auth.service.authenticate: InvalidCredentials, and the failure
      counts towards the account's lockout);
    - otherwise a new person: `full_name` and a new `password` (the password rules,
      settings.password_min_length).

    The link is good once: it is marked accepted by this user."""
    details = find_invitation(uow, token=token, lock=True)
    invitation = details.invitation
    user = auth_service.find_user_by_email(uow, email=invitation.email)
    if existing_user is not None:
        if user is None or existing_user.id != user.id or not user.is_active:
            raise InvitationForAnotherEmail()
    elif user is not None:
        user = auth_service.authenticate(uow, email=invitation.email, password=password or "", settings=settings)
    else:
        full_name = (full_name or "").strip()
        if not full_name or len(full_name) > 200:
            raise ValidationFailed(errors={"full_name": N_("Enter your full name (at most 200 characters).")})
        from auth.passwords import check_password

        check_password(password or "", email=invitation.email, min_length=settings.password_min_length)
        user = auth_service.create_user(
            uow, email=invitation.email, full_name=full_name, password=password, locale=invitation.locale
        )
        user.password_changed_at = utcnow()
    # From here the trail names the person who took up the invitation.
    uow.switch_tenant(details.tenant_id, actor=Actor(user_id=user.id, name=user.email))
    uow.reason = "invitation accepted"
    membership = uow.session.scalar(
        sa.select(Membership).where(Membership.tenant_id == details.tenant_id, Membership.user_id == user.id)
    )
    organisation = uow.session.scalar(
        sa.select(Organisation).where(Organisation.tenant_id == details.tenant_id, Organisation.id == invitation.organisation_id)
    )
    if membership is None:
        add_membership(uow, user=user, role=invitation.role, organisation=organisation)
    elif membership.is_active:
        raise AlreadyMember(email=user.email)
    else:
        # A revoked membership comes back with what this invitation gives.
        membership.is_active = True
        membership.role = invitation.role
        membership.organisation_id = organisation.id
        membership.supplier_id = organisation.supplier_id
    invitation.accepted_at = utcnow()
    invitation.accepted_by = user.id
    uow.flush()
    return user


# --- administration ---------------------------------------------------------------------------


def revoke_invitation(uow, actor: Actor, *, invitation_id: uuid.UUID) -> Invitation:
    """Withdraw a pending invitation: its link stops working at once."""
    _require_inviter(actor)
    invitation = _visible_invitation(uow, actor, invitation_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise InvitationClosed()
    uow.reason = "invitation revoked"
    invitation.revoked_at = utcnow()
    uow.flush()
    return invitation


def list_invitations(uow, actor: Actor) -> list[InvitationView]:
    """The tenant's invitations, newest first: for a supplier administrator their own
    company's (row-level security), for a buyer with `suppliers.invite` only those to
    supplier companies."""
    _require_inviter(actor)
    query = (
        sa.select(Invitation, Organisation, User.full_name)
        .join(
            Organisation,
            sa.and_(Organisation.tenant_id == Invitation.tenant_id, Organisation.id == Invitation.organisation_id),
        )
        .outerjoin(User, User.id == Invitation.invited_by)
        .where(Invitation.tenant_id == uow.tenant_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    if actor.supplier_id is not None:
        query = query.where(Invitation.supplier_id == actor.supplier_id)
    elif not may_manage_colleagues(actor):
        query = query.where(Organisation.kind == OrganisationKind.SUPPLIER)
    now = utcnow()
    return [
        InvitationView(
            id=inv.id,
            email=inv.email,
            full_name=inv.full_name,
            organisation_id=org.id,
            organisation_name=org.name,
            organisation_name_zh=org.name_zh,
            is_supplier=org.kind == OrganisationKind.SUPPLIER,
            role=inv.role,
            locale=inv.locale,
            status=_status(inv, now),
            created_at=inv.created_at,
            expires_at=inv.expires_at,
            accepted_at=inv.accepted_at,
            invited_by_name=inviter,
        )
        for inv, org, inviter in uow.execute(query).all()
    ]


def _status(invitation: Invitation, now: datetime) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= now else "pending"


def _visible_invitation(uow, actor: Actor, invitation_id) -> Invitation:
    invitation = uow.session.scalar(
        sa.select(Invitation).where(Invitation.tenant_id == uow.tenant_id, Invitation.id == invitation_id)
    )
    supplier_only = actor.supplier_id is None and not may_manage_colleagues(actor)
    if (
        invitation is None
        or (actor.supplier_id is not None and invitation.supplier_id != actor.supplier_id)
        or (supplier_only and invitation.supplier_id is None)
    ):
        record_security_event(
            uow,
            kind="isolation_denied",
            severity="warning",
            user_id=actor.user_id,
            email=_actor_email(actor),
            detail={"action": "revoke invitation", "invitation_id": str(invitation_id)},
        )
        raise InvitationNotFound()
    return invitation


def _active_membership(uow, user_id: uuid.UUID) -> Membership | None:
    return uow.session.scalar(
        sa.select(Membership).where(Membership.tenant_id == uow.tenant_id, Membership.user_id == user_id, Membership.is_active)
    )
