"""The buyer's change order on an issued purchase order's page: change a line's
quantity, price or requested date, remove lines, add one, with a reason. The order
becomes a new revision the supplier confirms again (erp.purchasing.changes)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from erp.purchasing import changes, confirmation
from kernel.errors import N_, DomainError, ValidationFailed
from portal.purchasing.orders import _page, _version
from portal.purchasing.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.i18n import error_text, field_errors

FIELDS = ("quantity", "unit_price", "requested_date")


@blueprint.post("/purchase-orders/<uuid:po_id>/revisions")
@permission_required("po.manage", side="buyer")
def revise(po_id: uuid.UUID):
    version = _version()
    uow = request_uow()
    detail = confirmation.get_purchase_order_detail(uow, po_id=po_id)
    change_list, labels = _changes(detail)
    try:
        revision = changes.revise_purchase_order(
            uow, current_user.actor, po_id=po_id, version=version, changes=change_list, reason=request.form.get("reason", "")
        )
    except DomainError as error:
        uow.rollback()
        return _page(po_id, problem=_explain(error, labels), status=error.status, change_form=request.form.to_dict())
    saved = N_("The change order is saved: revision %(revision)s goes to the supplier for confirmation.")
    notify(saved, revision=revision.revision)
    return redirect(url_for("purchasing.purchase_order", po_id=po_id), code=303)


def _changes(detail) -> tuple[list[dict], list[str]]:
    """What the form changes, as the service takes it, and a label per change for its
    errors ("Line 20", "New line")."""
    form = request.form
    found, labels = [], []
    for d in detail.lines:
        line = d.line
        if line.status == "cancelled":
            continue
        key = f"line-{line.id}"
        label = gettext("Line %(line)s", line=line.line_no)
        if form.get(f"{key}-remove"):
            found.append({"line_id": line.id, "remove": True})
            labels.append(label)
            continue
        change = {field: form.get(f"{key}-{field}", "").strip() for field in FIELDS}
        changed = {f: v for f, v in change.items() if v and not _same(v, getattr(line, f))}
        if changed:
            found.append({"line_id": line.id, **changed})
            labels.append(label)
    if form.get("new-item_id"):
        found.append({"item_id": form.get("new-item_id"), **{f: form.get(f"new-{f}", "").strip() for f in FIELDS}})
        labels.append(gettext("New line"))
    return found, labels


def _same(typed: str, current) -> bool:
    """Whether what the form shows back is the line's current value (no change)."""
    try:
        if isinstance(current, Decimal):
            return Decimal(typed) == current
        if isinstance(current, date):
            return date.fromisoformat(typed) == current
    except (InvalidOperation, ValueError):
        return False
    return typed == str(current)


def _explain(error: DomainError, labels: list[str]) -> str:
    """The service's errors, each named by the line it is about."""
    if not isinstance(error, ValidationFailed) or not error.errors:
        return " ".join(field_errors(error).values()) or error_text(error)
    texts = field_errors(error)
    parts = []
    for key, text in texts.items():
        bits = key.split(".")
        if bits[0] == "changes" and len(bits) > 1 and bits[1].isdigit() and int(bits[1]) < len(labels):
            parts.append(f"{labels[int(bits[1])]}: {text}")
        else:
            parts.append(text)
    return " ".join(parts)
