"""API shapes of items (pydantic; the OpenAPI document is generated from them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from erp.items.models import CATEGORIES, DEVICE_CLASSES, UNITS
from erp.items.revisions import MAX_REVISION
from erp.items.service import (
    MAX_EXCURSION_MINUTES,
    MAX_HUMIDITY,
    MAX_NAME,
    MAX_PART_NUMBER,
    MAX_TEMPERATURE,
    MIN_HUMIDITY,
    MIN_TEMPERATURE,
    PART_NUMBER,
)
from erp.items.udi import ISSUING_AGENCIES

MAX_IDENTIFIER = 60  # as typed or scanned (with "(01)", "+…" and its check character); stored shorter

Agency = Literal[ISSUING_AGENCIES]  # type: ignore[valid-type]
DeviceClass = Literal[DEVICE_CLASSES]  # type: ignore[valid-type]


def _temperature(description: str):
    return Field(None, ge=MIN_TEMPERATURE, le=MAX_TEMPERATURE, decimal_places=1, description=description, examples=[2.0])


def _humidity(description: str):
    return Field(None, ge=MIN_HUMIDITY, le=MAX_HUMIDITY, decimal_places=1, description=description, examples=[60.0])


class _DeviceData(BaseModel):
    """The device and storage fields, the same in a create and an update."""

    model_config = ConfigDict(extra="forbid")

    issuing_agency: Agency | None = Field(None, description="The agency that issued the UDI-DI and Basic UDI-DI.")
    udi_di: str | None = Field(
        None,
        max_length=MAX_IDENTIFIER,
        description="The device identifier as on the label; stored in its canonical form (GS1: GTIN-14).",
        examples=["09506000134352"],
    )
    basic_udi_di: str | None = Field(None, max_length=MAX_IDENTIFIER, description="EU MDR/IVDR Basic UDI-DI.")
    device_class: DeviceClass | None = Field(
        None, description="EU: I, Is, Im, Ir, IIa, IIb, III; US: US-I to US-III; China: CN-I to CN-III."
    )
    storage_temp_min_c: Decimal | None = _temperature("Lowest storage temperature, °C.")
    storage_temp_max_c: Decimal | None = _temperature("Highest storage temperature, °C.")
    storage_humidity_min_pct: Decimal | None = _humidity("Lowest relative humidity, percent.")
    storage_humidity_max_pct: Decimal | None = _humidity("Highest relative humidity, percent.")
    max_excursion_minutes: int | None = Field(
        None, ge=0, le=MAX_EXCURSION_MINUTES, description="How long the item may be outside its storage conditions."
    )


class ItemCreate(_DeviceData):
    """A new item in the tenant's part master."""

    part_number: str = Field(max_length=MAX_PART_NUMBER, pattern=PART_NUMBER.pattern, examples=["PC-1001"])
    name: str = Field(max_length=MAX_NAME, examples=["Polycarbonate housing"])
    name_zh: str | None = Field(None, max_length=MAX_NAME, examples=["聚碳酸酯外壳"])
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    uom: Literal[UNITS]  # type: ignore[valid-type]
    label_lot: bool = Field(False, description="The label carries the lot or batch number.")
    label_serial: bool = Field(False, description="The label carries the serial number.")
    label_manufacture_date: bool = Field(False, description="The label carries the date of manufacture.")
    label_expiry_date: bool = Field(False, description="The label carries the expiry date.")
    revision: str | None = Field(
        None,
        max_length=MAX_REVISION,
        description='The code of the item\'s first revision, in effect from today; "A" when not given.',
        examples=["A"],
    )


class ItemUpdate(_DeviceData):
    """Changes to an item: only the fields sent change; null clears an optional field."""

    part_number: str | None = Field(None, max_length=MAX_PART_NUMBER, pattern=PART_NUMBER.pattern, examples=["PC-1001"])
    name: str | None = Field(None, max_length=MAX_NAME, examples=["Polycarbonate housing"])
    name_zh: str | None = Field(None, max_length=MAX_NAME, examples=["聚碳酸酯外壳"])
    category: Literal[CATEGORIES] | None = None  # type: ignore[valid-type]
    uom: Literal[UNITS] | None = None  # type: ignore[valid-type]
    label_lot: bool | None = None
    label_serial: bool | None = None
    label_manufacture_date: bool | None = None
    label_expiry_date: bool | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built straight from the Item row

    id: uuid.UUID
    part_number: str
    name: str
    name_zh: str | None
    category: str
    uom: str
    issuing_agency: str | None
    udi_di: str | None
    basic_udi_di: str | None
    device_class: str | None
    label_lot: bool
    label_serial: bool
    label_manufacture_date: bool
    label_expiry_date: bool
    storage_temp_min_c: float | None
    storage_temp_max_c: float | None
    storage_humidity_min_pct: float | None
    storage_humidity_max_pct: float | None
    max_excursion_minutes: int | None
    revision: str | None = Field(None, description="The code of the revision in effect today (UTC).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item, revision: str | None) -> ItemOut:
        return cls.model_validate(item).model_copy(update={"revision": revision})
