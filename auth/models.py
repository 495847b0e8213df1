"""Identity tables.

Global (no tenant, no row-level security - sign-in happens before a tenant is known):
users, their recovery codes, sessions and password-reset tokens.

Tenant-owned (RLS like every tenant table): roles built from the permission list, the
tenant's single sign-on configuration, API clients and their tokens, electronic
signatures and security events.

Secrets are never stored in the clear: passwords argon2id; recovery codes, reset and
invitation tokens, client secrets and access tokens as SHA-256 of high-entropy random
values; the TOTP seed and the SSO client secret encrypted (kernel.crypto).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB

from kernel.ids import new_id
from kernel.models import Base, TenantOwned, Timestamps, tenant_fk


class User(Timestamps, Base):
    __tablename__ = "user_account"
    __table_args__ = (sa.Index("uq_user_account_email", sa.func.lower(sa.text("email")), unique=True),)

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=new_id)
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    full_name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    password_hash: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    locale: orm.Mapped[str | None] = orm.mapped_column(sa.String(10))
    timezone: orm.Mapped[str] = orm.mapped_column(sa.String(64), server_default="UTC")
    is_active: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())
    last_login_at: orm.Mapped[datetime | None]
    password_changed_at: orm.Mapped[datetime | None]
    # Second factor: the TOTP seed, encrypted; enabled once the user proved a first code.
    totp_secret: orm.Mapped[bytes | None] = orm.mapped_column(sa.LargeBinary)
    totp_enabled_at: orm.Mapped[datetime | None]
    # The last TOTP time step accepted: a code is good once (no replay within its window).
    totp_last_step: orm.Mapped[int | None] = orm.mapped_column(sa.BigInteger)
    # Consecutive failed sign-in attempts (password or second factor) and the lockout
    # they caused; both reset on success.
    failed_logins: orm.Mapped[int] = orm.mapped_column(server_default="0")
    locked_until: orm.Mapped[datetime | None]


class RecoveryCode(Base):
    """One-time codes for a lost authenticator; stored hashed, used once."""

    __tablename__ = "recovery_code"
    __table_args__ = (sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),)

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=new_id)
    user_id: orm.Mapped[uuid.UUID] = orm.mapped_column(index=True)
    code_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    used_at: orm.Mapped[datetime | None]


class UserSession(Base):
    """A signed-in browser. The cookie carries only this id (signed); every request
    checks the row, so revoking it (sign out everywhere, a revoked membership, a
    password change) ends the session at once, wherever the cookie was copied."""

    __tablename__ = "user_session"
    __table_args__ = (
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.Index("ix_user_session_user", "user_id", postgresql_where=sa.text("revoked_at is null")),
    )

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=new_id)
    user_id: orm.Mapped[uuid.UUID]
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    last_seen_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    # Absolute limit, whatever the activity.
    expires_at: orm.Mapped[datetime]
    revoked_at: orm.Mapped[datetime | None]
    revoked_reason: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    # How the session was started: password, password+totp, recovery code, sso.
    method: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    ip: orm.Mapped[str | None] = orm.mapped_column(INET)
    user_agent: orm.Mapped[str | None] = orm.mapped_column(sa.String(300))


class PasswordReset(Base):
    __tablename__ = "password_reset"
    __table_args__ = (sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),)

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=new_id)
    user_id: orm.Mapped[uuid.UUID] = orm.mapped_column(index=True)
    token_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    expires_at: orm.Mapped[datetime]
    used_at: orm.Mapped[datetime | None]


class UnknownLogin(Base):
    """Failed sign-ins for an email no account has, counted like an account's
    (auth.lockout.register_unknown_email) so that the lockout message appears for it too:
    the message then tells nothing about whether the account exists. Keyed by a digest of
    the lowercased email; not audited (the security events record the attempts)."""

    __tablename__ = "unknown_login"

    email_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), primary_key=True)
    failed_logins: orm.Mapped[int] = orm.mapped_column(server_default="0")
    locked_until: orm.Mapped[datetime | None]
    last_failed_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class Role(TenantOwned, Timestamps, Base):
    """A tenant's role: a named set of permissions (auth.permissions.PERMISSIONS) for
    one side of the portal. Built-in roles are seeded per tenant and can be changed but
    not deleted; memberships refer to a role by key."""

    __tablename__ = "role"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "key"),
        sa.CheckConstraint("side in ('buyer', 'supplier')", name="side"),
    )

    key: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    name_zh: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    side: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    permissions: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(40)))
    is_builtin: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())


class SsoConfig(TenantOwned, Timestamps, Base):
    """OpenID Connect sign-in for the tenant's own staff (one provider per tenant)."""

    __tablename__ = "sso_config"
    __table_args__ = (sa.UniqueConstraint("tenant_id"),)

    discovery_url: orm.Mapped[str] = orm.mapped_column(sa.String(500))
    client_id: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    client_secret: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary)  # encrypted
    allowed_domains: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(253)))
    role_claim: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    # [[claim value, role key], ...] in the administrator's order: the first match wins, else
    # default_role. A list of pairs, not an object: jsonb does not keep the keys' order.
    role_map: orm.Mapped[list | dict] = orm.mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    default_role: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    is_enabled: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())


class ApiClient(TenantOwned, Timestamps, Base):
    """A machine client (MES, WMS, ...) using OAuth2 client credentials."""

    __tablename__ = "api_client"
    __table_args__ = (sa.UniqueConstraint("client_id"),)

    name: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    # Public identifier, globally unique: the token endpoint finds the tenant by it.
    client_id: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    secret_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    scopes: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(40)))
    # API clients act for a supplier when set (a supplier's own integration).
    supplier_id: orm.Mapped[uuid.UUID | None]
    created_by: orm.Mapped[uuid.UUID | None]
    secret_rotated_at: orm.Mapped[datetime | None]
    revoked_at: orm.Mapped[datetime | None]
    last_used_at: orm.Mapped[datetime | None]
    last_used_ip: orm.Mapped[str | None] = orm.mapped_column(INET)


class ApiToken(TenantOwned, Base):
    """An access token issued to a client; stored hashed, checked on every call."""

    __tablename__ = "api_token"
    __table_args__ = (
        sa.UniqueConstraint("token_hash"),
        tenant_fk(["client_id"], "api_client", ondelete="CASCADE"),
    )

    client_id: orm.Mapped[uuid.UUID]
    token_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    scopes: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(40)))
    issued_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    expires_at: orm.Mapped[datetime]
    revoked_at: orm.Mapped[datetime | None]


class Signature(TenantOwned, Base):
    """An electronic signature (21 CFR 11.50/11.70): who (printed name), when (with the
    signer's time zone), what it means, bound to the record's content hash. Insert-only
    for the application role."""

    __tablename__ = "e_signature"
    __table_args__ = (sa.Index("ix_e_signature_record", "tenant_id", "record_type", "record_id"),)

    record_type: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    record_id: orm.Mapped[uuid.UUID]
    content_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    meaning: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    user_id: orm.Mapped[uuid.UUID]
    printed_name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    signed_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    time_zone: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    # password, or password+totp: how the signer was re-authenticated.
    method: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    supplier_id: orm.Mapped[uuid.UUID | None]


class SecurityEvent(TenantOwned, Base):
    """Failed sign-ins, lockouts, MFA and role changes, access denied, new API client
    addresses, bulk exports. Insert-only for the application role. Events with no
    tenant (an unknown email at sign-in) go to the platform (nil) tenant."""

    __tablename__ = "security_event"
    __table_args__ = (sa.Index("ix_security_event_time", "tenant_id", "occurred_at"),)

    occurred_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.clock_timestamp())
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    severity: orm.Mapped[str] = orm.mapped_column(sa.String(10))  # info | warning | critical
    user_id: orm.Mapped[uuid.UUID | None]
    email: orm.Mapped[str | None] = orm.mapped_column(sa.String(254))
    ip: orm.Mapped[str | None] = orm.mapped_column(INET)
    user_agent: orm.Mapped[str | None] = orm.mapped_column(sa.String(300))
    request_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(128))
    detail: orm.Mapped[dict] = orm.mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
