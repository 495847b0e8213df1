"""The demo's cold chain (issue 8's demo walk): the sterile-barrier pouches are kept at
15–25 °C; data logger DL-DEMO-01 watches their lot in the central warehouse and has sent
a day of readings within limits, up to three hours ago. `traceport demo` writes a logger export with a
40-minute excursion to 29–31 °C (`excursion_csv`); uploading it on the logger's page
puts the lot on hold, opens a nonconformance and emails the quality engineer.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from erp.coldchain import readings as coldchain_readings
from erp.coldchain import service as coldchain
from kernel.clock import utcnow

LOGGER_CODE = "DL-DEMO-01"
STEP = timedelta(minutes=15)


def seed(uow, actor, *, pouch, lot_id) -> None:
    """Conditions of the pouches, the logger bound to their lot for a day, readings within
    limits every 15 minutes."""
    coldchain.save_storage_condition(
        uow, actor, item_id=pouch.id, min_temperature="15", max_temperature="25", min_humidity="30", max_humidity="60",
        excursion_minutes=30, cumulative_minutes=120, max_mkt="25", gap_minutes=24 * 60,  # it uploads its memory daily
    )  # fmt: skip
    logger = coldchain.register_logger(uow, actor, code=LOGGER_CODE, name="Warehouse shelf B-4", model="Tempmate S1")
    now = utcnow().replace(second=0, microsecond=0)
    start, end = now - timedelta(days=1, hours=3), now - timedelta(hours=3)
    coldchain.bind_logger(uow, actor, logger_id=logger.id, kind="lot", target_id=lot_id, starts_at=start - timedelta(hours=1))
    readings = []
    at = start
    while at <= end:
        readings.append((at, 20.5 + (at.hour % 6) * 0.3, 42.0))
        at += STEP
    coldchain_readings.ingest(uow, actor, logger_code=LOGGER_CODE, key="demo-day-1", readings=readings, source="api")


def excursion_csv(*, after: datetime | None, now: datetime | None = None) -> bytes:
    """A logger export from the last stored reading until now, every five minutes, with
    the warehouse's air conditioning failing for 40 minutes half an hour in (the seed
    leaves three hours free for it; an export made just after another upload may be too
    short to hold the excursion)."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    start = after + timedelta(minutes=5) if after is not None else now - timedelta(hours=2)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["timestamp", "temperature", "humidity"])
    at, n = start, 0
    while at <= now - timedelta(minutes=5):
        hot = 6 <= n < 14  # 40 minutes at five-minute steps
        writer.writerow([at.isoformat(), f"{29.4 + (n % 3) * 0.6:.1f}" if hot else f"{21.0 + (n % 4) * 0.2:.1f}", "44.0"])
        at += timedelta(minutes=5)
        n += 1
    return out.getvalue().encode()


def last_reading_at(uow) -> datetime | None:
    logger = coldchain.logger_by_code(uow, code=LOGGER_CODE)
    return logger.last_reading_at if logger is not None else None
