"""Single sign-on for a tenant's own staff with OpenID Connect: the configuration and its rules.

One provider per tenant (`sso_config`): the discovery URL, the client id and secret (the secret
encrypted with kernel.crypto.FieldCipher; the audit trail redacts it), the email domains whose
staff may sign in, and how a claim of the ID token (say `groups`) maps to one of the tenant's
buyer-side roles. SSO is for the tenant's own people: supplier roles are never mapped, and
suppliers sign in with their password.

The OpenID Connect exchange itself (redirects, code, ID-token signature, issuer, audience and
nonce) happens in the web layer with authlib; this module decides who may come in, and as what
(`check_identity`, `map_role`). The just-in-time membership is tenants.sso.sso_sign_in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from auth.errors import SsoConfigInvalid, SsoRefused
from auth.models import SsoConfig
from auth.permissions import require
from auth.roles import get_role
from auth.security import record_security_event
from kernel.errors import N_

# Plain http is accepted only for a provider on this machine, and only outside production
# (the test suite's provider; a developer's local Keycloak).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
MAX_CLAIM_VALUE = 200


# --- configuration ---------------------------------------------------------------------------


def get_sso(uow) -> SsoConfig | None:
    """The single sign-on configuration of the tenant in context, if there is one."""
    return uow.session.scalar(sa.select(SsoConfig).where(SsoConfig.tenant_id == uow.tenant_id))


def view_sso(uow, actor) -> SsoConfig | None:
    """The configuration, for the administration screen."""
    require(actor, "sso.manage")
    return get_sso(uow)


def client_secret(config: SsoConfig, cipher) -> str:
    return cipher.decrypt(config.client_secret)


def configure_sso(
    uow,
    actor,
    *,
    discovery_url: str,
    client_id: str,
    client_secret: str | None,
    allowed_domains: Iterable[str],
    role_claim: str | None,
    role_map: Mapping[str, str] | Iterable[tuple[str, str]],
    default_role: str | None,
    is_enabled: bool,
    cipher,
    allow_http_loopback: bool = False,
) -> SsoConfig:
    """Create or change the tenant's single sign-on.

    `client_secret` None (or empty) keeps the current one. `role_map` is claim value -> role
    key, in the order the administrator wrote it: the first mapping that matches a user's
    claim wins. Raises SsoConfigInvalid with a message per field; nothing is saved then.
    `allow_http_loopback` (outside production) admits an http discovery URL on this machine.
    """
    require(actor, "sso.manage")
    errors: dict[str, str] = {}
    current = get_sso(uow)

    url = (discovery_url or "").strip()
    url_problem = discovery_url_problem(url, allow_http_loopback=allow_http_loopback)
    if url_problem:
        errors["discovery_url"] = url_problem

    client_id = (client_id or "").strip()
    if not client_id:
        errors["client_id"] = N_("Enter the client ID that your sign-in provider gave Traceport.")
    elif len(client_id) > 200:
        errors["client_id"] = N_("This is too long.")

    secret = (client_secret or "").strip() or None
    if secret is None and current is None:
        errors["client_secret"] = N_("Enter the client secret that your sign-in provider gave Traceport.")
    elif secret is not None and len(secret) > 1000:
        errors["client_secret"] = N_("This is too long.")

    domains: list[str] = []
    for raw in allowed_domains:
        if not raw or not raw.strip():
            continue
        domain = normalise_domain(raw)
        if domain is None:
            errors["allowed_domains"] = N_("Enter email domains such as example.com, one per line.")
            break
        if domain not in domains:
            domains.append(domain)
    if not domains and "allowed_domains" not in errors:
        errors["allowed_domains"] = N_("Enter at least one email domain whose staff may sign in.")

    claim = (role_claim or "").strip() or None
    if claim is not None and len(claim) > 100:
        errors["role_claim"] = N_("This is too long.")

    pairs: list[list[str]] = []
    seen: set[str] = set()
    items = role_map.items() if isinstance(role_map, Mapping) else role_map
    for value, role in items:
        value, role = (value or "").strip(), (role or "").strip()
        if not value or not role or len(value) > MAX_CLAIM_VALUE:
            errors["role_map"] = N_("Write each mapping as: claim value = role.")
            break
        if value in seen:
            errors["role_map"] = N_("Map each claim value only once.")
            break
        if not _is_staff_role(uow, role):
            errors["role_map"] = N_("Map claim values only to roles of the organisation's own staff, not to supplier roles.")
            break
        seen.add(value)
        pairs.append([value, role])
    if pairs and claim is None:
        errors["role_claim"] = N_("Name the claim that carries the roles, such as groups.")

    default = (default_role or "").strip() or None
    if default is not None and not _is_staff_role(uow, default):
        errors["default_role"] = N_("Choose a role of the organisation's own staff, not a supplier role.")

    if is_enabled and not pairs and default is None and "role_map" not in errors:
        errors["role_map"] = N_("Map at least one claim value to a role, or choose a default role: otherwise nobody can sign in.")

    if errors:
        raise SsoConfigInvalid(errors=errors)

    config = current or SsoConfig(tenant_id=uow.tenant_id)
    config.discovery_url = url
    config.client_id = client_id
    if secret is not None:
        config.client_secret = cipher.encrypt(secret)
    config.allowed_domains = domains
    config.role_claim = claim
    config.role_map = pairs
    config.default_role = default
    config.is_enabled = bool(is_enabled)
    if current is None:
        uow.add(config)
    uow.flush()
    record_security_event(
        uow,
        kind="sso_configured",
        user_id=actor.user_id,
        email=actor.name if actor.kind == "user" else None,
        detail={
            "discovery_url": url,
            "client_id": client_id,
            "allowed_domains": domains,
            "role_claim": claim,
            "role_map": pairs,
            "default_role": default,
            "enabled": config.is_enabled,
            "secret_changed": secret is not None,
        },
    )
    return config


def discovery_url_problem(url: str, *, allow_http_loopback: bool = False) -> str | None:
    """Why this is not an acceptable discovery URL (a message key), or None."""
    if not url:
        return N_("Enter the discovery URL of your sign-in provider.")
    if len(url) > 500:
        return N_("This is too long.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return N_("Enter a web address starting with https://.")
    if not host or parts.username or parts.password or parts.fragment:
        return N_("Enter a web address starting with https://.")
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and host in LOOPBACK_HOSTS and allow_http_loopback:
        return None
    return N_("The discovery URL must start with https://.")


def normalise_domain(value: str) -> str | None:
    """An email domain as stored and compared: lower case, IDNA (punycode), no trailing dot;
    None when it is not a syntactically valid domain name of two labels or more."""
    domain = value.strip().lower().removeprefix("@").rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return None
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return domain


def role_pairs(config: SsoConfig | None) -> list[tuple[str, str]]:
    """The mapping as (claim value, role) in the administrator's order."""
    if config is None or not config.role_map:
        return []
    raw = config.role_map
    items = raw.items() if isinstance(raw, Mapping) else raw
    return [(str(value), str(role)) for value, role in items]


def _is_staff_role(uow, key: str) -> bool:
    role = get_role(uow, key=key)
    return role is not None and role.side == "buyer"


# --- who may come in, and as what --------------------------------------------------------------


def claim_values(claims: Mapping[str, Any], name: str | None) -> list[str]:
    """The values of a claim as strings: a string claim is one value, a list gives each of its
    strings. A dotted name (realm_access.roles) walks nested objects when no claim has it whole."""
    if not name:
        return []
    value: Any = claims.get(name)
    if value is None and "." in name:
        value = claims
        for part in name.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def map_role(config: SsoConfig, claims: Mapping[str, Any]) -> str | None:
    """The role for these claims: the first mapping (in the administrator's order) whose claim
    value the user has, else the default role; None means no role - refused."""
    values = set(claim_values(claims, config.role_claim))
    for value, role in role_pairs(config):
        if value in values:
            return role
    return config.default_role


def check_identity(config: SsoConfig, claims: Mapping[str, Any]) -> str:
    """The user's email if the provider vouches for it and its domain is allowed; raises
    SsoRefused otherwise. The domain must equal an allowed domain (no sub-domains, no suffix
    tricks: alpha.test.evil.com is not alpha.test)."""
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        raise SsoRefused("email_missing")
    email = email.strip()
    verified = claims.get("email_verified")
    if not (verified is True or (isinstance(verified, str) and verified.lower() == "true")):
        raise SsoRefused("email_unverified")
    local, at, domain = email.rpartition("@")
    if not at or not local or "@" in local or any(c.isspace() for c in email) or len(email) > 254:
        raise SsoRefused("email_missing")
    normalised = normalise_domain(domain)
    if domain != domain.strip() or normalised is None or normalised not in {d.lower() for d in config.allowed_domains or []}:
        raise SsoRefused("domain_not_allowed")
    return email
