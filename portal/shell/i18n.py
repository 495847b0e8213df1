"""Languages: English and Simplified Chinese.

The language is, in order: the signed-in user's saved choice, the choice made in this
browser's session before signing in, the browser's Accept-Language, the default.
Messages are catalog keys; they are translated where they are shown.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel, format_currency, format_date, format_datetime, format_decimal, get_locale, gettext
from flask_login import current_user

from auth.roles import ROLE_LABELS
from erp.purchasing.service import STATUS_LABELS
from portal.shell.lifecycle import uow_broken

LOCALES = {"en": "English", "zh_Hans_CN": "中文（简体）"}
HTML_LANG = {"en": "en", "zh_Hans_CN": "zh-Hans-CN"}


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals.update(
        LOCALES=LOCALES,
        html_lang=html_lang,
        current_locale=current_locale,
        localized=localized,
        status_label=status_label,
        role_label=role_label,
        role_name=role_name,
    )
    app.jinja_env.filters.update(money=money, day=day, moment=moment, number=format_decimal)


def _identity():
    """The signed-in identity, loaded now if need be - but not after an unexpected error,
    when the database may be what failed."""
    if uow_broken():
        return None
    return current_user if current_user.is_authenticated else None


def select_locale() -> str | None:
    identity = _identity()
    if identity is not None and identity.locale in LOCALES:
        return identity.locale
    if session.get("locale") in LOCALES:
        return session["locale"]
    return browser_locale()


def browser_locale() -> str | None:
    # Any Chinese is served the Simplified catalog (the only one there is); werkzeug
    # orders the header's languages by their q values.
    for language, _quality in request.accept_languages:
        primary = language.split("-")[0].split("_")[0].lower()
        if primary == "zh":
            return "zh_Hans_CN"
        if primary == "en":
            return "en"
    return None


def select_timezone() -> str | None:
    identity = _identity()
    return identity.timezone if identity is not None else None


def current_locale() -> str:
    return str(get_locale() or "en")


def html_lang() -> str:
    return HTML_LANG.get(current_locale(), "en")


def is_chinese() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def localized(name: str | None, name_zh: str | None) -> str:
    """The Chinese name of a tenant, supplier or item when the page is in Chinese."""
    return name_zh if name_zh and is_chinese() else (name or "")


def status_label(status: str) -> str:
    return gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def role_label(role: str | None, name: str | None = None, name_zh: str | None = None) -> str:
    """A role's name by its key: the catalog's for a built-in role, else the tenant's own
    names when given (a tenant's role), else the key."""
    if role in ROLE_LABELS:
        return gettext(ROLE_LABELS[role])
    return localized(name, name_zh) or (role or "")


def role_name(role) -> str:
    """A role's name in the page's language: the catalog's for a built-in role, the
    tenant's own (English or Chinese) for the others."""
    if role.is_builtin and role.key in ROLE_LABELS:
        return gettext(ROLE_LABELS[role.key])
    return localized(role.name, role.name_zh) or role.key


def money(amount, currency: str) -> str:
    return format_currency(amount, currency)


def moment(value) -> str:
    """A date and time, in the locale's medium form and Babel's time zone."""
    return format_datetime(value, "medium")


def day(value) -> str:
    return format_date(value, "medium")


def error_text(error) -> str:
    """A domain error's message in the page's language."""
    return gettext(error.message, **error.params)


def field_errors(error) -> dict[str, str]:
    """The field messages in the page's language; a message with %(name)s placeholders
    takes them from its field's parameters (`params_by_field`, where several fields carry
    different values) or else the error's."""
    params = getattr(error, "params", None) or {}
    by_field = getattr(error, "params_by_field", None) or {}
    texts = {}
    for field, message in getattr(error, "errors", {}).items():
        values = by_field.get(field) or params
        texts[field] = gettext(message, **values) if values and "%(" in message else gettext(message)
    return texts
