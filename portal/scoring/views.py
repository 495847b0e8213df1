"""The scoring blueprint: supplier scorecards and the compliance dashboard. Its routes
live in the modules portal/scoring/__init__.py imports; this holds the blueprint and
what their templates share."""

from __future__ import annotations

from flask import Blueprint

from portal.items.forms import CATEGORY_LABELS

blueprint = Blueprint("scoring", __name__, template_folder="templates")


@blueprint.context_processor
def _labels():
    return {"CATEGORY_LABELS": CATEGORY_LABELS}
