"""Jobs and the outbox, end to end on the real database and a real procrastinate worker."""

from __future__ import annotations

import sqlalchemy as sa

from audit import service as audit_service
from audit import tasks as audit_tasks
from kernel import tasks as kernel_tasks
from kernel.outbox import Dispatcher, OutboxMessage, emit
from kernel.runtime import Runtime


def job_app(runtime):
    from portal.jobs import job_app as the_job_app  # one App per process, as in the worker

    return the_job_app(runtime)


def run_jobs(app, runtime, dispatcher) -> None:
    app.run_worker(
        wait=False,
        install_signal_handlers=False,
        queues=["outbox", "audit"],
        additional_context={"runtime": runtime, "dispatcher": dispatcher},
    )


def queued_deliveries(runtime) -> int:
    with runtime.engine.connect() as connection:
        return connection.scalar(
            sa.text("select count(*) from procrastinate.procrastinate_jobs where task_name = 'kernel:deliver_outbox'")
        )


def outbox_rows(runtime, tenant_id):
    with runtime.uow(tenant_id=tenant_id) as uow:
        return list(uow.execute(sa.select(OutboxMessage.__table__).order_by(OutboxMessage.id)))


def test_message_leaves_through_a_job_only_after_commit(runtime, world):
    received: list[dict] = []
    dispatcher = Dispatcher()
    dispatcher.register("test.ping", lambda uow, payload: received.append(payload))
    app = job_app(runtime)
    before = queued_deliveries(runtime)
    with app.open():
        woken = Runtime(**{**runtime.__dict__, "on_outbox": lambda t: kernel_tasks.deliver_outbox.defer(tenant_id=str(t))})
        with woken.uow(tenant_id=world.tenant_id) as uow:
            emit(uow, "test.ping", {"n": 1})
            emit(uow, "test.ping", {"n": 2})
            assert queued_deliveries(runtime) == before  # nothing leaves before the commit
            uow.commit()
        assert queued_deliveries(runtime) == before + 1  # one wake-up per transaction
    run_jobs(app, runtime, dispatcher)
    assert received == [{"n": 1}, {"n": 2}]
    rows = [r for r in outbox_rows(runtime, world.tenant_id) if r.topic == "test.ping"]
    assert [(r.attempts, r.delivered_at is not None) for r in rows] == [(1, True), (1, True)]


def test_rolled_back_transaction_leaves_no_message_and_no_job(runtime, other_world):
    woken: list = []
    rt = Runtime(**{**runtime.__dict__, "on_outbox": woken.append})
    with rt.uow(tenant_id=other_world.tenant_id) as uow:
        emit(uow, "test.never", {"n": 2})
        # leaving without commit rolls back
    assert woken == []
    assert [r for r in outbox_rows(runtime, other_world.tenant_id) if r.topic == "test.never"] == []


def test_failing_handler_keeps_the_message_for_a_retry(runtime, world):
    calls: list[int] = []

    def flaky(uow, payload):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("smtp down")

    dispatcher = Dispatcher()
    dispatcher.register("test.flaky", flaky)
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        emit(uow, "test.flaky", {})
        uow.commit()
    for _ in range(2):
        with runtime.uow(tenant_id=world.tenant_id) as uow:
            dispatcher.deliver_pending(uow)
            uow.commit()
    [row] = [r for r in outbox_rows(runtime, world.tenant_id) if r.topic == "test.flaky"]
    assert row.attempts == 2 and row.delivered_at is not None and "smtp down" in row.last_error


def test_periodic_sweeper_finds_tenants_with_undelivered_messages(runtime, world):
    received: list[dict] = []
    dispatcher = Dispatcher()
    dispatcher.register("test.swept", lambda uow, payload: received.append(payload))
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        emit(uow, "test.swept", {"n": 3})  # no waker: only the sweep can find it
        uow.commit()
    app = job_app(runtime)
    with app.open():
        kernel_tasks.sweep_outbox.defer(timestamp=0)
    run_jobs(app, runtime, dispatcher)  # the sweep defers a delivery, which runs too
    assert {"n": 3} in received


def test_periodic_tasks_are_declared(runtime):
    periodic = {task.periodic_id for task in job_app(runtime).periodic_registry.periodic_tasks.values()}
    assert {"seal-audit", "sweep-outbox"} <= periodic


def test_the_sealing_job_chains_pending_events(runtime, world):
    from tests.factories import make_item

    with runtime.uow(tenant_id=world.tenant_id) as uow:
        make_item(uow)
        uow.commit()
    app = job_app(runtime)
    with app.open():
        audit_tasks.seal_audit.defer(timestamp=0)
    run_jobs(app, runtime, Dispatcher())
    with runtime.uow(tenant_id=world.tenant_id) as uow:
        assert audit_service.counts(uow)[1] == 0
