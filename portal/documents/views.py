"""The documents blueprint and what its templates share."""

from __future__ import annotations

from flask import Blueprint

from documents.certificates import STATE_LABELS
from erp.suppliers.compliance import SCOPE_LABELS
from portal.items.forms import CATEGORY_LABELS

blueprint = Blueprint("documents", __name__, template_folder="templates")


@blueprint.context_processor
def _labels():
    return {"STATE_LABELS": STATE_LABELS, "SCOPE_LABELS": SCOPE_LABELS, "CATEGORY_LABELS": CATEGORY_LABELS}
