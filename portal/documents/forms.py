"""Certificate forms. The services check every field (documents.certificates,
erp.suppliers.compliance) and word what is wrong; these give fields, labels, choices."""

from __future__ import annotations

import uuid
from datetime import date

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FileField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from erp.items.models import CATEGORIES
from erp.suppliers.compliance import SCOPE_LABELS
from portal.items.forms import CATEGORY_LABELS


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD day from a date input; anything else is None (the service says
    what is missing)."""
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def ids(values) -> list[uuid.UUID]:
    found = []
    for value in values or ():
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


class UploadForm(FlaskForm):
    certificate_type_id = SelectField(lazy_gettext("Type of certificate"), choices=[], validate_choice=False)
    number = StringField(lazy_gettext("Certificate number"), render_kw={"maxlength": "100", "autocomplete": "off"})
    issuing_body = StringField(lazy_gettext("Issuing body"), render_kw={"maxlength": "200"})
    scope = TextAreaField(lazy_gettext("Scope as stated on the certificate"), render_kw={"rows": "3", "maxlength": "4000"})
    valid_from = StringField(lazy_gettext("Valid from"), render_kw={"type": "date"})
    expires_on = StringField(lazy_gettext("Expires on"), render_kw={"type": "date"})
    site_ids = CheckboxList(lazy_gettext("Sites covered"), choices=[], validate_choice=False)
    item_ids = SelectMultipleField(lazy_gettext("Items covered"), choices=[], validate_choice=False, render_kw={"size": "6"})
    basic_udi_dis = TextAreaField(lazy_gettext("Basic UDI-DIs covered, one per line"), render_kw={"rows": "2"})
    file = FileField(
        lazy_gettext("File (PDF, PNG or JPEG)"), render_kw={"accept": ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"}
    )

    def __init__(self, *args, types=(), sites=(), items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.certificate_type_id.choices = [("", lazy_gettext("Choose…"))] + [(str(t.id), label) for t, label in types]
        self.site_ids.choices = [(str(s.id), s.name) for s in sites]
        self.item_ids.choices = list(items)


class ReviewForm(FlaskForm):
    decision = RadioField(
        lazy_gettext("Decision"),
        choices=[("approve", lazy_gettext("Approve")), ("reject", lazy_gettext("Reject"))],
        validate_choice=False,
    )
    reason = TextAreaField(
        lazy_gettext("Reason (required to reject; the supplier sees it)"), render_kw={"rows": "3", "maxlength": "2000"}
    )
    password = PasswordField(lazy_gettext("Your password, to sign"), render_kw={"autocomplete": "current-password"})
    otp = StringField(
        lazy_gettext("Code from your authenticator app"),
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "12"},
    )


class TypeForm(FlaskForm):
    code = StringField(lazy_gettext("Type code"), render_kw={"maxlength": "40", "autocomplete": "off"})
    name = StringField(lazy_gettext("Name in English"), render_kw={"maxlength": "200"})
    name_zh = StringField(lazy_gettext("Name in Chinese"), render_kw={"maxlength": "200"})
    expiry_required = BooleanField(lazy_gettext("An expiry date is required"), default=True)
    review_required = BooleanField(lazy_gettext("A quality engineer reviews each upload"), default=True)
    accepted_issuers = TextAreaField(lazy_gettext("Accepted issuing bodies, one per line (empty: any)"), render_kw={"rows": "3"})
    active = BooleanField(lazy_gettext("In use"), default=True)

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "name_zh": self.name_zh.data,
            "expiry_required": bool(self.expiry_required.data),
            "review_required": bool(self.review_required.data),
            "accepted_issuers": (self.accepted_issuers.data or "").splitlines(),
            "active": bool(self.active.data),
        }


class RequirementForm(FlaskForm):
    certificate_type_id = SelectField(lazy_gettext("Type of certificate"), choices=[], validate_choice=False)
    scope = RadioField(lazy_gettext("Needed by"), choices=[], validate_choice=False, default="category")
    category = SelectField(lazy_gettext("Category of items"), choices=[], validate_choice=False)
    site_id = SelectField(lazy_gettext("Supplier site"), choices=[], validate_choice=False)
    item_id = SelectField(lazy_gettext("Item"), choices=[], validate_choice=False)

    def __init__(self, *args, types=(), sites=(), items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.certificate_type_id.choices = [("", lazy_gettext("Choose…"))] + [(str(t.id), label) for t, label in types]
        self.scope.choices = [(key, lazy_gettext(label)) for key, label in SCOPE_LABELS.items()]
        self.category.choices = [("", lazy_gettext("Choose…"))] + [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]
        self.site_id.choices = [("", lazy_gettext("Choose…")), *sites]
        self.item_id.choices = [("", lazy_gettext("Choose…")), *items]
