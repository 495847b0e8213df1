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
from scoring import dashboard as scoring_filters
from scoring import service
from scoring.periods import period_of
from scoring.schemas import ScorecardDetailOut, ScorecardDetailQuery, ScorecardList, ScorecardOut, ScorecardQuery


@blueprint.get("/scorecards")
@operation(
    summary="Suppliers' scorecards of a period, best score first",
    tags=("scoring",),
    query=ScorecardQuery,
    description="Stored scorecards (recomputed daily); of one receiving site or item category (site, category): computed"
    " live. Suppliers without a score come last. Supplier users see their own.",
    responses={200: ScorecardList, 401: None, 403: None, 422: None},
)
@permission_required("scorecard.view")
def scorecard_list():
    params = query(ScorecardQuery)
    period = period_of(params.kind, params.period or _last_month_end())
    uow = request_uow()
    part = _slice(uow, params)
    page = service.scorecards(uow, api_identity().actor, period=period, cursor=params.cursor, limit=params.limit, part=part)
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
    uow = request_uow()
    card = service.scorecard(uow, api_identity().actor, supplier_id=supplier, period=period, part=_slice(uow, params))
    return jsonify(ScorecardDetailOut.of(card, gettext).model_dump(mode="json"))


def _slice(uow, params):
    """The site and category asked for; an unknown one is a 422 naming the field."""
    site = str(params.site) if params.site else None
    return scoring_filters.slice_of(uow, site=site, category=params.category)[0]


def _last_month_end():
    """The last day of the last complete month: the default period's end."""
    return utcnow().date().replace(day=1) - timedelta(days=1)
