"""The security events screen: failed and locked sign-ins, refusals, second-factor and
role changes, large exports - newest first, a page at a time, filtered by kind. Anyone
holding security.view (tenant administrators by default) reads it; the serious events
also reach them by email (auth.security)."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext
from flask_login import current_user

from auth.security import KINDS, list_security_events
from kernel.errors import N_
from portal.admin.views import blueprint
from portal.shell import permission_required, request_uow
from portal.shell.forms import uuid_or_none

PAGE_SIZE = 50
SEVERITY_LABELS = {
    "info": N_("Information"),
    "warning": N_("Warning"),
    "critical": N_("Critical"),
}


@blueprint.get("/security")
@permission_required("security.view", side="buyer")
def security_events():
    kind = request.args.get("kind") or None
    if kind not in KINDS:
        kind = None  # an unknown kind (an old link, a typo) shows every kind
    before = uuid_or_none(request.args.get("before"))  # a damaged cursor: the first page
    events, next_cursor = list_security_events(request_uow(), current_user.actor, limit=PAGE_SIZE, before=before, kind=kind)
    kinds = sorted(((key, gettext(label)) for key, label in KINDS.items()), key=lambda pair: pair[1].lower())
    return render_template(
        "admin/security.html",
        events=events,
        kind=kind,
        kinds=kinds,
        labels=KINDS,
        severities=SEVERITY_LABELS,
        next_cursor=next_cursor,
        first_page=before is None,
    )
