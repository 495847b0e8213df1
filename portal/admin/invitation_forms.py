"""Invitation forms. The organisation and role choices are not checked against the
offered ones here: the service decides, so that a tampered form (another supplier's
company, a role above the sender's) is refused there - and logged."""

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.shell.i18n import LOCALES


def _email():
    return EmailField(
        lazy_gettext("Email"),
        validators=[
            DataRequired(message=lazy_gettext("Enter the email address.")),
            Length(max=254, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


def _full_name():
    return StringField(
        lazy_gettext("Name (optional)"),
        validators=[Optional(), Length(max=200, message=lazy_gettext("This is too long."))],
        render_kw={"autocomplete": "off"},
    )


def _language():
    return SelectField(
        lazy_gettext("Language of the email"),
        choices=[SelectChoice(code, name) for code, name in LOCALES.items()],
        validate_choice=True,
    )


class InviteForm(FlaskForm):
    email = _email()
    full_name = _full_name()
    organisation_id = SelectField(lazy_gettext("Organisation"), choices=[], validate_choice=False)
    role = SelectField(lazy_gettext("Role"), choices=[], validate_choice=False)
    locale = _language()


class InviteSupplierForm(FlaskForm):
    code = StringField(
        lazy_gettext("Supplier code"),
        validators=[
            DataRequired(message=lazy_gettext("Enter a code for the supplier.")),
            Length(max=40, message=lazy_gettext("This is too long.")),
        ],
        description=lazy_gettext("A short code of your own for this supplier, such as ACME or S-1042."),
        render_kw={"autocapitalize": "characters", "spellcheck": "false", "maxlength": "40"},
    )
    name = StringField(
        lazy_gettext("Company name"),
        validators=[
            DataRequired(message=lazy_gettext("Enter the company's name.")),
            Length(max=200, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "organization"},
    )
    name_zh = StringField(
        lazy_gettext("Company name in Chinese (optional)"),
        validators=[Optional(), Length(max=200, message=lazy_gettext("This is too long."))],
    )
    country = StringField(
        lazy_gettext("Country (optional)"),
        validators=[Optional(), Length(min=2, max=2, message=lazy_gettext("Use the two-letter country code."))],
        description=lazy_gettext("Two letters (ISO 3166), for example CN or DE."),
        render_kw={"autocapitalize": "characters", "maxlength": "2", "autocomplete": "country"},
    )
    email = _email()
    full_name = _full_name()
    locale = _language()
