"""Traces over the API: run one from a code (kept as a snapshot with who and why), list
the snapshots a page at a time, read one. Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

from flask import jsonify

from erp.traceability import trace
from erp.traceability.trace_schemas import TraceIn, TraceOut, TracePage, TraceQuery, TraceSummary
from portal.api.idempotency import idempotent
from portal.api.openapi import operation
from portal.api.parsing import json_body, query
from portal.api.views import _principal, blueprint
from portal.shell import api_identity, permission_required, request_uow


@blueprint.post("/traces")
@operation(
    summary="Trace from a code backward to the sources and forward to the customers, and keep the result",
    tags=("traceability",),
    body=TraceIn,
    idempotent=True,
    description="A code that names nothing, or names several items' serial or lot, is refused with 422 under `code`, "
    "saying what to add; an empty `reason` under `reason`.",
    responses={201: TraceOut, 401: None, 403: None, 422: None},
)
@permission_required("recall.run")
def run_trace():
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(TraceIn)
        snapshot = trace.run_trace(
            request_uow(), identity.actor, code=data.code, reason=data.reason, direction=data.direction
        )
        return 201, TraceOut.of(snapshot).model_dump(mode="json")

    return idempotent(_principal(identity), create)


@blueprint.get("/traces")
@operation(
    summary="Traces run, newest first, a page at a time (without their results)",
    tags=("traceability",),
    query=TraceQuery,
    responses={200: TracePage, 401: None, 403: None, 422: None},
)
@permission_required("recall.run")
def traces():
    identity = api_identity()
    params = query(TraceQuery)
    page = trace.list_snapshots(request_uow(), identity.actor, cursor=params.cursor, limit=params.limit)
    body = TracePage(items=[TraceSummary.of(s) for s in page.items], next_cursor=page.next_cursor)
    return jsonify(body.model_dump(mode="json"))


@blueprint.get("/traces/<uuid:snapshot_id>")
@operation(
    summary="One trace as it was run: who, when, why, and its result",
    tags=("traceability",),
    description="A trace of another tenant is not found.",
    responses={200: TraceOut, 401: None, 403: None, 404: None},
)
@permission_required("recall.run")
def trace_snapshot(snapshot_id):
    identity = api_identity()
    snapshot = trace.get_snapshot(request_uow(), identity.actor, snapshot_id=snapshot_id)
    return jsonify(TraceOut.of(snapshot).model_dump(mode="json"))
