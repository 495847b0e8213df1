"""Production records, customers and customer shipments over the API, as an MES, a WMS
or a CRM sends them: creates are idempotent by their reference (the same content again
returns the first record with 200, other content is 409) and by Idempotency-Key; lists
are paged by cursor. Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

import uuid

from flask import jsonify

from erp.traceability import service
from erp.traceability.record_schemas import (
    CustomerIn,
    CustomerList,
    CustomerOut,
    ListQuery,
    ProductionRunIn,
    ProductionRunList,
    ProductionRunOut,
    ProductionRunSummary,
    RunQuery,
    ShipmentIn,
    ShipmentList,
    ShipmentOut,
    ShipmentQuery,
    ShipmentSummary,
)
from portal.api.idempotency import idempotent
from portal.api.openapi import operation
from portal.api.parsing import json_body, query
from portal.api.views import _principal, blueprint
from portal.shell import api_identity, permission_required, request_uow

READERS = ("production.record", "recall.run")
TAGS = ("traceability",)
IDEMPOTENT = (
    "Idempotent by `reference`: the same reference with the same content returns the first record (200); "
    "with other content it is refused (409, reference-conflict). Every rule is checked at once; a refusal (422) "
    "lists each problem under its field, such as components.2.lot, with nothing written."
)


@blueprint.post("/production-runs")
@operation(
    summary="Record production: a finished lot (and serials) made from component lots and serials",
    tags=TAGS,
    body=ProductionRunIn,
    idempotent=True,
    description="The components' released stock is consumed, a genealogy link written per component and the finished "
    "units put into stock, released, at the production location. A component that is the finished lot or was made "
    "from it (a cycle), more than the released stock on hand, or stock on hold is refused. " + IDEMPOTENT,
    responses={200: ProductionRunOut, 201: ProductionRunOut, 401: None, 403: None, 409: None, 422: None},
)
@permission_required("production.record")
def create_production_run():
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(ProductionRunIn)
        uow = request_uow()
        existed = service.run_by_reference(uow, identity.actor, reference=data.reference) is not None
        run = service.record_production(
            uow,
            identity.actor,
            reference=data.reference,
            item_id=data.item_id or service.item_id_for_code(uow, data.item),
            lot_number=data.lot,
            quantity=data.quantity,
            produced_at=data.produced_at,
            serials=data.serials,
            expiry_date=data.expiry_date,
            location_id=data.location_id,
            source="api",
            components=[
                service.ComponentUse(
                    item_id=c.item_id or service.item_id_for_code(uow, c.item),
                    lot_number=c.lot,
                    lot_id=c.lot_id,
                    supplier_id=c.supplier_id,
                    serial=c.serial,
                    quantity=c.quantity,
                    output_serial=c.output_serial,
                )
                for c in data.components
            ],
        )
        detail = service.get_production_run(uow, identity.actor, run_id=run.id)
        return (200 if existed else 201), ProductionRunOut.of(detail).model_dump(mode="json")

    return idempotent(_principal(identity), create)


@blueprint.get("/production-runs")
@operation(
    summary="Production records, newest first, a page at a time",
    tags=TAGS,
    query=RunQuery,
    description="`q` finds the beginning of a reference or of a finished lot number.",
    responses={200: ProductionRunList, 401: None, 403: None, 422: None},
)
@permission_required(*READERS)
def production_run_list():
    params = query(RunQuery)
    page = service.list_production_runs(
        request_uow(), api_identity().actor, q=params.q, lot_id=params.lot_id, cursor=params.cursor, limit=params.limit
    )
    body = ProductionRunList(items=[ProductionRunSummary.of(r) for r in page.items], next_cursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))


@blueprint.get("/production-runs/<uuid:run_id>")
@operation(
    summary="One production record with its finished serials and the components it consumed",
    tags=TAGS,
    description="A record of another tenant is not found.",
    responses={200: ProductionRunOut, 401: None, 403: None, 404: None},
)
@permission_required(*READERS)
def production_run(run_id: uuid.UUID):
    detail = service.get_production_run(request_uow(), api_identity().actor, run_id=run_id)
    return jsonify(ProductionRunOut.of(detail).model_dump(mode="json"))


@blueprint.post("/customer-shipments")
@operation(
    summary="Record a shipment of finished lots and serials to a customer",
    tags=TAGS,
    body=ShipmentIn,
    idempotent=True,
    description="The released stock shipped goes to status shipped. Stock on hold (a recall, an excursion) or not "
    "released cannot be shipped. " + IDEMPOTENT,
    responses={200: ShipmentOut, 201: ShipmentOut, 401: None, 403: None, 409: None, 422: None},
)
@permission_required("production.record")
def create_customer_shipment():
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(ShipmentIn)
        uow = request_uow()
        existed = service.shipment_by_reference(uow, identity.actor, reference=data.reference) is not None
        customer_id = data.customer_id
        if customer_id is None and data.customer:
            found = service.customer_by_code(uow, identity.actor, code=data.customer)
            customer_id = found.id if found else service.NO_SUCH_ID
        shipment = service.record_shipment(
            uow,
            identity.actor,
            reference=data.reference,
            customer_id=customer_id,
            shipped_at=data.shipped_at,
            ship_to_address=data.ship_to_address,
            source="api",
            lines=[
                service.ShippedUnit(
                    item_id=line.item_id or service.item_id_for_code(uow, line.item),
                    lot_number=line.lot,
                    lot_id=line.lot_id,
                    serial=line.serial,
                    quantity=line.quantity,
                )
                for line in data.lines
            ],
        )
        detail = service.get_shipment(uow, identity.actor, shipment_id=shipment.id)
        return (200 if existed else 201), ShipmentOut.of(detail).model_dump(mode="json")

    return idempotent(_principal(identity), create)


@blueprint.get("/customer-shipments")
@operation(
    summary="Customer shipments, newest first, a page at a time",
    tags=TAGS,
    query=ShipmentQuery,
    description="Of one customer, or carrying one lot, when given; `q` finds the beginning of a reference.",
    responses={200: ShipmentList, 401: None, 403: None, 422: None},
)
@permission_required(*READERS)
def customer_shipment_list():
    params = query(ShipmentQuery)
    page = service.list_shipments(
        request_uow(), api_identity().actor, customer_id=params.customer_id, lot_id=params.lot_id, q=params.q,
        cursor=params.cursor, limit=params.limit,
    )
    body = ShipmentList(items=[ShipmentSummary.of(r) for r in page.items], next_cursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))


@blueprint.get("/customer-shipments/<uuid:shipment_id>")
@operation(
    summary="One customer shipment with its lots and serials",
    tags=TAGS,
    description="A shipment of another tenant is not found.",
    responses={200: ShipmentOut, 401: None, 403: None, 404: None},
)
@permission_required(*READERS)
def customer_shipment(shipment_id: uuid.UUID):
    detail = service.get_shipment(request_uow(), api_identity().actor, shipment_id=shipment_id)
    return jsonify(ShipmentOut.of(detail).model_dump(mode="json"))


@blueprint.post("/customers")
@operation(
    summary="Add a customer, or bring one up to date, by its code",
    tags=TAGS,
    body=CustomerIn,
    idempotent=True,
    description="An upsert: 201 when the code is new, 200 when the customer existed (the fields given replace its own; "
    "email, address and country left out are kept).",
    responses={200: CustomerOut, 201: CustomerOut, 401: None, 403: None, 422: None},
)
@permission_required("production.record")
def upsert_customer():
    identity = api_identity()

    def upsert() -> tuple[int, dict]:
        data = json_body(CustomerIn)
        uow = request_uow()
        existed = service.customer_by_code(uow, identity.actor, code=data.code) is not None
        customer = service.upsert_customer(
            uow, identity.actor, code=data.code, name=data.name, email=data.email, address=data.address,
            country=data.country, locale=data.locale,
        )
        return (200 if existed else 201), CustomerOut.of(customer).model_dump(mode="json")

    return idempotent(_principal(identity), upsert)


@blueprint.get("/customers")
@operation(
    summary="Customers by code, a page at a time",
    tags=TAGS,
    query=ListQuery,
    description="`q` finds the beginning of a code or a part of a name.",
    responses={200: CustomerList, 401: None, 403: None, 422: None},
)
@permission_required(*READERS)
def customer_list():
    params = query(ListQuery)
    page = service.list_customers(request_uow(), api_identity().actor, q=params.q, cursor=params.cursor, limit=params.limit)
    body = CustomerList(items=[CustomerOut.of(c) for c in page.items], next_cursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))


@blueprint.get("/customers/<uuid:customer_id>")
@operation(
    summary="One customer",
    tags=TAGS,
    description="A customer of another tenant is not found.",
    responses={200: CustomerOut, 401: None, 403: None, 404: None},
)
@permission_required(*READERS)
def customer(customer_id: uuid.UUID):
    found = service.get_customer(request_uow(), api_identity().actor, customer_id=customer_id)
    return jsonify(CustomerOut.of(found).model_dump(mode="json"))
