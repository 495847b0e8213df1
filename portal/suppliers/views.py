"""Supplier pages on the buyer side: the suppliers with their sites and a summary of
the approved supplier list, and a supplier with its sites, contacts and entries of the
list (each with its history), with forms to add a contact and to set an entry's status.

The path parameter is `supplier`, not `supplier_id`, as on the API (portal.api.suppliers):
these pages are the buyer side's, the permission refuses supplier users."""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.items import service as items
from erp.suppliers import overview
from erp.suppliers import service as suppliers
from erp.suppliers.errors import ApprovalChanged
from erp.suppliers.models import STATUSES
from kernel.errors import N_, ValidationFailed
from portal.items.forms import CATEGORY_LABELS
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import show_errors, uuid_or_none
from portal.shell.i18n import localized
from portal.shell.identity import can
from portal.suppliers.forms import SITE_KIND_LABELS, STATUS_LABELS, ApprovalForm, ContactForm

blueprint = Blueprint("suppliers", __name__, template_folder="templates")


@blueprint.context_processor
def _labels():
    return {"STATUS_LABELS": STATUS_LABELS, "SITE_KIND_LABELS": SITE_KIND_LABELS, "CATEGORY_LABELS": CATEGORY_LABELS}


@blueprint.get("/suppliers")
@permission_required("suppliers.view", side="buyer")
def supplier_list():
    summaries = overview.supplier_summaries(request_uow(), current_user.actor)
    return render_template("suppliers/list.html", summaries=summaries, statuses=STATUSES)


@blueprint.get("/suppliers/<uuid:supplier>")
@permission_required("suppliers.view", side="buyer")
def supplier_detail(supplier: uuid.UUID):
    return _detail_page(supplier)


@blueprint.post("/suppliers/<uuid:supplier>/contacts")
@permission_required("suppliers.manage", side="buyer")
def add_contact(supplier: uuid.UUID):
    uow = request_uow()
    company = suppliers.get_supplier(uow, supplier_id=supplier)
    form = ContactForm()
    error = None
    if form.validate_on_submit():
        uow.reason = "Supplier contact added"
        try:
            contact = suppliers.add_contact(uow, current_user.actor, supplier_id=company.id, **form.values())
        except ValidationFailed as failed:
            error = show_errors(form, failed)
        else:
            notify(N_("Contact %(name)s was added."), name=contact.name)
            return redirect(url_for("suppliers.supplier_detail", supplier=company.id) + "#contacts", code=303)
    else:
        error = gettext(ValidationFailed.message)
    return _detail_page(supplier, contact_form=form, contact_error=error, status=422)


@blueprint.post("/suppliers/<uuid:supplier>/approvals")
@permission_required("suppliers.manage", side="buyer")
def set_approval(supplier: uuid.UUID):
    uow = request_uow()
    company = suppliers.get_supplier(uow, supplier_id=supplier)
    form = _approval_form(uow, company.id)
    error = None
    if form.validate_on_submit():
        try:
            suppliers.set_approval(
                uow,
                current_user.actor,
                supplier_id=company.id,
                site_id=uuid_or_none(form.site_id.data),
                item_id=uuid_or_none(form.item_id.data),
                category=form.category.data or None,
                status=form.status.data or "",
                reason=form.reason.data,
            )
        except (ValidationFailed, ApprovalChanged) as failed:
            error = show_errors(form, failed)
        else:
            notify(N_("The approved supplier list was changed."))
            return redirect(url_for("suppliers.supplier_detail", supplier=company.id) + "#approvals", code=303)
    else:
        error = gettext(ValidationFailed.message)
    return _detail_page(supplier, approval_form=form, approval_error=error, status=422)


def _detail_page(supplier_id, *, contact_form=None, contact_error=None, approval_form=None, approval_error=None, status=200):
    uow, actor = request_uow(), current_user.actor
    company = suppliers.get_supplier(uow, supplier_id=supplier_id)
    sites = overview.sites_of(uow, actor, supplier_id=company.id)
    contacts = suppliers.list_contacts(uow, actor, supplier_id=company.id)
    approvals = suppliers.list_approvals(uow, actor, supplier_id=company.id)
    history: dict[uuid.UUID, list] = {}
    for change in suppliers.approval_history(uow, actor, supplier_id=company.id):
        history.setdefault(change.approved_source_id, []).append(change)
    people = overview.people_names(
        uow, ids={r.entry.changed_by for r in approvals} | {c.changed_by for changes in history.values() for c in changes}
    )
    manage = can("suppliers.manage")
    if manage:
        contact_form = contact_form or ContactForm(formdata=None)
        approval_form = approval_form or _approval_form(uow, company.id, sites=sites, formdata=None)
    return render_template(
        "suppliers/detail.html",
        supplier=company,
        sites=sites,
        contacts=contacts,
        approvals=approvals,
        history=history,
        people=people,
        manage=manage,
        contact_form=contact_form,
        contact_error=contact_error,
        approval_form=approval_form,
        approval_error=approval_error,
    ), status


def _approval_form(uow, supplier_id, *, sites=None, **kwargs) -> ApprovalForm:
    actor = current_user.actor
    if sites is None:
        sites = overview.sites_of(uow, actor, supplier_id=supplier_id)
    # Without items.view only categories can be chosen.
    choices = (
        [(str(i.id), f"{i.part_number} · {localized(i.name, i.name_zh)}") for i in items.all_items(uow, actor)]
        if can("items.view")
        else []
    )
    return ApprovalForm(sites=sites, items=choices, **kwargs)
