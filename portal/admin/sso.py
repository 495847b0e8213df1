"""Single sign-on settings of the tenant (sso.manage): the provider, the allowed email domains,
the role mapping, and a check that the provider's discovery document can be read."""

from __future__ import annotations

import logging

import requests
from flask import redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from auth.errors import SsoConfigInvalid
from auth.roles import list_roles
from auth.sso import configure_sso, discovery_url_problem, role_pairs, view_sso
from kernel.crypto import FieldCipher
from kernel.errors import N_
from portal.admin.views import blueprint
from portal.auth.sso import HTTP_TIMEOUT_SECONDS, callback_url, discovery_problem
from portal.shell import notify, permission_required, request_uow
from portal.shell.i18n import field_errors, role_name
from portal.shell.lifecycle import runtime

log = logging.getLogger("portal.sso")


class SsoConfigForm(FlaskForm):
    """The services validate (and decide); the form gives the fields."""

    discovery_url = StringField(
        lazy_gettext("Discovery URL"),
        description=lazy_gettext("The provider's address ending in /.well-known/openid-configuration."),
        validators=[Length(max=500, message=lazy_gettext("This is too long."))],
        render_kw={"type": "url", "inputmode": "url", "autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    client_id = StringField(
        lazy_gettext("Client ID"),
        validators=[Length(max=200, message=lazy_gettext("This is too long."))],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    client_secret = PasswordField(
        lazy_gettext("Client secret"),
        validators=[Optional(), Length(max=1000, message=lazy_gettext("This is too long."))],
        render_kw={"autocomplete": "new-password"},
    )
    allowed_domains = TextAreaField(
        lazy_gettext("Allowed email domains"),
        description=lazy_gettext("One per line, such as example.com. Only these exact domains may sign in."),
        render_kw={"rows": 3, "autocapitalize": "none", "spellcheck": "false"},
    )
    role_claim = StringField(
        lazy_gettext("Role claim"),
        description=lazy_gettext("The ID token claim that carries the user's groups or roles, such as groups."),
        validators=[Length(max=100, message=lazy_gettext("This is too long."))],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )
    role_map = TextAreaField(
        lazy_gettext("Role mapping"),
        description=lazy_gettext(
            "One per line: claim value = role key, such as traceport-quality = quality. The first line that matches wins."
        ),
        render_kw={"rows": 4, "autocapitalize": "none", "spellcheck": "false"},
    )
    default_role = SelectField(lazy_gettext("Default role"), choices=[], validate_choice=False)
    is_enabled = BooleanField(lazy_gettext("Single sign-on is on"))


@blueprint.route("/sso", methods=["GET", "POST"])
@permission_required("sso.manage", side="buyer")
def sso():
    uow, actor = request_uow(), current_user.actor
    settings = runtime().settings
    config = view_sso(uow, actor)
    form = SsoConfigForm(data=_initial(config))
    roles = [role for role in list_roles(uow) if role.side == "buyer"]
    form.default_role.choices = [("", gettext("None: refuse anyone no mapping matches")), *((r.key, role_name(r)) for r in roles)]
    error = discovery = None
    status = 200
    if form.validate_on_submit():
        if request.form.get("action") == "test":
            discovery = _test_discovery(form.discovery_url.data or "", allow_http_loopback=not settings.is_production)
        else:
            uow.reason = "single sign-on configured"
            try:
                configure_sso(
                    uow,
                    actor,
                    discovery_url=form.discovery_url.data or "",
                    client_id=form.client_id.data or "",
                    client_secret=form.client_secret.data or None,
                    allowed_domains=(form.allowed_domains.data or "").splitlines(),
                    role_claim=form.role_claim.data,
                    role_map=parse_role_map(form.role_map.data or ""),
                    default_role=form.default_role.data or None,
                    is_enabled=form.is_enabled.data,
                    cipher=FieldCipher.from_settings(settings),
                    allow_http_loopback=not settings.is_production,
                )
            except SsoConfigInvalid as invalid:
                for name, message in field_errors(invalid).items():
                    getattr(form, name).errors = [message]
                error, status = gettext(invalid.message), 422
            else:
                notify(N_("Single sign-on was saved."))
                return redirect(url_for("admin.sso"), code=303)
    elif request.method == "POST":
        status = 422
    return render_template(
        "admin/sso.html",
        form=form,
        config=config,
        callback=callback_url(),
        error=error,
        discovery=discovery,
        roles=roles,
    ), status


def parse_role_map(text: str) -> list[tuple[str, str]]:
    """`claim value = role` lines, in order; the claim value may itself hold '=' (an LDAP DN),
    the role key never does. A line without '=' comes back with no role (the service says so)."""
    pairs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        value, _, role = line.rpartition("=")
        pairs.append((value.strip(), role.strip()) if value else (line.strip(), ""))
    return pairs


def _initial(config) -> dict:
    if config is None:
        return {"is_enabled": False}
    return {
        "discovery_url": config.discovery_url,
        "client_id": config.client_id,
        "allowed_domains": "\n".join(config.allowed_domains or []),
        "role_claim": config.role_claim or "",
        "role_map": "\n".join(f"{value} = {role}" for value, role in role_pairs(config)),
        "default_role": config.default_role or "",
        "is_enabled": config.is_enabled,
    }


def _test_discovery(url: str, *, allow_http_loopback: bool) -> dict:
    """Read the discovery document at `url` (not saved): the issuer, or what is wrong. Only the
    issuer of a valid document is shown, never what another kind of address answered."""
    url = url.strip()
    problem = discovery_url_problem(url, allow_http_loopback=allow_http_loopback)
    if problem:
        return {"ok": False, "message": gettext(problem)}
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=False, headers={"Accept": "application/json"})
    except requests.RequestException:
        log.info("discovery test: no answer from %s", url, exc_info=True)
        return {"ok": False, "message": gettext("There was no answer from this address.")}
    if response.status_code != 200:
        return {"ok": False, "message": gettext("The address answered with status %(status)d.", status=response.status_code)}
    try:
        metadata = response.json()
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        return {"ok": False, "message": gettext("The answer is not a discovery document.")}
    problem = discovery_problem(metadata, url)
    if problem:
        return {"ok": False, "message": gettext(problem)}
    return {"ok": True, "issuer": metadata["issuer"]}
