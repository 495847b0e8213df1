"""The compliance dashboard (managers), its charts and the lists behind its tiles; a
supplier's trends (score and each KPI over the last 12 periods beside the tenant
average) and its scorecard as a PDF.

Charts are SVG documents served by their own routes and shown through <img>: the
portal's CSP has no 'unsafe-inline', and matplotlib's SVG carries style attributes.
Each chart's numbers are also on the page as a table.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask import Response, abort, make_response, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from kernel.clock import utcnow
from kernel.errors import N_, ValidationFailed
from portal.scoring.scorecards import chosen_slice, slice_context
from portal.scoring.views import blueprint
from portal.shell import permission_required, request_uow
from portal.shell.i18n import error_text, field_errors, localized, select_timezone
from scoring import charts, reports
from scoring import dashboard as service
from scoring import service as scoring
from scoring.compute import EVERYTHING, Slice
from scoring.periods import KIND_LABELS, KINDS, period_of

# The SVG itself, opened or shown as an image: its own styles, nothing else.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
LISTS = ("suppliers", "releases", "scores")
TILE_LABELS = {
    "nonconformance": N_("Nonconformance rate"),
    "rejection": N_("Lot rejection rate"),
    "rework": N_("Rework rate"),
    "returns": N_("Return rate"),
    "release": N_("Batch release time"),
    "scores": N_("Supplier scores"),
    "certificates": N_("Certificates"),
}
NO_DATA = N_("No data")
NEVER_REFRESHED = N_("The figures have not been computed yet; they appear after the next refresh (every 10 minutes).")


def _filters(today: date):
    """The request's filters, or (None, field messages) when one is unknown."""
    try:
        return (
            service.filters_from(
                request_uow(),
                kind=request.args.get("kind"),
                period=request.args.get("period"),
                site=request.args.get("site"),
                category=request.args.get("category"),
                today=today,
            ),
            {},
        )
    except ValidationFailed as error:
        return None, field_errors(error)


def _form_context(filters, errors):
    uow = request_uow()
    return {
        "filters": filters,
        "errors": errors,
        "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
        "sites": service.receiving_sites(uow),
        "query": {k: request.args.get(k, "") for k in ("kind", "period", "site", "category")},
    }


@blueprint.get("/buyer/dashboard")
@permission_required("scorecard.view", side="buyer")
def dashboard():
    today = utcnow().date()
    filters, errors = _filters(today)
    if filters is None:
        return render_template("scoring/dashboard.html", board=None, **_form_context(None, errors)), 422
    board = service.dashboard(request_uow(), current_user.actor, filters=filters, today=today)
    return render_template(
        "scoring/dashboard.html",
        board=board,
        tile_labels=TILE_LABELS,
        never_refreshed=NEVER_REFRESHED,
        last_day=date.fromordinal(filters.period.end.toordinal() - 1),
        **_form_context(filters, {}),
    )


@blueprint.get("/buyer/dashboard/<name>.svg")
@permission_required("scorecard.view", side="buyer")
def dashboard_chart(name: str):
    if name not in ("rates", "scores"):
        abort(404)
    filters, _ = _filters(utcnow().date())
    if filters is None:
        abort(404)
    uow, actor = request_uow(), current_user.actor
    if name == "rates":
        months = service.monthly(uow, actor, filters=filters)
        svg = charts.trend_chart(
            [(m.period.key, m.nonconformance.percent) for m in months],
            [(m.period.key, m.rejection.percent) for m in months],
            title=gettext("Nonconformance and lot rejection rates by month"),
            description=gettext(
                "Nonconformances per 100 lots received (solid) and rejected lots per 100 inspected (dashed), month by month."
            ),
            y_label="%",
            series_label=gettext("Nonconformance rate"),
            average_label=gettext("Lot rejection rate"),
            no_data=gettext(NO_DATA),
        )
    else:
        distribution = service.score_distribution(uow, filters.period)
        counts = distribution.by_grade
        svg = charts.bar_chart(
            [(gettext("Grade %(grade)s", grade=g), counts[g] if distribution.suppliers else None) for g in service.GRADES]
            + [(gettext("No score"), counts[service.NO_GRADE] if distribution.suppliers else None)],
            title=gettext("Suppliers by grade"),
            description=gettext("How many suppliers have each grade in the period."),
            y_label=gettext("Suppliers"),
            no_data=gettext(NO_DATA),
            integer=True,
        )
    return svg_response(svg)


def svg_response(svg: str) -> Response:
    response = make_response(svg)
    response.mimetype = "image/svg+xml"
    response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@blueprint.get("/buyer/dashboard/<name>")
@permission_required("scorecard.view", side="buyer")
def dashboard_list(name: str):
    """The list behind a tile, under the same filters."""
    if name not in ("suppliers", "releases", "scores"):
        abort(404)
    today = utcnow().date()
    filters, errors = _filters(today)
    if filters is None:
        return render_template("scoring/dashboard.html", board=None, **_form_context(None, errors)), 422
    uow, actor = request_uow(), current_user.actor
    rows = {
        "suppliers": lambda: service.by_supplier(uow, actor, filters=filters),
        "releases": lambda: service.release_list(uow, actor, filters=filters),
        "scores": lambda: service.score_list(uow, actor, period=filters.period),
    }[name]()
    return render_template(
        "scoring/dashboard_list.html", name=name, rows=rows, filters=filters, back=url_for("scoring.dashboard", **filters.args())
    )


# --- a supplier's trends and its PDF -------------------------------------------------------


def _period(kind: str | None, key: str | None):
    today = utcnow().date()
    kind = kind or "month"
    return period_of(kind, key or date.fromordinal(today.replace(day=1).toordinal() - 1))  # default: last month


@blueprint.get("/scorecards/<uuid:supplier>/trends")
@permission_required("scorecard.view")
def scorecard_trends(supplier: uuid.UUID):
    """The score and each KPI over the last 12 periods, beside the tenant average: a
    chart each (an image) and their numbers as tables. (The id is `supplier`, not
    `supplier_id`: another supplier's is not found, as for any scorecard,
    rather than refused by the isolation check before the view.)"""
    period = _period(request.args.get("kind"), request.args.get("period"))
    part, slice_errors = chosen_slice()
    uow, actor = request_uow(), current_user.actor
    until = date.fromordinal(period.end.toordinal() - 1)
    trend = scoring.trend(uow, actor, supplier_id=supplier, kind=period.kind, until=until, part=part)
    average = {c.period.key: c for c in _average(uow, actor, period.kind, until, part)}
    keys = [k.key for k in trend[-1].kpis] if trend else []
    return render_template(
        "scoring/trends.html",
        supplier_id=supplier,
        period=period,
        trend=trend,
        average=average,
        kpi_keys=keys,
        kpi_of=_kpi_of,
        unit_labels=reports.UNIT_LABELS,
        kinds=[(k, KIND_LABELS[k]) for k in KINDS],
        errors=slice_errors,
        **slice_context(part, slice_errors),
    )


def _average(uow, actor, kind: str, until: date, part: Slice = EVERYTHING):
    """The tenant average, for the tenant's people only (suppliers do not see it)."""
    if actor.supplier_id is not None:
        return []
    return scoring.tenant_average(uow, actor, kind=kind, until=until, part=part)


def _kpi_of(card, key: str):
    return next((k for k in card.kpis if k.key == key), None) if card is not None else None


@blueprint.get("/scorecards/<uuid:supplier>/trend/<measure>.svg")
@permission_required("scorecard.view")
def scorecard_trend_chart(supplier: uuid.UUID, measure: str):
    period = _period(request.args.get("kind"), request.args.get("period"))
    part, _ = chosen_slice()
    uow, actor = request_uow(), current_user.actor
    until = date.fromordinal(period.end.toordinal() - 1)
    trend = scoring.trend(uow, actor, supplier_id=supplier, kind=period.kind, until=until, part=part)
    average = _average(uow, actor, period.kind, until, part)
    name = localized(trend[-1].supplier_name, None) if trend else ""
    if measure == "score":
        label, unit = gettext("Score"), gettext("Score")
        points = [(c.period.key, c.score) for c in trend]
        averages = [(c.period.key, c.score) for c in average]
    else:
        sample = next((k for c in trend for k in c.kpis if k.key == measure), None)
        if sample is None:
            abort(404)
        label = gettext(sample.label)
        unit = gettext(reports.UNIT_LABELS.get(sample.unit, sample.unit)) if sample.unit != "%" else "%"
        points = [(c.period.key, getattr(_kpi_of(c, measure), "value", None)) for c in trend]
        averages = [(c.period.key, getattr(_kpi_of(c, measure), "value", None)) for c in average]
    svg = charts.trend_chart(
        points,
        averages,
        title=gettext("%(what)s over the last 12 periods", what=label),
        description=gettext("%(supplier)s per period as a solid line, the tenant average dashed.", supplier=name),
        y_label=unit,
        series_label=name,
        average_label=gettext("Tenant average") if averages else "",
        no_data=gettext(NO_DATA),
    )
    return svg_response(svg)


@blueprint.get("/scorecards/<uuid:supplier>/<period>/scorecard.pdf")
@permission_required("scorecard.view")
def scorecard_pdf(supplier: uuid.UUID, period: str):
    """The scorecard as a PDF in the reader's language (a supplier: its own only)."""
    try:
        chosen = period_of(request.args.get("kind") or _kind_of(period), period)
    except ValidationFailed as error:
        abort(404, error_text(error))
    pdf, name = reports.scorecard_pdf(
        request_uow(),
        current_user.actor,
        supplier_id=supplier,
        period=chosen,
        language=str(get_locale() or "en"),
        timezone=select_timezone() or "UTC",
    )
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _kind_of(key: str) -> str:
    key = key.upper()
    return "quarter" if "-Q" in key else "rolling12" if key.startswith("R12-") else "month"
