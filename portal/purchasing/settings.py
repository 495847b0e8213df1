"""The tenant's purchasing rules: days before an unacknowledged order is overdue, and
what issuing an order does when its supplier lacks a required certificate."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField

from erp.purchasing import gate, reminders
from kernel.errors import N_, ValidationFailed
from portal.purchasing.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.i18n import field_errors


class PurchasingSettingsForm(FlaskForm):
    # Text, not IntegerField: the service checks the number and words the message.
    ack_reminder_days = StringField(
        lazy_gettext("Days before an unacknowledged order is overdue"),
        description=lazy_gettext(
            "After this many days without the supplier's acknowledgement, the order is marked overdue and the supplier"
            " is reminded by email, again every as many days. 0 turns both off."
        ),
        render_kw={"inputmode": "numeric", "min": 0, "max": reminders.MAX_DAYS},
    )
    certificate_gate = RadioField(lazy_gettext("When the supplier lacks a valid required certificate"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.certificate_gate.choices = [(key, lazy_gettext(label)) for key, label in gate.GATE_LABELS.items()]


@blueprint.route("/buyer/purchasing-settings", methods=["GET", "POST"])
@permission_required("po.manage", side="buyer")
def purchasing_settings():
    uow = request_uow()
    form = PurchasingSettingsForm(
        data={"ack_reminder_days": reminders.reminder_days(uow), "certificate_gate": gate.certificate_gate(uow)}
    )
    status = 200
    if form.validate_on_submit():
        uow.reason = "Purchasing rules changed"
        try:
            reminders.set_reminder_days(uow, current_user.actor, days=form.ack_reminder_days.data)
            gate.set_certificate_gate(uow, current_user.actor, gate=form.certificate_gate.data)
        except ValidationFailed as error:
            for name, message in field_errors(error).items():
                getattr(form, name).errors = [message]
            status = error.status
        else:
            notify(N_("The purchasing rules are saved."))
            return redirect(url_for("purchasing.purchasing_settings"), code=303)
    return render_template("purchasing/settings.html", form=form), status
