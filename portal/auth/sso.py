"""Single sign-on with the tenant's OpenID Connect provider (authlib's Flask client).

    GET /sso                  the "company account" form: the organisation code -> /sso/<slug>
    GET /sso/<tenant_slug>    redirect to the tenant's provider (state, nonce and PKCE verifier
                              kept by authlib in the signed session cookie)
    GET /sso/callback         the provider's answer: code -> tokens (authlib checks the ID token's
                              signature, issuer, audience, expiry and nonce), then auth.sso's rules
                              and tenants.sso's just-in-time membership, then a session

One authlib client per tenant, named `sso-<tenant id>`, built on demand from the tenant's
configuration and cached per process until the configuration changes (or an hour passes, so
a provider's changed discovery document is read again). The state that authlib keeps in the
session is keyed by that name, which is how the callback knows the tenant: a state from one
tenant's flow is never looked up in another's.

Decided: the tenant is found by its slug (the organisation code) only. Finding it by email
domain would tell anyone which domains use single sign-on, and with which organisation.

A single sign-on session is good in that tenant only (`session["sso_tenant"]`, applied when the
identity is loaded): the domains a tenant allows are its own declaration, so its provider must
not open the same person's memberships in other tenants.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import NamedTuple

import requests
from authlib.integrations.flask_client import OAuth, OAuthError
from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from joserfc.errors import JoseError
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from auth.errors import SsoRefused
from auth.models import SsoConfig
from auth.sso import client_secret, get_sso
from kernel.crypto import DecryptionFailed, FieldCipher
from kernel.errors import N_
from kernel.uow import Actor
from portal.auth.views import blueprint
from portal.shell.i18n import error_text
from portal.shell.identity import home_endpoint, sign_in
from portal.shell.lifecycle import record_refusal, request_uow, runtime
from tenants.errors import TenantNotFound
from tenants.service import memberships_of, tenant_id_by_slug
from tenants.sso import refusal_event, sso_sign_in

log = logging.getLogger("portal.sso")

SCOPE = "openid email profile"
CLIENT_PREFIX = "sso-"
CLIENT_TTL_SECONDS = 3600
HTTP_TIMEOUT_SECONDS = 10
# The Flask session key that limits a single sign-on session to its tenant.
SSO_TENANT = "sso_tenant"
# authlib keeps a flow's state data in the session under `_state_<client name>_<state>`.
STATE_KEY_PREFIX = f"_state_{CLIENT_PREFIX}"

UNAVAILABLE = N_("The sign-in service of your organisation could not be reached. Please try again later.")
NOT_AVAILABLE = SsoRefused.MESSAGES["not_configured"]


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read, or does not fit the configuration."""


class SsoStartForm(FlaskForm):
    """Where to sign in: a GET form that only leads to /sso/<slug>, so it needs no CSRF token."""

    class Meta:
        csrf = False

    organisation = StringField(
        lazy_gettext("Organisation code"),
        validators=[
            DataRequired(message=lazy_gettext("Enter your organisation's code.")),
            Length(max=40, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "organization", "autocapitalize": "none", "spellcheck": "false"},
    )


# --- routes ------------------------------------------------------------------------------------


@blueprint.get("/sso")
def sso_choose():
    form = SsoStartForm(request.args)
    if "organisation" in request.args and form.validate():
        return redirect(url_for("auth.sso_start", tenant_slug=form.organisation.data.strip().lower()))
    return render_template("auth/sso.html", form=form)


@blueprint.get("/sso/<tenant_slug>")
def sso_start(tenant_slug: str):
    uow = request_uow()
    slug = tenant_slug.strip().lower()
    config = None
    try:
        tenant_id = tenant_id_by_slug(uow, slug=slug)
    except TenantNotFound:
        tenant_id = None
    if tenant_id is not None:
        uow.switch_tenant(tenant_id, actor=Actor.system("single sign-on"))
        config = get_sso(uow)
    # One answer for an unknown organisation and one without single sign-on.
    if config is None or not config.is_enabled:
        return _choose_page(NOT_AVAILABLE, slug, 404)
    try:
        client = _client(config)
        _metadata(client, config)
        return client.authorize_redirect(callback_url())
    except (ProviderUnavailable, requests.RequestException, ValueError, DecryptionFailed):
        log.warning("single sign-on provider unavailable for tenant %s", tenant_id, exc_info=True)
        return _choose_page(UNAVAILABLE, slug, 502)


@blueprint.get("/sso/callback")
def sso_callback():
    uow = request_uow()
    state = request.args.get("state", "")
    pending = _pending_tenants()
    tenant_id = _tenant_of_state(state)
    if tenant_id is None:
        # A state we did not hand out (tampered, replayed, another browser's): refuse, and say
        # so in the tenant this browser was signing in to, if there is just one.
        context = pending[0] if len(pending) == 1 else None
        return _refuse(SsoRefused("state_mismatch"), tenant_id=context)
    uow.switch_tenant(tenant_id, actor=Actor.system("single sign-on"))
    config = get_sso(uow)
    if config is None or not config.is_enabled:
        return _refuse(SsoRefused("not_configured"), tenant_id=tenant_id)
    issuer = None
    try:
        client = _client(config)
        issuer = _metadata(client, config)["issuer"]
        # RFC 9207: an answer that names another issuer is a mix-up; do not redeem its code.
        if request.args.get("iss") not in (None, issuer):
            return _refuse(SsoRefused("issuer_mismatch"), tenant_id=tenant_id, issuer=issuer)
        # authlib checks the ID token's signature (the provider's JWKS), expiry and nonce; the
        # issuer and the audience are named here, so both are required and checked.
        token = client.authorize_access_token(
            claims_options={
                "iss": {"essential": True, "values": [issuer]},
                "aud": {"essential": True, "values": [config.client_id]},
            }
        )
    except OAuthError as exc:
        reason = "state_mismatch" if exc.error == "mismatching_state" else "provider_error"
        return _refuse(SsoRefused(reason), tenant_id=tenant_id, issuer=issuer, provider_error=exc.error)
    except JoseError as exc:
        return _refuse(SsoRefused("id_token_invalid"), tenant_id=tenant_id, issuer=issuer, provider_error=exc.error)
    except (ProviderUnavailable, requests.RequestException, DecryptionFailed) as exc:
        log.warning("single sign-on provider unavailable for tenant %s", tenant_id, exc_info=True)
        return _refuse(
            SsoRefused("provider_unreachable"),
            tenant_id=tenant_id,
            issuer=issuer or config.discovery_url,
            provider_error=type(exc).__name__,
            status=502,
        )
    except ValueError as exc:  # a malformed answer (authlib's claim checks)
        return _refuse(SsoRefused("provider_error"), tenant_id=tenant_id, issuer=issuer, provider_error=str(exc))
    claims = dict(token.get("userinfo") or {})
    if not claims:
        return _refuse(SsoRefused("id_token_missing"), tenant_id=tenant_id, issuer=issuer)
    try:
        user = sso_sign_in(uow, tenant_id=tenant_id, claims=claims, config=config)
    except SsoRefused as error:
        return _refuse(error, tenant_id=tenant_id, claims=claims)
    membership = next(m for m in memberships_of(uow, user_id=user.id) if m.tenant_id == tenant_id)
    sign_in(user, [membership], method="sso")
    session[SSO_TENANT] = str(tenant_id)
    return redirect(url_for(home_endpoint(membership)))


# --- the per-tenant client ------------------------------------------------------------------------


class _Cached(NamedTuple):
    stamp: tuple
    built: float
    client: object


def client_name(tenant_id: uuid.UUID) -> str:
    return f"{CLIENT_PREFIX}{tenant_id}"


def callback_url() -> str:
    """The redirect URI to register with the provider: under BASE_URL in production; the
    address this request came to otherwise (the test client's http://localhost)."""
    settings = runtime().settings
    if settings.is_production:
        return settings.base_url.rstrip("/") + url_for("auth.sso_callback")
    return url_for("auth.sso_callback", _external=True)


def _client(config: SsoConfig):
    """The tenant's authlib client, rebuilt when its configuration changed."""
    oauth: OAuth = current_app.extensions.get("authlib.integrations.flask_client") or OAuth(current_app._get_current_object())
    cache: dict[uuid.UUID, _Cached] = current_app.extensions.setdefault("traceport_sso_clients", {})
    stamp = (config.updated_at, config.discovery_url, config.client_id, bytes(config.client_secret))
    cached = cache.get(config.tenant_id)
    if cached is not None and cached.stamp == stamp and time.monotonic() - cached.built < CLIENT_TTL_SECONDS:
        return cached.client
    name = client_name(config.tenant_id)
    oauth._clients.pop(name, None)  # register() hands back an existing client of that name as it was
    client = oauth.register(
        name,
        client_id=config.client_id,
        client_secret=client_secret(config, FieldCipher.from_settings(runtime().settings)),
        server_metadata_url=config.discovery_url,
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": HTTP_TIMEOUT_SECONDS},
    )
    cache[config.tenant_id] = _Cached(stamp, time.monotonic(), client)
    return client


def _metadata(client, config: SsoConfig) -> dict:
    """The provider's discovery document, checked: its issuer must be the discovery URL's
    prefix (OpenID Connect Discovery 4.3), so ID tokens are checked against the right issuer."""
    metadata = client.load_server_metadata()
    problem = discovery_problem(metadata, config.discovery_url)
    if problem:
        raise ProviderUnavailable(problem)
    return metadata


def discovery_problem(metadata: dict, discovery_url: str) -> str | None:
    """Why a discovery document does not fit its URL (a message key), or None."""
    issuer = metadata.get("issuer") if isinstance(metadata, dict) else None
    if not isinstance(issuer, str) or not issuer:
        return N_("The document names no issuer.")
    if issuer.rstrip("/") + "/.well-known/openid-configuration" != discovery_url:
        return N_("The issuer named in the document does not match the discovery URL.")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            return N_("The document does not name the provider's sign-in, token and key addresses.")
    return None


def _pending_tenants() -> list[uuid.UUID]:
    """Tenants this browser has started a single sign-on with (authlib's state keys)."""
    found = []
    for key in session:
        tenant_id = _tenant_in_key(key)
        if tenant_id is not None and tenant_id not in found:
            found.append(tenant_id)
    return found


def _tenant_of_state(state: str) -> uuid.UUID | None:
    """The tenant whose flow handed out this state: authlib keeps it as
    `_state_sso-<tenant id>_<state>` in the signed session."""
    if not state:
        return None
    for key in session:
        if key.endswith(f"_{state}") and _tenant_in_key(key) is not None and len(key) == len(STATE_KEY_PREFIX) + 37 + len(state):
            return _tenant_in_key(key)
    return None


def _tenant_in_key(key: str) -> uuid.UUID | None:
    if not key.startswith(STATE_KEY_PREFIX):
        return None
    try:
        return uuid.UUID(key[len(STATE_KEY_PREFIX) : len(STATE_KEY_PREFIX) + 36])
    except ValueError:
        return None


# --- pages -----------------------------------------------------------------------------------------


def _choose_page(message: str, slug: str | None, status: int):
    form = SsoStartForm(formdata=None, organisation=slug)
    return render_template("auth/sso.html", form=form, error=gettext(message)), status


def _refuse(refusal: SsoRefused, *, tenant_id, claims=None, issuer=None, provider_error=None, status=403):
    """Nothing of the sign-in is kept but the `sso_refused` security event (in the tenant, or
    the platform's log when the tenant is not known); the page says what to do."""
    event = refusal_event(refusal, claims=claims, issuer=issuer)
    if provider_error:
        event["detail"]["error"] = str(provider_error)[:200]
    # A refused answer ends its flow: the state cannot be tried again.
    state = request.args.get("state")
    if state and tenant_id is not None:
        session.pop(f"{STATE_KEY_PREFIX}{tenant_id}_{state}", None)
    uow = request_uow()
    if uow.tenant_id != tenant_id:
        uow.switch_tenant(tenant_id, actor=Actor.system("single sign-on"))
    record_refusal(**event)
    return render_template("auth/sso.html", form=SsoStartForm(formdata=None), error=error_text(refusal)), status
