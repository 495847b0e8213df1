"""The cold chain over the API: loggers and gateways send readings in batches
(idempotent by batch key), bindings are made, alerts and a lot's or a shipment's
readings are read. Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

from flask import jsonify

from erp.coldchain import alerts as alerting
from erp.coldchain import charts
from erp.coldchain import readings as ingesting
from erp.coldchain import service as coldchain
from erp.coldchain.errors import LoggerNotFound
from erp.coldchain.schemas import (
    AlertList,
    AlertOut,
    AlertQuery,
    BindingIn,
    BindingOut,
    ReadingBatchIn,
    ReadingBatchOut,
    ReadingList,
    ReadingOut,
    ReadingQuery,
)
from erp.inventory import service as inventory
from erp.shipping.errors import AsnNotFound
from kernel.errors import ValidationFailed
from portal.api.idempotency import idempotent, json_response
from portal.api.openapi import operation
from portal.api.parsing import json_body, query
from portal.api.views import _principal, blueprint
from portal.shell import api_identity, permission_required, request_uow

REFUSALS = (
    "A batch is stored whole or not at all: a refusal (422) names each bad reading under readings.<index>.<field> "
    "(a time without a time zone, in the future beyond 5 minutes, out of order, a value out of range). Readings at or "
    "before the logger's last stored one are skipped when identical to what is stored, else refused as out of order."
)


@blueprint.post("/loggers/<code>/readings")
@operation(
    summary="Send a batch of a logger's readings",
    tags=("cold chain",),
    body=ReadingBatchIn,
    description="Idempotent by `batch_key`: 201 the first time, 200 with the same result when the same batch comes "
    "again (nothing is stored twice); the key with other readings is refused with 409. " + REFUSALS + " Readings are "
    "checked against the storage conditions of the lots the logger watches at once; `alerts` says how many were raised.",
    responses={200: ReadingBatchOut, 201: ReadingBatchOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("coldchain.record")
def send_readings(code: str):
    identity = api_identity()
    data = json_body(ReadingBatchIn)
    got = ingesting.ingest(
        request_uow(),
        identity.actor,
        logger_code=code,
        key=data.batch_key,
        readings=[r.model_dump() for r in data.readings],
        source="api",
    )
    body = ReadingBatchOut.of(got.batch, code).model_dump(mode="json")
    return json_response(201 if got.created else 200, body)


@blueprint.post("/loggers/<code>/bindings")
@operation(
    summary="Bind a logger to a ship notice, a package (SSCC), a storage location or a lot for a period",
    tags=("cold chain",),
    body=BindingIn,
    idempotent=True,
    description="A logger watches one thing at a time: a period overlapping another binding of it is refused (409).",
    responses={201: BindingOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("coldchain.record")
def bind_logger(code: str):
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(BindingIn)
        uow = request_uow()
        logger = coldchain.logger_by_code(uow, code=code)
        if logger is None:
            raise LoggerNotFound()
        binding = coldchain.bind_logger(
            uow, identity.actor, logger_id=logger.id, kind=data.kind, target_id=data.target_id, starts_at=data.starts_at,
            ends_at=data.ends_at,
        )
        return 201, _binding_out(uow, binding, logger.code).model_dump(mode="json")

    return idempotent(_principal(identity), create)


def _binding_out(uow, binding, code: str) -> BindingOut:
    return BindingOut(
        id=binding.id, logger=code, kind=binding.kind, target=coldchain.describe(uow, binding), asn_id=binding.asn_id,
        package_id=binding.package_id, location_id=binding.location_id, lot_id=binding.lot_id, starts_at=binding.starts_at,
        ends_at=binding.ends_at,
    )


@blueprint.get("/cold-chain/alerts")
@operation(
    summary="Cold-chain alerts, open ones first, a page at a time",
    tags=("cold chain",),
    query=AlertQuery,
    responses={200: AlertList, 401: None, 403: None, 422: None},
)
@permission_required("coldchain.view")
def cold_chain_alerts():
    identity = api_identity()
    params = query(AlertQuery)
    page = alerting.list_alerts(request_uow(), identity.actor, status=params.status, limit=params.limit, cursor=params.cursor)
    return jsonify(AlertList(items=[AlertOut.of(a) for a in page.items], next_cursor=page.next_cursor).model_dump(mode="json"))


@blueprint.get("/lots/<uuid:lot_id>/readings")
@operation(
    summary="The readings of the loggers that watched a lot, oldest first",
    tags=("cold chain",),
    query=ReadingQuery,
    description="From the lot's own bindings, the ship notices and packages it came in, and the locations it stood in.",
    responses={200: ReadingList, 401: None, 403: None, 404: None, 422: None},
)
@permission_required("coldchain.view")
def lot_readings(lot_id):
    identity = api_identity()
    uow = request_uow()
    lot = inventory.get_lot(uow, lot_id=lot_id)
    return _readings(identity, charts.bindings_of_lot(uow, lot_id=lot.id))


@blueprint.get("/asns/<uuid:asn_id>/readings")
@operation(
    summary="The readings of the loggers bound to a ship notice or its packages, oldest first",
    tags=("cold chain",),
    query=ReadingQuery,
    responses={200: ReadingList, 401: None, 403: None, 404: None, 422: None},
)
@permission_required("coldchain.view")
def asn_readings(asn_id):
    identity = api_identity()
    uow = request_uow()
    if coldchain.asn_number(uow, asn_id=asn_id) is None:
        raise AsnNotFound()
    return _readings(identity, coldchain.bindings_of_asn(uow, asn_id=asn_id))


def _readings(identity, bindings):
    params = query(ReadingQuery)
    for name in ("since", "until"):
        value = getattr(params, name)
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(errors={name: ingesting.NOT_A_TIME})
    page = ingesting.readings_in(
        request_uow(), identity.actor, windows=charts.windows_of(bindings), since=params.since, until=params.until,
        cursor=params.cursor, limit=params.limit,
    )
    items = [
        ReadingOut(logger_id=r.logger_id, recorded_at=r.recorded_at, temperature=r.temperature, humidity=r.humidity)
        for r in page.items
    ]
    return jsonify(ReadingList(items=items, next_cursor=page.next_cursor).model_dump(mode="json"))
