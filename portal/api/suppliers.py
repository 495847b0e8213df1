"""Supplier contacts and the approved supplier list over the API. Routes on the API
blueprint of portal.api.views."""

from __future__ import annotations

from flask import jsonify

from erp.suppliers import service as suppliers
from erp.suppliers.schemas import ApprovalIn, ApprovalList, ApprovalOut, ContactIn, ContactList, ContactOut
from portal.api.idempotency import idempotent
from portal.api.openapi import operation
from portal.api.parsing import json_body
from portal.api.views import _principal, blueprint
from portal.shell import api_identity, permission_required, request_uow

NOT_FOUND = "A supplier of another tenant, or the tenant's own company, is not found."
# The path parameter is `supplier`, not `supplier_id`: portal.shell.security_log refuses a
# supplier_id other than a supplier user's own company before the permission is checked
# (as an isolation event). These routes are the buyer side's (suppliers.view/manage, which
# no supplier role holds): the permission refuses supplier users, and row-level security
# would keep them to their own company's rows.


@blueprint.get("/suppliers/<uuid:supplier>/approvals")
@operation(
    summary="The supplier's entries of the approved supplier list",
    tags=("suppliers",),
    description="By site (every site first), item and category. " + NOT_FOUND,
    responses={200: ApprovalList, 401: None, 403: None, 404: None},
)
@permission_required("suppliers.view")
def supplier_approvals(supplier):
    identity = api_identity()
    rows = suppliers.list_approvals(request_uow(), identity.actor, supplier_id=supplier)
    return jsonify(ApprovalList(items=[ApprovalOut.of(row) for row in rows]).model_dump(mode="json"))


@blueprint.post("/suppliers/<uuid:supplier>/approvals")
@operation(
    summary="Approve a supplier (or one of its sites) for an item or a category, or change the status",
    tags=("suppliers",),
    body=ApprovalIn,
    idempotent=True,
    description=(
        "Creates the entry (201) or changes its status (200); the reason is required and kept in the history. "
        "Setting the status the entry has already is refused with 422. A disqualified supplier receives no new "
        "purchase orders for what the entry covers. " + NOT_FOUND
    ),
    responses={200: ApprovalOut, 201: ApprovalOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("suppliers.manage")
def set_supplier_approval(supplier):
    identity = api_identity()

    def change() -> tuple[int, dict]:
        data = json_body(ApprovalIn)
        uow = request_uow()
        entry = suppliers.set_approval(uow, identity.actor, supplier_id=supplier, **data.model_dump())
        row = next(r for r in suppliers.list_approvals(uow, identity.actor, supplier_id=supplier) if r.entry.id == entry.id)
        latest = suppliers.approval_history(uow, identity.actor, approved_source_id=entry.id)[0]
        created = latest.from_status is None
        return (201 if created else 200), ApprovalOut.of(row).model_dump(mode="json")

    return idempotent(_principal(identity), change)


@blueprint.get("/suppliers/<uuid:supplier>/contacts")
@operation(
    summary="The supplier's contacts, the primary one first",
    tags=("suppliers",),
    description=NOT_FOUND,
    responses={200: ContactList, 401: None, 403: None, 404: None},
)
@permission_required("suppliers.view")
def supplier_contacts(supplier):
    identity = api_identity()
    contacts = suppliers.list_contacts(request_uow(), identity.actor, supplier_id=supplier)
    return jsonify(ContactList(items=[ContactOut.model_validate(c) for c in contacts]).model_dump(mode="json"))


@blueprint.post("/suppliers/<uuid:supplier>/contacts")
@operation(
    summary="Add a contact person of the supplier",
    tags=("suppliers",),
    body=ContactIn,
    idempotent=True,
    description="A new primary contact takes over from the previous one. " + NOT_FOUND,
    responses={201: ContactOut, 401: None, 403: None, 404: None, 422: None},
)
@permission_required("suppliers.manage")
def add_supplier_contact(supplier):
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(ContactIn)
        contact = suppliers.add_contact(request_uow(), identity.actor, supplier_id=supplier, **data.model_dump())
        return 201, ContactOut.model_validate(contact).model_dump(mode="json")

    return idempotent(_principal(identity), create)
