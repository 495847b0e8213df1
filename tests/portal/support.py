"""Helpers for the web tests: compiled catalogs, CSRF tokens, signing in."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.factories import PASSWORD

TRANSLATIONS = Path(__file__).resolve().parents[2] / "portal" / "translations"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def compile_translations() -> None:
    """What `make translations` does, for a suite run without make (the .mo files are
    build output, not in git). Written by rename, so parallel runs never see half a file."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)


def quiet_logging_after_tests() -> None:
    """Take the app's JSON log handler off the root logger once the tests are done, so
    the embedded server's goodbye messages at interpreter exit stay out of the output
    (after pytest's summary line)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "traceport", False)]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def token_in(html: str | bytes) -> str:
    if isinstance(html, bytes):
        html = html.decode()
    match = _TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf(client, path: str = "/login") -> str:
    return token_in(client.get(path).data)


def login(client, user_or_email, password: str = PASSWORD, *, next_url: str | None = None):
    email = getattr(user_or_email, "email", user_or_email)
    token = csrf(client)
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def signed_in(app, user):
    """A test client of `app` signed in as `user` (the sign-in must succeed)."""
    client = app.test_client()
    assert login(client, user).status_code in (302, 303)
    return client


def text_of(response) -> str:
    return response.get_data(as_text=True)
