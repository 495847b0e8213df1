"""The worker: procrastinate's worker plus the audit sealer loop."""

from __future__ import annotations

import logging
import threading

from audit import tasks as audit_tasks
from documents import tasks as document_tasks
from erp.coldchain import tasks as coldchain_tasks
from erp.items import tasks as item_tasks
from erp.purchasing import tasks as purchasing_tasks
from kernel import mail
from kernel import tasks as kernel_tasks
from kernel.jobs import make_job_app
from kernel.outbox import Dispatcher
from scoring import mailing as scoring_mailing
from scoring import tasks as scoring_tasks

log = logging.getLogger(__name__)


def blueprints():
    return [
        kernel_tasks.blueprint,
        audit_tasks.blueprint,
        item_tasks.blueprint,
        purchasing_tasks.blueprint,
        document_tasks.blueprint,
        scoring_tasks.blueprint,
        coldchain_tasks.blueprint,
    ]


def dispatcher(settings, *, mail_templates: mail.MailTemplates | None = None) -> Dispatcher:
    """Outbox topics and their handlers; domains register theirs here as they come.
    mail_templates: where mail templates are found (default: the project's packages)."""
    result = Dispatcher()
    result.register(mail.TOPIC, mail.mail_handler(settings, templates=mail_templates))
    result.register(scoring_mailing.TOPIC, scoring_mailing.mail_handler(settings, templates=mail_templates))
    return result


_job_apps: dict[str, object] = {}
_job_apps_lock = threading.Lock()


def job_app(runtime):
    """The process's job app, built on first use. One per process: procrastinate binds
    (and renames, adding the namespace) blueprint tasks to the app they are added to, so
    a second App would break the first."""
    with _job_apps_lock:
        if not _job_apps:
            _job_apps[runtime.urls.app] = make_job_app(runtime.urls, blueprints())
        ((url, app),) = _job_apps.items()
        if url != runtime.urls.app:
            raise RuntimeError("one job app per process: it is already bound to another database")
        return app


def run_worker(runtime, *, concurrency: int = 2) -> None:
    sealer = audit_tasks.SealerLoop(runtime, runtime.settings.audit_seal_interval)
    sealer.start()
    app = job_app(runtime)
    try:
        app.run_worker(
            concurrency=concurrency,
            additional_context={"runtime": runtime, "dispatcher": dispatcher(runtime.settings)},
            install_signal_handlers=True,
        )
    finally:
        sealer.stop()


_open_lock = threading.Lock()


def defer_job(runtime, task, *, about: str, **arguments) -> None:
    """Defer `task` with `arguments` from a web process (after a commit), opening the job
    app on first use. A failure is logged ("could not defer <about>"), not raised: the
    caller's work is already committed."""
    try:
        with _open_lock:
            job_app(runtime).open()  # idempotent: opens the pool only when closed
        task.defer(**arguments)
    except Exception:
        log.exception("could not defer %s", about)


def outbox_waker(runtime):
    """After a commit that queued outbox messages, defer their delivery job. The job app
    is opened on use; a failure is logged, not raised - the committed messages are
    safe and the periodic sweep delivers them within a minute."""

    def wake(tenant_id) -> None:
        defer_job(runtime, kernel_tasks.deliver_outbox, about=f"outbox delivery for tenant {tenant_id}", tenant_id=str(tenant_id))

    return wake
