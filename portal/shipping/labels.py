"""A ship notice's GS1 labels: one PDF (a logistic label per package, a UDI label per
serial or lot) in the reader's language, and each symbol as a PNG - the images a
supplier prints or scans back into a form. Built from the ASN as the caller may see it
(row-level security decides, as on its page)."""

from __future__ import annotations

import uuid

from flask import abort, make_response

from erp.shipping import labels
from erp.shipping.service import AsnDetail
from portal.shell import permission_required, request_uow
from portal.shell.i18n import current_locale, localized
from portal.shipping.views import blueprint, visible_asn
from tenants import service as tenants

SYMBOLS_SHOWN = 200  # links on the ASN's page; the PDF has them all


def asn_labels(uow, detail: AsnDetail) -> labels.AsnLabels:
    asn = detail.asn
    supplier = tenants.organisations_by_id(uow, ids=[asn.supplier_id]).get(asn.supplier_id)
    sites = tenants.sites_by_id(uow, ids={i for i in (asn.ship_to_site_id, asn.ship_from_site_id) if i})
    ship_from = localized(supplier.name, supplier.name_zh) if supplier else ""
    if asn.ship_from_site_id in sites:
        ship_from = f"{ship_from} · {sites[asn.ship_from_site_id].name}"
    ship_to = sites[asn.ship_to_site_id].name if asn.ship_to_site_id in sites else ""
    return labels.labels_of(
        detail, ship_from=ship_from, ship_to=ship_to, name_of=lambda item: localized(item.name, item.name_zh)
    )


def _symbols(found: labels.AsnLabels):
    """(number from 1, kind, element string) of every symbol, labels in PDF order."""
    n = 0
    for label in [*found.logistic, *found.units]:
        for kind, element in labels.elements_of(label):
            n += 1
            yield n, kind, element


def symbol_list(uow, detail: AsnDetail) -> tuple[list[tuple[int, str]], bool, list[str]]:
    """The first SYMBOLS_SHOWN symbols as (number, human readable text), whether there
    are more, and the packages that get no label (nothing countable packed in them)."""
    found = asn_labels(uow, detail)
    shown = []
    for n, _kind, element in _symbols(found):
        if n > SYMBOLS_SHOWN:
            return shown, True, found.unlabelled
        shown.append((n, labels.hri(element)))
    return shown, False, found.unlabelled


@blueprint.get("/asns/<uuid:asn_id>/labels.pdf")
@permission_required("asn.view", "asn.submit")
def labels_pdf(asn_id: uuid.UUID):
    uow = request_uow()
    detail = visible_asn(uow, asn_id)
    found = asn_labels(uow, detail)
    pdf = labels.labels_pdf(found.logistic, found.units, language=current_locale())
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{detail.asn.number}-labels.pdf"'
    return response


@blueprint.get("/asns/<uuid:asn_id>/symbols/<n>.png")
@permission_required("asn.view", "asn.submit")
def symbol(asn_id: uuid.UUID, n: str):
    if not n.isdigit():
        abort(404)
    uow = request_uow()
    for number, kind, element in _symbols(asn_labels(uow, visible_asn(uow, asn_id))):
        if number == int(n):
            response = make_response(labels.symbol_png(element, kind))
            response.mimetype = "image/png"
            response.headers["Content-Disposition"] = f'inline; filename="symbol-{number}.png"'
            return response
    abort(404)
