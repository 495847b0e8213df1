"""Forms for passwords (forgot, reset, change) and for taking up an invitation.

The password rules themselves are the service's (auth.passwords.check_password): the
forms check only presence, size and that the two entries agree.
"""

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

# Above the service's maximum (256), so that the service names the rule.
_MAX_INPUT = 1024


def _new_password(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(message=lazy_gettext("Enter a new password.")),
            Length(max=_MAX_INPUT, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def _confirmation(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(message=lazy_gettext("Enter the new password a second time.")),
            EqualTo("password", message=lazy_gettext("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def _current_password(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(message=lazy_gettext("Enter your password.")),
            Length(max=_MAX_INPUT, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[
            DataRequired(message=lazy_gettext("Enter your email address.")),
            Length(max=254, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )


class ResetPasswordForm(FlaskForm):
    password = _new_password(lazy_gettext("New password"))
    confirm = _confirmation(lazy_gettext("New password again"))


class ChangePasswordForm(FlaskForm):
    current = _current_password(lazy_gettext("Current password"))
    password = _new_password(lazy_gettext("New password"))
    confirm = _confirmation(lazy_gettext("New password again"))


class AcceptInvitationForm(FlaskForm):
    """A new person: their name and a new password."""

    full_name = StringField(
        lazy_gettext("Full name"),
        validators=[
            DataRequired(message=lazy_gettext("Enter your full name.")),
            Length(max=200, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "name"},
    )
    password = _new_password(lazy_gettext("Password"))
    confirm = _confirmation(lazy_gettext("Password again"))


class JoinWithLoginForm(FlaskForm):
    """A person who has a Traceport login already: its password."""

    password = _current_password(lazy_gettext("Your Traceport password"))


class JoinSignedInForm(FlaskForm):
    """A person already signed in with the invited address: a button."""
