"""The signed-in person's own account: profile (name, language, time zone), second
factor (enrol with a QR code, recovery codes, remove), and links to the password and
session pages.

Also the tenant's second-factor rule at work: a member whose tenant requires a second
factor and who has none is sent to the enrolment page from every other page until
they have one (`enforce_second_factor_rule`).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from auth import mfa as mfa_service
from auth import service as auth_service
from auth.errors import AccountLocked, InvalidCode, SecondFactorRequired, WrongCurrentPassword
from kernel.crypto import FieldCipher
from kernel.errors import N_, DomainError, ValidationFailed
from portal.account.forms import ConfirmCodeForm, PasswordCheckForm, ProfileForm
from portal.account.qr import qr_svg
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm
from portal.shell.i18n import current_locale, error_text, field_errors, localized
from portal.shell.lifecycle import keep_changes, record_refusal, runtime
from tenants.security import mfa_required, tenants_requiring_mfa

blueprint = Blueprint("account", __name__, url_prefix="/account", template_folder="templates")

# What a member who must set up a second factor can still reach: the set-up itself,
# signing out, the language, choosing another organisation.
ENROLMENT_ENDPOINTS = frozenset({"account.mfa", "account.mfa_qr", "account.mfa_confirm", "account.mfa_restart"})
OPEN_ENDPOINTS = ENROLMENT_ENDPOINTS | {
    "static",
    "auth.login",
    "auth.login_verify",
    "auth.logout",
    "shell.language",
    "shell.tenants",
    "shell.switch_tenant",
    "health.healthz",
    "health.readyz",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class SecondFactorNeeded(DomainError):
    status = 403
    code = "second-factor-needed"
    message = N_("This organisation requires a second factor. Set one up under Account before you continue.")


@blueprint.before_app_request
def enforce_second_factor_rule():
    """The tenant's rule (tenants.security.mfa_required) for the member signed in."""
    if request.endpoint is None or request.endpoint in OPEN_ENDPOINTS:
        return None
    if request.path.startswith("/api/") and request.authorization is not None:
        return None  # an API client's bearer token: no person, no second factor
    if not current_user.is_authenticated:
        return None
    membership = current_user.membership
    if membership is None or getattr(current_user, "mfa_enabled", True) or not mfa_required(membership.mfa_policy, membership):
        return None
    if request.path.startswith("/api/"):
        raise SecondFactorNeeded()
    notify(
        N_("%(tenant)s requires a second factor for your account. Set it up now to continue."),
        tenant=localized(membership.tenant_name, membership.tenant_name_zh),
    )
    return redirect(url_for("account.mfa"))


# --- profile -------------------------------------------------------------------------------


@blueprint.route("", methods=["GET", "POST"])
@permission_required()
def index():
    uow = request_uow()
    user = auth_service.get_user(uow, user_id=current_user.id)
    form = ProfileForm(
        data={"full_name": user.full_name, "locale": user.locale or current_locale(), "timezone": user.timezone or "UTC"}
        if request.method == "GET"
        else None
    )
    status = 200
    if form.validate_on_submit():
        try:
            auth_service.update_profile(
                uow, user_id=user.id, full_name=form.full_name.data, locale=form.locale.data, timezone=form.timezone.data
            )
        except ValidationFailed as error:
            for name, message in field_errors(error).items():
                getattr(form, name).errors = [message]
            status = error.status
        else:
            notify(N_("Your profile is saved."))
            return redirect(url_for("account.index"), code=303)
    elif request.method == "POST":
        status = 422
    return render_template("account/index.html", form=form, **_security_summary(uow, user)), status


def _security_summary(uow, user) -> dict:
    membership = current_user.membership
    return {
        "user": user,
        "mfa_enabled": user.totp_enabled_at is not None,
        "codes_left": mfa_service.recovery_codes_left(uow, user_id=user.id) if user.totp_enabled_at else 0,
        "mfa_required_here": mfa_required(membership.mfa_policy, membership),
        # Pages other parts of the identity work add; linked when they are there.
        "password_url": _routed("/account/password"),
        "sessions_url": _routed("/account/sessions"),
    }


def _routed(path: str) -> str | None:
    adapter = current_app.url_map.bind("")
    try:
        adapter.match(path, method="GET")
    except HTTPException:  # not found, or not a page to GET
        return None
    return path


# --- second factor -------------------------------------------------------------------------


def _cipher() -> FieldCipher:
    return FieldCipher.from_settings(runtime().settings)


def _me(uow):
    return auth_service.get_user(uow, user_id=current_user.id)


@blueprint.get("/mfa")
@permission_required()
def mfa():
    uow = request_uow()
    user = _me(uow)
    if user.totp_enabled_at is not None:
        return _enabled_page(uow, user)
    return _enrol_page(uow, user, ConfirmCodeForm())


def _enrol_page(uow, user, form, *, error: str | None = None, status: int = 200):
    """The set-up page: the QR code, the key for typing in, the first code. A key
    waiting for confirmation is kept (reloading does not break a scan in progress)."""
    cipher = _cipher()
    secret, _uri = mfa_service.pending_enrolment(user, cipher=cipher) or mfa_service.begin_enrolment(
        uow, user=user, cipher=cipher
    )
    membership = current_user.membership
    return (
        render_template(
            "account/mfa_enrol.html",
            form=form,
            restart_form=PlainForm(),
            secret_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
            account_name=user.email,
            required=mfa_required(membership.mfa_policy, membership),
            error=error,
        ),
        status,
        NO_STORE,
    )


def _enabled_page(uow, user, *, error: str | None = None, status: int = 200, regenerate=None, disable=None):
    requiring = tenants_requiring_mfa(uow, user_id=user.id)
    return (
        render_template(
            "account/mfa_enabled.html",
            user=user,
            codes_left=mfa_service.recovery_codes_left(uow, user_id=user.id),
            requiring=[localized(t.name, t.name_zh) for t in requiring],
            regenerate_form=regenerate or PasswordCheckForm(prefix="regenerate"),
            disable_form=disable or PasswordCheckForm(prefix="disable"),
            error=error,
        ),
        status,
    )


@blueprint.get("/mfa/qr.svg")
@permission_required()
def mfa_qr():
    """The QR code of the key waiting for confirmation (never of one in force)."""
    user = _me(request_uow())
    pending = mfa_service.pending_enrolment(user, cipher=_cipher())
    if pending is None:
        return Response(status=404)
    return Response(qr_svg(pending[1]), mimetype="image/svg+xml", headers=NO_STORE)


@blueprint.post("/mfa")
@permission_required()
def mfa_confirm():
    uow = request_uow()
    user = _me(uow)
    if user.totp_enabled_at is not None:
        return redirect(url_for("account.mfa"), code=303)
    form = ConfirmCodeForm()
    if not form.validate_on_submit():
        return _enrol_page(uow, user, form, status=422)
    try:
        codes = mfa_service.confirm_enrolment(uow, user=user, code=form.code.data, cipher=_cipher())
    except InvalidCode as error:
        page = _enrol_page(uow, user, form, error=error_text(error), status=422)
        # Nothing changes; the mistyped code is noted (it costs no sign-in attempt: the
        # key was only just shown to this session).
        record_refusal(kind="otp_failed", severity="info", user_id=user.id, email=user.email, detail={"reason": "enrolment"})
        return page
    except DomainError:
        return redirect(url_for("account.mfa"), code=303)
    notify(N_("Your second factor is set up. From now on, signing in asks for a code from your app."))
    return _codes_page(codes)


@blueprint.post("/mfa/restart")
@permission_required()
def mfa_restart():
    """A new key in place of one waiting for confirmation (a scan that went wrong)."""
    form = PlainForm()
    uow = request_uow()
    user = _me(uow)
    if form.validate_on_submit() and user.totp_enabled_at is None:
        mfa_service.begin_enrolment(uow, user=user, cipher=_cipher())
    return redirect(url_for("account.mfa"), code=303)


@blueprint.post("/mfa/recovery-codes")
@permission_required()
def mfa_recovery_codes():
    uow = request_uow()
    user = _me(uow)
    if user.totp_enabled_at is None:
        return redirect(url_for("account.mfa"), code=303)
    form = PasswordCheckForm(prefix="regenerate")
    if not form.validate_on_submit():
        return _enabled_page(uow, user, regenerate=form, status=422)
    try:
        codes = mfa_service.regenerate_recovery_codes(uow, user=user, password=form.password.data, settings=runtime().settings)
    except (WrongCurrentPassword, AccountLocked) as error:
        keep_changes()  # the failed attempt counts, as at sign-in
        return _enabled_page(uow, user, regenerate=form, error=error_text(error), status=error.status)
    notify(N_("New recovery codes are ready. The old ones no longer work."))
    return _codes_page(codes)


@blueprint.post("/mfa/disable")
@permission_required()
def mfa_disable():
    uow = request_uow()
    user = _me(uow)
    form = PasswordCheckForm(prefix="disable")
    if user.totp_enabled_at is None:
        return redirect(url_for("account.mfa"), code=303)
    if not form.validate_on_submit():
        return _enabled_page(uow, user, disable=form, status=422)
    try:
        mfa_service.disable_mfa(uow, user=user, password=form.password.data, settings=runtime().settings)
    except SecondFactorRequired as error:
        page = _enabled_page(uow, user, disable=form, error=error_text(error), status=error.status)
        record_refusal(
            kind="mfa_disable_refused", severity="warning", user_id=user.id, email=user.email, detail={"reason": "required"}
        )
        return page
    except (WrongCurrentPassword, AccountLocked) as error:
        keep_changes()
        return _enabled_page(uow, user, disable=form, error=error_text(error), status=error.status)
    notify(N_("Your second factor is removed. Signing in asks only for your password now."))
    return redirect(url_for("account.index"), code=303)


def _codes_page(codes: list[str]):
    """The recovery codes, this once (not stored in the clear anywhere)."""
    return render_template("account/recovery_codes.html", codes=codes), 200, NO_STORE
