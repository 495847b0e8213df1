"""A real OpenID Connect provider for the SSO tests, and a scripted user for its login pages.

The provider is panva's oidc-provider (tests/oidc/provider.mjs, pinned in
tests/oidc/package-lock.json; `make oidc` installs it) running under Node.js on 127.0.0.1:

    with start_oidc_provider(["http://localhost/sso/callback"]) as op:
        ...  # the app is configured with op.issuer, op.client_id, op.client_secret
        callback_url = provider_login(authorize_url_the_app_redirected_to, "alice")
        ...  # hand callback_url (?code=...&state=...&iss=...) to the app's callback view

Accounts (login name -> ID token claims; `sub` is the login name):

    alice  alice@alpha-medtech.test  verified      groups ["traceport-quality"]
    bob    bob@evil.test             verified      groups ["traceport-quality"]  (foreign domain)
    carol  carol@alpha-medtech.test  verified      groups ["traceport-buyers"]
    dave   dave@alpha-medtech.test   NOT verified  groups ["traceport-quality"]

Scopes `email` and `profile` release `email`, `email_verified` and `name`, `groups`, in the
ID token as well as at userinfo. Only the standard library is used (no HTTP client dependency).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from typing import IO, Any

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER_SCRIPT = OIDC_DIR / "provider.mjs"
CLIENT_ID = "traceport-test"
CLIENT_SECRET = "traceport-test-secret"
START_TIMEOUT = 20.0
HTTP_TIMEOUT = 10.0


@dataclass
class OidcProvider:
    """A running provider; stop() it (or use it as a context manager)."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    process: subprocess.Popen = field(repr=False)
    _stderr_lines: list[str] = field(default_factory=list, repr=False)

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        """The provider's discovery document (authorization_endpoint, token_endpoint, jwks_uri...)."""
        with _opener().open(self.discovery_url, timeout=HTTP_TIMEOUT) as response:
            return json.load(response)

    def stderr(self) -> str:
        """What the provider wrote to stderr so far: warnings, and errors behind 4xx/5xx answers."""
        return "".join(self._stderr_lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin:
                self.process.stdin.close()  # the provider exits when its stdin closes
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> OidcProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_oidc_provider(
    redirect_uris: list[str],
    *,
    port: int = 0,
    accounts: dict[str, dict[str, Any]] | None = None,
    timeout: float = START_TIMEOUT,
) -> OidcProvider:
    """Start tests/oidc/provider.mjs with one client allowed to redirect to `redirect_uris`.

    With port 0 (the default) the provider binds a free port itself, so there is no race with
    other processes; its issuer is http://127.0.0.1:<port>. `accounts` adds or overrides
    accounts ({login: claims}). Raises RuntimeError, with the provider's stderr and what to do,
    when Node.js or the npm packages are missing or the provider is not ready within `timeout`.
    """
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js (`node`) is not installed: run `make oidc`")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"oidc-provider is not installed in {OIDC_DIR / 'node_modules'}: run `make oidc`")
    if not redirect_uris:
        raise ValueError("the client needs at least one redirect URI")

    env = {
        **os.environ,
        "PORT": str(port),
        "REDIRECT_URIS": ",".join(redirect_uris),
        "EXIT_ON_STDIN_EOF": "1",
    }
    env.pop("DEBUG", None)  # oidc-provider's debug output would flood stderr
    if accounts:
        env["OIDC_ACCOUNTS"] = json.dumps(accounts)
    process = subprocess.Popen(
        [node, str(PROVIDER_SCRIPT)],
        cwd=OIDC_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout_lines: queue.Queue[str | None] = queue.Queue()
    stderr_lines: list[str] = []
    threading.Thread(target=_pump, args=(process.stdout, stdout_lines.put), kwargs={"then_none": True}, daemon=True).start()
    stderr_reader = threading.Thread(target=_pump, args=(process.stderr, stderr_lines.append), daemon=True)
    stderr_reader.start()

    provider = OidcProvider(
        issuer="",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=list(redirect_uris),
        process=process,
        _stderr_lines=stderr_lines,
    )
    try:
        provider.issuer = _wait_ready(process, stdout_lines, timeout)
    except RuntimeError as exc:
        provider.stop()
        stderr_reader.join(timeout=2)
        hint = "Node.js or tests/oidc/node_modules missing or stale? run `make oidc`"
        raise RuntimeError(f"{exc}\n--- provider stderr ---\n{provider.stderr()}\n({hint})") from None
    return provider


def provider_login(
    authorize_url: str,
    login: str,
    *,
    password: str = "any",  # noqa: S107 - the test provider does not check passwords
    cookies: CookieJar | None = None,
) -> str:
    """Play the user at the provider: open `authorize_url`, sign in as `login` and consent.

    Returns the URL the provider finally redirects the browser to - the authorization request's
    redirect_uri with ?code=...&state=...&iss=... (or ?error=...) - without requesting it.
    Pass the same `cookies` jar to several calls to keep the provider's session, like a browser.
    Raises LookupError when the provider does not accept `login` (not an account), RuntimeError
    on an error page or an unexpected answer.
    """
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize_url).query)
    redirect_uri = query.get("redirect_uri", [None])[0]
    if not redirect_uri:
        raise ValueError("the authorization URL has no redirect_uri")
    opener = _opener(cookies if cookies is not None else CookieJar())

    url, data = authorize_url, None
    answered: list[str] = []
    for _ in range(20):
        status, location, body = _fetch(opener, url, data)
        if status in (301, 302, 303, 307, 308):
            target = urllib.parse.urljoin(url, location)
            if _strip_query(target) == _strip_query(redirect_uri):
                return target
            url, data = target, None
            continue
        if status != 200:
            raise RuntimeError(f"provider answered {status} at {url}:\n{_text(body)}")
        form = _find_form(body)
        if form is None:
            raise RuntimeError(f"no form at {url}:\n{_text(body)}")
        action, fields = form
        prompt = fields.get("prompt")
        if prompt == "login":
            if "login" in answered:
                raise LookupError(f"the provider did not accept the login {login!r} (not one of its accounts?)")
            fields.update(login=login, password=password)
        elif prompt is None and "xsrf" in fields:
            prompt = "auto-submit"  # the provider's JavaScript-submitted form: ends the old session on an account switch
        elif prompt != "consent":
            raise RuntimeError(f"unexpected interaction {prompt!r} at {url}:\n{_text(body)}")
        answered.append(prompt)
        url, data = urllib.parse.urljoin(url, action), urllib.parse.urlencode(fields).encode()
    raise RuntimeError(f"too many steps at the provider (last {url})")


def _pump(stream: IO[str], sink: Callable[[str | None], object], *, then_none: bool = False) -> None:
    """Copy a pipe's lines to `sink` (and None at its end) so that the pipe never fills up."""
    for line in stream:
        sink(line)
    if then_none:
        sink(None)


def _wait_ready(process: subprocess.Popen, lines: queue.Queue[str | None], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
            if line is None:
                process.wait(timeout=5)
                raise RuntimeError(f"the OIDC provider exited with status {process.returncode} before it was ready")
            if line.startswith("READY "):
                return line.split(maxsplit=1)[1].strip()
    except queue.Empty:
        raise RuntimeError(f"the OIDC provider was not ready within {timeout:g} s") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # let the 3xx surface as an HTTPError, whose Location we read


def _opener(cookies: CookieJar | None = None) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoRedirect()]
    if cookies is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(cookies))
    return urllib.request.build_opener(*handlers)


def _fetch(opener: urllib.request.OpenerDirector, url: str, data: bytes | None) -> tuple[int, str, str]:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise RuntimeError(f"refusing to open {url}")
    try:
        with opener.open(url, data=data, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.headers.get("Location", ""), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Location", ""), exc.read().decode("utf-8", "replace")


def _strip_query(url: str) -> str:
    return urllib.parse.urlsplit(url)._replace(query="", fragment="").geturl()


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((attributes.get("action", ""), {}))
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1][1][attributes["name"]] = attributes.get("value", "")


def _find_form(html: str) -> tuple[str, dict[str, str]] | None:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms[0] if parser.forms else None


def _text(html: str) -> str:
    """An error page as short plain text, for exception messages."""
    text = unescape(re.sub(r"(?s)<style.*?</style>|<[^>]+>", " ", html))
    return " ".join(text.split())[:2000]
