"""The web process wakes outbox delivery after a commit."""

import sqlalchemy as sa

from kernel.outbox import emit
from kernel.runtime import Runtime
from portal.jobs import outbox_waker


def test_commit_with_outbox_messages_queues_one_delivery_job(runtime, world):
    rt = Runtime(**{**runtime.__dict__, "on_outbox": None})
    rt.on_outbox = outbox_waker(rt)

    def queued() -> int:
        with runtime.engine.connect() as connection:
            return connection.scalar(
                sa.text(
                    "select count(*) from procrastinate.procrastinate_jobs"
                    " where task_name = 'kernel:deliver_outbox' and args->>'tenant_id' = :t"
                ),
                {"t": str(world.tenant_id)},
            )

    before = queued()
    with rt.uow(tenant_id=world.tenant_id) as uow:
        emit(uow, "test.web", {"n": 1})
        uow.commit()
    assert queued() == before + 1
