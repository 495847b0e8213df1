"""Background jobs of the item master: large imports (erp.items.imports.run_import).
The runtime is reached through the job context's `additional_context`, set by the worker."""

from __future__ import annotations

import uuid

import procrastinate

from erp.items.imports import run_import

blueprint = procrastinate.Blueprint()
blueprint.traceport_namespace = "items"


@blueprint.task(name="import_items", pass_context=True, queue="imports")
def import_items(context: procrastinate.JobContext, tenant_id: str, import_id: str) -> str | None:
    runtime = context.additional_context["runtime"]
    return run_import(runtime.uow, tenant_id=uuid.UUID(tenant_id), import_id=uuid.UUID(import_id))
