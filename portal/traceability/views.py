"""The traceability blueprint: production and customer shipments, traces, recalls."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("traceability", __name__, template_folder="templates", url_prefix="/traceability")
