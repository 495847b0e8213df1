from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

from portal.shell.i18n import LOCALES


class LanguageForm(FlaskForm):
    locale = StringField(validators=[AnyOf(list(LOCALES), message=lazy_gettext("Choose one of the languages offered."))])
    next = HiddenField()


class TenantForm(FlaskForm):
    tenant_id = StringField(validators=[DataRequired(message=lazy_gettext("Choose an organisation."))])
    next = HiddenField()


class PlainForm(FlaskForm):
    """A form that is only a button: the CSRF token is its one field (sign out)."""
