"""The test OpenID Connect provider (tests/oidc) and the scripted login of tests/oidc_support.py."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.oidc_support import OidcProvider, provider_login, start_oidc_provider

REDIRECT_URI = "http://127.0.0.1:5000/sso/callback"
OTHER_REDIRECT_URI = "http://localhost/sso/callback"


@pytest.fixture(scope="module")
def oidc():
    with start_oidc_provider([REDIRECT_URI, OTHER_REDIRECT_URI]) as provider:
        yield provider


@pytest.fixture(scope="module")
def discovery(oidc: OidcProvider) -> dict:
    return oidc.discovery()


def authorization_url(discovery: dict, oidc: OidcProvider, *, redirect_uri: str = REDIRECT_URI) -> tuple[str, dict[str, str]]:
    """A hand-built authorization request, as the app's authlib client would send it."""
    request = {
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_verifier": secrets.token_urlsafe(48),
        "redirect_uri": redirect_uri,
    }
    challenge = base64.urlsafe_b64encode(hashlib.sha256(request["code_verifier"].encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": oidc.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": request["state"],
            "nonce": request["nonce"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{discovery['authorization_endpoint']}?{query}", request


def callback_params(callback_url: str, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
    assert callback_url.split("?")[0] == redirect_uri
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback_url).query))


def token_request(discovery: dict, oidc: OidcProvider, form: dict[str, str], *, basic: bool = True) -> tuple[int, dict]:
    """POST to the token endpoint with client_secret_basic (or client_secret_post); (status, JSON)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if basic:
        credentials = f"{urllib.parse.quote(oidc.client_id)}:{urllib.parse.quote(oidc.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
    else:
        form = {**form, "client_id": oidc.client_id, "client_secret": oidc.client_secret}
    url = discovery["token_endpoint"]
    assert url.startswith(oidc.issuer + "/")
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers)  # noqa: S310 - the issuer's own http URL
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


def jwt_payload(token: str) -> dict:
    """The claims of a JWT, unverified (a smoke test; the app verifies signatures)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def exchange(discovery: dict, oidc: OidcProvider, code: str, request: dict[str, str], *, basic: bool = True) -> dict:
    status, tokens = token_request(
        discovery,
        oidc,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request["redirect_uri"],
            "code_verifier": request["code_verifier"],
        },
        basic=basic,
    )
    assert status == 200, (tokens, oidc.stderr())
    return tokens


def test_discovery_names_the_issuer(oidc, discovery):
    assert oidc.issuer.startswith("http://127.0.0.1:")
    assert discovery["issuer"] == oidc.issuer
    assert discovery["authorization_endpoint"] == oidc.issuer + "/auth"
    assert {"openid", "email", "profile"} <= set(discovery["scopes_supported"])
    assert {"email", "email_verified", "name", "groups"} <= set(discovery["claims_supported"])
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert {"client_secret_basic", "client_secret_post"} <= set(discovery["token_endpoint_auth_methods_supported"])


@pytest.mark.parametrize(
    ("login", "email", "email_verified", "groups"),
    [
        ("alice", "alice@alpha-medtech.test", True, ["traceport-quality"]),
        ("dave", "dave@alpha-medtech.test", False, ["traceport-quality"]),
    ],
)
def test_login_gives_a_code_for_an_id_token_with_the_accounts_claims(oidc, discovery, login, email, email_verified, groups):
    url, request = authorization_url(discovery, oidc)

    callback_url = provider_login(url, login)

    params = callback_params(callback_url)
    assert params["state"] == request["state"]
    assert params["iss"] == oidc.issuer
    assert params["code"]

    tokens = exchange(discovery, oidc, params["code"], request)
    assert tokens["token_type"].lower() == "bearer"
    claims = jwt_payload(tokens["id_token"])
    assert claims["iss"] == oidc.issuer
    assert claims["aud"] == oidc.client_id
    assert claims["nonce"] == request["nonce"]
    assert claims["sub"] == login
    assert claims["email"] == email
    assert claims["email_verified"] is email_verified
    assert claims["groups"] == groups
    assert claims["name"]


def test_client_secret_post_and_the_second_redirect_uri(oidc, discovery):
    url, request = authorization_url(discovery, oidc, redirect_uri=OTHER_REDIRECT_URI)

    params = callback_params(provider_login(url, "carol"), OTHER_REDIRECT_URI)

    assert params["state"] == request["state"]
    claims = jwt_payload(exchange(discovery, oidc, params["code"], request, basic=False)["id_token"])
    assert (claims["sub"], claims["email"], claims["groups"]) == ("carol", "carol@alpha-medtech.test", ["traceport-buyers"])


def test_a_code_needs_its_pkce_verifier_and_is_used_once(oidc, discovery):
    url, request = authorization_url(discovery, oidc)
    code = callback_params(provider_login(url, "bob"))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}

    status, answer = token_request(discovery, oidc, {**form, "code_verifier": secrets.token_urlsafe(48)})
    assert (status, answer["error"]) == (400, "invalid_grant")

    status, answer = token_request(discovery, oidc, {**form, "code_verifier": request["code_verifier"]})
    assert status == 200
    assert jwt_payload(answer["id_token"])["email"] == "bob@evil.test"

    status, answer = token_request(discovery, oidc, {**form, "code_verifier": request["code_verifier"]})
    assert (status, answer["error"]) == (400, "invalid_grant")


def test_an_unknown_login_is_refused(oidc, discovery):
    url, _request = authorization_url(discovery, oidc)

    with pytest.raises(LookupError, match="mallory"):
        provider_login(url, "mallory")


def test_an_unregistered_redirect_uri_is_an_error_page(oidc, discovery):
    url, _request = authorization_url(discovery, oidc, redirect_uri="http://127.0.0.1:5000/elsewhere")

    with pytest.raises(RuntimeError, match="invalid_redirect_uri"):
        provider_login(url, "alice")


def test_a_shared_cookie_jar_keeps_the_session_and_prompt_login_switches_the_account(oidc, discovery):
    jar = CookieJar()
    url, request = authorization_url(discovery, oidc)
    provider_login(url, "alice", cookies=jar)

    # Single sign-on: the session answers at once, whichever login is offered.
    url, request = authorization_url(discovery, oidc)
    code = callback_params(provider_login(url, "carol", cookies=jar))["code"]
    assert jwt_payload(exchange(discovery, oidc, code, request)["id_token"])["sub"] == "alice"

    # prompt=login asks again; another account ends the old session first.
    url, request = authorization_url(discovery, oidc)
    code = callback_params(provider_login(url + "&prompt=login", "carol", cookies=jar))["code"]
    assert jwt_payload(exchange(discovery, oidc, code, request)["id_token"])["sub"] == "carol"
