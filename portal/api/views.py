"""The JSON API, version 1. Session-authenticated for now (API clients with tokens
come with the identity issue); errors are problem details (portal.shell.errors)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask_wtf.csrf import generate_csrf

from erp.items import service as items
from erp.items.schemas import ItemCreate, ItemOut
from erp.purchasing import service as purchasing
from erp.purchasing.schemas import PurchaseOrderOut, PurchaseOrderPage, PurchaseOrderQuery
from portal.api.idempotency import idempotent
from portal.api.openapi import document, operation
from portal.api.parsing import json_body, query
from portal.api.schemas import MembershipOut, MeOut, OrganisationOut, UserOut, tenant_of
from portal.shell import api_identity, request_uow
from tenants import service as tenants

PREFIX = "/api/v1"
blueprint = Blueprint("api", __name__, url_prefix=PREFIX)


@blueprint.get("/me")
@operation(
    summary="The signed-in user, the current tenant and role, and all memberships",
    tags=("session",),
    responses={200: MeOut, 401: None},
)
def me():
    identity = api_identity(tenant=False)
    membership = identity.membership
    supplier = None
    if membership is not None and membership.supplier_id is not None:
        org = tenants.organisations_by_id(request_uow(), ids={membership.supplier_id})[membership.supplier_id]
        supplier = OrganisationOut(id=org.id, name=org.name, name_zh=org.name_zh)
    body = MeOut(
        user=UserOut(id=identity.id, email=identity.email, full_name=identity.full_name, locale=identity.locale),
        tenant=tenant_of(membership) if membership else None,
        role=identity.role,
        supplier=supplier,
        permissions=sorted(identity.actor.permissions),
        memberships=[MembershipOut(tenant=tenant_of(m), role=m.role, supplier_id=m.supplier_id) for m in identity.memberships],
        csrf_token=generate_csrf(),
    )
    return jsonify(body.model_dump(mode="json"))


@blueprint.get("/purchase-orders")
@operation(
    summary="Purchase orders, newest first, a page at a time",
    tags=("purchasing",),
    query=PurchaseOrderQuery,
    description="Supplier users see only their own company's orders.",
    responses={200: PurchaseOrderPage, 401: None, 403: None, 422: None},
)
def purchase_orders():
    api_identity()
    params = query(PurchaseOrderQuery)
    page = purchasing.list_purchase_orders(request_uow(), after=params.cursor, limit=params.limit)
    body = PurchaseOrderPage(items=[PurchaseOrderOut.of(row) for row in page.items], next_cursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))


@blueprint.post("/items")
@operation(
    summary="Create an item",
    tags=("items",),
    body=ItemCreate,
    idempotent=True,
    responses={201: ItemOut, 401: None, 403: None, 409: None, 422: None},
)
def create_item():
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(ItemCreate)
        item = items.create_item(request_uow(), identity.actor, **data.model_dump())
        return 201, ItemOut.model_validate(item).model_dump(mode="json")

    return idempotent(f"user:{identity.id}", create)


@blueprint.get("/openapi.json")
def openapi():
    spec = current_app.extensions.get("traceport_openapi")
    if spec is None:
        spec = document(current_app, prefix=PREFIX, title="Traceport API", version="1")
        current_app.extensions["traceport_openapi"] = spec
    return jsonify(spec)
