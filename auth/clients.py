"""API clients: machines (MES, WMS, a supplier's ERP) calling the API with OAuth2 client
credentials (RFC 6749 §4.4) and bearer tokens (RFC 6750).

A tenant administrator (`api_clients.manage`) creates a client with scopes - permission
names - for the tenant's side, or acting for one supplier with supplier-side scopes only
(row-level security then shows it that supplier's rows, as it would a supplier user).
The public id is `tpc_` + random; the secret and every access token are random 256-bit
values stored only as SHA-256 digests (kernel.crypto), so the secret is shown once and
can be replaced (rotated) but never read back.

Before any tenant is in context the token endpoint and the bearer check find the tenant
with `app.api_client_tenant(client_id)` / `app.api_token_tenant(digest)` (security
definer functions that return the tenant id and nothing else), switch into it, and read
the rows there. A call is then made by an Actor of kind "api" named
"api:<name> (<client_id>)": the audit trail and security events name the client.

Identity powers never go to a machine: no client holds users.manage, roles.manage,
sso.manage or api_clients.manage, so a leaked secret cannot hand over the tenant.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from auth.errors import (
    ApiClientInvalid,
    ApiClientNotFound,
    ApiClientRevoked,
    ClientAuthenticationFailed,
    InvalidScope,
    ScopeNotGrantable,
    TokenInvalid,
)
from auth.models import ApiClient, ApiToken, SecurityEvent
from auth.permissions import BUYER_PERMISSIONS, PERMISSIONS, SUPPLIER_PERMISSIONS, require
from auth.security import record_security_event
from kernel.clock import utcnow
from kernel.crypto import digest, new_token, same
from kernel.errors import N_, Forbidden
from kernel.uow import Actor

CLIENT_ID_PREFIX = "tpc_"
MAX_NAME = ApiClient.__table__.c.name.type.length
MAX_CLIENT_ID = ApiClient.__table__.c.client_id.type.length
# Longer than any token we issue (new_token() is 43 characters); longer input is not looked up.
MAX_TOKEN = 200
# last_used_at is written at most this often (each write is an audited update).
USE_RECORD_INTERVAL = timedelta(minutes=1)

# Permissions that administer identities stay with people.
IDENTITY_ADMIN = frozenset({"users.manage", "roles.manage", "sso.manage", "api_clients.manage"})
BUYER_SCOPES = BUYER_PERMISSIONS - IDENTITY_ADMIN
SUPPLIER_SCOPES = SUPPLIER_PERMISSIONS - IDENTITY_ADMIN

# Compared against when the client id is unknown, so that an unknown client costs the
# same digest comparison as a wrong secret.
_NO_SECRET = digest(new_token())

REQUIRED = N_("This field is required.")


@dataclass(frozen=True)
class ApiCall:
    """An authenticated API call: who (the client) acting in which tenant, with what."""

    actor: Actor
    client_pk: uuid.UUID
    client_id: str
    client_name: str
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    tenant_name_zh: str | None
    supplier_id: uuid.UUID | None
    scopes: frozenset[str]
    # The client's last use was recorded in this transaction (the web layer keeps it
    # whatever the call's outcome).
    use_recorded: bool = False


# --- administration ------------------------------------------------------------------------


def grantable_scopes(actor: Actor, *, for_supplier: bool) -> list[str]:
    """The scopes this administrator may give a client of the tenant's side (those of
    their own permissions a machine may hold) or of a supplier (the supplier side's)."""
    if for_supplier:
        if actor.kind != "system" and "suppliers.invite" not in actor.permissions:
            return []
        return sorted(SUPPLIER_SCOPES)
    if actor.kind == "system":
        return sorted(BUYER_SCOPES)
    return sorted(BUYER_SCOPES & actor.permissions)


def create_client(uow, actor: Actor, *, name: str, scopes, supplier_id: uuid.UUID | None = None) -> tuple[ApiClient, str]:
    """A new client and its secret - the only time the secret is available.

    Who may give what: `api_clients.manage`, and for the tenant's side only scopes the
    administrator holds; a client acting for a supplier gets supplier-side scopes only,
    and needs an administrator who may also invite supplier contacts (`suppliers.invite`
    brings a supplier's people in with those very permissions)."""
    require(actor, "api_clients.manage")
    if actor.supplier_id is not None:
        raise Forbidden()
    name = (name or "").strip()
    wanted = sorted({s.strip() for s in (scopes or ()) if s and s.strip()})
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = REQUIRED
    elif len(name) > MAX_NAME:
        errors["name"] = N_("This is too long.")
    if supplier_id is not None and not _is_supplier(uow, supplier_id):
        errors["supplier_id"] = N_("Choose one of the suppliers.")
    side = SUPPLIER_SCOPES if supplier_id is not None else BUYER_SCOPES
    if not wanted:
        errors["scopes"] = N_("Choose at least one permission.")
    elif set(wanted) - set(PERMISSIONS):
        errors["scopes"] = N_("Choose from the permissions offered.")
    elif set(wanted) - side:
        errors["scopes"] = (
            N_("A client acting for a supplier can hold only supplier permissions.")
            if supplier_id is not None
            else N_("A client of the organisation can hold only the organisation's own permissions, and none that manage access.")
        )
    if errors:
        raise ApiClientInvalid(errors=errors)
    if not set(wanted) <= set(grantable_scopes(actor, for_supplier=supplier_id is not None)):
        raise ScopeNotGrantable()

    secret = new_token()
    client = ApiClient(
        tenant_id=uow.tenant_id,
        name=name,
        client_id=CLIENT_ID_PREFIX + new_token(16),
        secret_hash=digest(secret),
        scopes=wanted,
        supplier_id=supplier_id,
        created_by=actor.user_id,
    )
    uow.add(client)
    uow.flush()
    _event(uow, actor, "api_client_created", client, scopes=wanted)
    return client, secret


def list_clients(uow, actor: Actor) -> list[ApiClient]:
    """The tenant's clients, active ones first, then by name."""
    require(actor, "api_clients.manage")
    return list(
        uow.session.scalars(
            sa.select(ApiClient).order_by(ApiClient.revoked_at.is_not(None), sa.func.lower(ApiClient.name), ApiClient.id)
        )
    )


def get_client(uow, actor: Actor, *, client_pk: uuid.UUID) -> ApiClient:
    require(actor, "api_clients.manage")
    client = uow.session.scalar(sa.select(ApiClient).where(ApiClient.id == client_pk))
    if client is None:
        raise ApiClientNotFound()
    return client


def rotate_secret(uow, actor: Actor, *, client_pk: uuid.UUID) -> tuple[ApiClient, str]:
    """A new secret, shown once; the old one stops working now, and so do the tokens
    issued with it (a rotation is often done because the old secret may have leaked)."""
    client = get_client(uow, actor, client_pk=client_pk)
    if client.revoked_at is not None:
        raise ApiClientRevoked()
    secret = new_token()
    now = utcnow()
    client.secret_hash = digest(secret)
    client.secret_rotated_at = now
    revoked = _revoke_tokens(uow, client, now)
    uow.flush()
    _event(uow, actor, "api_secret_rotated", client, tokens_revoked=revoked, severity="warning")
    return client, secret


def revoke_client(uow, actor: Actor, *, client_pk: uuid.UUID) -> ApiClient:
    """Revoke the client and every token it holds, at once. Revoking twice changes nothing."""
    client = get_client(uow, actor, client_pk=client_pk)
    if client.revoked_at is not None:
        return client
    now = utcnow()
    client.revoked_at = now
    revoked = _revoke_tokens(uow, client, now)
    uow.flush()
    _event(uow, actor, "api_client_revoked", client, tokens_revoked=revoked, severity="warning")
    return client


def _revoke_tokens(uow, client: ApiClient, now: datetime) -> int:
    result = uow.execute(
        sa.update(ApiToken)
        .where(ApiToken.client_id == client.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
        .values(revoked_at=now)
    )
    return result.rowcount or 0


def _is_supplier(uow, supplier_id: uuid.UUID) -> bool:
    from tenants.models import Organisation, OrganisationKind  # tenants imports auth; this one name goes back

    return (
        uow.scalar(
            sa.select(sa.func.count())
            .select_from(Organisation)
            .where(Organisation.id == supplier_id, Organisation.kind == OrganisationKind.SUPPLIER)
        )
        > 0
    )


def _event(uow, actor: Actor, kind: str, client: ApiClient, *, severity: str = "info", **detail) -> None:
    record_security_event(
        uow,
        kind=kind,
        severity=severity,
        user_id=actor.user_id,
        email=actor.name if actor.kind == "user" else None,
        detail={
            "client_id": client.client_id,
            "name": client.name,
            "supplier_id": str(client.supplier_id) if client.supplier_id else None,
            **detail,
        },
    )


# --- the token endpoint --------------------------------------------------------------------


def find_client(uow, *, client_id: str) -> ApiClient | None:
    """The client with this public id, with the unit of work switched into its tenant
    (as the system, until the client has proved its secret); None if there is none."""
    if not client_id or len(client_id) > MAX_CLIENT_ID or not client_id.startswith(CLIENT_ID_PREFIX):
        return None
    tenant_id = uow.scalar(sa.text("select app.api_client_tenant(:c)"), {"c": client_id})
    if tenant_id is None:
        return None
    uow.switch_tenant(tenant_id, actor=Actor.system("oauth token endpoint"))
    return uow.session.scalar(sa.select(ApiClient).where(ApiClient.client_id == client_id))


def authenticate_client(uow, *, client_id: str, client_secret: str) -> ApiClient:
    """The client, if the secret is its own and it may get tokens; otherwise
    ClientAuthenticationFailed - the same for an unknown client, a wrong secret, a revoked
    client or a deactivated tenant - and a security event (in the client's tenant, or the
    platform's for an unknown id)."""
    client = find_client(uow, client_id=client_id)
    matches = same(digest(client_secret or ""), client.secret_hash if client is not None else _NO_SECRET)
    reason = None
    if client is None:
        reason = "unknown_client"
    elif not matches:
        reason = "wrong_secret"
    elif client.revoked_at is not None:
        reason = "client_revoked"
    elif not _tenant_active(uow):
        reason = "tenant_inactive"
    if reason is not None:
        record_security_event(
            uow,
            kind="api_token_refused",
            severity="warning",
            detail={"client_id": (client_id or "")[:MAX_CLIENT_ID], "reason": reason, "endpoint": "token"},
        )
        raise ClientAuthenticationFailed()
    return client


def client_scopes(client: ApiClient) -> frozenset[str]:
    """What the client may hold now: its scopes, within its side's (a role-edit or a
    permission renamed since cannot widen an existing client)."""
    side = SUPPLIER_SCOPES if client.supplier_id is not None else BUYER_SCOPES
    return frozenset(client.scopes) & side


def grant_scopes(uow, client: ApiClient, requested: str | None) -> list[str]:
    """The scopes of a new token: those requested (space-separated, RFC 6749 §3.3), which
    must all be the client's; or, with none requested, all of the client's."""
    allowed = client_scopes(client)
    wanted = set((requested or "").split())
    if not wanted:
        return sorted(allowed)
    if not wanted <= allowed:
        record_security_event(
            uow,
            kind="api_token_refused",
            severity="warning",
            detail={"client_id": client.client_id, "reason": "scope", "requested": sorted(wanted)[:20]},
        )
        raise InvalidScope()
    return sorted(wanted)


def client_actor(client: ApiClient, scopes) -> Actor:
    return Actor(
        user_id=None,
        name=f"api:{client.name} ({client.client_id})",
        kind="api",
        supplier_id=client.supplier_id,
        permissions=frozenset(scopes),
    )


def store_token(uow, client: ApiClient, *, token: str, scopes, minutes: int) -> ApiToken:
    """Keep the digest of a token just issued to the client (the client issues it: the
    audit trail says so)."""
    uow.switch_tenant(client.tenant_id, actor=client_actor(client, scopes))
    row = ApiToken(
        tenant_id=client.tenant_id,
        client_id=client.id,
        token_hash=digest(token),
        scopes=sorted(scopes),
        expires_at=utcnow() + timedelta(minutes=minutes),
    )
    uow.add(row)
    uow.flush()
    return row


def issue_token(uow, *, client_id: str, client_secret: str, scope: str | None = None, minutes: int) -> tuple[str, ApiToken]:
    """Client credentials grant: a new access token, valid `minutes`."""
    client = authenticate_client(uow, client_id=client_id, client_secret=client_secret)
    scopes = grant_scopes(uow, client, scope)
    token = new_token()
    return token, store_token(uow, client, token=token, scopes=scopes, minutes=minutes)


# --- API calls -----------------------------------------------------------------------------


def authenticate_token(uow, *, token: str, ip: str | None) -> Actor:
    """The Actor for a bearer token (see `authenticate_call`)."""
    return authenticate_call(uow, token=token, ip=ip).actor


def authenticate_call(uow, *, token: str, ip: str | None) -> ApiCall:
    """Check a bearer token and put its client in the unit of work's context.

    TokenInvalid - one error - for an unknown, expired or revoked token, a revoked client
    or a deactivated tenant; when the token matched a row, a security event in its tenant
    says which. The client's last use (time, address) is recorded at most once a minute,
    and a call from an address the client never used before is a security event."""
    if not token or len(token) > MAX_TOKEN:
        raise TokenInvalid()
    hashed = digest(token)
    tenant_id = uow.scalar(sa.text("select app.api_token_tenant(:h)"), {"h": hashed})
    if tenant_id is None:
        raise TokenInvalid()
    uow.switch_tenant(tenant_id, actor=Actor.system("api token check"))
    found = uow.execute(
        sa.select(ApiToken, ApiClient)
        .join(ApiClient, sa.and_(ApiClient.tenant_id == ApiToken.tenant_id, ApiClient.id == ApiToken.client_id))
        .where(ApiToken.token_hash == hashed)
    ).one_or_none()
    if found is None:
        raise TokenInvalid()
    row, client = found
    now = utcnow()
    tenant = _tenant(uow)
    reason = None
    if row.revoked_at is not None:
        reason = "token_revoked"
    elif client.revoked_at is not None:
        reason = "client_revoked"
    elif row.expires_at <= now:
        reason = "token_expired"
    elif tenant is None or not tenant.is_active:
        reason = "tenant_inactive"
    if reason is not None:
        record_security_event(
            uow,
            kind="api_token_refused",
            severity="warning",
            detail={"client_id": client.client_id, "reason": reason, "token_id": str(row.id)},
        )
        raise TokenInvalid()
    scopes = frozenset(row.scopes) & client_scopes(client)
    actor = client_actor(client, scopes)
    uow.switch_tenant(tenant_id, actor=actor)
    recorded = _record_use(uow, client, ip, now)
    return ApiCall(
        actor=actor,
        client_pk=client.id,
        client_id=client.client_id,
        client_name=client.name,
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        tenant_name_zh=tenant.name_zh,
        supplier_id=client.supplier_id,
        scopes=scopes,
        use_recorded=recorded,
    )


def _record_use(uow, client: ApiClient, ip: str | None, now: datetime) -> bool:
    address = _address(ip)
    previous = _address(client.last_used_ip)
    if address is not None and address != previous:
        if not _seen_before(uow, client, address):
            record_security_event(
                uow,
                kind="api_new_address",
                severity="warning",
                detail={"client_id": client.client_id, "name": client.name, "ip": address, "previous_ip": previous},
            )
        client.last_used_ip = address
        client.last_used_at = now
    elif client.last_used_at is None or now - client.last_used_at >= USE_RECORD_INTERVAL:
        client.last_used_at = now
    else:
        return False
    uow.flush()
    return True


def _seen_before(uow, client: ApiClient, address: str) -> bool:
    """Whether this client was already noted calling from this address."""
    return (
        uow.scalar(
            sa.select(sa.func.count())
            .select_from(SecurityEvent)
            .where(
                SecurityEvent.kind == "api_new_address",
                SecurityEvent.detail["client_id"].astext == client.client_id,
                SecurityEvent.detail["ip"].astext == address,
            )
        )
        > 0
    )


def _address(value) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


def _tenant(uow):
    from tenants.models import Tenant  # tenants imports auth; this one name goes back

    return uow.session.scalar(sa.select(Tenant).where(Tenant.id == uow.tenant_id))


def _tenant_active(uow) -> bool:
    tenant = _tenant(uow)
    return tenant is not None and tenant.is_active
