"""Supplier scorecards over the API: a period's scorecards, best first, with cursor
pagination, and one supplier's with each KPI's inputs. Supplier users see only their
own (another supplier's is 404). Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import jsonify
from flask_babel import gettext

from kernel.clock import utcnow
from portal.api.openapi import operation
from portal.api.parsing import query
from portal.api.views import blueprint
from portal.shell import api_identity, permission_required, request_uow
from scoring import service
from scoring.periods import period_of
from scoring.schemas import ScorecardDetailOut, ScorecardDetailQuery, ScorecardList, ScorecardOut, ScorecardQuery


@blueprint.get("/scorecards")
@operation(
    summary="Suppliers' scorecards of a period, best score first",
    tags=("scoring",),
    query=ScorecardQuery,
    description="Stored scorecards (recomputed daily). Suppliers without a score come last. Supplier users see their own.",
    responses={200: ScorecardList, 401: None, 403: None, 422: None},
)
@permission_required("scorecard.view")
def scorecard_list():
    params = query(ScorecardQuery)
    period = period_of(params.kind, params.period or _last_month_end())
    page = service.scorecards(request_uow(), api_identity().actor, period=period, cursor=params.cursor, limit=params.limit)
    return jsonify(
        ScorecardList(items=[ScorecardOut.of(c) for c in page.items], next_cursor=page.next_cursor).model_dump(mode="json")
    )


@blueprint.get("/scorecards/<uuid:supplier>")
@operation(
    summary="One supplier's scorecard with each KPI's numerator and denominator",
    tags=("scoring",),
    query=ScorecardDetailQuery,
    responses={200: ScorecardDetailOut, 401: None, 403: None, 404: None, 422: None},
)
@permission_required("scorecard.view")
def scorecard_detail(supplier: uuid.UUID):
    """`supplier`, not `supplier_id`: another supplier's scorecard is not found (404),
    as its orders are, rather than refused by the isolation guard."""
    params = query(ScorecardDetailQuery)
    period = period_of(params.kind, params.period)
    card = service.scorecard(request_uow(), api_identity().actor, supplier_id=supplier, period=period)
    return jsonify(ScorecardDetailOut.of(card, gettext).model_dump(mode="json"))


def _last_month_end():
    """The last day of the last complete month: the default period's end."""
    return utcnow().date().replace(day=1) - timedelta(days=1)
