"""Outbound mail: queued in the transaction, delivered by the worker's dispatcher over
real SMTP (aiosmtpd, the `smtp_server` / `mailbox` fixtures), rendered in the
recipient's language from the portal's catalogs."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from kernel.mail import MailTemplates, normalise_locale, parse_smtp_url, queue_mail
from kernel.models import NIL_TENANT_ID
from kernel.outbox import OutboxMessage
from kernel.runtime import Runtime
from portal.jobs import dispatcher

# Messages known to be in both catalogs, so these test templates add nothing to translate.
SIGN_IN = {"en": "Sign in", "zh_Hans_CN": "登录"}
DUPLICATE = {
    "en": "An item with the part number PN-7 already exists.",
    "zh_Hans_CN": "料号为 PN-7 的物料已存在。",
}

TEMPLATES = {
    "hello.subject.txt": '{{ _("Sign in") }}:\n  {{ name }}\n',
    "hello.txt": (
        "{{ name }},\n\n"
        '{{ _("An item with the part number %(part_number)s already exists.", part_number="PN-7") }}\n'
        "{% if link %}\n"
        "{{ base_url }}/items/{{ link }}\n"
        "{% endif %}\n"
        "{{ when|moment('Asia/Shanghai') }}\n"
    ),
    "rich.subject.txt": "{{ name }}\n",
    "rich.txt": "{{ name }}\n",
    "rich.html": '<p>{{ name }}</p><p>{{ _("Sign in") }}</p>\n',
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> MailTemplates:
    """Test templates in their own package root: `mailtest/hello`, `mailtest/rich`."""
    root = tmp_path_factory.mktemp("mailtest")
    (root / "mail").mkdir()
    for name, text in TEMPLATES.items():
        (root / "mail" / name).write_text(text, encoding="utf-8")
    return MailTemplates({"mailtest": root})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def address() -> str:
    return f"buyer-{uuid.uuid4().hex[:12]}@example.test"


def received_by(mailbox, to: str):
    return [m for m in mailbox if m["To"] == to]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def mail_rows(uow, to: str) -> list[OutboxMessage]:
    return list(
        uow.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.topic == "mail.send", OutboxMessage.payload["to"].astext == to)
        )
    )


def deliver(runtime, settings, templates, tenant_id) -> None:
    """What the worker's deliver_outbox job does, with the worker's own dispatcher."""
    with runtime.uow(tenant_id=tenant_id) as uow:
        dispatcher(settings, mail_templates=templates).deliver_pending(uow)
        uow.commit()


CONTEXT = {"name": "Li Wei", "link": "PN-7", "when": datetime(2026, 3, 1, 8, 30, tzinfo=UTC)}


# --- rendering ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, "en"), ("en", "en"), ("en-GB", "en"), ("fr", "en"), ("zh", "zh_Hans_CN"), ("zh-CN", "zh_Hans_CN"),
     ("zh_Hans_CN", "zh_Hans_CN")],
)  # fmt: skip
def test_locales_are_normalised_to_the_catalogs(given, expected):
    assert normalise_locale(given) == expected


@pytest.mark.parametrize("locale", ["en", "zh_Hans_CN"])
def test_renders_in_the_recipients_language(templates, locale):
    mail = templates.render(
        "mailtest/hello", locale, {**CONTEXT, "base_url": "https://tp.example", "when": "2026-03-01T08:30:00+00:00"}
    )
    assert mail.locale == locale
    assert mail.subject == f"{SIGN_IN[locale]}: Li Wei"  # one line, whitespace collapsed
    assert DUPLICATE[locale] in mail.text
    assert "https://tp.example/items/PN-7\n" in mail.text
    assert "16:30" in mail.text or "4:30" in mail.text  # 08:30 UTC is 16:30 in Shanghai
    assert mail.html is None


def test_html_alternative_is_escaped_and_the_text_is_not(templates):
    mail = templates.render("mailtest/rich", "zh-CN", {"name": "<b>A & B</b>"})
    assert mail.text == "<b>A & B</b>\n"
    assert mail.html == "<p>&lt;b&gt;A &amp; B&lt;/b&gt;</p><p>登录</p>\n"


def test_smtp_urls():
    plain = parse_smtp_url("smtp://127.0.0.1:8025")
    assert (plain.host, plain.port, plain.tls, plain.starttls, plain.username) == ("127.0.0.1", 8025, False, False, None)
    submission = parse_smtp_url("smtp://me%40corp:p%2Fw@mail.example:587?starttls=1")
    assert (submission.starttls, submission.username, submission.password, submission.tls) == (True, "me@corp", "p/w", False)
    tls = parse_smtp_url("smtps://mail.example")
    assert (tls.tls, tls.port) == (True, 465)
    for bad in ("http://mail.example", "smtp://", "smtps://mail.example?starttls=1", "smtp://mail.example?tls=1"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)


# --- queueing and delivery ----------------------------------------------------------------


def test_a_missing_template_or_address_fails_at_queue_time(tx, world, templates):
    to = address()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        for template in ("mailtest/helo", "nosuchpackage/hello", "hello", "mailtest/../hello"):
            with pytest.raises(ValueError):
                queue_mail(uow, to=to, template=template, locale="en", context={}, templates=templates)
        with pytest.raises(ValueError):
            queue_mail(uow, to="not an address", template="mailtest/hello", locale="en", context={}, templates=templates)
        with pytest.raises(ValueError):
            queue_mail(
                uow, to=f"{to}\r\nBcc: x@example.test", template="mailtest/hello", locale="en", context={}, templates=templates
            )
        assert mail_rows(uow, to) == []


def test_a_project_template_name_is_looked_up_in_its_package(world, tx):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        with pytest.raises(ValueError, match="auth/mail/no_such_mail"):
            queue_mail(uow, to=address(), template="auth/no_such_mail", locale="en", context={})


def test_a_rolled_back_mail_is_never_sent(tx, world, settings, templates, mailbox):
    to = address()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        queue_mail(uow, to=to, template="mailtest/hello", locale="en", context=CONTEXT, templates=templates)
        assert len(mail_rows(uow, to)) == 1
        # leaving without commit rolls back
    deliver(tx, settings, templates, world.tenant_id)
    assert received_by(mailbox, to) == []
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert mail_rows(uow, to) == []


def test_a_committed_mail_leaves_through_the_outbox_in_the_recipients_language(tx, world, settings, templates, mailbox):
    to = address()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        queue_mail(uow, to=to, template="mailtest/hello", locale="zh-CN", context=CONTEXT, templates=templates)
        uow.commit()
    assert received_by(mailbox, to) == []  # committed, not yet delivered
    deliver(tx, settings, templates, world.tenant_id)
    [message] = received_by(mailbox, to)
    assert message["Subject"] == "登录: Li Wei"
    assert message["From"] == settings.mail_from
    assert message["Content-Language"] == "zh-Hans-CN"
    assert message["Message-ID"].endswith("@traceport.local>") and message["Date"]
    assert message.get_content_type() == "text/plain"
    body = text_of(message)
    assert body.startswith("Li Wei,\n\n" + DUPLICATE["zh_Hans_CN"])
    assert f"{settings.base_url.rstrip('/')}/items/PN-7\n" in body
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [row] = mail_rows(uow, to)
        assert (row.attempts, row.delivered_at is not None, row.last_error) == (1, True, None)
        assert row.payload["context"]["when"] == "2026-03-01T08:30:00+00:00"
    deliver(tx, settings, templates, world.tenant_id)
    assert len(received_by(mailbox, to)) == 1  # delivered once


def test_html_mail_is_multipart_alternative(tx, world, settings, templates, mailbox):
    to = address()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        queue_mail(uow, to=to, template="mailtest/rich", locale="en", context={"name": "A & B"}, templates=templates)
        uow.commit()
    deliver(tx, settings, templates, world.tenant_id)
    [message] = received_by(mailbox, to)
    assert message.get_content_type() == "multipart/alternative"
    assert text_of(message) == "A & B\n"
    assert "<p>A &amp; B</p><p>Sign in</p>" in message.get_body(("html",)).get_content()
    assert message["Content-Language"] == "en"


def test_an_unreachable_smtp_server_keeps_the_mail_for_a_retry(tx, world, settings, templates, mailbox):
    to = address()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        queue_mail(uow, to=to, template="mailtest/hello", locale="en", context=CONTEXT, templates=templates)
        uow.commit()
    down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})  # nothing listens there
    deliver(tx, down, templates, world.tenant_id)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [row] = mail_rows(uow, to)
        assert (row.attempts, row.delivered_at) == (1, None)
        assert "Connection" in row.last_error
    assert received_by(mailbox, to) == []
    deliver(tx, settings, templates, world.tenant_id)  # the server is back
    [message] = received_by(mailbox, to)
    assert message["Subject"] == "Sign in: Li Wei"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [row] = mail_rows(uow, to)
        assert (row.attempts, row.delivered_at is not None) == (2, True)


def test_smtp_login(tx, world, settings, templates):
    """`smtp://user:pass@host:port` logs in (aiosmtpd with AUTH; plain text on loopback only)."""
    logins: list[tuple[bytes, bytes]] = []
    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(session.authenticated)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret/pw")

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        to = address()
        with tx.uow(tenant_id=world.tenant_id) as uow:
            queue_mail(uow, to=to, template="mailtest/hello", locale="en", context=CONTEXT, templates=templates)
            uow.commit()
        authed = settings.model_copy(update={"smtp_url": f"smtp://relay%40corp:s3cret%2Fpw@127.0.0.1:{port}"})
        deliver(tx, authed, templates, world.tenant_id)
    finally:
        controller.stop()
    assert logins == [(b"relay@corp", b"s3cret/pw")]
    assert received == [True]


def test_platform_mail_without_a_tenant_goes_to_the_nil_tenant(tx, world, settings, templates, mailbox):
    """A password reset has no tenant in context: the message belongs to the nil tenant,
    whose delivery is woken after the commit and runs with the nil id as context."""
    woken: list = []
    rt = Runtime(**{**tx.__dict__, "on_outbox": woken.append})
    to = address()
    with rt.uow() as uow:
        queue_mail(uow, to=to, template="mailtest/hello", locale="en", context=CONTEXT, templates=templates)
        assert woken == []
        uow.commit()
    assert woken == [NIL_TENANT_ID]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert mail_rows(uow, to) == []  # not any tenant's
    deliver(tx, settings, templates, world.tenant_id)
    assert received_by(mailbox, to) == []
    deliver(tx, settings, templates, NIL_TENANT_ID)
    [message] = received_by(mailbox, to)
    assert message["Subject"] == "Sign in: Li Wei"
    with tx.uow(tenant_id=NIL_TENANT_ID) as uow:
        [row] = mail_rows(uow, to)
        assert row.tenant_id == NIL_TENANT_ID and row.delivered_at is not None
