"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

import logging
from functools import cache

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify

from kernel.settings import PROJECT_ROOT
from portal.shell.lifecycle import runtime

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """The process answers; nothing else is checked (a database outage must not get
    every worker restarted)."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """Ready to serve: the database answers to the application role and its schema is
    at the migrations' head."""
    heads = _migration_heads()
    try:
        with runtime().uow() as uow:
            uow.scalar(sa.text("select 1"))
            current = uow.scalar(sa.text("select version_num from alembic_version"))
    except sa.exc.SQLAlchemyError as exc:
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    at_head = current in heads
    body = {
        "status": "ok" if at_head else "unavailable",
        "database": "ok",
        "migrations": {"current": current, "head": sorted(heads), "at_head": at_head},
    }
    return jsonify(body), 200 if at_head else 503


@cache
def _migration_heads() -> frozenset[str]:
    scripts = ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini")))
    return frozenset(scripts.get_heads())
