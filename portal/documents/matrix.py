"""Certificate types and the requirement matrix, on the buyer side."""

from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from documents import certificates
from erp.items import service as items
from erp.suppliers import compliance
from erp.suppliers.errors import RequirementNotFound
from kernel.errors import N_, ValidationFailed
from portal.documents.forms import RequirementForm, TypeForm
from portal.documents.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm, place_errors, uuid_or_none
from portal.shell.i18n import error_text, localized
from tenants import service as tenants


@blueprint.get("/buyer/certificate-types")
@permission_required("cert.review", "suppliers.view", side="buyer")
def certificate_types():
    return _type_page(None)


@blueprint.post("/buyer/certificate-types")
@permission_required("cert.review", side="buyer")
def create_certificate_type():
    return _type_page(None)


@blueprint.route("/buyer/certificate-types/<uuid:type_id>", methods=["GET", "POST"])
@permission_required("cert.review", side="buyer")
def certificate_type(type_id: uuid.UUID):
    return _type_page(type_id)


def _type_page(type_id):
    uow = request_uow()
    actor = current_user.actor
    editing = certificates.get_type(uow, type_id=type_id) if type_id else None
    form = TypeForm(obj=editing) if request.method == "GET" and editing else TypeForm()
    if request.method == "GET" and editing:
        form.accepted_issuers.data = "\n".join(editing.accepted_issuers)
    problem, status = None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            problem, status = gettext(ValidationFailed.message), 422
        else:
            uow.reason = "Certificate type saved"
            try:
                kind = certificates.save_type(
                    uow, actor, type_id=type_id, code=editing.code if editing else form.code.data, **form.values()
                )
            except ValidationFailed as error:
                place_errors(form, error)
                problem, status = error_text(error), error.status
            else:
                notify(N_("Certificate type %(name)s is saved."), name=kind.name)
                return redirect(url_for("documents.certificate_types"), code=303)
    return (
        render_template(
            "documents/types.html",
            types=certificates.list_types(uow, actor, include_inactive=True),
            form=form,
            editing=editing,
            problem=problem,
        ),
        status,
    )


@blueprint.get("/buyer/certificate-requirements")
@permission_required("suppliers.view", side="buyer")
def requirements():
    return _requirements_page(None)


@blueprint.post("/buyer/certificate-requirements")
@permission_required("suppliers.manage", side="buyer")
def add_requirement():
    uow = request_uow()
    form = _requirement_form(uow)
    if not form.validate_on_submit():
        return _requirements_page(form, gettext(ValidationFailed.message), 422)
    scope = form.scope.data
    uow.reason = "Certificate requirement added"
    try:
        compliance.add_requirement(
            uow,
            current_user.actor,
            certificate_type_id=uuid_or_none(form.certificate_type_id.data),
            scope=scope,
            category=form.category.data or None if scope == "category" else None,
            site_id=uuid_or_none(form.site_id.data) if scope == "site" else None,
            item_id=uuid_or_none(form.item_id.data) if scope == "item" else None,
        )
    except ValidationFailed as error:
        place_errors(form, error)
        return _requirements_page(form, error_text(error), error.status)
    notify(N_("The requirement is added."))
    return redirect(url_for("documents.requirements"), code=303)


@blueprint.post("/buyer/certificate-requirements/<uuid:requirement_id>/delete")
@permission_required("suppliers.manage", side="buyer")
def remove_requirement(requirement_id: uuid.UUID):
    uow = request_uow()
    if not PlainForm().validate_on_submit():
        return _requirements_page(None, gettext(ValidationFailed.message), 400)
    uow.reason = "Certificate requirement removed"
    try:
        compliance.remove_requirement(uow, current_user.actor, requirement_id=requirement_id)
    except RequirementNotFound as error:
        return _requirements_page(None, error_text(error), error.status)
    notify(N_("The requirement is removed."))
    return redirect(url_for("documents.requirements"), code=303)


def _requirement_form(uow, formdata=..., *, types=None, item_rows=None):
    """The add form; `types` and `item_rows` when the caller has them already."""
    actor = current_user.actor
    types = types if types is not None else certificates.list_types(uow, actor, include_inactive=True)
    item_rows = item_rows if item_rows is not None else items.all_items(uow, actor)
    by_supplier = tenants.sites_by_supplier(uow)
    sites = [
        (str(site.id), f"{localized(s.name, s.name_zh)} · {site.name}")
        for s in tenants.list_suppliers(uow)
        for site in by_supplier.get(s.id, [])
    ]
    choices = [(str(i.id), _item_label(i)) for i in item_rows]
    kwargs = {} if formdata is ... else {"formdata": formdata}
    active = [(t, localized(t.name, t.name_zh)) for t in types if t.active]
    return RequirementForm(types=active, sites=sites, items=choices, **kwargs)


def _item_label(item) -> str:
    return f"{item.part_number} · {localized(item.name, item.name_zh)}"


def _requirements_page(form, problem=None, status=200):
    uow = request_uow()
    actor = current_user.actor
    rows = compliance.list_requirements(uow, actor)
    all_types = certificates.list_types(uow, actor, include_inactive=True)
    item_rows = items.all_items(uow, actor)
    types = {t.id: t for t in all_types}
    sites = tenants.sites_by_id(uow, ids={r.site_id for r in rows if r.site_id})
    suppliers = tenants.organisations_by_id(uow, ids={r.supplier_id for r in rows if r.supplier_id})
    item_names = {i.id: _item_label(i) for i in item_rows}
    form = form or _requirement_form(uow, formdata=None, types=all_types, item_rows=item_rows)
    return (
        render_template(
            "documents/requirements.html",
            rows=rows,
            types=types,
            sites=sites,
            suppliers=suppliers,
            item_names=item_names,
            form=form,
            problem=problem,
        ),
        status,
    )
