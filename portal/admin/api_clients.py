"""API clients: machine access for the tenant's integrations (auth.clients).

The list, a new client, a new secret (rotation) and revocation. A secret is shown once,
on the page that answers the POST that made it - never in a URL, the session or a
later page - with `Cache-Control: no-store` so no cache keeps it.
"""

from __future__ import annotations

import uuid

from flask import make_response, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from auth import clients
from auth.errors import ApiClientInvalid, ScopeNotGrantable
from auth.permissions import PERMISSIONS
from kernel.errors import N_
from portal.admin.forms import CheckboxesField
from portal.admin.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm, show_errors, uuid_or_none
from portal.shell.i18n import localized
from portal.shell.lifecycle import record_refusal, runtime
from tenants import service as tenants


class ApiClientForm(FlaskForm):
    name = StringField(
        lazy_gettext("Name"),
        validators=[
            DataRequired(message=lazy_gettext("Enter a name.")),
            Length(max=clients.MAX_NAME, message=lazy_gettext("This is too long.")),
        ],
        description=lazy_gettext("Which system uses it, such as “Plant 2 MES” or “Supplier ERP link”."),
        render_kw={"autocomplete": "off", "autofocus": True, "maxlength": str(clients.MAX_NAME)},
    )
    supplier_id = SelectField(lazy_gettext("Acts for"), choices=[], validate_choice=False)
    scopes = CheckboxesField(lazy_gettext("Permissions"), choices=[])


@blueprint.get("/api-clients")
@permission_required("api_clients.manage", side="buyer")
def api_clients():
    uow = request_uow()
    rows = clients.list_clients(uow, current_user.actor)
    suppliers = tenants.organisations_by_id(uow, ids={c.supplier_id for c in rows if c.supplier_id})
    return render_template(
        "admin/api_clients.html",
        clients=rows,
        supplier_names={sid: localized(org.name, org.name_zh) for sid, org in suppliers.items()},
        permission_label=permission_label,
    )


@blueprint.route("/api-clients/new", methods=["GET", "POST"])
@permission_required("api_clients.manage", side="buyer")
def new_api_client():
    uow = request_uow()
    actor = current_user.actor
    form = ApiClientForm()
    buyer = set(clients.grantable_scopes(actor, for_supplier=False))
    supplier = set(clients.grantable_scopes(actor, for_supplier=True))
    # Suppliers are offered only to those who may make a client act for one.
    form.supplier_id.choices = [("", gettext("The organisation itself"))] + [
        (str(org.id), localized(org.name, org.name_zh)) for org in (tenants.list_suppliers(uow) if supplier else ())
    ]
    form.scopes.choices = [(name, permission_label(name)) for name in PERMISSIONS if name in buyer | supplier]
    error = None
    if form.validate_on_submit():
        uow.reason = "API client created"
        try:
            client, secret = clients.create_client(
                uow, actor, name=form.name.data, scopes=form.scopes.data or [], supplier_id=_supplier_id(form.supplier_id.data)
            )
        except ApiClientInvalid as failed:
            error = show_errors(form, failed)
        except ScopeNotGrantable:
            # Only a tampered form asks for more than the page offers.
            record_refusal(
                kind="privilege_escalation_denied",
                severity="critical",
                user_id=actor.user_id,
                email=current_user.email,
                detail={
                    "what": "api_client",
                    "scopes": sorted(form.scopes.data or [])[:30],
                    "supplier_id": form.supplier_id.data or None,
                },
            )
            raise
        else:
            return _secret_page(client, secret, created=True)
    elif request.method == "POST":
        error = gettext(ApiClientInvalid.message)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/api_client_form.html",
        form=form,
        error=error,
        buyer_only=buyer - supplier,
        supplier_only=supplier - buyer,
    ), status


@blueprint.route("/api-clients/<uuid:client_pk>/rotate", methods=["GET", "POST"])
@permission_required("api_clients.manage", side="buyer")
def rotate_api_client(client_pk: uuid.UUID):
    uow = request_uow()
    client = clients.get_client(uow, current_user.actor, client_pk=client_pk)
    form = PlainForm()
    if not form.validate_on_submit() or client.revoked_at is not None:
        return render_template("admin/api_client_confirm.html", client=client, form=form, action="rotate")
    uow.reason = "API client secret rotated"
    client, secret = clients.rotate_secret(uow, current_user.actor, client_pk=client_pk)
    return _secret_page(client, secret, created=False)


@blueprint.route("/api-clients/<uuid:client_pk>/revoke", methods=["GET", "POST"])
@permission_required("api_clients.manage", side="buyer")
def revoke_api_client(client_pk: uuid.UUID):
    uow = request_uow()
    client = clients.get_client(uow, current_user.actor, client_pk=client_pk)
    form = PlainForm()
    if not form.validate_on_submit() or client.revoked_at is not None:
        return render_template("admin/api_client_confirm.html", client=client, form=form, action="revoke")
    uow.reason = "API client revoked"
    clients.revoke_client(uow, current_user.actor, client_pk=client_pk)
    notify(N_("The API client %(name)s was revoked. Its tokens no longer work."), name=client.name)
    return redirect(url_for("admin.api_clients"), code=303)


def permission_label(name: str) -> str:
    return gettext(PERMISSIONS[name]) if name in PERMISSIONS else name


def _secret_page(client, secret: str, *, created: bool):
    response = make_response(
        render_template(
            "admin/api_client_secret.html",
            client=client,
            secret=secret,
            created=created,
            token_url=_public_url("api.token"),
            me_url=_public_url("api.me"),
            permission_label=permission_label,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _public_url(endpoint: str) -> str:
    """Where the client reaches Traceport (the configured address, not the request's)."""
    return runtime().settings.base_url.rstrip("/") + url_for(endpoint)


def _supplier_id(value: str | None) -> uuid.UUID | None:
    """The chosen supplier; anything that is not an id is one of no supplier of this
    tenant, which the service refuses by name."""
    return uuid_or_none(value) or (uuid.UUID(int=0) if value else None)
