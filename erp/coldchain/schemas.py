"""API shapes of the cold chain: reading batches, bindings, alerts and readings. The
services check the values; these models carry and document them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

Number = float | Decimal | str | None
TimeText = datetime | str


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recorded_at: TimeText = Field(description="ISO 8601 with an offset or Z, in the logger's clock",
                                  examples=["2026-12-01T08:00:00+08:00"])
    temperature: Number = Field(None, description="°C, -200 to 200", examples=[5.2])
    humidity: Number = Field(None, description="%RH, 0 to 100", examples=[45])


class ReadingBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_key: str = Field(description="The sender's name for this batch (1-100 characters): the same key with the same "
                           "readings is answered with the first result", examples=["gw-7/2026-12-01T08"])
    readings: list[ReadingIn] = Field(description="In the order taken, strictly increasing times; at most 100,000")


class ReadingBatchOut(BaseModel):
    id: uuid.UUID
    logger: str
    batch_key: str
    source: str
    count: int = Field(description="Readings stored (readings identical to ones stored before are not counted)")
    first_at: datetime | None
    last_at: datetime | None
    sha256: str = Field(description="SHA-256 of the batch's canonical content (UTC time, temperature, humidity per line)")
    alerts: int = Field(description="Alerts the batch raised")
    received_at: datetime | None

    @classmethod
    def of(cls, batch, logger_code: str) -> ReadingBatchOut:
        return cls(
            id=batch.id, logger=logger_code, batch_key=batch.key, source=batch.source, count=batch.count,
            first_at=batch.first_at, last_at=batch.last_at, sha256=batch.sha256, alerts=batch.alerts,
            received_at=batch.received_at,
        )


class BindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description='"asn", "package" (one SSCC of an ASN), "location" or "lot"')
    target_id: uuid.UUID = Field(description="The id of the ASN, package, location or lot")
    starts_at: TimeText
    ends_at: TimeText | None = Field(None, description="Open while null")


class BindingOut(BaseModel):
    id: uuid.UUID
    logger: str
    kind: str
    target: str = Field(description="The ASN number, SSCC, location code or lot number")
    asn_id: uuid.UUID | None
    package_id: uuid.UUID | None
    location_id: uuid.UUID | None
    lot_id: uuid.UUID | None
    starts_at: datetime
    ends_at: datetime | None


class AlertOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: str
    logger: str | None
    binding_id: uuid.UUID | None
    asn_id: uuid.UUID | None
    receipt_id: uuid.UUID | None
    started_at: datetime | None
    ended_at: datetime | None
    minutes: int | None
    peak: Decimal | None
    limit_value: Decimal | None
    lot_ids: list[uuid.UUID]
    nonconformance_id: uuid.UUID | None
    evidence: dict
    raised_at: datetime
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, alert) -> AlertOut:
        return cls(
            id=alert.id, kind=alert.kind, status=alert.status, logger=(alert.evidence or {}).get("logger"),
            binding_id=alert.binding_id, asn_id=alert.asn_id, receipt_id=alert.receipt_id, started_at=alert.started_at,
            ended_at=alert.ended_at, minutes=alert.minutes, peak=alert.peak, limit_value=alert.limit_value,
            lot_ids=[uuid.UUID(i) for i in alert.lot_ids], nonconformance_id=alert.nonconformance_id,
            evidence=alert.evidence or {}, raised_at=alert.raised_at, acknowledged_at=alert.acknowledged_at,
        )


class AlertList(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class AlertQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, description='"open", "acknowledged" or "closed"')
    cursor: str | None = Field(None, description="The `next_cursor` of the previous page")
    limit: int = Field(50, ge=1, le=200)


class ReadingOut(BaseModel):
    logger_id: uuid.UUID
    recorded_at: datetime
    temperature: Decimal | None
    humidity: Decimal | None


class ReadingList(BaseModel):
    items: list[ReadingOut]
    next_cursor: str | None


class ReadingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(None, description="From this time (ISO 8601 with an offset)")
    until: datetime | None = Field(None, description="Before this time")
    cursor: str | None = Field(None, description="The `next_cursor` of the previous page")
    limit: int = Field(200, ge=1, le=200)
