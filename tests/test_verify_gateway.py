"""The gateway verifier, against small loopback servers that answer like a protected Kong route, a broken one, or none."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from components.public_key import PublicKey
from testkit.mock_runtime import PROJECT, ROOT, cli_config, run
from tests.keys import ec_key, private_pem, rsa_key, spki_pem
from tests.kong_jwt_model import HttpRequest, KongJwtPlugin
from tools import local_stack, token_scenarios, verify_gateway

ISSUER = "https://app-abc123.frontegg.com"
NO_ROUTE_BODY = {"message": "no Route matched with those values"}
Handler = Callable[[Request], Response]


KONG_OWN = {"Server": "kong/3.9.3", "X-Kong-Response-Latency": "0"}
"""Headers Kong adds to an answer it gives itself, with its default `headers` setting (kong/runloop/handler.lua:1579-1594)."""
KONG_PROXIED = {"Via": "1.1 kong/3.9.3", "X-Kong-Upstream-Latency": "3", "X-Kong-Proxy-Latency": "1"}
"""Headers Kong adds to an answer it proxied, with its default `headers` setting (kong/runloop/handler.lua:1542-1577)."""
INVALID = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
"""The jwt plugin's challenge on every refusal but the no-token one (kong/plugins/jwt/handler.lua:161)."""


def kong_answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json; charset=utf-8")


def jwt_refusal(body: dict[str, Any], *, realm: str | None = None, headers: dict[str, str] | None = KONG_OWN) -> Response:
    """Kong's jwt plugin refusing: 401, its challenge (bare only when it found no token) and its body (handler.lua:149-170, 301)."""
    challenge = f'Bearer realm="{realm}"' if realm is not None else "Bearer"
    if body != {"message": "Unauthorized"}:
        challenge += ' error="invalid_token"'
    return kong_answer(401, body, {**(headers or {}), "WWW-Authenticate": challenge})


def upstream_answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = KONG_PROXIED) -> Response:
    """The API's answer, passed on by Kong with its proxy headers."""
    return kong_answer(status, body, headers)


def protected_route(
    public_key: rsa.RSAPublicKey,
    issuer: str = ISSUER,
    *,
    realm: str | None = None,
    own: dict[str, str] | None = KONG_OWN,
    proxied: dict[str, str] | None = KONG_PROXIED,
) -> Handler:
    """Answers like Kong's jwt plugin with the project's default config (header only, exp verified), with Kong's `headers`
    on its own answers (`own`) and on the ones it proxies (`proxied`); None: `headers = off`."""
    kong: dict[str, Any] = {"realm": realm, "headers": own}

    def handle(request: Request) -> Response:
        match = re.match(r"\s*[Bb]earer\s+(.+)", request.headers.get("Authorization", ""))
        if not match:
            return jwt_refusal({"message": "Unauthorized"}, **kong)
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return jwt_refusal({"message": "Bad token; invalid JSON"}, **kong)
        if "iss" not in claims:
            return jwt_refusal({"message": "No mandatory 'iss' in claims"}, **kong)
        if claims["iss"] != issuer:
            return jwt_refusal({"message": "No credentials found for given 'iss'"}, **kong)
        if header.get("alg") != "RS256":
            return jwt_refusal({"message": "Invalid algorithm"}, **kong)
        try:
            jwt.decode(token, public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False, "verify_iat": False})
        except jwt.PyJWTError:
            return jwt_refusal({"message": "Invalid signature"}, **kong)
        if not isinstance(claims.get("exp"), (int, float)):
            return jwt_refusal({"exp": "must be a number"}, **kong)
        if claims["exp"] <= time.time():
            return jwt_refusal({"exp": "token expired"}, **kong)
        return upstream_answer(200, {"url": request.url}, proxied)

    return handle


def trusted_route() -> Handler:
    return protected_route(rsa_key("trusted").public_key())


def modelled_route(plugin: KongJwtPlugin) -> Handler:
    """Answers as the model of Kong judges the request, at the server's own clock, with the latency header Kong adds."""

    def handle(request: Request) -> Response:
        seen = HttpRequest(method=request.method, headers=tuple(request.headers.items()), query=tuple(request.args.items(multi=True)))
        verdict = plugin.access(seen, now=int(time.time()))
        headers = dict(verdict.response_headers)
        if verdict.answered_by == "upstream":  # kong/runloop/handler.lua:1542-1544
            headers["X-Kong-Upstream-Latency"] = "1"
        return kong_answer(verdict.status, verdict.body or {"headers": verdict.upstream_headers}, headers)

    return handle


def local_gateway(key: rsa.RSAPrivateKey, jwt_overrides: dict[str, Any] | None = None) -> KongJwtPlugin:
    """The plugin and credential the program declares for the local stack `tools.local_stack` writes."""
    settings: dict[str, Any] = local_stack.stack_settings(PublicKey.from_rsa(key.public_key()).pem)
    if jwt_overrides:
        settings[f"{PROJECT}:jwt"] = jwt_overrides
    declared = run(cli_config(stack="no-such-stack", overrides=settings))
    assert declared.error is None, declared.error
    return KongJwtPlugin.from_run(declared)


def open_route(request: Request) -> Response:
    """A route without the plugin: everything reaches the upstream."""
    return kong_answer(200, {"url": request.url})


def refuse_everything(request: Request) -> Response:
    """Kong's jwt plugin with no credential for the issuer: it never lets anything through, valid token or not."""
    if re.match(r"\s*[Bb]earer\s+(.+)", request.headers.get("Authorization", "")):
        return jwt_refusal({"message": "No credentials found for given 'iss'"})
    return jwt_refusal({"message": "Unauthorized"})


def plain_401(request: Request) -> Response:
    """No Kong at all: a server answering 401 Unauthorized to everything, as Kong's jwt plugin does to a request without a
    token, but with none of its headers."""
    return kong_answer(401, {"message": "Unauthorized"})


def unchecked_signature_route(request: Request) -> Response:
    """A broken gateway that refuses requests without a token but never checks signatures."""
    if "Authorization" not in request.headers:
        return jwt_refusal({"message": "Unauthorized"})
    token = request.headers["Authorization"].partition(" ")[2]
    try:
        jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return jwt_refusal({"message": "Bad token; invalid JSON"})
    return upstream_answer(200, {})


def serve(httpserver: HTTPServer, handler: Handler, path: str = "/test") -> str:
    httpserver.expect_request(re.compile("^" + re.escape(path))).respond_with_handler(handler)
    httpserver.expect_request(re.compile(".*")).respond_with_json(NO_ROUTE_BODY, status=404)
    return httpserver.url_for("/").rstrip("/")


def verify(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = verify_gateway.main(list(argv), out=out)
    return code, out.getvalue()


def verify_with_stderr(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = verify_gateway.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def verify_within(limit: float, *argv: str) -> tuple[int, str, float]:
    """Run the verifier on a thread, so a run that ignores its deadline fails this test instead of hanging the suite."""
    outcome: list[tuple[int, str]] = []
    started = time.monotonic()
    runner = threading.Thread(target=lambda: outcome.append(verify(*argv)), daemon=True)
    runner.start()
    runner.join(limit)
    elapsed = time.monotonic() - started
    assert not runner.is_alive(), f"the verifier was still running after {limit} s"
    return *outcome[0], elapsed


def token(claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
    return jwt.encode(claims, key or rsa_key("trusted"), algorithm="RS256")


def valid_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "user-1", "iat": now, "exp": now + 300, **changes}


def row(out: str, name: str) -> str:
    """The report line of one request."""
    lines = [line for line in out.splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1, f"no single row {name!r} in:\n{out}"
    return lines[0]


def key_file(tmp_path: Path, key: rsa.RSAPrivateKey | None = None) -> str:
    path = tmp_path / "key.pem"
    path.write_text(private_pem(key or rsa_key("trusted")))
    return str(path)


# ---- a protected gateway ----


def test_a_protected_route_refuses_every_request_without_a_valid_token(httpserver: HTTPServer) -> None:
    url = serve(httpserver, trusted_route())
    code, out = verify("--proxy-url", url, "--path", "/test", "--issuer", ISSUER)
    assert code == 0, out
    for name in ("no token", "OPTIONS, no token", "junk token in Authorization", "junk token in ?jwt=", "junk token in cookies"):
        assert row(out, name).endswith(" ok"), out
    assert row(out, f"token signed by an untrusted key (iss {ISSUER})").endswith(" ok")
    assert "UNPROTECTED" not in out


def test_refusals_alone_are_not_called_protected(httpserver: HTTPServer) -> None:
    url = serve(httpserver, trusted_route())
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 0, out
    assert "Protected" not in out
    assert "Refusals verified, acceptance NOT checked" in out
    assert "acceptance of a valid token (give --token, or --private-key with --issuer)" in out
    assert "the scenario table (expired, wrong algorithm" in out and "give --private-key and --issuer" in out
    assert "forged signature (give --issuer, or a --token that carries iss)" in out


def test_a_protected_route_that_lets_a_real_token_through_is_protected(httpserver: HTTPServer) -> None:
    url = serve(httpserver, trusted_route())
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 0, out
    protected = (
        "Protected: all 7 requests got the expected answer (6 refused, 6 with the jwt plugin's own challenge and message; 1 let through)."
    )
    assert protected in out.splitlines(), out
    assert re.search(r"let through +200 .* ok$", row(out, "the given token (--token)"))
    assert "acceptance of a valid token" not in out
    assert "the scenario table" in out  # still not replayed: that needs the private key


def test_without_a_key_or_token_every_tokenless_probe_is_sent(httpserver: HTTPServer) -> None:
    url = serve(httpserver, refuse_everything)
    verify("--proxy-url", url, "--path", "/test")
    sent = [request for request, _ in httpserver.log]
    assert any(r.method == "OPTIONS" and "Authorization" not in r.headers and not r.cookies and not r.args for r in sent)
    assert any(r.method == "GET" and not r.headers.get("Authorization") and not r.cookies and not r.args for r in sent)
    shaped = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
    in_header = [r.headers["Authorization"].removeprefix("Bearer ") for r in sent if "Authorization" in r.headers]
    in_query = [r.args["jwt"] for r in sent if "jwt" in r.args]
    in_cookie = [r.cookies["jwt"] for r in sent if "jwt" in r.cookies]
    for junk in (*in_header, *in_query, *in_cookie):
        assert shaped.match(junk), junk
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(junk, rsa_key("trusted").public_key(), algorithms=["RS256"], options={"verify_exp": False})
    assert in_header and in_query and in_cookie
    assert all(not r.headers.get("Proxy-Authorization") for r in sent)


def test_the_proxy_from_the_environment_is_ignored(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    url = serve(httpserver, trusted_route())
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there: going through it would fail every probe
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert verify("--proxy-url", url, "--path", "/test")[0] == 0


# ---- gateways that let through what they must refuse ----


def test_a_route_without_the_plugin_is_reported_unprotected(httpserver: HTTPServer) -> None:
    url = serve(httpserver, open_route)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1
    assert re.search(r"no token .*200.*UNPROTECTED$", row(out, "no token")), out
    assert "UNPROTECTED: 5 requests that must be refused got through:" in out


def test_a_gateway_open_to_options_is_unprotected_even_without_a_key(httpserver: HTTPServer) -> None:
    url = serve(httpserver, modelled_route(local_gateway(rsa_key("trusted"), {"runOnPreflight": False})))
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1, out
    assert row(out, "OPTIONS, no token").endswith("UNPROTECTED")
    assert row(out, "no token").endswith(" ok")
    assert "UNPROTECTED: 1 request that must be refused got through:" in out
    assert "run_on_preflight is false" in out


def test_a_route_that_does_not_match_options_is_not_a_failure(httpserver: HTTPServer) -> None:
    protected = trusted_route()

    def get_only(request: Request) -> Response:  # a route with routeMethods ["GET"]
        return kong_answer(404, NO_ROUTE_BODY) if request.method == "OPTIONS" else protected(request)

    url = serve(httpserver, get_only)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 0, out
    assert re.search(r"404 .*no Route matched.* ok$", row(out, "OPTIONS, no token"))


def test_a_gateway_that_lets_any_token_in_the_query_through_is_unprotected_without_a_key(httpserver: HTTPServer) -> None:
    protected = trusted_route()

    def query_tokens_pass(request: Request) -> Response:
        if re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]*", request.args.get("jwt", "")):
            return kong_answer(200, {})
        return protected(request)

    url = serve(httpserver, query_tokens_pass)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1, out
    assert row(out, "junk token in ?jwt=").endswith("UNPROTECTED")
    assert "UNPROTECTED:" in out


def test_kong_reading_query_tokens_fails_without_a_key_and_is_unprotected_with_one(httpserver: HTTPServer, tmp_path: Path) -> None:
    # Kong's own default uri_param_names ["jwt"]: the junk token is read and refused for its signature, a real one passes.
    url = serve(httpserver, modelled_route(local_gateway(rsa_key("trusted"), {"uriParamNames": ["jwt"]})))
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1, out
    assert row(out, "junk token in ?jwt=").endswith("FAIL")
    assert "UNPROTECTED" not in out
    assert "set jwt.uriParamNames to []" in out

    code, out = verify("--proxy-url", url, "--path", "/test", "--private-key", key_file(tmp_path), "--issuer", local_stack.ISSUER)
    assert code == 1, out
    assert re.search(r"^token-in-query .*200.*UNPROTECTED$", out, re.MULTILINE), out


def test_kong_reading_cookies_is_caught(httpserver: HTTPServer) -> None:
    url = serve(httpserver, modelled_route(local_gateway(rsa_key("trusted"), {"cookieNames": ["jwt"]})))
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1, out
    assert row(out, "junk token in cookies").endswith("FAIL")
    assert "jwt.cookieNames is not []" in out


def test_a_gateway_that_skips_the_signature_check_is_caught(httpserver: HTTPServer) -> None:
    url = serve(httpserver, unchecked_signature_route)
    code, out = verify("--proxy-url", url, "--path", "/test", "--issuer", ISSUER)
    assert code == 1
    assert row(out, f"token signed by an untrusted key (iss {ISSUER})").endswith("UNPROTECTED")
    assert row(out, "junk token in Authorization").endswith("UNPROTECTED")
    assert row(out, "no token").endswith(" ok")


def test_the_forged_token_is_aimed_at_the_real_tokens_issuer(httpserver: HTTPServer) -> None:
    url = serve(httpserver, unchecked_signature_route)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1
    assert f"untrusted key (iss {ISSUER})" in out
    assert "forged signature" not in out  # the issuer is known, so that check was made


def test_a_refusal_from_the_upstream_is_not_kongs(httpserver: HTTPServer) -> None:
    # Kong let every request through; the API behind it refused them itself.
    def upstream_refuses(request: Request) -> Response:
        return upstream_answer(401, {"message": "Unauthorized"}, headers={"X-Kong-Upstream-Latency": "3", "X-Kong-Proxy-Latency": "1"})

    url = serve(httpserver, upstream_refuses)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1
    assert re.search(r"refused by the upstream.*UNPROTECTED$", row(out, "no token"))


# ---- gateways that refuse what they must let through ----


def test_a_gateway_that_refuses_everything_passes_only_as_refusals_verified(httpserver: HTTPServer) -> None:
    url = serve(httpserver, refuse_everything)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 0, out
    assert "Protected" not in out
    assert "acceptance NOT checked" in out and "a gateway that refuses everything passes this too" in out


def test_a_gateway_that_refuses_everything_fails_once_a_token_is_given(httpserver: HTTPServer) -> None:
    url = serve(httpserver, refuse_everything)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1, out
    assert "REFUSES VALID TOKENS: 1 request with a valid token got refused:" in out
    assert row(out, "the given token (--token)").endswith("REFUSED")
    assert "UNPROTECTED" not in out and "Protected" not in out


def test_a_real_token_signed_by_a_key_the_stack_does_not_trust_is_refused(httpserver: HTTPServer) -> None:
    # The stack trusts another key than the one the workspace signs with.
    url = serve(httpserver, protected_route(rsa_key("other").public_key()))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1
    assert re.search(r"Invalid signature.*REFUSED$", row(out, "the given token (--token)")), out
    assert "REFUSES VALID TOKENS" in out and "UNPROTECTED" not in out


def test_both_headlines_when_a_gateway_is_open_to_options_and_refuses_valid_tokens(httpserver: HTTPServer) -> None:
    def broken(request: Request) -> Response:
        return upstream_answer(200, {}) if request.method == "OPTIONS" else refuse_everything(request)

    url = serve(httpserver, broken)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1
    assert "UNPROTECTED: 1 request" in out and "REFUSES VALID TOKENS: 1 request" in out


def test_a_kong_error_for_a_valid_token_is_a_failure_not_a_pass(httpserver: HTTPServer) -> None:
    protected = trusted_route()

    def kong_error(request: Request) -> Response:
        if request.headers.get("Authorization", "").startswith("Bearer ") and request.headers["Authorization"].count(".") == 2:
            answer = protected(request)
            return kong_answer(500, {"message": "An unexpected error occurred"}, KONG_OWN) if answer.status_code == 200 else answer
        return protected(request)

    url = serve(httpserver, kong_error)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1
    assert row(out, "the given token (--token)").endswith("FAIL")


def test_redirects_are_not_followed(httpserver: HTTPServer) -> None:
    # Kong's jwt plugin never redirects: a redirect for everything (say http:// to https://) tested nothing, so exit 2.
    httpserver.expect_request("/test").respond_with_data("", status=302, headers={"Location": httpserver.url_for("/open")})
    httpserver.expect_request("/open").respond_with_json({}, status=200)
    code, out = verify("--proxy-url", httpserver.url_for("/").rstrip("/"), "--path", "/test")
    assert code == 2, out
    assert row(out, "no token").endswith("FAIL")
    assert "NO JWT PLUGIN SEEN" in out
    assert all(request.path == "/test" for request, _ in httpserver.log)


def test_a_redirect_beside_the_plugins_refusals_is_a_failure(httpserver: HTTPServer) -> None:
    protected = trusted_route()

    def redirect_options(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response("", status=302, headers={"Location": "/login"})
        return protected(request)

    url = serve(httpserver, redirect_options)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1, out
    assert row(out, "OPTIONS, no token").endswith("FAIL")
    assert "FAIL: 1 request got an unexpected answer:" in out


# ---- whose refusal: Kong's jwt plugin, or something else ----


def test_a_plain_server_answering_401_to_everything_checks_nothing(httpserver: HTTPServer) -> None:
    # No Kong in front: the red-team's server. Every request is "refused", and nothing shows Kong refused any of them.
    url = serve(httpserver, plain_401)
    code, out = verify("--proxy-url", url, "--path", "/test", "--issuer", ISSUER)
    assert code == 2, out
    assert re.search(r"^NO JWT PLUGIN SEEN: none of the 6 answers from .* came from Kong's jwt plugin", out, re.MULTILINE), out
    assert "Nothing showed Kong at all: is --proxy-url Kong's proxy, not the API itself?" in out
    assert row(out, "no token").endswith("UNPROVEN") and row(out, "junk token in ?jwt=").endswith("UNPROVEN")
    assert "Refusals verified" not in out and "Protected" not in out


def test_a_plain_servers_401_to_the_token_is_not_reported_as_kong_refusing_it(httpserver: HTTPServer) -> None:
    url = serve(httpserver, plain_401)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 2, out
    assert row(out, "the given token (--token)").endswith("UNPROVEN")
    assert "REFUSES VALID TOKENS" not in out and "NO JWT PLUGIN SEEN" in out


def test_kong_answering_without_its_jwt_plugin_is_named(httpserver: HTTPServer) -> None:
    # e.g. a request-termination plugin answering 401 on a route without jwt: Kong's own headers, no jwt challenge.
    url = serve(httpserver, lambda request: kong_answer(401, {"message": "Unauthorized"}, KONG_OWN))
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 2, out
    assert "Kong's own headers were on the answers: Kong answered, but not its jwt plugin: is the plugin on this route?" in out


def test_the_same_answer_to_every_request_is_not_kongs_even_with_its_challenge(httpserver: HTTPServer) -> None:
    # Kong answers "Unauthorized" only when it found no token: a token it read gets another message and error="invalid_token".
    url = serve(httpserver, lambda request: jwt_refusal({"message": "Unauthorized"}))
    code, out = verify("--proxy-url", url, "--path", "/test", "--issuer", ISSUER)
    assert code == 1, out
    assert row(out, "junk token in Authorization").endswith("FAIL")
    assert row(out, f"token signed by an untrusted key (iss {ISSUER})").endswith("FAIL")
    assert row(out, "no token").endswith(" ok") and row(out, "junk token in ?jwt=").endswith(" ok")
    assert "it does not read tokens where this one was sent" in out


JWT_ANSWERS: dict[str, tuple[int, Any, dict[str, str], str | None]] = {
    "no token": (401, {"message": "Unauthorized"}, {"WWW-Authenticate": "Bearer"}, verify_gateway.NO_TOKEN_FOUND),
    "no token, realm": (401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Bearer realm="orders"'}, verify_gateway.NO_TOKEN_FOUND),
    "token refused": (401, {"message": "No credentials found for given 'iss'"}, INVALID, verify_gateway.TOKEN_REFUSED),
    "claim errors, realm": (
        401,
        {"exp": "token expired"},
        {"WWW-Authenticate": 'Bearer realm="orders" error="invalid_token"'},
        verify_gateway.TOKEN_REFUSED,
    ),
    "Unauthorized with the error challenge": (401, {"message": "Unauthorized"}, INVALID, None),
    "a refused token with the bare challenge": (401, {"message": "Invalid signature"}, {"WWW-Authenticate": "Bearer"}, None),
    "a message Kong's jwt plugin never gives": (401, {"message": "Access denied"}, INVALID, None),
    "a framework's body with more keys": (401, {"message": "Unauthorized", "statusCode": 401}, {"WWW-Authenticate": "Bearer"}, None),
    "another scheme (key-auth)": (401, {"message": "Unauthorized"}, {"WWW-Authenticate": 'Key realm="kong"'}, None),
    "no challenge": (401, {"message": "Unauthorized"}, {}, None),
    "403": (403, {"message": "Unauthorized"}, {"WWW-Authenticate": "Bearer"}, None),
    "proxied (latency)": (401, {"message": "Unauthorized"}, {"WWW-Authenticate": "Bearer", "X-Kong-Upstream-Latency": "4"}, None),
    "proxied (Via)": (401, {"message": "Unauthorized"}, {"WWW-Authenticate": "Bearer", "Via": "1.1 kong/3.9.3"}, None),
}


@pytest.mark.parametrize("case", JWT_ANSWERS)
def test_only_the_jwt_plugins_own_refusal_counts_as_kongs(case: str) -> None:
    status, body, headers, expected = JWT_ANSWERS[case]
    assert verify_gateway.Answer.of(status, headers, json.dumps(body)).jwt == expected


@pytest.mark.parametrize(
    ("headers", "kong"),
    [
        ({"Server": "kong/3.9.3"}, True),
        ({"Server": "BaseHTTP/0.6 Python/3.11, kong/3.9.3"}, True),  # a second Server line, folded by the client
        ({"X-Kong-Request-Id": "5f0c"}, True),  # Kong's default `headers` adds it to every answer
        ({"Via": "1.1 kong/3.9.3"}, True),
        ({"Server": "nginx", "Via": "1.1 varnish"}, False),
        ({}, False),
    ],
)
def test_kongs_own_headers_say_a_kong_answered(headers: dict[str, str], kong: bool) -> None:
    assert verify_gateway.Answer.of(401, headers, "").kong is kong


def test_a_body_cut_short_is_judged_on_the_challenge() -> None:
    assert verify_gateway.Answer.of(401, {"WWW-Authenticate": "Bearer"}, '{"mess', whole=False).jwt == verify_gateway.NO_TOKEN_FOUND
    assert verify_gateway.Answer.of(401, {"WWW-Authenticate": "Bearer"}, '{"mess').jwt is None


def test_kong_with_its_headers_off_is_still_recognised_by_its_jwt_plugin(httpserver: HTTPServer) -> None:
    # headers = off: no Server, Via or latency header on any answer; the jwt plugin's challenge does not depend on it.
    url = serve(httpserver, protected_route(rsa_key("trusted").public_key(), own=None, proxied=None))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 0, out
    assert re.search(r"^Protected: all 7 requests", out, re.MULTILINE), out


def test_a_realm_does_not_hide_the_plugin(httpserver: HTTPServer) -> None:
    url = serve(httpserver, protected_route(rsa_key("trusted").public_key(), realm="orders"))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 0, out


def upstream_refusing_tokens(headers: dict[str, str] | None) -> Handler:
    """Kong's jwt plugin lets the valid token through; the API behind it refuses it (it wants something more)."""
    protected = protected_route(rsa_key("trusted").public_key(), own=headers and KONG_OWN, proxied=headers)

    def handle(request: Request) -> Response:
        answer = protected(request)
        return upstream_answer(401, {"message": "Unauthorized"}, headers) if answer.status_code == 200 else answer

    return handle


def test_with_kongs_headers_off_an_upstream_refusing_the_token_is_unproven_not_refused(httpserver: HTTPServer) -> None:
    url = serve(httpserver, upstream_refusing_tokens(None))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1, out
    assert re.search(r"no WWW-Authenticate\) +UNPROVEN$", row(out, "the given token (--token)")), out
    assert "UNPROVEN: 1 request got a 401/403 that Kong's jwt plugin did not give" in out
    assert "REFUSES VALID TOKENS" not in out


def test_with_kongs_proxy_headers_an_upstream_refusing_the_token_is_a_pass(httpserver: HTTPServer) -> None:
    url = serve(httpserver, upstream_refusing_tokens(KONG_PROXIED))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 0, out
    assert re.search(r"refused by the upstream, .* ok$", row(out, "the given token (--token)")), out


def test_a_refusal_from_elsewhere_beside_the_plugins_is_unproven(httpserver: HTTPServer) -> None:
    # OPTIONS lands on something without the plugin (another route, a proxy in front) that answers 401 itself.
    protected = trusted_route()
    url = serve(httpserver, lambda request: plain_401(request) if request.method == "OPTIONS" else protected(request))
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1, out
    assert re.search(r"no WWW-Authenticate\) +UNPROVEN$", row(out, "OPTIONS, no token")), out
    assert "UNPROVEN: 1 request" in out and "Refusals verified" not in out


def test_kongs_via_alone_marks_an_answer_from_the_upstream(httpserver: HTTPServer) -> None:
    # No jwt plugin; the API does its own bearer auth, like Kong's plugin; Kong runs with headers = server_tokens only.
    via = {"Via": "1.1 kong/3.9.3", "Server": "api"}
    url = serve(httpserver, protected_route(rsa_key("trusted").public_key(), own=via, proxied=via))
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1, out
    assert row(out, "no token").endswith("UNPROTECTED")
    assert '- no token: got 401 {"message": "Unauthorized"} (refused by the upstream, after Kong let it through)' in out


# ---- secrets: never printed, the real token never in a URL ----


def test_a_proxy_url_with_credentials_is_refused_before_anything_is_sent(httpserver: HTTPServer) -> None:
    url = serve(httpserver, trusted_route()).replace("http://", f"http://admin:{PASSWORD}@")
    code, out, err = verify_with_stderr("--proxy-url", url, "--path", "/test")
    assert code == 2
    assert "carries a user name or password" in err
    assert PASSWORD not in out + err and "admin" not in out + err
    assert httpserver.log == []


def echo_route(request: Request) -> Response:
    """Kong's jwt plugin in front of an API that echoes what it received, Authorization included (httpbin-like)."""
    answer = trusted_route()(request)
    if answer.status_code != 200:
        return answer
    return upstream_answer(200, {"authorization": request.headers["Authorization"], "url": request.url})


def test_a_token_the_upstream_echoes_is_never_printed(httpserver: HTTPServer) -> None:
    given = token(valid_claims())
    url = serve(httpserver, echo_route)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", given)
    assert code == 0, out
    assert "<token>" in row(out, "the given token (--token)")
    for part in (given, given.split(".")[2][:20]):
        assert part not in out


def test_the_given_token_travels_in_authorization_only(httpserver: HTTPServer) -> None:
    given = token(valid_claims())
    url = serve(httpserver, trusted_route())
    assert verify("--proxy-url", url, "--path", "/test", "--token", given)[0] == 0
    carried = [r for r, _ in httpserver.log if given in r.headers.get("Authorization", "")]
    assert len(carried) == 1
    for request, _ in httpserver.log:
        assert given not in request.url and given not in request.query_string.decode()
        assert given not in "".join(request.cookies.values())


def test_kong_reading_query_tokens_is_caught_without_sending_the_real_token_there(httpserver: HTTPServer) -> None:
    key = rsa_key("trusted")
    given = token({**valid_claims(), "iss": local_stack.ISSUER}, key)
    url = serve(httpserver, modelled_route(local_gateway(key, {"uriParamNames": ["jwt"]})))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", given)
    assert code == 1, out
    assert row(out, "junk token in ?jwt=").endswith("FAIL") and row(out, "the given token (--token)").endswith(" ok")
    assert "set jwt.uriParamNames to []" in out
    assert not any(given in request.url for request, _ in httpserver.log)


# ---- hostile answers ----


def test_a_hostile_answer_is_neither_a_crash_nor_printed_raw(httpserver: HTTPServer) -> None:
    def hostile(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response("\x1b[2J\x1b]0;owned\x07 cleared", status=401, headers={"WWW-Authenticate": "Bearer \x1b[31m"})
        return Response("[" * 60000, status=401, content_type="application/json")  # json.loads: RecursionError

    url = serve(httpserver, hostile)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 2, out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in row(out, "OPTIONS, no token")


def test_an_issuer_with_control_characters_is_printed_escaped(httpserver: HTTPServer) -> None:
    url = serve(httpserver, trusted_route())
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims(iss="https://a.example\n\x1b[31m")))
    assert code == 1, out  # the stack trusts another issuer
    assert "\x1b" not in out
    assert row(out, "token signed by an untrusted key (iss https://a.example\\n\\x1b[31m)").endswith(" ok")


# ---- nothing matched: NO ROUTE ----


def test_a_path_no_route_matches_checks_nothing(httpserver: HTTPServer) -> None:
    url = serve(httpserver, trusted_route())
    code, out = verify("--proxy-url", url, "--path", "/elsewhere")
    assert code == 2
    assert re.search(r"^NO ROUTE: Kong matched no route for .*/elsewhere, so nothing was tested", out, re.MULTILINE), out
    assert "Protected" not in out and "verified" not in out


def test_no_route_for_some_requests_only_is_a_failure(httpserver: HTTPServer) -> None:
    protected = trusted_route()

    def no_route_with_cookies(request: Request) -> Response:  # e.g. a route that matches on a header the cookie probe lacks
        return kong_answer(404, NO_ROUTE_BODY) if request.cookies else protected(request)

    url = serve(httpserver, no_route_with_cookies)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1
    assert row(out, "junk token in cookies").endswith("NO ROUTE")
    assert "NO ROUTE: 1 request matched no route in Kong" in out


def test_the_host_header_reaches_the_gateway(httpserver: HTTPServer) -> None:
    protected = trusted_route()

    def by_host(request: Request) -> Response:
        if request.headers.get("Host") != "api.example.com":
            return kong_answer(404, NO_ROUTE_BODY)
        return protected(request)

    url = serve(httpserver, by_host)
    assert verify("--proxy-url", url, "--path", "/test", "--host", "api.example.com")[0] == 0
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 2 and "NO ROUTE" in out


# ---- usage errors: exit 2, one line, no traceback ----


def encrypted_key_file(tmp_path: Path) -> str:
    path = tmp_path / "encrypted.pem"
    path.write_bytes(
        rsa_key("trusted").private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"secret")
        )
    )
    return str(path)


def ec_key_file(tmp_path: Path) -> str:
    path = tmp_path / "ec.pem"
    path.write_bytes(ec_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(path)


def public_key_file(tmp_path: Path) -> str:
    path = tmp_path / "public.pem"
    path.write_text(spki_pem(rsa_key("trusted")))
    return str(path)


def raw_token(claims: bytes, header: bytes = b'{"alg":"RS256","typ":"JWT"}') -> str:
    """Three base64url segments around claims PyJWT would never write (-1e400, NaN, 5000 digits, ...)."""

    def segment(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join((segment(header), segment(claims), segment(bytes(256))))


def big_file(tmp: Path) -> str:
    path = tmp / "big.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\n" + b"A" * (1024 * 1024) + b"\n-----END PRIVATE KEY-----\n")
    return str(path)


PASSWORD = "S3cretPassw0rd"
"""In every value below that must never be printed: a proxy URL's password, a mistyped flag's value."""
GOOD = ("--proxy-url", "http://127.0.0.1:9", "--path", "/test")
USAGE_ERRORS: dict[str, Callable[[Path], list[str]]] = {
    "missing --proxy-url": lambda _: ["--path", "/test"],
    "unknown flag": lambda _: [*GOOD, "--verbose"],
    "no scheme": lambda _: ["--proxy-url", "localhost:8000", "--path", "/test"],
    "ftp scheme": lambda _: ["--proxy-url", "ftp://localhost", "--path", "/test"],
    "no host": lambda _: ["--proxy-url", "http://", "--path", "/test"],
    "port only": lambda _: ["--proxy-url", "http://:8000", "--path", "/test"],
    "bad port": lambda _: ["--proxy-url", "http://localhost:port", "--path", "/test"],
    "timeout 0": lambda _: [*GOOD, "--timeout", "0"],
    "timeout negative": lambda _: [*GOOD, "--timeout", "-1"],
    "timeout nan": lambda _: [*GOOD, "--timeout", "nan"],
    "timeout inf": lambda _: [*GOOD, "--timeout", "inf"],
    "timeout text": lambda _: [*GOOD, "--timeout", "soon"],
    "deadline 0": lambda _: [*GOOD, "--deadline", "0"],
    "deadline nan": lambda _: [*GOOD, "--deadline", "nan"],
    "LF in host": lambda _: [*GOOD, "--host", "api.example.com\nX-Injected: 1"],
    "CR in path": lambda _: ["--proxy-url", "http://127.0.0.1:9", "--path", "/test\r"],
    "NUL in token": lambda _: [*GOOD, "--token", token(valid_claims()) + "\x00"],
    "tab in issuer": lambda _: [*GOOD, "--issuer", "https://a.example\t"],
    "non-ASCII host": lambda _: [*GOOD, "--host", "bücher.example"],
    "empty token": lambda _: [*GOOD, "--token", ""],
    "token not a JWT": lambda _: [*GOOD, "--token", "not-a-jwt"],
    "expired token": lambda _: [*GOOD, "--token", token(valid_claims(exp=int(time.time()) - 60))],
    "key without issuer": lambda tmp: [*GOOD, "--private-key", key_file(tmp)],
    "missing key file": lambda tmp: [*GOOD, "--private-key", str(tmp / "absent.pem"), "--issuer", ISSUER],
    "unreadable key file": lambda tmp: [*GOOD, "--private-key", str(tmp), "--issuer", ISSUER],
    "encrypted key": lambda tmp: [*GOOD, "--private-key", encrypted_key_file(tmp), "--issuer", ISSUER],
    "EC key": lambda tmp: [*GOOD, "--private-key", ec_key_file(tmp), "--issuer", ISSUER],
    "public key": lambda tmp: [*GOOD, "--private-key", public_key_file(tmp), "--issuer", ISSUER],
    # Hostile values, flag by flag: each once gave a traceback, a wrong exit code, a hang or an echoed secret.
    "unclosed IPv6 bracket": lambda _: ["--proxy-url", "http://[::1", "--path", "/test"],
    "empty IPv6 brackets": lambda _: ["--proxy-url", "http://[]", "--path", "/test"],
    "text after IPv6 brackets": lambda _: ["--proxy-url", "http://[::1]x", "--path", "/test"],
    "IPv6 port out of range": lambda _: ["--proxy-url", "http://[::1]:65536", "--path", "/test"],
    "port beyond 64 bits": lambda _: ["--proxy-url", "http://127.0.0.1:99999999999999999999", "--path", "/test"],
    "port 0": lambda _: ["--proxy-url", "http://127.0.0.1:0", "--path", "/test"],
    "colon without port": lambda _: ["--proxy-url", "http://127.0.0.1:", "--path", "/test"],
    "fullwidth # in host (NFKC)": lambda _: ["--proxy-url", "http://a\uff03b", "--path", "/test"],
    "empty DNS label": lambda _: ["--proxy-url", "http://a..example", "--path", "/test"],
    "DNS label over 63": lambda _: ["--proxy-url", "http://" + "a" * 64 + ".example", "--path", "/test"],
    "right-to-left override in URL": lambda _: ["--proxy-url", "http://\u202eexample", "--path", "/test"],
    "lone surrogate in URL": lambda _: ["--proxy-url", "http://127.0.0.1:9/\udcff", "--path", "/test"],
    "NUL in URL": lambda _: ["--proxy-url", "http://127.0.0.1:9\x00", "--path", "/test"],
    "URL with user and password": lambda _: ["--proxy-url", f"http://admin:{PASSWORD}@127.0.0.1:9", "--path", "/test"],
    "URL with user only": lambda _: ["--proxy-url", f"http://{PASSWORD}@127.0.0.1:9", "--path", "/test"],
    "password holding a slash": lambda _: ["--proxy-url", f"http://admin:{PASSWORD}/x@127.0.0.1:9", "--path", "/test"],
    "deadline 1e10": lambda _: [*GOOD, "--deadline", "1e10"],
    "deadline over a day": lambda _: [*GOOD, "--deadline", "86401"],
    "deadline -1e400": lambda _: [*GOOD, "--deadline", "-1e400"],
    "deadline 5000 digits": lambda _: [*GOOD, "--deadline", "1" * 5000],
    "timeout 1e10": lambda _: [*GOOD, "--timeout", "1e10"],
    "timeout NUL": lambda _: [*GOOD, "--timeout", "5\x00"],
    "query in path": lambda _: ["--proxy-url", "http://127.0.0.1:9", "--path", "/test?debug=1"],
    "fragment in path": lambda _: ["--proxy-url", "http://127.0.0.1:9", "--path", "/test#top"],
    "lone surrogate in path": lambda _: ["--proxy-url", "http://127.0.0.1:9", "--path", "/t\udcff"],
    "space in host": lambda _: [*GOOD, "--host", "api example.com"],
    "user in host": lambda _: [*GOOD, "--host", "admin@api.example.com"],
    "slash in host": lambda _: [*GOOD, "--host", "api.example.com/x"],
    "host port 99999": lambda _: [*GOOD, "--host", "api.example.com:99999"],
    "host port 0": lambda _: [*GOOD, "--host", "api.example.com:0"],
    "token exp -1e400": lambda _: [*GOOD, "--token", raw_token(b'{"iss":"x","exp":-1e400}')],
    "token exp 1e400": lambda _: [*GOOD, "--token", raw_token(b'{"iss":"x","exp":1e400}')],
    "token exp NaN": lambda _: [*GOOD, "--token", raw_token(b'{"iss":"x","exp":NaN}')],
    "token exp -Infinity": lambda _: [*GOOD, "--token", raw_token(b'{"iss":"x","exp":-Infinity}')],
    "token exp -1e300": lambda _: [*GOOD, "--token", raw_token(b'{"iss":"x","exp":-1e300}')],
    "token exp of 5000 digits": lambda _: [*GOOD, "--token", raw_token(b'{"exp":' + b"9" * 5000 + b"}")],
    "token claims nested 50000 deep": lambda _: [*GOOD, "--token", raw_token(b"[" * 50000)],
    "non-ASCII token": lambda _: [*GOOD, "--token", token(valid_claims()) + "\u00fc"],
    "lone surrogate in token": lambda _: [*GOOD, "--token", token(valid_claims()) + "\udcff"],
    "lone surrogate in issuer": lambda _: [*GOOD, "--issuer", "https://a.example/\udcff"],
    "right-to-left override in issuer": lambda _: [*GOOD, "--issuer", "https://\u202ea.example"],
    "key is a device": lambda _: [*GOOD, "--private-key", "/dev/null", "--issuer", ISSUER],  # /dev/zero would never end
    "NUL in key path": lambda tmp: [*GOOD, "--private-key", str(tmp / "key\x00.pem"), "--issuer", ISSUER],
    "key path too long": lambda tmp: [*GOOD, "--private-key", str(tmp / ("k" * 5000)), "--issuer", ISSUER],
    "key file over 1 MiB": lambda tmp: [*GOOD, "--private-key", big_file(tmp), "--issuer", ISSUER],
    "mistyped --token with its value": lambda _: [*GOOD, "--tokn", PASSWORD],
    "ambiguous --t=value": lambda _: [*GOOD, f"--t={PASSWORD}"],
    "stray value": lambda _: [*GOOD, PASSWORD],
}


@pytest.mark.parametrize("case", USAGE_ERRORS)
def test_a_usage_error_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    code, out, err = verify_with_stderr(*USAGE_ERRORS[case](tmp_path))
    assert code == 2
    assert out == ""  # nothing was sent
    assert err.count("\n") == 1 and err.startswith("python -m tools.verify_gateway: error: "), err
    assert "Traceback" not in err
    assert PASSWORD not in err and not re.search(r"eyJ[\w-]{8,}", err), err  # neither a password nor a token is echoed
    assert len(err) < 400 and err[:-1].isprintable(), err  # one short, printable line


@pytest.mark.parametrize(
    "case",
    ["ftp scheme", "encrypted key", "timeout nan", "missing --proxy-url", "unclosed IPv6 bracket", "deadline 1e10", "token exp -1e400"],
)
def test_the_command_exits_2_with_one_line_and_no_traceback(case: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.verify_gateway", *USAGE_ERRORS[case](tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "error:" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_bug_still_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    given = token(valid_claims())

    def broken(*args: Any, **kwargs: Any) -> list[verify_gateway.Result]:
        raise RuntimeError(f"a bug holding {given} and http://admin:{PASSWORD}@host")

    monkeypatch.setattr(verify_gateway, "run", broken)
    code, out, err = verify_with_stderr(*GOOD, "--token", given)
    assert code == 2
    assert err.count("\n") == 1 and "internal error, nothing was checked: RuntimeError: a bug holding <token>" in err, err
    assert given not in out + err and PASSWORD not in out + err


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        verify_gateway.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert re.search(r"^  0  every request got the answer", text, re.MULTILINE)
    assert re.search(r"^  1  some did not: UNPROTECTED .* REFUSES VALID TOKENS", text, re.MULTILINE)
    assert re.search(r"^  2  nothing could be checked", text, re.MULTILINE)
    assert "--deadline SECONDS" in text


# ---- connections that fail, and the deadline ----


Write = Callable[[BaseHTTPRequestHandler, threading.Event], None]


class FakeGateway:
    """A loopback server whose `write` answers each request by hand: it may drop the connection, stall or trickle."""

    def __init__(self, write: Write) -> None:
        self.stop = threading.Event()
        stop = self.stop

        class Answer(BaseHTTPRequestHandler):
            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline or not self.parse_request():
                    self.close_connection = True
                    return
                self.close_connection = True
                with contextlib.suppress(OSError):  # the verifier hung up: that is what a deadline does
                    write(self, stop)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Callable[[Write], FakeGateway]]:
    started: list[FakeGateway] = []

    def start(write: Write) -> FakeGateway:
        started.append(FakeGateway(write).__enter__())
        return started[-1]

    yield start
    for fake in started:
        fake.__exit__()


def answer_401(handler: BaseHTTPRequestHandler) -> None:
    """Kong's jwt plugin refusing, by hand: "Unauthorized" unless the request carries a bearer token."""
    read = re.match(r"\s*[Bb]earer\s+(.+)", handler.headers.get("Authorization", ""))
    body = b'{"message":"No credentials found for given \'iss\'"}' if read else b'{"message":"Unauthorized"}'
    handler.send_response(401)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("WWW-Authenticate", 'Bearer error="invalid_token"' if read else "Bearer")
    handler.end_headers()
    handler.wfile.write(body)


def test_one_dropped_connection_is_that_requests_row(gateway: Callable[[Write], FakeGateway]) -> None:
    def drop_query_tokens(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        if "jwt=" not in handler.path:
            answer_401(handler)  # else: hang up without a word

    fake = gateway(drop_query_tokens)
    code, out = verify("--proxy-url", fake.url, "--path", "/test")
    assert code == 1, out
    assert re.search(r"no answer: connection closed without an answer +NO ANSWER$", row(out, "junk token in ?jwt=")), out
    assert row(out, "no token").endswith(" ok") and row(out, "junk token in cookies").endswith(" ok")
    assert "NO ANSWER: 1 request got no answer:" in out
    assert "UNPROTECTED" not in out and "Refusals verified" not in out


def test_a_gateway_that_drops_every_connection_is_unreachable(gateway: Callable[[Write], FakeGateway]) -> None:
    fake = gateway(lambda handler, stop: None)
    code, out = verify("--proxy-url", fake.url, "--path", "/test")
    assert code == 2
    assert re.search(r"^UNREACHABLE: no request to .* got an answer \(no answer: connection closed", out, re.MULTILINE), out


def test_a_closed_port_means_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = verify("--proxy-url", f"http://127.0.0.1:{port}", "--path", "/test", "--timeout", "2")
    assert code == 2
    assert "UNREACHABLE" in out and "connection refused" in out
    assert "Traceback" not in out


def test_a_gateway_that_never_answers_times_out_per_request(gateway: Callable[[Write], FakeGateway]) -> None:
    def stall(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        stop.wait()

    fake = gateway(stall)
    code, out, elapsed = verify_within(20, "--proxy-url", fake.url, "--path", "/test", "--timeout", "0.2")
    assert elapsed < 10
    assert code == 2
    assert "UNREACHABLE" in out and "read timed out" in out


def trickle_body(status: int) -> Write:
    def write(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.send_response(status)
        handler.send_header("WWW-Authenticate", "Bearer")  # judged on the challenge alone: the body never ends
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.flush()
        while not stop.wait(0.2):
            handler.wfile.write(b"x")
            handler.wfile.flush()

    return write


def trickle_headers(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not stop.wait(0.2):
        handler.wfile.write(b"a")  # every read gets a byte in time, and the headers never end
        handler.wfile.flush()


def test_a_body_trickled_past_the_deadline_is_judged_on_its_status(gateway: Callable[[Write], FakeGateway]) -> None:
    fake = gateway(trickle_body(200))
    code, out, elapsed = verify_within(20, "--proxy-url", fake.url, "--path", "/test", "--deadline", "1")
    assert elapsed < 10
    assert code == 1
    assert re.search(r"body cut at the deadline.*UNPROTECTED$", row(out, "no token")), out
    assert row(out, "junk token in Authorization").endswith("NOT SENT")
    assert re.search(
        r"^Not checked:\n(  - .*\n)*  - junk token in Authorization \(not sent: the deadline \(1 s\) passed\)", out, re.MULTILINE
    )


def test_requests_the_deadline_left_unsent_are_not_checked(gateway: Callable[[Write], FakeGateway]) -> None:
    fake = gateway(trickle_body(401))
    code, out, elapsed = verify_within(20, "--proxy-url", fake.url, "--path", "/test", "--deadline", "1")
    assert elapsed < 10
    assert code == 1
    assert row(out, "no token").endswith(" ok")
    assert "INCOMPLETE: 4 of 5 requests were not sent before the deadline" in out
    assert "Refusals verified" not in out


def test_headers_trickled_forever_cannot_hold_the_run_past_the_deadline(gateway: Callable[[Write], FakeGateway]) -> None:
    fake = gateway(trickle_headers)
    code, out, elapsed = verify_within(20, "--proxy-url", fake.url, "--path", "/test", "--deadline", "1", "--timeout", "5")
    assert elapsed < 10
    assert code == 2
    assert "UNREACHABLE" in out and "no answer before the deadline (1 s)" in out


# ---- the judgement, and the scenario table ----


def verdict(probe: verify_gateway.Probe, status: int, body: Any, headers: dict[str, str] | None = None) -> str:
    return verify_gateway.judge(probe, verify_gateway.Answer.of(status, headers or {}, json.dumps(body)))[0]


def test_a_wrong_kong_message_is_a_failure() -> None:
    probe = verify_gateway.Probe("expired", expect_status=401, expect_body={"exp": "token expired"})
    assert verdict(probe, 401, {"exp": "token expired"}, INVALID) == verify_gateway.OK
    assert verdict(probe, 401, {"message": "Invalid signature"}, INVALID) == verify_gateway.FAIL
    assert verdict(probe, 200, {}) == verify_gateway.UNPROTECTED
    assert verdict(probe, 302, "") == verify_gateway.FAIL
    assert verdict(probe, 401, {"exp": "token expired"}, {**INVALID, "X-Kong-Upstream-Latency": "2"}) == verify_gateway.UNPROTECTED
    assert verdict(probe, 401, {"exp": "token expired"}) == verify_gateway.UNPROVEN  # no challenge: not shown to be Kong's


def test_the_local_stack_passes_the_whole_scenario_table(httpserver: HTTPServer, tmp_path: Path) -> None:
    url = serve(httpserver, modelled_route(local_gateway(rsa_key("trusted"))))
    code, out = verify("--proxy-url", url, "--path", "/test", "--private-key", key_file(tmp_path), "--issuer", local_stack.ISSUER)
    assert code == 0, out
    replayed = [
        s for s in token_scenarios.load_scenarios() if not s.jwt and not getattr(s, "cors", None) and "custom_domain" not in s.needs
    ]
    assert all(re.search(rf"^{re.escape(s.id)} .* ok$", out, re.MULTILINE) for s in replayed), out
    assert "two-tokens-header-and-query" not in out  # needs plugin overrides the deployed stack does not have
    assert re.search(r"^Protected: ", out, re.MULTILINE)
    skipped = len(token_scenarios.load_scenarios()) - len(replayed)
    assert f"{skipped} scenario rows that need plugin settings or a custom domain" in out


def test_scenario_rows_that_need_cors_settings_are_not_replayed(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = token_scenarios.load_scenarios()
    preflight = next(s for s in rows if s.method == "OPTIONS")

    class WithCors:
        """A row as it will look once the table carries a `cors` field."""

        def __init__(self, scenario: token_scenarios.Scenario, cors: dict[str, Any]) -> None:
            self.__dict__.update(vars(scenario), cors=cors)

    monkeypatch.setattr(token_scenarios, "load_scenarios", lambda: [WithCors(preflight, {"origins": ["*"]}), WithCors(preflight, {})])
    probes = verify_gateway.scenario_probes(rsa_key("trusted"), local_stack.ISSUER, int(time.time()))
    assert len(probes) == 1 and probes[0].method == "OPTIONS"


def test_a_gateway_that_lets_expired_tokens_through_is_caught_by_the_table(httpserver: HTTPServer, tmp_path: Path) -> None:
    # Kong's own default: no claims verified.
    url = serve(httpserver, modelled_route(local_gateway(rsa_key("trusted"), {"claimsToVerify": []})))
    code, out = verify("--proxy-url", url, "--path", "/test", "--private-key", key_file(tmp_path), "--issuer", local_stack.ISSUER)
    assert code == 1
    assert re.search(r"^expired .*UNPROTECTED$", out, re.MULTILINE), out
