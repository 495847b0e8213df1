"""The inventory blueprint and what its templates share: the labels of statuses, movement
kinds, decisions, defect codes and categories."""

from __future__ import annotations

from flask import Blueprint

from erp.inventory.service import MOVEMENT_LABELS, STATUS_LABELS
from erp.receiving.inspection import DEFECT_CODES
from erp.receiving.release import DECISION_LABELS
from portal.items.forms import CATEGORY_LABELS

blueprint = Blueprint("inventory", __name__, template_folder="templates")


@blueprint.context_processor
def _labels():
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "MOVEMENT_LABELS": MOVEMENT_LABELS,
        "DECISION_LABELS": DECISION_LABELS,
        "DEFECT_LABELS": DEFECT_CODES,
        "CATEGORY_LABELS": CATEGORY_LABELS,
    }
