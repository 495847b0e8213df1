from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(
        lazy_gettext("Email"),
        validators=[
            DataRequired(message=lazy_gettext("Enter your email address.")),
            Length(max=254, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[
            DataRequired(message=lazy_gettext("Enter your password.")),
            Length(max=1024, message=lazy_gettext("This is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )


class SecondFactorForm(FlaskForm):
    """The second step of signing in: a six-digit code or a recovery code (the template
    sets the keyboard and autofill hints for the one asked for)."""

    code = StringField(
        lazy_gettext("Code"),
        validators=[
            DataRequired(message=lazy_gettext("Enter the code.")),
            Length(max=40, message=lazy_gettext("This is too long.")),
        ],
    )
