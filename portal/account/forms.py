from zoneinfo import available_timezones

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from portal.shell.i18n import LOCALES

TIME_ZONES = sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC")


class ProfileForm(FlaskForm):
    full_name = StringField(
        lazy_gettext("Name"),
        validators=[
            DataRequired(message=lazy_gettext("Enter your name.")),
            Length(max=200, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "name"},
    )
    locale = SelectField(
        lazy_gettext("Language"),
        choices=list(LOCALES.items()),
        validators=[AnyOf(list(LOCALES), message=lazy_gettext("Choose one of the languages offered."))],
    )
    timezone = SelectField(
        lazy_gettext("Time zone"),
        choices=[(zone, zone) for zone in TIME_ZONES],
        validators=[AnyOf(TIME_ZONES, message=lazy_gettext("Choose one of the time zones offered."))],
    )


class ConfirmCodeForm(FlaskForm):
    """The first code of a new authenticator, which puts it in force."""

    code = StringField(
        lazy_gettext("Code from the app"),
        validators=[
            DataRequired(message=lazy_gettext("Enter the code.")),
            Length(max=40, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": "7"},
    )


class PasswordCheckForm(FlaskForm):
    """Re-entering the password before a change to the second factor."""

    password = PasswordField(
        lazy_gettext("Your password"),
        validators=[
            DataRequired(message=lazy_gettext("Enter your password.")),
            Length(max=1024, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
