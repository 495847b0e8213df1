"""The JSON API, version 1: for signed-in users (the session cookie, plus the CSRF header
on writes) and for API clients (a bearer token from POST /api/v1/oauth/token,
portal.shell.bearer); errors are problem details (portal.shell.errors)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask_wtf.csrf import generate_csrf

from erp.items import revisions
from erp.items import service as items
from erp.items.schemas import ItemCreate, ItemOut, ItemUpdate
from erp.purchasing import service as purchasing
from erp.purchasing.schemas import PurchaseOrderOut, PurchaseOrderPage, PurchaseOrderQuery
from portal.api import oauth
from portal.api.idempotency import idempotent
from portal.api.openapi import document, operation
from portal.api.parsing import json_body, query
from portal.api.schemas import ClientOut, MembershipOut, MeOut, OrganisationOut, TenantOut, UserOut, tenant_of
from portal.shell import api_identity, permission_required, request_uow
from tenants import service as tenants

PREFIX = "/api/v1"
blueprint = Blueprint("api", __name__, url_prefix=PREFIX)
blueprint.add_url_rule("/oauth/token", view_func=oauth.token, methods=["POST"])
blueprint.record_once(lambda state: oauth.init_app(state.app))


@blueprint.get("/me")
@operation(
    summary="Who calls: the signed-in user, the current tenant and role, and all memberships; or the API client",
    tags=("session",),
    responses={200: MeOut, 401: None},
)
def me():
    identity = api_identity(tenant=False)
    if getattr(identity, "is_client", False):
        return _client_me(identity)
    membership = identity.membership
    supplier = _supplier(membership.supplier_id) if membership is not None else None
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


def _client_me(identity):
    call = identity.call
    body = MeOut(
        user=None,
        client=ClientOut(client_id=call.client_id, name=call.client_name, scopes=sorted(call.scopes)),
        tenant=TenantOut(id=call.tenant_id, slug=call.tenant_slug, name=call.tenant_name, name_zh=call.tenant_name_zh),
        role=None,
        supplier=_supplier(call.supplier_id),
        permissions=sorted(identity.actor.permissions),
        memberships=[],
        csrf_token=None,
    )
    return jsonify(body.model_dump(mode="json"))


def _supplier(supplier_id) -> OrganisationOut | None:
    if supplier_id is None:
        return None
    org = tenants.organisations_by_id(request_uow(), ids={supplier_id})[supplier_id]
    return OrganisationOut(id=org.id, name=org.name, name_zh=org.name_zh)


@blueprint.get("/purchase-orders")
@operation(
    summary="Purchase orders, newest first, a page at a time",
    tags=("purchasing",),
    query=PurchaseOrderQuery,
    description="Supplier users see only their own company's orders.",
    responses={200: PurchaseOrderPage, 401: None, 403: None, 422: None},
)
@permission_required("po.view")
def purchase_orders():
    api_identity()
    params = query(PurchaseOrderQuery)
    page = purchasing.list_purchase_orders(request_uow(), after=params.cursor, limit=params.limit)
    body = PurchaseOrderPage(items=[PurchaseOrderOut.of(row) for row in page.items], next_cursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))


@blueprint.get("/purchase-orders/<uuid:po_id>")
@operation(
    summary="One purchase order",
    tags=("purchasing",),
    description="An order of another tenant, or of another supplier for a supplier, is not found.",
    responses={200: PurchaseOrderOut, 401: None, 403: None, 404: None},
)
@permission_required("po.view")
def purchase_order(po_id):
    api_identity()
    row = purchasing.get_purchase_order(request_uow(), po_id=po_id)
    return jsonify(PurchaseOrderOut.of(row).model_dump(mode="json"))


@blueprint.post("/items")
@operation(
    summary="Create an item",
    tags=("items",),
    body=ItemCreate,
    idempotent=True,
    responses={201: ItemOut, 401: None, 403: None, 409: None, 422: None},
)
@permission_required("items.manage")
def create_item():
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(ItemCreate)
        item = items.create_item(request_uow(), identity.actor, **data.model_dump())
        return 201, _item_out(item).model_dump(mode="json")

    return idempotent(_principal(identity), create)


@blueprint.get("/items/<uuid:item_id>")
@operation(
    summary="One item",
    tags=("items",),
    description="An item of another tenant is not found.",
    responses={200: ItemOut, 401: None, 403: None, 404: None},
)
@permission_required("items.view")
def item(item_id):
    api_identity()
    found = items.get_item(request_uow(), item_id=item_id)
    return jsonify(_item_out(found).model_dump(mode="json"))


@blueprint.patch("/items/<uuid:item_id>")
@operation(
    summary="Update an item",
    tags=("items",),
    body=ItemUpdate,
    idempotent=True,
    description="Only the fields sent change; null clears an optional field. The item as changed is checked as a whole.",
    responses={200: ItemOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("items.manage")
def update_item(item_id):
    identity = api_identity()

    def update() -> tuple[int, dict]:
        data = json_body(ItemUpdate)
        changed = items.update_item(request_uow(), identity.actor, item_id=item_id, **data.model_dump(exclude_unset=True))
        return 200, _item_out(changed).model_dump(mode="json")

    return idempotent(_principal(identity), update)


def _item_out(item) -> ItemOut:
    current = revisions.revision_in_effect(request_uow(), item_id=item.id, on=revisions.today())
    return ItemOut.of(item, current.revision if current else None)


def _principal(identity) -> str:
    # Idempotency keys are the caller's own: a user's, or an API client's.
    return identity.principal if getattr(identity, "is_client", False) else f"user:{identity.id}"


@blueprint.get("/openapi.json")
def openapi():
    spec = current_app.extensions.get("traceport_openapi")
    if spec is None:
        spec = document(current_app, prefix=PREFIX, title="Traceport API", version="1")
        current_app.extensions["traceport_openapi"] = spec
    return jsonify(spec)
