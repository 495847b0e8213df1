import uuid

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

from portal.shell.i18n import LOCALES, error_text, field_errors


class LanguageForm(FlaskForm):
    locale = StringField(validators=[AnyOf(list(LOCALES), message=lazy_gettext("Choose one of the languages offered."))])
    next = HiddenField()


class TenantForm(FlaskForm):
    tenant_id = StringField(validators=[DataRequired(message=lazy_gettext("Choose an organisation."))])
    next = HiddenField()


class PlainForm(FlaskForm):
    """A form that is only a button: the CSRF token is its one field (sign out)."""


def place_errors(form, error) -> list[str]:
    """Put a domain error's field messages (in the page's language) beside the form's
    fields; returns the messages of fields the form does not have."""
    elsewhere = []
    for name, message in field_errors(error).items():
        field = getattr(form, name, None)
        if field is None:
            elsewhere.append(message)
        else:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
    return elsewhere


def show_errors(form, error, *, field: str | None = None) -> str:
    """Put a domain error's field messages beside the form's fields - or, given `field`,
    its whole message beside that one (a conflict such as a duplicate part number);
    returns the message for the top of the page."""
    message = error_text(error)
    if field is None:
        place_errors(form, error)
    elif (target := getattr(form, field, None)) is not None:
        target.errors = [*target.errors, message] if isinstance(target.errors, list) else [message]
    return message


def uuid_or_none(value) -> uuid.UUID | None:
    """An id from a form field or the query string; None when empty or not an id."""
    if not value:
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
