"""The tenant's purchasing rules: days before an unacknowledged order is overdue, what
issuing an order does when its supplier lacks a required certificate, and what ship
notices may carry (over-delivery tolerance, shelf life left on arrival)."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField

from erp.fields import plain
from erp.purchasing import gate, reminders
from erp.shipping import settings as shipping
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
    over_delivery_pct = StringField(
        lazy_gettext("Over-delivery allowed on a ship notice (%)"),
        description=lazy_gettext("How far above the open quantity of an order line a supplier may ship; 0 allows none."),
        render_kw={"inputmode": "decimal"},
    )
    min_shelf_life_days = StringField(
        lazy_gettext("Shelf life left on arrival (days)"),
        description=lazy_gettext(
            "A lot that expires sooner after the expected arrival is a warning the supplier must acknowledge before"
            " submitting. 0 turns the warning off."
        ),
        render_kw={"inputmode": "numeric"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.certificate_gate.choices = [(key, lazy_gettext(label)) for key, label in gate.GATE_LABELS.items()]


@blueprint.route("/buyer/purchasing-settings", methods=["GET", "POST"])
@permission_required("po.manage", side="buyer")
def purchasing_settings():
    uow = request_uow()
    rules = shipping.rules(uow)
    form = PurchasingSettingsForm(
        data={
            "ack_reminder_days": reminders.reminder_days(uow),
            "certificate_gate": gate.certificate_gate(uow),
            "over_delivery_pct": plain(rules.over_delivery_pct),
            "min_shelf_life_days": rules.min_shelf_life_days,
        }
    )
    status = 200
    if form.validate_on_submit():
        uow.reason = "Purchasing rules changed"
        try:
            reminders.set_reminder_days(uow, current_user.actor, days=form.ack_reminder_days.data)
            gate.set_certificate_gate(uow, current_user.actor, gate=form.certificate_gate.data)
            shipping.save_rules(
                uow, current_user.actor,
                over_delivery_pct=form.over_delivery_pct.data, min_shelf_life_days=form.min_shelf_life_days.data,
            )
        except ValidationFailed as error:
            for name, message in field_errors(error).items():
                getattr(form, name).errors = [message]
            status = error.status
        else:
            notify(N_("The purchasing rules are saved."))
            return redirect(url_for("purchasing.purchasing_settings"), code=303)
    return render_template("purchasing/settings.html", form=form), status
