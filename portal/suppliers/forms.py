"""Supplier forms. The service checks every field (erp.suppliers.service) and names what
is wrong; the forms only give the fields, their labels and the choices."""

from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from erp.items.models import CATEGORIES
from erp.suppliers.models import STATUSES
from erp.suppliers.service import MAX_EMAIL, MAX_NAME, MAX_PHONE, MAX_REASON, MAX_ROLE
from portal.items.forms import CATEGORY_LABELS

STATUS_LABELS = {
    "approved": lazy_gettext("Approved"),
    "conditional": lazy_gettext("Conditional"),
    "probation": lazy_gettext("Probation"),
    "disqualified": lazy_gettext("Disqualified"),
}
assert set(STATUS_LABELS) == set(STATUSES)
SITE_KIND_LABELS = {
    "manufacturing": lazy_gettext("Manufacturing"),
    "distribution": lazy_gettext("Distribution"),
    "warehouse": lazy_gettext("Warehouse"),
    "office": lazy_gettext("Office"),
}


class ContactForm(FlaskForm):
    name = StringField(lazy_gettext("Name"), render_kw={"maxlength": str(MAX_NAME), "autocomplete": "off"})
    email = StringField(lazy_gettext("Email"), render_kw={"maxlength": str(MAX_EMAIL), "type": "email", "autocomplete": "off"})
    phone = StringField(lazy_gettext("Phone"), render_kw={"maxlength": str(MAX_PHONE), "type": "tel", "autocomplete": "off"})
    role = StringField(lazy_gettext("Role"), render_kw={"maxlength": str(MAX_ROLE), "autocomplete": "off"})
    is_primary = BooleanField(lazy_gettext("Primary contact"))

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "email": self.email.data,
            "phone": self.phone.data,
            "role": self.role.data,
            "is_primary": bool(self.is_primary.data),
        }


class ApprovalForm(FlaskForm):
    site_id = SelectField(lazy_gettext("Site"), choices=[], validate_choice=False)
    item_id = SelectField(lazy_gettext("Item"), choices=[], validate_choice=False)
    category = SelectField(lazy_gettext("Category of items"), choices=[], validate_choice=False)
    status = SelectField(lazy_gettext("Status"), choices=[], validate_choice=False)
    reason = TextAreaField(lazy_gettext("Reason"), render_kw={"maxlength": str(MAX_REASON), "rows": "3"})

    def __init__(self, *args, sites=(), items=(), **kwargs):
        """`items`: (id, label) pairs."""
        super().__init__(*args, **kwargs)
        # Choices built per request, so their labels are in the page's language.
        self.site_id.choices = [("", lazy_gettext("All sites"))] + [(str(s.id), s.name) for s in sites]
        self.item_id.choices = [("", lazy_gettext("No single item")), *items]
        self.category.choices = [("", lazy_gettext("No category"))] + [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]
        self.status.choices = [("", lazy_gettext("Choose a status"))] + [(s, STATUS_LABELS[s]) for s in STATUSES]
