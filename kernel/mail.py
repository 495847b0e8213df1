"""Outbound email: queued through the outbox, rendered in the recipient's language at
delivery, sent over SMTP.

A template name `"auth/invitation"` is package `auth` and the files

    auth/mail/invitation.subject.txt   the subject (one line; whitespace collapsed)
    auth/mail/invitation.txt           the plain-text body
    auth/mail/invitation.html          optional: sent as multipart/alternative

(`"erp/purchasing/po_issued"`: `erp/purchasing/mail/po_issued.txt`, and so on). They are
Jinja templates with the i18n extension (`{{ _("...") }}`, `{% trans %}`, newstyle
gettext as in the portal) over the portal's Babel catalogs; `babel.cfg` extracts them.
Autoescaping is on for `.html` only. Filters: `moment` (date and time) and `day`, in the
mail's locale, e.g. `{{ expires_at|moment(timezone) }}`. Every template also sees
`base_url` (settings.base_url, no trailing slash) for links.

    queue_mail(uow, to=..., template="auth/invitation", locale=user.locale, context={...})

writes an outbox message ("mail.send") in the caller's transaction; nothing leaves
before the commit. The worker's dispatcher runs `mail_handler(settings)`, which renders
and sends; an exception leaves the message for a later retry.
"""

from __future__ import annotations

import functools
import json
import re
import smtplib
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import jinja2
from babel import dates as babel_dates
from babel.support import Translations

from kernel.ids import new_id
from kernel.outbox import emit
from kernel.settings import PROJECT_ROOT, Settings

TOPIC = "mail.send"
DEFAULT_LOCALE = "en"
LOCALES = ("en", "zh_Hans_CN")
# RFC 3282 Content-Language values (BCP 47 tags) for the catalogs' locales.
CONTENT_LANGUAGE = {"en": "en", "zh_Hans_CN": "zh-Hans-CN"}
TRANSLATIONS_DIR = PROJECT_ROOT / "portal" / "translations"
SMTP_TIMEOUT = 10.0

_NAME = re.compile(r"^(?P<package>[A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)/(?P<stem>\w[\w-]*)$")


def normalise_locale(locale: str | None) -> str:
    """'zh', 'zh-CN', 'zh_Hans_CN', 'zh-TW'... -> 'zh_Hans_CN' (the one Chinese catalog);
    anything else, or nothing, -> 'en'."""
    primary = (locale or "").replace("-", "_").split("_")[0].lower()
    return "zh_Hans_CN" if primary == "zh" else DEFAULT_LOCALE


# --- templates ------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None
    locale: str


def project_roots() -> dict[str, Path]:
    """Our top-level packages (directories with an __init__.py) by name."""
    return {p.name: p for p in sorted(PROJECT_ROOT.iterdir()) if (p / "__init__.py").is_file()}


class MailTemplates:
    """Finds and renders mail templates. `roots` maps a top-level package name to its
    directory (default: the project's packages); one Jinja environment per locale,
    built on first use."""

    def __init__(self, roots: Mapping[str, Path] | None = None, *, translations_dir: Path = TRANSLATIONS_DIR) -> None:
        roots = project_roots() if roots is None else roots
        self._loader = jinja2.PrefixLoader(
            {name: jinja2.FileSystemLoader(str(path)) for name, path in roots.items()}, delimiter="/"
        )
        self._translations_dir = translations_dir
        self._environments: dict[str, jinja2.Environment] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _base(name: str) -> str:
        match = _NAME.match(name)
        if match is None:
            raise ValueError(f"mail template name {name!r} is not 'package/name'")
        return f"{match['package']}/mail/{match['stem']}"

    def environment(self, locale: str | None) -> jinja2.Environment:
        locale = normalise_locale(locale)
        with self._lock:
            env = self._environments.get(locale)
            if env is None:
                env = self._environments[locale] = self._build(locale)
            return env

    def _build(self, locale: str) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=self._loader,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        # babel.cfg extracts mail templates with `trimmed`, so the msgids agree.
        env.policies["ext.i18n.trimmed"] = True
        env.install_gettext_translations(Translations.load(str(self._translations_dir), [locale]), newstyle=True)
        env.filters.update(moment=_moment_filter(locale), day=_day_filter(locale))
        return env

    def exists(self, name: str) -> bool:
        """Subject and text body are there (and compile). ValueError for a malformed name."""
        base = self._base(name)
        env = self.environment(DEFAULT_LOCALE)
        try:
            env.get_template(base + ".subject.txt")
            env.get_template(base + ".txt")
        except jinja2.TemplateNotFound:
            return False
        return True

    def render(self, name: str, locale: str | None, context: Mapping[str, Any]) -> RenderedMail:
        locale = normalise_locale(locale)
        base = self._base(name)
        env = self.environment(locale)
        subject = " ".join(env.get_template(base + ".subject.txt").render(context).split())
        text = env.get_template(base + ".txt").render(context)
        try:
            html_template = env.get_template(base + ".html")
        except jinja2.TemplateNotFound:
            html = None
        else:
            html = html_template.render(context)
        return RenderedMail(subject=subject, text=text, html=html, locale=locale)


def _as_datetime(value, timezone: str | None) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a date and time: {value!r}")
    value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return value.astimezone(babel_dates.get_timezone(timezone or "UTC"))


def _moment_filter(locale: str) -> Callable[..., str]:
    def moment(value, timezone: str | None = "UTC", style: str = "medium") -> str:
        """A date and time in the mail's locale and the given time zone (default UTC)."""
        value = _as_datetime(value, timezone)
        return babel_dates.format_datetime(value, style, tzinfo=value.tzinfo, locale=locale)

    return moment


def _day_filter(locale: str) -> Callable[..., str]:
    def day(value, timezone: str | None = "UTC", style: str = "medium") -> str:
        """A date in the mail's locale; a date and time is first put in the time zone."""
        if isinstance(value, str) and len(value) == 10:
            value = date.fromisoformat(value)
        if isinstance(value, datetime) or not isinstance(value, date):
            value = _as_datetime(value, timezone).date()
        return babel_dates.format_date(value, style, locale=locale)

    return day


_default_templates: MailTemplates | None = None
_default_lock = threading.Lock()


@functools.cache
def _catalog(locale: str) -> Translations:
    return Translations.load(str(TRANSLATIONS_DIR), [locale])


def translator(locale: str | None) -> Callable[..., str]:
    """gettext outside a request (printed documents, charts): the message in the
    locale's catalog, formatted with its parameters."""
    catalog = _catalog(normalise_locale(locale))

    def translate(message: str, **params) -> str:
        text = catalog.gettext(message)
        return text % params if params else text

    return translate


def default_templates() -> MailTemplates:
    """The project's templates, shared by the process."""
    global _default_templates
    with _default_lock:
        if _default_templates is None:
            _default_templates = MailTemplates()
        return _default_templates


# --- queueing -------------------------------------------------------------------------


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"mail context value {value!r} ({type(value).__name__}) cannot be stored")


def _check_address(to: str) -> None:
    _, address = parseaddr(to)
    local, _, domain = address.rpartition("@")
    if not local or not domain or "\r" in to or "\n" in to:
        raise ValueError(f"not an email address: {to!r}")


def queue_mail(
    uow,
    *,
    to: str,
    template: str,
    locale: str | None,
    context: Mapping[str, Any],
    templates: MailTemplates | None = None,
) -> None:
    """Queue a mail in the caller's transaction; it is rendered in `locale` and sent after
    the commit. A missing template or a bad address raises ValueError now, in the
    transaction; context values must be JSON (dates, times, UUIDs and Decimals become
    strings; the `moment` and `day` filters read them back)."""
    templates = templates or default_templates()
    if not templates.exists(template):
        raise ValueError(f"no mail template {template!r} (needs {MailTemplates._base(template)}.subject.txt and .txt)")
    _check_address(to)
    payload = {
        "to": to,
        "template": template,
        "locale": normalise_locale(locale),
        "context": json.loads(json.dumps(dict(context), default=_json_default)),
        # Fixed when queued, so a retry after an unclear failure resends the same message.
        "message_id": new_id().hex,
    }
    emit(uow, TOPIC, payload)


# --- sending --------------------------------------------------------------------------


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://host:port`, `smtp://user:pass@host:port?starttls=1`, `smtps://host:port`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL must be smtp:// or smtps://, not {parts.scheme or url!r}")
    if not parts.hostname:
        raise ValueError("SMTP_URL has no host")
    query = parse_qs(parts.query)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"SMTP_URL: unknown option(s) {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes", "on")
    tls = parts.scheme == "smtps"
    if tls and starttls:
        raise ValueError("SMTP_URL: smtps:// is TLS already; starttls is for smtp://")
    port = parts.port or (465 if tls else 587 if starttls else 25)
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        tls=tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class SmtpMailer:
    """One SMTP connection per message, over settings.smtp_url."""

    def __init__(self, settings: Settings, *, timeout: float = SMTP_TIMEOUT) -> None:
        self.target = parse_smtp_url(settings.smtp_url)
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        t = self.target
        context = ssl.create_default_context()
        if t.tls:
            client = smtplib.SMTP_SSL(t.host, t.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(t.host, t.port, timeout=self.timeout)
        with client:
            if t.starttls:
                client.starttls(context=context)
            if t.username:
                client.login(t.username, t.password or "")
            client.send_message(message)


# Bodies go as 7-bit transfer encodings (base64 / quoted-printable when not ASCII), so no
# relay needs 8BITMIME; headers with non-ASCII text are RFC 2047 encoded.
_POLICY = email_policy.SMTP.clone(cte_type="7bit")


def build_message(rendered: RenderedMail, *, to: str, mail_from: str, message_id: str | None = None) -> EmailMessage:
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "traceport.local"
    message = EmailMessage(policy=_POLICY)
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<{message_id}@{domain}>" if message_id else make_msgid(domain=domain)
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    # After the content: set_content and add_alternative move or drop Content-* headers.
    message["Content-Language"] = CONTENT_LANGUAGE.get(rendered.locale, rendered.locale)
    return message


def mail_handler(
    settings: Settings, mailer: Mailer | None = None, *, templates: MailTemplates | None = None
) -> Callable[[Any, dict], None]:
    """The outbox handler for "mail.send": render in the payload's locale and send.
    Exceptions propagate: the dispatcher records them on the message and retries later."""
    mailer = mailer or SmtpMailer(settings)
    base_url = settings.base_url.rstrip("/")

    def send_mail(uow, payload: dict) -> None:
        found = templates or default_templates()
        rendered = found.render(payload["template"], payload.get("locale"), {"base_url": base_url, **payload["context"]})
        mailer.send(build_message(rendered, to=payload["to"], mail_from=settings.mail_from, message_id=payload.get("message_id")))

    return send_mail
