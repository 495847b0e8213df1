"""The worker: procrastinate's worker plus the audit sealer loop."""

from __future__ import annotations

import logging

from audit import tasks as audit_tasks
from kernel import tasks as kernel_tasks
from kernel.jobs import make_job_app
from kernel.outbox import Dispatcher

log = logging.getLogger(__name__)


def blueprints():
    return [kernel_tasks.blueprint, audit_tasks.blueprint]


def dispatcher() -> Dispatcher:
    """Outbox topics and their handlers; domains register theirs here as they come."""
    return Dispatcher()


def job_app(runtime):
    return make_job_app(runtime.urls, blueprints())


def run_worker(runtime, *, concurrency: int = 2) -> None:
    sealer = audit_tasks.SealerLoop(runtime, runtime.settings.audit_seal_interval)
    sealer.start()
    app = job_app(runtime)
    try:
        app.run_worker(
            concurrency=concurrency,
            additional_context={"runtime": runtime, "dispatcher": dispatcher()},
            install_signal_handlers=True,
        )
    finally:
        sealer.stop()
