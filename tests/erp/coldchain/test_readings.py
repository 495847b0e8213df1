"""Readings: batches stored all or nothing, idempotent by key; timestamps in the future
or out of order refused with the reading named; CSV exports of a logger."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from erp.coldchain import readings as ingesting
from erp.coldchain.errors import BatchKeyReused, LoggerNotFound, ReadingsInvalid
from erp.coldchain.models import DataLogger, Reading, ReadingBatch
from kernel.errors import Forbidden, ValidationFailed
from tests.erp.coldchain.support import T0, call, logger, rows, send, series, who

NOW = T0 + timedelta(days=1)


@pytest.fixture
def people_(tx, world):
    return who(tx, world)


@pytest.fixture
def box(tx, world, people_):
    return logger(tx, world, people_["warehouse"])


def stored(tx, world, box) -> int:
    return len(rows(tx, world, Reading, Reading.logger_id == box.id))


def refused(tx, world, actor, box, readings, **kw) -> ReadingsInvalid:
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(ReadingsInvalid) as caught:
            ingesting.ingest(uow, actor, logger_code=box.code, key="K", readings=readings, now=NOW, **kw)
    return caught.value


def test_a_batch_is_stored_with_its_count_span_and_digest(tx, world, people_, box):
    got = send(tx, world, people_["warehouse"], box, series([4, 5, 6]), key="B1", now=NOW)
    batch = got.batch
    assert got.created and got.alerts == []
    assert (batch.count, batch.first_at, batch.last_at, batch.source) == (3, T0, T0 + timedelta(minutes=20), "api")
    assert batch.sha256 == ingesting.sha256_of([(at, float(t), None) for at, t, _ in series([4, 5, 6])])
    assert stored(tx, world, box) == 3
    [logger_row] = rows(tx, world, DataLogger, DataLogger.id == box.id)
    assert logger_row.last_reading_at == T0 + timedelta(minutes=20)


def test_the_same_batch_again_returns_the_first_result_and_stores_nothing(tx, world, people_, box):
    operator = people_["warehouse"]
    first = send(tx, world, operator, box, series([4, 5]), key="B1", now=NOW)
    again = send(tx, world, operator, box, series([4, 5]), key="B1", now=NOW + timedelta(hours=1))
    assert not again.created and again.batch.id == first.batch.id and again.batch.sha256 == first.batch.sha256
    assert stored(tx, world, box) == 2
    assert len(rows(tx, world, ReadingBatch, ReadingBatch.logger_id == box.id)) == 1
    # The key with other readings is another batch claiming the same name: refused.
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow, pytest.raises(BatchKeyReused):
        ingesting.ingest(uow, operator, logger_code=box.code, key="B1", readings=series([4, 9]), now=NOW)


def test_readings_in_the_future_are_refused_beyond_the_clock_skew(tx, world, people_, box):
    operator = people_["warehouse"]
    readings = [(NOW - timedelta(minutes=10), 5, None), (NOW + timedelta(minutes=4), 5, None),
                (NOW + timedelta(hours=2), 5, None)]
    error = refused(tx, world, operator, box, readings)
    assert error.errors == {"readings.2.recorded_at": ingesting.IN_FUTURE}
    assert error.params_by_field["readings.2.recorded_at"]["time"].startswith((NOW + timedelta(hours=2)).date().isoformat())
    assert stored(tx, world, box) == 0 and rows(tx, world, ReadingBatch, ReadingBatch.logger_id == box.id) == []


def test_readings_out_of_order_or_repeated_within_a_batch_are_refused(tx, world, people_, box):
    operator = people_["warehouse"]
    readings = series([4, 5, 6, 7])
    readings[2] = (T0 + timedelta(minutes=5), 6, None)  # before the one before it
    readings.append((readings[-1][0], 7, None))  # the same time twice
    error = refused(tx, world, operator, box, readings)
    assert error.errors == {
        "readings.2.recorded_at": ingesting.OUT_OF_ORDER,
        "readings.4.recorded_at": ingesting.REPEATED,
    }
    assert stored(tx, world, box) == 0


def test_a_batch_before_the_last_stored_reading_is_refused_unless_it_repeats_what_is_stored(tx, world, people_, box):
    operator = people_["warehouse"]
    send(tx, world, operator, box, series([4, 5, 6]), now=NOW)
    # An export holding the logger's whole memory: the known readings are skipped.
    longer = send(tx, world, operator, box, series([4, 5, 6, 7, 7.5]), now=NOW)
    assert longer.known == 3 and longer.batch.count == 2 and longer.batch.first_at == T0 + timedelta(minutes=30)
    assert stored(tx, world, box) == 5
    # A changed value, or a reading in between, is out of order.
    changed = series([4, 5.5])
    error = refused(tx, world, operator, box, changed)
    assert set(error.errors) == {"readings.1.recorded_at"} and error.errors["readings.1.recorded_at"] == ingesting.BEFORE_STORED
    between = [(T0 + timedelta(minutes=15), 5, None), (T0 + timedelta(hours=2), 5, None)]
    assert set(refused(tx, world, operator, box, between).errors) == {"readings.0.recorded_at"}
    assert stored(tx, world, box) == 5


@pytest.mark.parametrize(
    ("reading", "field", "message"),
    [
        (("2026-11-02T08:00:00", 5, None), "recorded_at", ingesting.NOT_A_TIME),
        (("yesterday", 5, None), "recorded_at", ingesting.NOT_A_TIME),
        ((T0, "warm", None), "temperature", ingesting.NOT_A_TEMPERATURE),
        ((T0, 500, None), "temperature", ingesting.NOT_A_TEMPERATURE),
        ((T0, float("nan"), None), "temperature", ingesting.NOT_A_TEMPERATURE),
        ((T0, 5, 101), "humidity", ingesting.NOT_A_HUMIDITY),
        ((T0, None, None), "temperature", ingesting.NOTHING_MEASURED),
    ],
)
def test_bad_readings_are_named_and_nothing_is_stored(tx, world, people_, box, reading, field, message):
    error = refused(tx, world, people_["warehouse"], box, [(T0 - timedelta(hours=1), 5, 40), reading])
    assert error.errors == {f"readings.1.{field}": message}
    assert stored(tx, world, box) == 0


def test_offsets_are_read_into_utc(tx, world, people_, box):
    readings = [("2026-11-02T16:00:00+08:00", "5.25", "45"), ("2026-11-02T08:10:00Z", 6, 46)]
    got = send(tx, world, people_["warehouse"], box, readings, now=NOW)
    assert got.batch.first_at == T0 and got.batch.last_at == T0 + timedelta(minutes=10)
    first = rows(tx, world, Reading, Reading.logger_id == box.id, order=Reading.recorded_at)[0]
    assert first.recorded_at.astimezone(UTC) == T0 and str(first.temperature) == "5.25" and str(first.humidity) == "45.00"


def test_unknown_loggers_bad_keys_and_other_people_are_refused(tx, world, other_world, people_, box):
    operator = people_["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow, pytest.raises(LoggerNotFound):
        ingesting.ingest(uow, operator, logger_code="NOPE", key="K", readings=series([5]), now=NOW)
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        with pytest.raises(ValidationFailed) as bad:
            ingesting.ingest(uow, operator, logger_code=box.code, key=" ", readings=series([5]), now=NOW)
        assert bad.value.errors == {"batch_key": ingesting.NO_KEY}
    for role in ("viewer", "supplier1"):
        actor = people_[role]
        with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow, pytest.raises(Forbidden):
            ingesting.ingest(uow, actor, logger_code=box.code, key="K", readings=series([5]), now=NOW)
    # Another tenant's logger is not found.
    stranger = who(tx, other_world)["warehouse"]
    with tx.uow(tenant_id=other_world.tenant_id, actor=stranger) as uow, pytest.raises(LoggerNotFound):
        ingesting.ingest(uow, stranger, logger_code=box.code, key="K", readings=series([5]), now=NOW)


EXPORT = (
    b"Timestamp,Temperature,Humidity\r\n"
    b"2026-11-02T08:00:00Z,4.5,40\r\n"
    b"2026-11-02T16:10:00+08:00,4.6,\r\n"
    b"2026-11-02T08:20:00Z,4.7,41\r\n"
)


def test_a_csv_export_is_stored_once_however_often_it_is_uploaded(tx, world, people_, box):
    operator = people_["warehouse"]
    first = call(tx, world, operator, ingesting.ingest_csv, logger_code=box.code, content=EXPORT, now=NOW)
    assert first.created and first.batch.source == "csv" and first.batch.count == 3
    assert first.batch.key == __import__("hashlib").sha256(EXPORT).hexdigest()
    again = call(tx, world, operator, ingesting.ingest_csv, logger_code=box.code, content=EXPORT, now=NOW)
    assert not again.created and again.batch.id == first.batch.id
    assert stored(tx, world, box) == 3


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"time,temperature\r\n2026-11-02T08:00:00Z,5\r\n", {"rows.1"}),
        (b"timestamp,temperature\r\n2026-11-02T08:00:00Z,5\r\n2026-11-02T07:00:00Z,5\r\n2026-12-02T07:00:00,x\r\n",
         {"rows.3.timestamp", "rows.4.timestamp", "rows.4.temperature"}),
        (b"timestamp,temperature\r\n", {"file"}),
        (b"", {"file"}),
    ],
)
def test_a_bad_export_is_refused_by_row_and_nothing_is_stored(tx, world, people_, box, content, where):
    operator = people_["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        with pytest.raises(ingesting.UploadInvalid) as caught:
            ingesting.ingest_csv(uow, operator, logger_code=box.code, content=content, now=NOW)
    assert set(caught.value.errors) == where
    assert stored(tx, world, box) == 0


def test_readings_are_inserted_in_one_statement(tx, world, people_, box):
    """One INSERT for a thousand readings (the bench measures the speed)."""
    operator = people_["warehouse"]
    statements = []
    with tx.uow(tenant_id=world.tenant_id, actor=operator) as uow:
        sa.event.listen(uow.session.get_bind(), "before_cursor_execute",
                        lambda *a: statements.append(a[2]) if "INSERT INTO \"reading\"" in a[2] else None)
        ingesting.ingest(uow, operator, logger_code=box.code, key="K", readings=series([5] * 1000, step=1), now=NOW)
        uow.commit()
    assert len(statements) == 1 and stored(tx, world, box) == 1000
