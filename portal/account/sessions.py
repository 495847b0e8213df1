"""Where the signed-in person is signed in: their open sessions (browser, address,
started, last seen; this one marked), ending one of them, and "sign out everywhere".

Sessions are server-side rows (auth.sessions): ending one takes effect on that
browser's next request, wherever its cookie went.
"""

from __future__ import annotations

import uuid

from flask import redirect, render_template, url_for
from flask_login import current_user

from auth import sessions as user_sessions
from auth.models import UserSession
from auth.security import record_security_event
from kernel.errors import N_
from portal.account.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm
from portal.shell.identity import end_session
from portal.shell.lifecycle import runtime
from portal.shell.security_log import isolation_denied

METHOD_LABELS = {
    "password": N_("Password"),
    "password+totp": N_("Password and second factor"),
    "recovery_code": N_("Password and recovery code"),
    "sso": N_("Single sign-on"),
}


@blueprint.get("/sessions")
@permission_required()
def sessions():
    rows = user_sessions.list_sessions(
        request_uow(), user_id=current_user.id, idle_minutes=runtime().settings.session_idle_minutes
    )
    return render_template(
        "account/sessions.html",
        rows=rows,
        current_id=current_user.session_id,
        methods=METHOD_LABELS,
        form=PlainForm(),
    )


@blueprint.post("/sessions/<uuid:session_id>/revoke")
@permission_required()
def revoke_session(session_id: uuid.UUID):
    form = PlainForm()
    if not form.validate_on_submit():
        return redirect(url_for("account.sessions"), code=303)
    uow = request_uow()
    if session_id == current_user.session_id:
        end_session()  # this browser: an ordinary sign-out
        notify(N_("You have signed out."))
        return redirect(url_for("auth.login"), code=303)
    if not user_sessions.revoke_session(uow, session_id=session_id, user_id=current_user.id, reason="revoked"):
        row = uow.session.get(UserSession, session_id)
        if row is not None and row.user_id != current_user.id:
            # Someone else's session id in the address: refused, and noted.
            isolation_denied(field="session_id", value=str(session_id), where="url")
        notify(N_("That session had already ended."))
        return redirect(url_for("account.sessions"), code=303)
    notify(N_("The session was ended. That browser is signed out from its next step."))
    return redirect(url_for("account.sessions"), code=303)


@blueprint.post("/sessions/revoke-all")
@permission_required()
def revoke_all_sessions():
    form = PlainForm()
    if not form.validate_on_submit():
        return redirect(url_for("account.sessions"), code=303)
    uow = request_uow()
    ended = user_sessions.revoke_all(uow, user_id=current_user.id, reason="signed_out_everywhere")
    record_security_event(
        uow,
        kind="sessions_revoked",
        user_id=current_user.id,
        email=current_user.email,
        detail={"sessions": ended},
        tenant_ids=[m.tenant_id for m in current_user.memberships],
    )
    end_session(revoke=False)  # this browser's row is among those just ended
    notify(N_("You have been signed out everywhere, including here."))
    return redirect(url_for("auth.login"), code=303)
