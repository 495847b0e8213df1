"""API shapes of traces (pydantic; the OpenAPI document is generated from them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TraceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description="What to trace: a UDI in any GS1 form (scanned with ]d2 and GS, printed with brackets, a Digital "
        "Link URI) or an HIBC code; a GTIN or part number and a lot or serial separated by a space; a serial; an SSCC; "
        "a lot number; a supplier's code or name; a purchase order or ship notice number.",
        examples=["(01)09506000134352(10)L-2026-01(21)SN-1"],
    )
    reason: str = Field(description="Why the trace is run; kept with the result (required)", examples=["Complaint 2026-17"])
    direction: Literal["both", "backward", "forward"] = Field(
        "both", description="backward: the sources; forward: where it went; both"
    )


class TraceSummary(BaseModel):
    id: uuid.UUID
    start_code: str
    start_kind: str = Field(description="udi, gtin_lot, serial, sscc, lot, supplier, purchase_order or asn")
    reason: str
    node_count: int
    run_by: uuid.UUID | None
    run_at: datetime

    @classmethod
    def of(cls, snapshot) -> TraceSummary:
        return cls(
            id=snapshot.id, start_code=snapshot.start_code, start_kind=snapshot.start_kind, reason=snapshot.reason,
            node_count=snapshot.node_count, run_by=snapshot.run_by, run_at=snapshot.run_at,
        )


class TraceOut(TraceSummary):
    result: dict = Field(
        description="start {code, kind, label}; nodes [{id, kind, label, direction, depth, item, lot, serial, udi, "
        "supplier_id, customer_id, quantity, stock [{status, location, quantity}]}]; edges [{from, to, kind, quantity}] "
        "(consumed_into, received_on, shipped_on, ordered_on, supplied_by, shipped_to); affected [{item_id, lot_id, "
        "serial, quantity, supplier_id}]: the units a recall must locate"
    )

    @classmethod
    def of(cls, snapshot) -> TraceOut:
        return cls(**TraceSummary.of(snapshot).model_dump(), result=snapshot.result)


class TracePage(BaseModel):
    items: list[TraceSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class TraceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(None, description="The `next_cursor` of the previous page")
    limit: int = Field(50, ge=1, le=200, description="Rows per page")
