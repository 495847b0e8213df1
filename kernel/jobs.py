"""Background jobs on the same PostgreSQL (procrastinate, in its own schema).

Domain packages declare their tasks on a `procrastinate.Blueprint` in their tasks.py;
the entry point builds one App with `make_job_app` and adds them. Jobs carry the tenant
id and open their own unit of work for it (notes/postgres.md).
"""

from __future__ import annotations

import procrastinate

from kernel.database import DatabaseUrls

SEARCH_PATH = "-c search_path=procrastinate,public"


def make_job_app(urls: DatabaseUrls, blueprints: list[procrastinate.Blueprint]) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=urls.app_conninfo,
        # procrastinate's SQL uses unqualified names; the app role finds them this way
        # without an ALTER ROLE that would need an administrator.
        kwargs={"options": SEARCH_PATH, "application_name": "traceport-jobs"},
        min_size=1,
        max_size=4,
    )
    app = procrastinate.App(connector=connector)
    for blueprint in blueprints:
        app.add_tasks_from(blueprint, namespace=blueprint_namespace(blueprint))
    return app


def blueprint_namespace(blueprint: procrastinate.Blueprint) -> str:
    return getattr(blueprint, "traceport_namespace", "traceport")
