"""Inventory forms. The services check every value and name what is wrong; the forms
give the fields, their labels and the choices."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from erp.receiving.sampling import AQLS


class InspectionForm(FlaskForm):
    accepted_quantity = StringField(lazy_gettext("Accepted quantity"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    rejected_quantity = StringField(lazy_gettext("Rejected quantity"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    defect_codes = SelectMultipleField(
        lazy_gettext("Defects found"),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    note = TextAreaField(lazy_gettext("Note"), render_kw={"rows": "3", "maxlength": "2000"})


class PlanForm(FlaskForm):
    category = SelectField(lazy_gettext("Item category"), validate_choice=False)
    inspect = BooleanField(lazy_gettext("Inspect incoming lots of this category"), default=True)
    aql = SelectField(
        lazy_gettext("AQL (percent nonconforming)"),
        choices=[(str(a), str(a)) for a in AQLS],
        default="1.0",
        validate_choice=False,
    )


class DecisionForm(FlaskForm):
    decision = RadioField(
        lazy_gettext("Decision"),
        choices=[
            ("released", lazy_gettext("Release")),
            ("on_hold", lazy_gettext("Hold")),
            ("rejected", lazy_gettext("Reject")),
        ],
        validate_choice=False,
    )
    reason = TextAreaField(lazy_gettext("Reason (required to hold or reject)"), render_kw={"rows": "3", "maxlength": "2000"})
    password = PasswordField(lazy_gettext("Your password, to sign"), render_kw={"autocomplete": "current-password"})
    otp = StringField(
        lazy_gettext("Code from your authenticator app"),
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "12"},
    )


class MoveForm(FlaskForm):
    to_location_id = SelectField(lazy_gettext("To location"), validate_choice=False)
    quantity = StringField(lazy_gettext("Quantity"), render_kw={"inputmode": "decimal", "autocomplete": "off"})


class ConsumeForm(FlaskForm):
    quantity = StringField(lazy_gettext("Quantity"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reference = StringField(lazy_gettext("Work order (optional)"), render_kw={"maxlength": "60", "autocomplete": "off"})


class DispositionForm(FlaskForm):
    """The material review board's decision on a nonconformance, signed like a lot
    decision; the choices are set by the view (translated labels)."""

    disposition = SelectField(lazy_gettext("Disposition"), validate_choice=False)
    quantity = StringField(lazy_gettext("Quantity"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = TextAreaField(lazy_gettext("Reason"), render_kw={"rows": "3", "maxlength": "2000"})
    rma_number = StringField(
        lazy_gettext("Supplier's return authorisation (RMA) number"), render_kw={"maxlength": "40", "autocomplete": "off"}
    )
    password = PasswordField(lazy_gettext("Your password, to sign"), render_kw={"autocomplete": "current-password"})
    otp = StringField(
        lazy_gettext("Code from your authenticator app"),
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "12"},
    )
