"""The sealer: chains audit events shortly after their commit."""

from __future__ import annotations

import logging
import threading

import procrastinate

from audit import service
from audit.signing import signing_key
from kernel.uow import Actor

log = logging.getLogger(__name__)
blueprint = procrastinate.Blueprint()
blueprint.traceport_namespace = "audit"


def seal_all(runtime, key=None) -> int:
    """Seal every tenant with final, unsealed events; each tenant in its own transaction."""
    key = key or signing_key(runtime.settings.audit_signing_key, runtime.settings.data_dir)
    with runtime.engine.connect() as connection:
        tenants = service.tenants_to_seal(connection)
    total = 0
    for tenant in tenants:
        with runtime.uow(tenant_id=tenant, actor=Actor.system("audit-sealer")) as uow:
            total += service.seal(uow, key=key).sealed
            uow.commit()
    return total


@blueprint.periodic(cron="* * * * *", periodic_id="seal-audit")
@blueprint.task(name="seal_audit", pass_context=True, queue="audit")
def seal_audit(context: procrastinate.JobContext, timestamp: int) -> int:
    """Every minute, as a safety net behind the worker's sealing loop."""
    return seal_all(context.additional_context["runtime"])


class SealerLoop(threading.Thread):
    """Seals every `interval` seconds inside `traceport worker`, so events are chained
    within about a second of their commit (measured in `make bench`)."""

    def __init__(self, runtime, interval: float) -> None:
        super().__init__(name="audit-sealer", daemon=True)
        self.runtime = runtime
        self.interval = interval
        self.stopping = threading.Event()
        self.key = signing_key(runtime.settings.audit_signing_key, runtime.settings.data_dir)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                seal_all(self.runtime, self.key)
            except Exception:
                log.exception("audit sealing failed")

    def stop(self) -> None:
        self.stopping.set()
