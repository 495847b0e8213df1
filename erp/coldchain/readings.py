"""Readings: batches from a logger (the API, a CSV export uploaded, EPCIS sensor data),
stored all or nothing, then read against the storage conditions (erp.coldchain.excursions).

A batch is idempotent by (logger, batch key): sent again with the same readings it is
answered with the first result and stores nothing; with other readings it is refused
(a key names one batch). A CSV upload's key is the SHA-256 of the file, so the same file
twice is one batch.

Refused as a whole, naming each reading (nothing stored):
- a time without a time zone (ISO 8601 with an offset or Z: the logger's clock in UTC);
- a time in the future, beyond FUTURE_SKEW of clock difference;
- times not strictly increasing within the batch (out of order, or a time twice);
- values that are not numbers or are out of range, or a reading with neither value.
Readings at or before the logger's last stored reading: a logger's export often holds
its whole memory, so a reading identical to one stored (same time and values) is taken
as known and skipped; one that is not stored, or differs, is out of order and refused -
readings only append, which is what lets excursions be computed batch by batch.

The batch row, audited, records how many came, their span and the SHA-256 of their
canonical content (one line per reading: UTC time in ISO 8601, temperature, humidity to
0.01). That text is made once, while the readings are checked, and serves both the
digest and the INSERT: one INSERT ... SELECT FROM unnest of three typed arrays, each sent
as one array literal (a reading has no surrogate id: see erp/coldchain/models.py).
Fresh readings are all after the logger's last one, with the logger's row locked, so
they cannot meet a stored one (the key is logger and time): no ON CONFLICT is needed.
COPY cannot be used: PostgreSQL refuses COPY FROM into a table under row-level security.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from auth.permissions import require, require_any
from erp import tabular
from erp.coldchain import excursions
from erp.coldchain.errors import BatchKeyReused, LoggerNotFound, ReadingsInvalid
from erp.coldchain.models import ColdChainAlert, DataLogger, Reading, ReadingBatch
from erp.coldchain.service import parse_time
from erp.pagination import Page, check_limit, decode_cursor, encode_cursor
from erp.tabular import EXTRA_CELLS, RowError
from kernel.clock import utcnow
from kernel.errors import N_, Forbidden, ValidationFailed
from kernel.ids import new_id

FUTURE_SKEW = timedelta(minutes=5)
_TZINFO = operator.attrgetter("tzinfo")
MAX_READINGS = 100_000
MAX_KEY = 100
MAX_BYTES = 20 * 1024 * 1024
MAX_PROBLEMS = 200  # a batch wrong throughout is named by its first problems
SOURCES = ("api", "csv", "epcis")
COLUMNS = ("timestamp", "temperature", "humidity")
NEEDED = ("timestamp", "temperature")
TEMPERATURE_RANGE = (-200.0, 200.0)
HUMIDITY_RANGE = (0.0, 100.0)

NO_KEY = N_("Give the batch a key of 1 to 100 visible characters (the same key for the same readings).")
NO_READINGS = N_("Send at least one reading.")
TOO_MANY = N_("Send at most %(count)s readings in one batch.")
NOT_A_TIME = N_("Enter the time in ISO 8601 with its time zone, such as 2026-12-01T08:00:00+08:00 or 2026-12-01T00:00:00Z.")
IN_FUTURE = N_("This reading is in the future (%(time)s UTC): check the logger's clock.")
OUT_OF_ORDER = N_("This reading is earlier than the one before it: send readings in the order they were taken.")
REPEATED = N_("This time comes twice in the batch.")
BEFORE_STORED = N_(
    "This reading is not after the logger's last stored reading (%(last)s UTC) and differs from what is stored: "
    "readings are refused out of order."
)
NOT_A_TEMPERATURE = N_("Enter the temperature in °C as a number from -200 to 200.")
NOT_A_HUMIDITY = N_("Enter the relative humidity in % as a number from 0 to 100.")
NOTHING_MEASURED = N_("A reading needs a temperature or a humidity.")
UNKNOWN_SOURCE = N_("Choose one of the sources offered.")
MISSING_COLUMNS = N_("The file lacks the columns %(columns)s.")
UNKNOWN_COLUMNS = N_("The file has columns that are not reading fields: %(columns)s. Use timestamp, temperature, humidity.")
NO_ROWS = N_("The file has no readings.")
NO_FILE = N_("Choose the CSV file the logger exported.")


@dataclass(frozen=True)
class Ingested:
    batch: ReadingBatch
    created: bool  # False: the batch was received before, nothing was stored now
    alerts: list[ColdChainAlert]
    known: int = 0  # readings already stored (identical), skipped


class UploadInvalid(ValidationFailed):
    """An uploaded export that cannot be stored, by row of the file (header: row 1)."""

    code = "readings-upload-invalid"
    message = N_("The readings were not stored: correct the rows listed and upload the file again.")

    def __init__(self, rows: list[RowError]) -> None:
        self.rows = rows
        errors: dict[str, str] = {}
        self.params_by_field: dict[str, dict] = {}
        for problem in rows:
            if not problem.row:
                key = problem.field or "file"
            else:
                key = f"rows.{problem.row}.{problem.field}" if problem.field else f"rows.{problem.row}"
            if key not in errors:
                errors[key] = problem.message
                if problem.params:
                    self.params_by_field[key] = problem.params
        super().__init__(errors=errors)


# --- ingesting -------------------------------------------------------------------------------


def ingest(
    uow,
    actor,
    *,
    logger_code: str,
    key: str,
    readings: Sequence,
    source: str = "api",
    now: datetime | None = None,
) -> Ingested:
    """Store a batch of readings ((recorded_at, temperature, humidity) or dicts with those
    keys) of the logger and read it against its bindings. See the module."""
    require(actor, "coldchain.record")
    if actor.supplier_id is not None:
        raise Forbidden()
    key = key.strip() if isinstance(key, str) else ""
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ValidationFailed(errors={"batch_key": NO_KEY})
    if source not in SOURCES:
        raise ValidationFailed(errors={"source": UNKNOWN_SOURCE})
    if not readings:
        raise ValidationFailed(errors={"readings": NO_READINGS})
    if len(readings) > MAX_READINGS:
        raise ValidationFailed(errors={"readings": TOO_MANY}, count=f"{MAX_READINGS:,}")
    # The logger, locked (one batch of a logger at a time), and a batch of this key it
    # sent before, in one round trip: this runs for every batch.
    found = uow.session.execute(
        sa.select(DataLogger, ReadingBatch)
        .outerjoin(ReadingBatch, sa.and_(ReadingBatch.logger_id == DataLogger.id, ReadingBatch.key == key))
        .where(DataLogger.code == str(logger_code or "").strip())
        .with_for_update(of=DataLogger)
    ).first()
    if found is None:
        raise LoggerNotFound()
    logger, earlier = found
    batch_in = _checked(readings, now=now or utcnow())
    digest = hashlib.sha256(batch_in.canonical()).hexdigest()
    if earlier is not None:
        if earlier.sha256 != digest:
            raise BatchKeyReused(key=key)
        return Ingested(batch=earlier, created=False, alerts=[])
    known = _known(uow, logger, batch_in.parsed)
    fresh = batch_in.parsed[known:]
    batch = ReadingBatch(
        tenant_id=uow.tenant_id,
        id=new_id(),
        logger_id=logger.id,
        key=key,
        source=source,
        count=len(fresh),
        first_at=fresh[0][0] if fresh else None,
        last_at=fresh[-1][0] if fresh else None,
        sha256=digest,
        alerts=0,
        received_by=actor.user_id,
        received_at=utcnow(),
    )
    if fresh:
        # The batch row, its readings and the logger's last reading in one statement (one
        # round trip: this runs for every batch); the ORM then holds the batch as stored.
        values = {c: getattr(batch, c) for c in _BATCH_COLUMNS}
        stored = uow.scalar(_INSERT, values | {"last": fresh[-1][0], **batch_in.arrays(known)})
        if stored != len(fresh):
            raise RuntimeError(f"reading batch {batch.id}: {stored} of {len(fresh)} readings stored")
        make_transient_to_detached(batch)
        uow.add(batch)
        set_committed_value(logger, "last_reading_at", fresh[-1][0])
    else:
        uow.add(batch)
        uow.flush()
    raised = excursions.evaluate(uow, actor, logger=logger, readings=fresh)
    if raised:
        batch.alerts = len(raised)
    uow.flush()
    return Ingested(batch=batch, created=True, alerts=raised, known=known)


# The readings as three typed arrays, each sent as one array literal (the canonical text
# of the values: see Checked), the logger and batch once. The reading table has no
# foreign keys (checked row by row they cost more than the rest of the INSERT: see
# erp/coldchain/models.py, Reading); instead the statement checks its references once:
# it stores nothing unless the batch row exists and is the logger's (and reading_batch's
# own foreign key says the logger exists).
# The batch row, its readings (referring to it, so they cannot be stored without it: the
# reading table has no foreign keys, see Reading) and the logger's last reading, in one
# statement; it answers how many readings it stored.
_BATCH_COLUMNS = (
    "id", "logger_id", "key", "source", "count", "first_at", "last_at", "sha256", "alerts", "received_by", "received_at",
)  # fmt: skip
_INSERT = sa.text(
    "WITH batch AS ("
    f" INSERT INTO reading_batch ({', '.join(_BATCH_COLUMNS)})"
    f" VALUES ({', '.join(':' + c for c in _BATCH_COLUMNS)}) RETURNING id, logger_id),"
    " stored AS ("
    ' INSERT INTO "reading" (logger_id, batch_id, recorded_at, temperature, humidity)'
    " SELECT batch.logger_id, batch.id, r.at, r.t, r.h"
    " FROM batch, unnest(CAST(:at AS timestamptz[]), CAST(:t AS numeric[]), CAST(:h AS numeric[])) AS r(at, t, h)"
    " RETURNING 1)"
    " UPDATE data_logger SET last_reading_at = :last, updated_at = now() WHERE id = :logger_id"
    " RETURNING (SELECT count(*) FROM stored)"
)


@dataclass(frozen=True)
class Checked:
    """A valid batch: `parsed` (UTC time, temperature, humidity rounded to 0.01), and the
    canonical text of each value - the time in ISO 8601 UTC, the values to 0.01 or empty
    - made once in the same pass and used both for the digest and for the INSERT."""

    parsed: list[tuple[datetime, float | None, float | None]]
    at_text: list[str]
    t_text: list[str]
    h_text: list[str]

    def canonical(self) -> bytes:
        """One line per reading: `time,temperature,humidity\\n` (see sha256_of)."""
        return "".join(f"{a},{t},{h}\n" for a, t, h in zip(self.at_text, self.t_text, self.h_text, strict=True)).encode()

    def arrays(self, start: int = 0) -> dict[str, str]:
        """PostgreSQL array literals of the readings from `start` on (an empty value: NULL);
        the texts hold no comma, brace, quote, backslash or space, so need no quoting."""
        return {
            "at": "{" + ",".join(self.at_text[start:]) + "}",
            "t": "{" + ",".join([v or "NULL" for v in self.t_text[start:]]) + "}",
            "h": "{" + ",".join([v or "NULL" for v in self.h_text[start:]]) + "}",
        }


def checked(readings: Sequence, *, now: datetime) -> list[tuple[datetime, float | None, float | None]]:
    """The readings as (UTC time, temperature, humidity) rounded to 0.01; ReadingsInvalid
    naming every bad one (by its index) otherwise."""
    return _checked(readings, now=now).parsed


def _checked(readings: Sequence, *, now: datetime) -> Checked:
    """The readings parsed, checked and put in canonical text: a column at a time when the
    batch is the common kind, else one by one (which names every problem)."""
    return _by_column(readings, now + FUTURE_SKEW) or _one_by_one(readings, now + FUTURE_SKEW)


def _by_column(readings: Sequence, latest: datetime) -> Checked | None:
    """A batch of tuples (UTC datetime, float or None, float or None), strictly increasing,
    none in the future, every value in range, checked and converted with built-ins over
    each column (no Python loop per reading); None for any other batch, to be read one by
    one. Gives what _one_by_one gives."""
    if set(map(type, readings)) != {tuple} or set(map(len, readings)) != {3}:
        return None
    times, temperatures, humidities = zip(*readings, strict=True)
    if set(map(type, times)) != {datetime} or set(map(_TZINFO, times)) != {UTC}:
        return None
    if not all(map(operator.lt, times, times[1:])) or times[-1] > latest:
        return None
    t_values, t_text = _column(temperatures, TEMPERATURE_RANGE)
    h_values, h_text = _column(humidities, HUMIDITY_RANGE)
    if t_values is None or h_values is None or (None in t_values and None in h_values):
        return None  # (a reading may lack both: that one is named one by one)
    return Checked(list(zip(times, t_values, h_values, strict=True)), list(map(datetime.isoformat, times)), t_text, h_text)


def _column(values: tuple, bounds: tuple[float, float]) -> tuple[list | None, list[str]]:
    """Floats (or None) in bounds rounded to 0.01, and their text; (None, []) otherwise."""
    kinds = set(map(type, values))
    if kinds == {float}:
        present = values
    elif kinds <= {float, type(None)}:
        present = [v for v in values if v is not None]
    else:
        return None, []
    if present and (any(map(math.isnan, present)) or min(present) < bounds[0] or max(present) > bounds[1]):
        return None, []
    # A logger repeats few distinct values (0.01 apart over a narrow range): each distinct
    # one is rounded and written once, then looked up (0 and -0 are equal keys: not then).
    distinct = set(present)
    if len(distinct) * 4 < len(present) and 0.0 not in distinct:
        rounded_of = {v: round(v, 2) for v in distinct}
        text_of = {v: f"{r:.2f}" for v, r in rounded_of.items()}
        if present is not values:
            rounded_of[None], text_of[None] = None, ""
        return list(map(rounded_of.__getitem__, values)), list(map(text_of.__getitem__, values))
    if present is values:
        rounded = list(map(round, values, itertools.repeat(2)))
        return rounded, list(map("{:.2f}".format, rounded))
    rounded = [None if v is None else round(v, 2) for v in values]
    return rounded, ["" if v is None else f"{v:.2f}" for v in rounded]


def _one_by_one(readings: Sequence, latest: datetime) -> Checked:
    """Each reading parsed, checked and put in canonical text; ReadingsInvalid naming
    every bad one (by its index)."""
    problems: list[tuple[int, str, str, dict]] = []
    parsed: list[tuple[datetime, float | None, float | None]] = []
    at_text: list[str] = []
    t_text: list[str] = []
    h_text: list[str] = []
    previous: datetime | None = None
    t_low, t_high = TEMPERATURE_RANGE
    h_low, h_high = HUMIDITY_RANGE
    for index, reading in enumerate(readings):
        if problems and len(problems) >= MAX_PROBLEMS:
            break
        if type(reading) is tuple and len(reading) == 3:
            raw_at, raw_t, raw_h = reading
        elif isinstance(reading, dict):
            raw_at, raw_t, raw_h = reading.get("recorded_at"), reading.get("temperature"), reading.get("humidity")
        else:
            raw_at, raw_t, raw_h = (*reading, None, None, None)[:3]
        # The common case inline (a UTC time, a float in range); the rest through the helpers.
        if type(raw_at) is datetime and raw_at.tzinfo is UTC:
            at = raw_at
        else:
            at = raw_at if isinstance(raw_at, datetime) and raw_at.tzinfo is not None else parse_time(raw_at)
            if at is not None:
                at = at.astimezone(UTC)
        if at is None:
            problems.append((index, "recorded_at", NOT_A_TIME, {}))
        else:
            if at > latest:
                problems.append((index, "recorded_at", IN_FUTURE, {"time": at.isoformat(timespec="seconds")}))
            elif previous is not None and at <= previous:
                problems.append((index, "recorded_at", REPEATED if at == previous else OUT_OF_ORDER, {}))
            if previous is None or at > previous:
                previous = at
        if type(raw_t) is float and t_low <= raw_t <= t_high:
            temperature = round(raw_t, 2)
        else:
            temperature = _value(raw_t, TEMPERATURE_RANGE)
            if temperature is False:
                problems.append((index, "temperature", NOT_A_TEMPERATURE, {}))
        if type(raw_h) is float and h_low <= raw_h <= h_high:
            humidity = round(raw_h, 2)
        else:
            humidity = _value(raw_h, HUMIDITY_RANGE)
            if humidity is False:
                problems.append((index, "humidity", NOT_A_HUMIDITY, {}))
        if temperature is None and humidity is None:
            problems.append((index, "temperature", NOTHING_MEASURED, {}))
        if problems:
            continue
        parsed.append((at, temperature, humidity))
        at_text.append(at.isoformat())
        t_text.append("" if temperature is None else f"{temperature:.2f}")
        h_text.append("" if humidity is None else f"{humidity:.2f}")
    if problems:
        raise ReadingsInvalid(problems)
    return Checked(parsed, at_text, t_text, h_text)


def _value(raw, bounds: tuple[float, float]):
    """A number rounded to 0.01; None when empty; False when it is not a number in bounds."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return False
    if isinstance(raw, float | int):
        value = float(raw)
    else:
        try:
            value = float(str(raw).strip())
        except ValueError:
            return False
    if math.isnan(value) or not bounds[0] <= value <= bounds[1]:
        return False
    return round(value, 2)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def sha256_of(parsed) -> str:
    """The SHA-256 of readings' canonical content: one line per reading, the UTC time in
    ISO 8601, the temperature and the humidity to 0.01 (empty when not measured)."""
    digest = hashlib.sha256()
    for at, t, h in parsed:
        digest.update(f"{at.isoformat()},{_fmt(t)},{_fmt(h)}\n".encode())
    return digest.hexdigest()


def _known(uow, logger, parsed) -> int:
    """How many leading readings are at or before the logger's last stored one: each must
    be stored already as it is (else ReadingsInvalid)."""
    last = logger.last_reading_at
    if last is None or parsed[0][0] > last:
        return 0
    overlap = [r for r in parsed if r[0] <= last]
    stored = {
        at.astimezone(UTC): (_fmt(None if t is None else float(t)), _fmt(None if h is None else float(h)))
        for at, t, h in uow.execute(
            sa.select(Reading.recorded_at, Reading.temperature, Reading.humidity).where(
                Reading.logger_id == logger.id, Reading.recorded_at.between(overlap[0][0], overlap[-1][0])
            )
        ).all()
    }
    problems = [
        (index, "recorded_at", BEFORE_STORED, {"last": last.astimezone(UTC).isoformat(timespec="seconds")})
        for index, (at, t, h) in enumerate(overlap)
        if stored.get(at) != (_fmt(t), _fmt(h))
    ]
    if problems:
        raise ReadingsInvalid(problems[:MAX_PROBLEMS])
    return len(overlap)


# --- a logger's CSV export -------------------------------------------------------------------


def ingest_csv(uow, actor, *, logger_code: str, content: bytes, now: datetime | None = None) -> Ingested:
    """A logger's export: columns timestamp (ISO 8601 with an offset or Z), temperature
    (°C) and optionally humidity (%RH). The batch key is the file's SHA-256."""
    require(actor, "coldchain.record")
    rows = _rows(content)
    if not rows:
        raise UploadInvalid([RowError(0, "file", NO_ROWS)])
    extra = [RowError(row.number, "", EXTRA_CELLS) for row in rows if "" in row.values]
    if extra:
        raise UploadInvalid(extra[:MAX_PROBLEMS])
    readings = [(r.values.get("timestamp"), r.values.get("temperature"), r.values.get("humidity")) for r in rows]
    try:
        return ingest(
            uow, actor, logger_code=logger_code, key=hashlib.sha256(content).hexdigest(), readings=readings, source="csv", now=now
        )
    except ReadingsInvalid as bad:
        column = {"recorded_at": "timestamp"}
        raise UploadInvalid(
            [RowError(rows[i].number, column.get(f, f), text, params) for i, f, text, params in bad.problems]
        ) from bad
    except ValidationFailed as bad:
        if "readings" in bad.errors:
            raise UploadInvalid([RowError(0, "file", bad.errors["readings"], bad.params)]) from bad
        raise


def _rows(content: bytes):
    try:
        tabular.check_size(content, MAX_BYTES)
        text, _encoding = tabular.decode(content)
        _header, rows = tabular.read_table(
            tabular.csv_rows(text), check_header=_check_header, max_rows=MAX_READINGS, strip=True
        )
    except tabular.TableInvalid as bad:
        raise UploadInvalid([RowError(0, "file", bad.message, bad.params)]) from bad
    return rows


def _check_header(header: list[str]) -> None:
    problems = tabular.header_problems(header, needed=NEEDED, known=COLUMNS, missing=MISSING_COLUMNS, unknown=UNKNOWN_COLUMNS)
    if problems:
        raise UploadInvalid(problems)


# --- reading them back -----------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A logger's readings over a period (a binding's), `ends_at` None: until now."""

    logger_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime | None


def window_filter(windows: Sequence[Window]):
    return sa.or_(
        *(
            sa.and_(
                Reading.logger_id == w.logger_id,
                Reading.recorded_at >= w.starts_at,
                *((Reading.recorded_at < w.ends_at,) if w.ends_at is not None else ()),
            )
            for w in windows
        )
    )


def readings_in(
    uow,
    actor,
    *,
    windows: Sequence[Window],
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 200,
) -> Page[Reading]:
    """The readings of the windows, oldest first, from `since` to before `until`, a page
    at a time (the cursor names the last one shown)."""
    require_any(actor, "coldchain.view", "lot.release")
    check_limit(limit)
    if not windows:
        return Page(items=[], next_cursor=None)
    query = sa.select(Reading).where(window_filter(windows))
    if since is not None:
        query = query.where(Reading.recorded_at >= since)
    if until is not None:
        query = query.where(Reading.recorded_at < until)
    if cursor:
        at, logger_id = decode_cursor(cursor)  # a reading is named by its time and logger
        query = query.where(sa.tuple_(Reading.recorded_at, Reading.logger_id) > sa.tuple_(at, logger_id))
    rows = list(uow.session.scalars(query.order_by(Reading.recorded_at, Reading.logger_id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].recorded_at, rows[-1].logger_id) if more else None)


def stored_between(uow, *, logger_id: uuid.UUID, starts_at: datetime, ends_at: datetime | None) -> list[tuple]:
    """A logger's stored readings of a period, oldest first, as a batch is read:
    (recorded_at, temperature, humidity) with floats."""
    query = sa.select(Reading.recorded_at, Reading.temperature, Reading.humidity).where(
        Reading.logger_id == logger_id, Reading.recorded_at >= starts_at
    )
    if ends_at is not None:
        query = query.where(Reading.recorded_at < ends_at)
    return [
        (at, None if t is None else float(t), None if h is None else float(h))
        for at, t, h in uow.execute(query.order_by(Reading.recorded_at)).all()
    ]


def series(uow, *, windows: Sequence[Window], points: int = 2000) -> list[tuple[datetime, float | None, float | None]]:
    """The readings of the windows for a chart: all of them up to `points`, else the
    lowest and highest of each of `points`/2 equal stretches of time (peaks stay)."""
    if not windows:
        return []
    where = window_filter(windows)
    count = uow.scalar(sa.select(sa.func.count()).select_from(Reading).where(where))
    if not count:
        return []
    if count <= points:
        rows = uow.execute(
            sa.select(Reading.recorded_at, Reading.temperature, Reading.humidity).where(where).order_by(Reading.recorded_at)
        ).all()
        return [(at, _float(t), _float(h)) for at, t, h in rows]
    buckets = max(1, points // 2)
    span = uow.execute(sa.select(sa.func.min(Reading.recorded_at), sa.func.max(Reading.recorded_at)).where(where)).one()
    seconds = max((span[1] - span[0]).total_seconds(), 1.0)
    bucket = sa.func.least(
        sa.cast(sa.func.floor(sa.extract("epoch", Reading.recorded_at - span[0]) / seconds * buckets), sa.Integer), buckets - 1
    ).label("bucket")
    inner = sa.select(bucket, Reading.recorded_at, Reading.temperature, Reading.humidity).where(where).subquery()
    rows = uow.execute(
        sa.select(
            inner.c.bucket,
            sa.func.min(inner.c.recorded_at),
            sa.func.max(inner.c.recorded_at),
            sa.func.min(inner.c.temperature),
            sa.func.max(inner.c.temperature),
            sa.func.avg(inner.c.humidity),
        )
        .group_by(inner.c.bucket)
        .order_by(inner.c.bucket)
    ).all()
    found = []
    for _b, first, last, low, high, humidity in rows:
        found.append((first, _float(low), _float(humidity)))
        if last != first:
            found.append((last, _float(high), _float(humidity)))
    return found


def _float(value) -> float | None:
    return None if value is None else float(value)


def batches_of_logger(uow, actor, *, logger_id: uuid.UUID, limit: int = 20) -> list[ReadingBatch]:
    require(actor, "coldchain.view")
    return list(
        uow.session.scalars(
            sa.select(ReadingBatch)
            .where(ReadingBatch.logger_id == logger_id)
            .order_by(ReadingBatch.received_at.desc(), ReadingBatch.id.desc())
            .limit(limit)
        )
    )
