"""Purchase orders over the API: create and issue (buyer), the detail with lines,
schedules and answers, the supplier's answers line by line, the buyer's decisions.
Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

from flask import jsonify

from erp.purchasing import changes, confirmation, messages
from erp.purchasing.access import visible_order
from erp.purchasing.schemas import (
    DecisionIn,
    MessageIn,
    MessageList,
    MessageOut,
    PurchaseOrderCreate,
    PurchaseOrderDetailOut,
    ResponsesIn,
    RevisionIn,
    RevisionList,
    RevisionOut,
    VersionIn,
)
from portal.api.idempotency import idempotent
from portal.api.openapi import operation
from portal.api.parsing import json_body
from portal.api.views import _principal, blueprint
from portal.shell import api_identity, permission_required, request_uow
from portal.shell.files import download

STALE = "A changed order (another `version` or `revision` than the one sent) is refused with 409."


def _detail(po_id) -> dict:
    found = confirmation.get_purchase_order_detail(request_uow(), po_id=po_id)
    return PurchaseOrderDetailOut.of(found).model_dump(mode="json")


@blueprint.post("/purchase-orders")
@operation(
    summary="Create a draft purchase order",
    tags=("purchasing",),
    body=PurchaseOrderCreate,
    idempotent=True,
    responses={201: PurchaseOrderDetailOut, 401: None, 403: None, 422: None},
)
@permission_required("po.manage")
def create_purchase_order():
    identity = api_identity()

    def create() -> tuple[int, dict]:
        data = json_body(PurchaseOrderCreate)
        lines = [line.model_dump(exclude_none=True) for line in data.lines]
        po = confirmation.create_purchase_order(
            request_uow(), identity.actor, supplier_id=data.supplier_id, currency=data.currency, lines=lines
        )
        return 201, _detail(po.id)

    return idempotent(_principal(identity), create)


@blueprint.post("/purchase-orders/<uuid:po_id>/issue")
@operation(
    summary="Issue a draft to its supplier",
    tags=("purchasing",),
    body=VersionIn,
    description=STALE,
    responses={200: PurchaseOrderDetailOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("po.manage")
def issue_purchase_order(po_id):
    identity = api_identity()
    data = json_body(VersionIn)
    confirmation.issue_purchase_order(request_uow(), identity.actor, po_id=po_id, version=data.version)
    return jsonify(_detail(po_id))


@blueprint.get("/purchase-orders/<uuid:po_id>/detail")
@operation(
    summary="One purchase order with its lines, schedules and the supplier's answers",
    tags=("purchasing",),
    description="An order of another tenant, of another supplier for a supplier, or a draft for a supplier is not found.",
    responses={200: PurchaseOrderDetailOut, 401: None, 403: None, 404: None},
)
@permission_required("po.view")
def purchase_order_detail(po_id):
    api_identity()
    body = _detail(po_id)
    return jsonify(body)


@blueprint.post("/purchase-orders/<uuid:po_id>/responses")
@operation(
    summary="The supplier answers lines: accept, reject with a reason, or propose a change",
    tags=("purchasing",),
    body=ResponsesIn,
    description="All answers are checked first; one bad answer refuses them all. " + STALE,
    responses={200: PurchaseOrderDetailOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("po.confirm")
def respond_to_purchase_order(po_id):
    identity = api_identity()
    data = json_body(ResponsesIn)
    responses = [r.model_dump(exclude_none=True) for r in data.responses]
    confirmation.respond_to_purchase_order(
        request_uow(), identity.actor, po_id=po_id, revision=data.revision, version=data.version, responses=responses
    )
    return jsonify(_detail(po_id))


@blueprint.post("/purchase-orders/responses/<uuid:response_id>/decision")
@operation(
    summary="The buyer accepts or rejects a supplier's proposal or rejection",
    tags=("purchasing",),
    body=DecisionIn,
    description="Accepting a proposal applies it to the line; accepting a rejection cancels the line. " + STALE,
    responses={200: PurchaseOrderDetailOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("po.manage")
def decide_on_response(response_id):
    identity = api_identity()
    data = json_body(DecisionIn)
    response = confirmation.decide_on_response(
        request_uow(), identity.actor, response_id=response_id, accept=data.accept, note=data.note, version=data.version
    )
    return jsonify(_detail(response.purchase_order_id))


@blueprint.get("/purchase-orders/<uuid:po_id>/messages")
@operation(
    summary="The order's message thread, oldest first",
    tags=("purchasing",),
    responses={200: MessageList, 401: None, 403: None, 404: None},
)
@permission_required("po.view")
def purchase_order_messages(po_id):
    identity = api_identity()
    uow = request_uow()
    visible_order(uow, identity.actor, po_id)  # 404 for an order the caller may not see
    found = messages.thread(uow, identity.actor, po_id=po_id)
    return jsonify(MessageList(items=[MessageOut.of(m) for m in found]).model_dump(mode="json"))


@blueprint.get("/purchase-orders/<uuid:po_id>/attachments/<uuid:attachment_id>")
@operation(
    summary="Download a file attached to one of the order's messages",
    tags=("purchasing",),
    description="The file as stored, verified against its SHA-256 first; the download is recorded.",
    responses={200: None, 401: None, 403: None, 404: None},
)
@permission_required("po.view")
def purchase_order_attachment(po_id, attachment_id):
    identity = api_identity()
    file_id = messages.attachment_file(request_uow(), identity.actor, po_id=po_id, attachment_id=attachment_id)
    return download(file_id, as_attachment=True, actor=identity.actor)


@blueprint.post("/purchase-orders/<uuid:po_id>/messages")
@operation(
    summary="Write to the other side of the order",
    tags=("purchasing",),
    body=MessageIn,
    description="The buyer side needs po.manage, the supplier side po.confirm.",
    responses={201: MessageOut, 401: None, 403: None, 404: None, 422: None},
)
@permission_required("po.manage", "po.confirm")
def post_purchase_order_message(po_id):
    identity = api_identity()
    data = json_body(MessageIn)
    author = getattr(identity, "full_name", None) or identity.actor.name
    message = messages.post_message(request_uow(), identity.actor, po_id=po_id, body=data.body, author_name=author)
    return jsonify(MessageOut.model_validate(message).model_dump(mode="json")), 201


@blueprint.get("/purchase-orders/<uuid:po_id>/revisions")
@operation(
    summary="The order's change orders, newest first, each with its diff",
    tags=("purchasing",),
    responses={200: RevisionList, 401: None, 403: None, 404: None},
)
@permission_required("po.view")
def purchase_order_revisions(po_id):
    identity = api_identity()
    uow = request_uow()
    visible_order(uow, identity.actor, po_id)  # 404 for an order the caller may not see
    found = changes.list_revisions(uow, po_id=po_id)
    return jsonify(RevisionList(items=[RevisionOut.model_validate(r) for r in found]).model_dump(mode="json"))


@blueprint.post("/purchase-orders/<uuid:po_id>/revisions")
@operation(
    summary="Change an issued order: a new revision the supplier confirms again",
    tags=("purchasing",),
    body=RevisionIn,
    description="Changed and added lines are open again for the supplier; untouched lines keep their acceptance. " + STALE,
    responses={201: PurchaseOrderDetailOut, 401: None, 403: None, 404: None, 409: None, 422: None},
)
@permission_required("po.manage")
def revise_purchase_order(po_id):
    identity = api_identity()
    data = json_body(RevisionIn)
    change_list = [c.model_dump(exclude_none=True) for c in data.changes]
    changes.revise_purchase_order(
        request_uow(), identity.actor, po_id=po_id, version=data.version, changes=change_list, reason=data.reason
    )
    return jsonify(_detail(po_id)), 201
