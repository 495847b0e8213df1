"""The cold-chain blueprint: loggers, readings, storage conditions, alerts and charts."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("coldchain", __name__, template_folder="templates", url_prefix="/cold-chain")
