"""Item forms. The service checks every field (erp.items.service) and names what is
wrong; the forms only give the fields, their labels and the choices."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from erp.items.models import CATEGORIES, DEVICE_CLASSES, UNITS
from erp.items.revisions import MAX_DESCRIPTION, MAX_REVISION
from erp.items.service import FIELDS, LABEL_FIELDS, MAX_NAME, MAX_PART_NUMBER
from erp.items.udi import ISSUING_AGENCIES

CATEGORY_LABELS = {
    "component": lazy_gettext("Component"),
    "raw_material": lazy_gettext("Raw material"),
    "sterile_barrier": lazy_gettext("Sterile barrier"),
    "packaging": lazy_gettext("Packaging"),
    "finished_device": lazy_gettext("Finished device"),
    "contract_manufactured": lazy_gettext("Contract-manufactured device"),
    "consumable": lazy_gettext("Consumable"),
    "service": lazy_gettext("Service"),
}
AGENCY_LABELS = {
    "GS1": "GS1",
    "HIBCC": "HIBCC",
    "ICCBBA": "ICCBBA (ISBT 128)",
    "MA": lazy_gettext("MA code (China)"),
    "AHM": lazy_gettext("AHM code (China)"),
}
LABELS = {
    "part_number": lazy_gettext("Part number"),
    "name": lazy_gettext("Name in English"),
    "name_zh": lazy_gettext("Name in Chinese"),
    "category": lazy_gettext("Category"),
    "uom": lazy_gettext("Unit of measure"),
    "issuing_agency": lazy_gettext("Issuing agency"),
    "udi_di": lazy_gettext("UDI-DI"),
    "basic_udi_di": lazy_gettext("Basic UDI-DI (EU)"),
    "device_class": lazy_gettext("Device class"),
    "label_lot": lazy_gettext("Lot or batch number"),
    "label_serial": lazy_gettext("Serial number"),
    "label_manufacture_date": lazy_gettext("Date of manufacture"),
    "label_expiry_date": lazy_gettext("Expiry date"),
    "storage_temp_min_c": lazy_gettext("Lowest temperature (°C)"),
    "storage_temp_max_c": lazy_gettext("Highest temperature (°C)"),
    "storage_humidity_min_pct": lazy_gettext("Lowest relative humidity (%)"),
    "storage_humidity_max_pct": lazy_gettext("Highest relative humidity (%)"),
    "max_excursion_minutes": lazy_gettext("Longest time outside these conditions (minutes)"),
}
assert set(LABELS) == set(FIELDS)  # a new field needs its label

NONE = ("", lazy_gettext("None"))


def _text(name: str, **render_kw):
    return StringField(LABELS[name], render_kw={"autocomplete": "off", **render_kw})


def _number(name: str, *, decimal: bool = True):
    mode = "decimal" if decimal else "numeric"
    return _text(name, inputmode=mode, size="8")


class ItemForm(FlaskForm):
    part_number = _text(
        "part_number", maxlength=str(MAX_PART_NUMBER), autocapitalize="characters", spellcheck="false", autofocus=True
    )
    name = _text("name", maxlength=str(MAX_NAME))
    name_zh = _text("name_zh", maxlength=str(MAX_NAME), lang="zh-Hans-CN")
    category = SelectField(LABELS["category"], choices=[], validate_choice=False)
    uom = SelectField(LABELS["uom"], choices=[(u, u) for u in UNITS], validate_choice=False)
    issuing_agency = SelectField(LABELS["issuing_agency"], choices=[], validate_choice=False)
    udi_di = _text("udi_di", spellcheck="false", autocapitalize="characters")
    basic_udi_di = _text("basic_udi_di", spellcheck="false")
    device_class = SelectField(LABELS["device_class"], choices=[], validate_choice=False)
    label_lot = BooleanField(LABELS["label_lot"])
    label_serial = BooleanField(LABELS["label_serial"])
    label_manufacture_date = BooleanField(LABELS["label_manufacture_date"])
    label_expiry_date = BooleanField(LABELS["label_expiry_date"])
    storage_temp_min_c = _number("storage_temp_min_c")
    storage_temp_max_c = _number("storage_temp_max_c")
    storage_humidity_min_pct = _number("storage_humidity_min_pct")
    storage_humidity_max_pct = _number("storage_humidity_max_pct")
    max_excursion_minutes = _number("max_excursion_minutes", decimal=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices built per request, so their labels are in the page's language.
        self.category.choices = [("", lazy_gettext("Choose a category"))] + [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]
        self.issuing_agency.choices = [NONE] + [(a, AGENCY_LABELS.get(a, a)) for a in ISSUING_AGENCIES]
        self.device_class.choices = [NONE] + [(c, c) for c in DEVICE_CLASSES]

    def values(self) -> dict:
        """What the service takes: text as typed (it cleans and checks), booleans, and the
        minutes as a number when they are one (otherwise as typed, for its message)."""
        values = {name: getattr(self, name).data for name in FIELDS}
        for name in LABEL_FIELDS:
            values[name] = bool(values[name])
        minutes = (values["max_excursion_minutes"] or "").strip()
        values["max_excursion_minutes"] = int(minutes) if minutes.isdigit() and minutes.isascii() else (minutes or None)
        return values


class ImportForm(FlaskForm):
    file = FileField(lazy_gettext("File (CSV or XLSX)"))


REVISION_LABELS = {
    "revision": lazy_gettext("Revision code"),
    "effective_from": lazy_gettext("Effective from"),
    "description": lazy_gettext("Description of the change"),
}


class RevisionForm(FlaskForm):
    """A new revision of an item; the service (erp.items.revisions) checks every field."""

    revision = StringField(
        REVISION_LABELS["revision"],
        render_kw={"autocomplete": "off", "maxlength": str(MAX_REVISION), "size": "6", "autocapitalize": "characters"},
    )
    effective_from = StringField(REVISION_LABELS["effective_from"], render_kw={"type": "date"})
    description = TextAreaField(REVISION_LABELS["description"], render_kw={"rows": "3", "maxlength": str(MAX_DESCRIPTION)})

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in REVISION_LABELS}
