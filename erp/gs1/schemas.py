"""The shapes of a parsed code (pydantic; the API returns them and the OpenAPI document is
generated from them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

MAX_TEXT = 1000  # a GS1 DataMatrix holds at most 3116 digits; a label's codes are far shorter


class ParseIn(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=MAX_TEXT,
        description="The code as scanned (with its symbology identifier and GS separators, also written <GS> or {GS}), "
        "as printed ((01)…(17)…), a GS1 Digital Link URI, or an HIBC code (+…).",
        examples=["(01)09506000134352(17)261231(10)ABC123"],
    )


class Notice(BaseModel):
    """A warning about a code that was read: `message` is the catalog key and `params`
    its values until `rendered` puts them in the reader's language."""

    code: str
    message: str
    params: dict[str, str] = Field(default_factory=dict)


class AiValue(BaseModel):
    ai: str = Field(description="The GS1 Application Identifier", examples=["17"])
    title: str = Field(description="GS1's data title of the AI", examples=["USE BY or EXPIRY"])
    description: str = Field(description="GS1's description of the AI (English)", examples=["Expiration date (YYMMDD)"])
    value: str = Field(examples=["261231"])
    date: dt.date | None = Field(None, description="The value as a date, for a date AI (day 00: the month's last day)")


class ParsedCode(BaseModel):
    kind: Literal["gs1", "hibcc"]
    symbology: str | None = Field(None, description="The scanner's symbology identifier, such as ]d2", examples=["]d2"])
    element_string: str | None = Field(None, description="GS1: the data as printed, AIs in parentheses")
    ais: list[AiValue] = Field(default_factory=list, description="GS1: each element string in order")
    gtin: str | None = Field(None, description="GS1: AI 01, 14 digits", examples=["09506000134352"])
    sscc: str | None = Field(None, description="GS1: AI 00, 18 digits")
    di: str | None = Field(
        None,
        description="The UDI-DI: the GTIN, or for HIBCC the labeler code, product number and unit of measure",
    )
    labeler_id: str | None = Field(None, description="HIBCC: the Labeler Identification Code (LIC)")
    product_code: str | None = Field(None, description="HIBCC: the product or catalogue number")
    unit_of_measure: str | None = Field(None, description="HIBCC: the unit of measure digit (0 the unit of use)")
    lot: str | None = None
    serial: str | None = None
    expiry_date: dt.date | None = None
    production_date: dt.date | None = None
    quantity: int | None = Field(None, description="GS1 AI 37 or 30, or the HIBC quantity")
    warnings: list[Notice] = Field(default_factory=list)

    def rendered(self, translate: Callable[..., str] | None = None) -> dict:
        """The JSON form, warnings put in words by `translate(message, **params)` (the
        reader's language) or, with none, in English."""
        body = self.model_dump(mode="json")
        body["warnings"] = [
            {"code": w.code, "message": translate(w.message, **w.params) if translate else w.message % w.params}
            for w in self.warnings
        ]
        return body
