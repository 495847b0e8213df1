"""Administration forms: roles and members. The services validate again (and decide);
the forms give the fields and their first messages."""

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from auth.roles import KEY_PATTERN, NAME_MAX


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes. The service refuses what is not offered (an unknown
    permission, one of the other side), with its own message."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(*args, **kwargs)


def _name_validators():
    return [
        DataRequired(message=lazy_gettext("Enter a name.")),
        Length(max=NAME_MAX, message=lazy_gettext("This is too long.")),
    ]


class RoleForm(FlaskForm):
    """Edit a role: its names (not a built-in role's) and permissions."""

    name = StringField(lazy_gettext("Name in English"), validators=_name_validators())
    name_zh = StringField(lazy_gettext("Name in Chinese"), validators=_name_validators())
    permissions = CheckboxesField(lazy_gettext("Permissions"), choices=[])


class NewRoleForm(RoleForm):
    key = StringField(
        lazy_gettext("Key"),
        validators=[
            DataRequired(message=lazy_gettext("Enter a key.")),
            Regexp(
                KEY_PATTERN.pattern + "$",
                message=lazy_gettext("Use 2 to 40 lower-case letters, digits or _, starting with a letter."),
            ),
        ],
        description=lazy_gettext("A short fixed name used in exports and the API, such as incoming_inspector."),
        render_kw={"autocapitalize": "none", "spellcheck": "false", "maxlength": "40"},
    )


class BuiltinRoleForm(FlaskForm):
    """A built-in role keeps its names; only its permissions change."""

    permissions = CheckboxesField(lazy_gettext("Permissions"), choices=[])


class MemberRoleForm(FlaskForm):
    role = SelectField(lazy_gettext("Role"), choices=[], validate_choice=False)
