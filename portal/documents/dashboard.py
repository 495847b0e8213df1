"""The compliance dashboard (buyer side): the four figures as tiles, the suppliers not
compliant first, a month calendar of certificate expiries, and the CSV export of every
supplier site's obligations."""

from __future__ import annotations

import re
from datetime import date

from babel.dates import format_skeleton, get_day_names
from flask import render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from documents.certificates import STATE_LABELS
from erp.suppliers import dashboard
from erp.tabular import csv_bytes, spreadsheet_text
from kernel.clock import utcnow
from kernel.errors import N_
from portal.documents.views import blueprint
from portal.shell import permission_required, request_uow
from portal.shell.files import csv_response
from portal.shell.i18n import localized
from portal.shell.security_log import record_export

# The calendar shows the chosen month as a grid and the months after it as lists.
CALENDAR_MONTHS = 3
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
BAD_MONTH = N_("The month could not be read (use YYYY-MM, e.g. 2027-03); this month is shown instead.")


@blueprint.get("/buyer/compliance")
@permission_required("suppliers.view", side="buyer")
def compliance():
    uow = request_uow()
    actor = current_user.actor
    today = utcnow().date()
    this_month = today.replace(day=1)
    month, problem = _month(request.args.get("month"), this_month)
    overview = dashboard.compliance_overview(uow, actor, today=today)
    months = dashboard.expiry_calendar(uow, actor, start=month, months=CALENDAR_MONTHS, today=today)
    return render_template(
        "documents/dashboard.html",
        overview=overview,
        today=today,
        grid=months[0],
        later=months[1:],
        window_count=sum(m.count for m in months),
        window_end=dashboard.last_day(months[-1].month),
        month_title=month_title,
        weekdays=_weekdays(),
        previous_month=_param(dashboard.add_months(month, -1)),
        next_month=_param(dashboard.add_months(month, 1)),
        this_month=_param(this_month) if month != this_month else None,
        problem=gettext(BAD_MONTH) if problem else None,
        links={
            "pending": url_for("documents.review_queue", status="pending_review"),
            "expired": url_for("documents.review_queue", state="expired"),
        },
    )


@blueprint.get("/buyer/compliance/export.csv")
@permission_required("suppliers.view", side="buyer")
def export_compliance():
    """One row per supplier site obligation, in the user's language; UTF-8 with a byte
    order mark (so that Excel reads the Chinese names right)."""
    today = utcnow().date()
    rows = dashboard.obligation_rows(request_uow(), current_user.actor, today=today)
    record_export(what="compliance", rows=len(rows))
    header = [
        gettext("Supplier code"),
        gettext("Supplier name"),
        gettext("Site"),
        gettext("Certificate type"),
        gettext("Part number"),
        gettext("Certificate state"),
        gettext("Certificate number"),
        gettext("Expires on"),
        gettext("Days left"),
    ]
    lines = []
    for row in rows:
        view = row.obligation.certificate
        certificate = view.certificate if view is not None else None
        lines.append(
            [
                spreadsheet_text(value)
                for value in (
                    row.supplier.code,
                    localized(row.supplier.name, row.supplier.name_zh),
                    row.site.name if row.site is not None else "",
                    localized(row.obligation.type.name, row.obligation.type.name_zh),
                    row.part_number,
                    gettext(STATE_LABELS[row.obligation.state]),
                    certificate.number if certificate else None,
                    certificate.expires_on.isoformat() if certificate and certificate.expires_on else None,
                    row.days_left,
                )
            ]
        )
    return csv_response(csv_bytes([header, *lines]), f"compliance-{today.isoformat()}.csv")


def month_title(first: date) -> str:
    """ "March 2027", "2027年3月"."""
    return format_skeleton("yMMMM", first, locale=get_locale())


def _weekdays() -> list[tuple[str, str]]:
    """(abbreviated, full) names of the days, Monday first."""
    locale = get_locale()
    short, wide = get_day_names("abbreviated", locale=locale), get_day_names("wide", locale=locale)
    return [(short[n], wide[n]) for n in range(7)]


def _month(value: str | None, default: date) -> tuple[date, bool]:
    """The month of `?month=YYYY-MM`, or the default and whether the value was bad."""
    if not value:
        return default, False
    match = _MONTH.match(value.strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2200 and 1 <= month <= 12:
            return date(year, month, 1), False
    return default, True


def _param(first: date) -> str:
    return f"{first.year:04d}-{first.month:02d}"
