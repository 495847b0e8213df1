"""Showing electronic signatures wherever a signed record is shown or printed.

Templates include `shell/signatures.html` and call its macro with what
auth.signatures.signatures_for returned:

    {% from "shell/signatures.html" import signature_list %}
    {{ signature_list(signatures) }}

Each signature shows the printed name, the meaning, the date and time in the viewer's
time zone and in the signer's (as they saw it when signing), and a clear mark when the
record changed after it was signed.

Views sign with `sign_record(...)`: auth.signatures.sign as the signed-in member. A
refusal (wrong password or code) must leave its trace although the request fails and
rolls back whatever else it changed: `sign_record` rolls back, records the failed
attempt and its security event again in a fresh transaction, commits that, and raises
the error for the error page.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime
from flask import Flask
from flask_babel import get_locale, gettext
from flask_login import current_user

from auth import signatures
from auth.errors import SignatureRefused
from auth.signatures import MEANINGS
from kernel.crypto import FieldCipher
from portal.shell.lifecycle import request_uow, runtime


def init_app(app: Flask) -> None:
    app.jinja_env.globals["signature_meaning"] = signature_meaning
    app.jinja_env.filters["moment_in"] = moment_in


def signature_meaning(meaning: str) -> str:
    return gettext(MEANINGS[meaning]) if meaning in MEANINGS else meaning


def moment_in(value, zone: str | None) -> str:
    """A date and time in a named time zone, with the zone's name (the signer's)."""
    try:
        tzinfo = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tzinfo, zone = ZoneInfo("UTC"), "UTC"
    text = format_datetime(value, "medium", tzinfo=tzinfo, locale=get_locale() or "en")
    return f"{text} ({zone})"


def signing_kwargs() -> dict:
    """What a service that signs needs besides the credentials: settings and cipher."""
    settings = runtime().settings
    return {"settings": settings, "cipher": FieldCipher.from_settings(settings)}


def keep_refusal(error: SignatureRefused) -> None:
    """After a refused signature: roll back the request's other changes, then record the
    failed attempt and its security event in a fresh transaction and commit that."""
    uow = request_uow()
    uow.rollback()
    signatures.record_refusal(uow, error, settings=runtime().settings)
    uow.commit()


def sign_record(*, record_type: str, record_id, content, meaning: str, password: str, otp: str | None = None, supplier_id=None):
    """Sign a record as the signed-in member (see auth.signatures.sign); on refusal keep
    only the refusal's trace, then raise it."""
    try:
        return signatures.sign(
            request_uow(),
            current_user.actor,
            record_type=record_type,
            record_id=record_id,
            content=content,
            meaning=meaning,
            password=password,
            otp=otp,
            supplier_id=supplier_id,
            **signing_kwargs(),
        )
    except SignatureRefused as error:
        keep_refusal(error)
        raise
