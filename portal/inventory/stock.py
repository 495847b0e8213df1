"""Inventory: stock on hand with filters (item, lot, serial, status, location) and paging,
and the warehouse's move and consume forms."""

from __future__ import annotations

import uuid

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.inventory import service as inventory
from erp.inventory.models import STOCK_STATUSES
from kernel.errors import N_, DomainError, ValidationFailed
from portal.inventory.forms import ConsumeForm, MoveForm
from portal.inventory.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import place_errors, uuid_or_none
from portal.shell.i18n import error_text, field_errors

PAGE_SIZE = 50


@blueprint.get("/inventory")
@permission_required("stock.view", side="buyer")
def stock_list():
    uow = request_uow()
    filters = {
        "item_id": uuid_or_none(request.args.get("item")),
        "lot": (request.args.get("lot") or "").strip()[:20] or None,
        "serial": (request.args.get("serial") or "").strip()[:20] or None,
        "status": request.args.get("status") if request.args.get("status") in STOCK_STATUSES else None,
        "location_id": uuid_or_none(request.args.get("location")),
    }
    cursor = request.args.get("cursor") or None
    try:
        page = inventory.stock_rows(uow, current_user.actor, limit=PAGE_SIZE, cursor=cursor, **filters)
        problem = None
    except ValidationFailed as error:  # a page link that is not ours: start again
        page, cursor = inventory.stock_rows(uow, current_user.actor, limit=PAGE_SIZE, **filters), None
        problem = field_errors(error).get("cursor") or error_text(error)
    rows = page.items
    lots = inventory.lots_by_id(uow, ids={r.lot_id for r in rows})
    query = {
        "item": request.args.get("item") or None,
        "lot": filters["lot"],
        "serial": filters["serial"],
        "status": filters["status"],
        "location": request.args.get("location") or None,
    }
    return render_template(
        "inventory/stock.html",
        page=page,
        first_page=cursor is None,
        query=query,
        filtered=any(query.values()),
        items_by_id=inventory.items_by_id(uow, ids={r.item_id for r in rows}),
        lots=lots,
        locations=inventory.locations(uow),
        locations_by_id=inventory.locations_by_id(uow, ids={r.location_id for r in rows}),
        quantity=inventory.plain_quantity,
        problem=problem,
    )


@blueprint.route("/inventory/<uuid:stock_id>/move", methods=["GET", "POST"])
@permission_required("stock.move", side="buyer")
def move_stock(stock_id: uuid.UUID):
    uow = request_uow()
    stock = inventory.get_stock(uow, current_user.actor, stock_id=stock_id)
    form = MoveForm()
    form.to_location_id.choices = [("", gettext("Choose a location"))] + [
        (str(place.id), f"{place.code} · {place.name}") for place in inventory.locations(uow) if place.id != stock.location_id
    ]
    if not form.is_submitted():
        form.quantity.data = inventory.plain_quantity(stock.quantity)
        return _stock_form("inventory/move.html", stock, form)
    if not form.validate():
        return _stock_form("inventory/move.html", stock, form, gettext(ValidationFailed.message), 422)
    uow.reason = "Stock moved"
    try:
        moved = inventory.move_stock(
            uow,
            current_user.actor,
            stock_id=stock.id,
            to_location_id=uuid_or_none(form.to_location_id.data),
            quantity=form.quantity.data,
        )
    except ValidationFailed as error:
        elsewhere = place_errors(form, error)
        return _stock_form("inventory/move.html", stock, form, " ".join(elsewhere) or error_text(error), error.status)
    except DomainError as error:
        uow.rollback()
        return _stock_form("inventory/move.html", stock, form, error_text(error), error.status)
    place = inventory.locations_by_id(uow, ids=[moved.location_id])[moved.location_id]
    notify(N_("Moved %(quantity)s to %(location)s."), quantity=form.quantity.data.strip(), location=place.code)
    return redirect(url_for("inventory.lot", lot_id=moved.lot_id) if moved.lot_id else url_for("inventory.stock_list"), code=303)


@blueprint.route("/inventory/<uuid:stock_id>/consume", methods=["GET", "POST"])
@permission_required("stock.move", side="buyer")
def consume_stock(stock_id: uuid.UUID):
    uow = request_uow()
    stock = inventory.get_stock(uow, current_user.actor, stock_id=stock_id)
    form = ConsumeForm()
    if not form.is_submitted():
        form.quantity.data = inventory.plain_quantity(stock.quantity)
        return _stock_form("inventory/consume.html", stock, form)
    if not form.validate():
        return _stock_form("inventory/consume.html", stock, form, gettext(ValidationFailed.message), 422)
    uow.reason = "Stock consumed"
    try:
        used = inventory.consume(
            uow, current_user.actor, stock_id=stock.id, quantity=form.quantity.data, reference=form.reference.data
        )
    except ValidationFailed as error:
        elsewhere = place_errors(form, error)
        return _stock_form("inventory/consume.html", stock, form, " ".join(elsewhere) or error_text(error), error.status)
    except DomainError as error:
        uow.rollback()
        return _stock_form("inventory/consume.html", stock, form, error_text(error), error.status)
    notify(N_("Consumed %(quantity)s."), quantity=form.quantity.data.strip())
    return redirect(url_for("inventory.lot", lot_id=used.lot_id) if used.lot_id else url_for("inventory.stock_list"), code=303)


def _stock_form(template: str, stock, form, problem=None, status=200):
    uow = request_uow()
    lot = inventory.lots_by_id(uow, ids=[stock.lot_id]).get(stock.lot_id)
    return (
        render_template(
            template,
            stock=stock,
            form=form,
            problem=problem,
            lot=lot,
            item=inventory.items_by_id(uow, ids=[stock.item_id]).get(stock.item_id),
            location=inventory.locations_by_id(uow, ids=[stock.location_id]).get(stock.location_id),
            quantity=inventory.plain_quantity,
        ),
        status,
    )
