"""Cold-chain screens: alerts (open first; acknowledge with a note), an alert with its
evidence and chart, loggers with their bindings (bind, end) and readings upload (a
logger's CSV export), storage conditions per item, and a lot's and a shipment's
temperature history. Charts are SVG routes shown as <img> (the strict CSP keeps SVG out
of the HTML), with a table summary beside them."""

from __future__ import annotations

import uuid

from flask import Response, redirect, render_template, request, url_for
from flask_babel import get_timezone, gettext
from flask_login import current_user

from erp.coldchain import alerts as alerting
from erp.coldchain import charts
from erp.coldchain import readings as ingesting
from erp.coldchain import service as coldchain
from erp.coldchain.excursions import lots_of_binding
from erp.coldchain.models import ALERT_STATUSES, BINDING_KINDS
from erp.inventory import service as inventory
from erp.shipping.errors import AsnNotFound
from kernel.errors import N_, DomainError, ValidationFailed
from portal.coldchain.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.i18n import error_text, field_errors

PAGE_SIZE = 50
VIEW = ("coldchain.view",)
RECORD = ("coldchain.record",)
CONDITION_FIELDS = (
    "min_temperature", "max_temperature", "min_humidity", "max_humidity", "excursion_minutes", "cumulative_minutes",
    "max_mkt", "activation_energy", "gap_minutes",
)


def _zone() -> str:
    return str(get_timezone() or "UTC")


def _svg(text: str) -> Response:
    response = Response(text, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- alerts ----------------------------------------------------------------------------------


@blueprint.get("/")
@permission_required(*VIEW, side="buyer")
def alerts():
    uow = request_uow()
    status = request.args.get("status") if request.args.get("status") in ALERT_STATUSES else None
    cursor = request.args.get("cursor") or None
    problem = None
    try:
        page = alerting.list_alerts(uow, current_user.actor, status=status, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed as error:
        page, cursor = alerting.list_alerts(uow, current_user.actor, status=status, limit=PAGE_SIZE), None
        problem = field_errors(error).get("cursor") or error_text(error)
    return render_template(
        "coldchain/alerts.html", page=page, status=status, first_page=cursor is None, problem=problem,
        KIND_LABELS=alerting.KIND_LABELS, STATUS_LABELS=alerting.STATUS_LABELS,
    )


@blueprint.get("/alerts/<uuid:alert_id>")
@permission_required(*VIEW, side="buyer")
def alert(alert_id: uuid.UUID):
    return _alert_page(alert_id)


@blueprint.post("/alerts/<uuid:alert_id>/acknowledge")
@permission_required(*RECORD, side="buyer")
def acknowledge_alert(alert_id: uuid.UUID):
    uow = request_uow()
    try:
        alerting.acknowledge_alert(uow, current_user.actor, alert_id=alert_id, note=request.form.get("note"))
    except ValidationFailed as error:
        uow.rollback()
        return _alert_page(alert_id, errors=field_errors(error), note=request.form.get("note"), status=422)
    except DomainError as error:
        uow.rollback()
        return _alert_page(alert_id, problem=error_text(error), status=error.status)
    notify(N_("The alert is acknowledged."))
    return redirect(url_for("coldchain.alert", alert_id=alert_id), code=303)


def _alert_page(alert_id, *, errors=None, note=None, problem=None, status=200):
    uow = request_uow()
    found = alerting.get_alert(uow, current_user.actor, alert_id=alert_id)
    lots = inventory.lots_by_id(uow, ids=[uuid.UUID(i) for i in found.lot_ids])
    numbers = alerting.nonconformance_numbers(uow, ids=[found.nonconformance_id])
    return (
        render_template(
            "coldchain/alert.html", alert=found, lots=list(lots.values()), nonconformance=numbers.get(found.nonconformance_id),
            errors=errors or {}, note=note or "", problem=problem, KIND_LABELS=alerting.KIND_LABELS,
            STATUS_LABELS=alerting.STATUS_LABELS,
            asn_number=coldchain.asn_number(uow, asn_id=found.asn_id) if found.asn_id else None,
        ),
        status,
    )


@blueprint.get("/bindings/<uuid:binding_id>/chart.svg")
@permission_required(*VIEW, side="buyer")
def binding_chart(binding_id: uuid.UUID):
    uow = request_uow()
    actor = current_user.actor
    binding = coldchain.get_binding(uow, actor, binding_id=binding_id)
    logger = coldchain.get_logger(uow, actor, logger_id=binding.logger_id)
    watched = lots_of_binding(uow, binding, since=binding.starts_at, until=binding.ends_at or binding.starts_at)
    lots = inventory.lots_by_id(uow, ids=watched)
    found = charts.history(uow, actor, bindings=[binding], item_ids=[lot.item_id for lot in lots.values()])
    title = gettext(charts.TITLE_BINDING, logger=logger.code)
    return _svg(charts.svg(found, title=title, translate=gettext, timezone=_zone()))


# --- loggers and bindings --------------------------------------------------------------------


@blueprint.route("/loggers", methods=["GET", "POST"])
@permission_required(*VIEW, side="buyer")
def loggers():
    uow = request_uow()
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        if not current_user.actor.permissions & set(RECORD):
            return _forbidden()
        values = {k: request.form.get(k, "") for k in ("code", "name", "model")}
        try:
            made = coldchain.register_logger(uow, current_user.actor, **values)
        except ValidationFailed as error:
            uow.rollback()
            errors, status = field_errors(error), 422
        else:
            notify(N_("Logger %(code)s is registered."), code=made.code)
            return redirect(url_for("coldchain.logger", logger_id=made.id), code=303)
    cursor = request.args.get("cursor") or None
    try:
        page = coldchain.list_loggers(uow, current_user.actor, limit=PAGE_SIZE, cursor=cursor)
    except ValidationFailed:
        page, cursor = coldchain.list_loggers(uow, current_user.actor, limit=PAGE_SIZE), None
    return render_template("coldchain/loggers.html", page=page, first_page=cursor is None, errors=errors, values=values), status


def _forbidden():
    from werkzeug.exceptions import Forbidden as HttpForbidden

    raise HttpForbidden()


@blueprint.get("/loggers/<uuid:logger_id>")
@permission_required(*VIEW, side="buyer")
def logger(logger_id: uuid.UUID):
    return _logger_page(logger_id)


def _logger_page(logger_id, *, errors=None, values=None, upload_errors=None, problem=None, status=200):
    uow = request_uow()
    actor = current_user.actor
    found = coldchain.get_logger(uow, actor, logger_id=logger_id)
    bindings = coldchain.bindings_of_logger(uow, actor, logger_id=found.id)
    return (
        render_template(
            "coldchain/logger.html", logger=found, bindings=bindings, labels=coldchain.labels(uow, bindings),
            batches=ingesting.batches_of_logger(uow, actor, logger_id=found.id), errors=errors or {}, values=values or {},
            upload_errors=upload_errors or [], problem=problem, KINDS=BINDING_KINDS, BINDING_LABELS=coldchain.BINDING_LABELS,
        ),
        status,
    )


@blueprint.post("/loggers/<uuid:logger_id>/bindings")
@permission_required(*RECORD, side="buyer")
def bind(logger_id: uuid.UUID):
    uow = request_uow()
    values = {k: (request.form.get(k) or "").strip() for k in ("kind", "target", "starts_at", "ends_at")}
    try:
        coldchain.bind_logger(
            uow, current_user.actor, logger_id=logger_id, kind=values["kind"], target_id=_target_id(uow, values),
            starts_at=values["starts_at"], ends_at=values["ends_at"] or None,
        )
    except ValidationFailed as error:
        uow.rollback()
        found = field_errors(error)
        if "target_id" in found:
            found["target"] = found.pop("target_id")
        return _logger_page(logger_id, errors=found, values=values, status=422)
    except DomainError as error:
        uow.rollback()
        return _logger_page(logger_id, problem=error_text(error), values=values, status=error.status)
    notify(N_("The logger is bound."))
    return redirect(url_for("coldchain.logger", logger_id=logger_id), code=303)


def _target_id(uow, values: dict):
    """What people type: an ASN number, an SSCC, a location code or a lot number (or an id)."""
    from erp.coldchain.lookup import target_by_name

    return target_by_name(uow, kind=values["kind"], text=values["target"])


@blueprint.post("/bindings/<uuid:binding_id>/end")
@permission_required(*RECORD, side="buyer")
def end_binding(binding_id: uuid.UUID):
    uow = request_uow()
    binding = coldchain.get_binding(uow, current_user.actor, binding_id=binding_id)
    try:
        coldchain.end_binding(uow, current_user.actor, binding_id=binding_id)
    except DomainError as error:
        uow.rollback()
        return _logger_page(binding.logger_id, problem=error_text(error), status=error.status)
    notify(N_("The binding has ended."))
    return redirect(url_for("coldchain.logger", logger_id=binding.logger_id), code=303)


@blueprint.post("/loggers/<uuid:logger_id>/upload")
@permission_required(*RECORD, side="buyer")
def upload(logger_id: uuid.UUID):
    uow = request_uow()
    found = coldchain.get_logger(uow, current_user.actor, logger_id=logger_id)
    upload_ = request.files.get("file")
    if upload_ is None or not upload_.filename:
        return _logger_page(logger_id, upload_errors=[gettext(ingesting.NO_FILE)], status=422)
    try:
        got = ingesting.ingest_csv(uow, current_user.actor, logger_code=found.code, content=upload_.read())
    except ingesting.UploadInvalid as bad:
        uow.rollback()
        lines = [_row_text(p) for p in bad.rows]
        return _logger_page(logger_id, upload_errors=lines, status=422)
    except DomainError as error:
        uow.rollback()
        return _logger_page(logger_id, upload_errors=[error_text(error)], status=error.status)
    if got.created:
        notify(N_("%(count)s readings stored; %(alerts)s alerts raised."), count=got.batch.count, alerts=got.batch.alerts)
    else:
        notify(N_("This file was uploaded before: nothing new was stored."))
    return redirect(url_for("coldchain.logger", logger_id=logger_id), code=303)


def _row_text(problem) -> str:
    text = gettext(problem.message, **problem.params) if problem.params else gettext(problem.message)
    if problem.row:
        return gettext("Row %(row)s, %(column)s: %(problem)s", row=problem.row, column=problem.field or "—", problem=text)
    return text


# --- storage conditions ----------------------------------------------------------------------


@blueprint.route("/storage-conditions", methods=["GET", "POST"])
@permission_required(*VIEW, side="buyer")
def conditions():
    uow = request_uow()
    errors, values, status = {}, {}, 200
    if request.method == "POST":
        if not current_user.actor.permissions & set(RECORD):
            return _forbidden()
        values = {k: request.form.get(k, "") for k in ("item_id", *CONDITION_FIELDS)}
        try:
            coldchain.save_storage_condition(uow, current_user.actor, **values)
        except ValidationFailed as error:
            uow.rollback()
            errors, status = field_errors(error), 422
        else:
            notify(N_("The storage conditions are saved."))
            return redirect(url_for("coldchain.conditions"), code=303)
    saved = coldchain.storage_conditions(uow, current_user.actor)
    from erp.coldchain.lookup import items_for_conditions

    return (
        render_template(
            "coldchain/conditions.html", conditions=saved, items=items_for_conditions(uow),
            items_by_id=inventory.items_by_id(uow, ids={c.item_id for c in saved}), errors=errors, values=values,
            FIELDS=CONDITION_FIELDS,
        ),
        status,
    )


# --- a lot's and a shipment's history -------------------------------------------------------


@blueprint.get("/lots/<uuid:lot_id>")
@permission_required(*VIEW, side="buyer")
def lot(lot_id: uuid.UUID):
    uow = request_uow()
    actor = current_user.actor
    found = inventory.get_lot(uow, lot_id=lot_id)
    history = charts.lot_history(uow, actor, lot_id=found.id)
    item = inventory.items_by_id(uow, ids=[found.item_id]).get(found.item_id)
    return render_template(
        "coldchain/history.html", heading=gettext("Cold chain of lot %(lot)s", lot=found.number), item=item, history=history,
        chart_url=url_for("coldchain.lot_chart", lot_id=found.id), alerts=history.alerts, KIND_LABELS=alerting.KIND_LABELS,
        STATUS_LABELS=alerting.STATUS_LABELS, lot=found,
    )


@blueprint.get("/lots/<uuid:lot_id>/chart.svg")
@permission_required(*VIEW, side="buyer")
def lot_chart(lot_id: uuid.UUID):
    uow = request_uow()
    found = inventory.get_lot(uow, lot_id=lot_id)
    history = charts.lot_history(uow, current_user.actor, lot_id=found.id)
    return _svg(charts.svg(history, title=gettext(charts.TITLE_LOT, lot=found.number), translate=gettext, timezone=_zone()))


@blueprint.get("/asns/<uuid:asn_id>")
@permission_required(*VIEW, side="buyer")
def shipment(asn_id: uuid.UUID):
    uow = request_uow()
    number = coldchain.asn_number(uow, asn_id=asn_id)
    if number is None:
        raise AsnNotFound()
    history = charts.asn_history(uow, current_user.actor, asn_id=asn_id)
    return render_template(
        "coldchain/history.html", heading=gettext("Cold chain of shipment %(asn)s", asn=number), item=None, history=history,
        chart_url=url_for("coldchain.shipment_chart", asn_id=asn_id), alerts=history.alerts, KIND_LABELS=alerting.KIND_LABELS,
        STATUS_LABELS=alerting.STATUS_LABELS, lot=None,
    )


@blueprint.get("/asns/<uuid:asn_id>/chart.svg")
@permission_required(*VIEW, side="buyer")
def shipment_chart(asn_id: uuid.UUID):
    uow = request_uow()
    number = coldchain.asn_number(uow, asn_id=asn_id)
    if number is None:
        raise AsnNotFound()
    history = charts.asn_history(uow, current_user.actor, asn_id=asn_id)
    return _svg(charts.svg(history, title=gettext(charts.TITLE_ASN, asn=number), translate=gettext, timezone=_zone()))
