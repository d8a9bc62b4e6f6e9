"""The gateway verifier, against small loopback servers that answer like a protected Kong route, an open one, or none."""

from __future__ import annotations

import io
import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from components.public_key import PublicKey
from testkit.mock_runtime import PROJECT, cli_config, run
from tests.keys import private_pem, rsa_key
from tests.kong_jwt_model import KongJwtPlugin
from tools import local_stack, token_scenarios, verify_gateway

ISSUER = "https://app-abc123.frontegg.com"
Handler = Callable[[Request], Response]


def kong_answer(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def protected_route(public_key: rsa.RSAPublicKey, issuer: str = ISSUER) -> Handler:
    """Answers like Kong's jwt plugin with the project's default config (header only, exp verified)."""

    def handle(request: Request) -> Response:
        match = re.match(r"\s*[Bb]earer\s+(.+)", request.headers.get("Authorization", ""))
        if not match:
            return kong_answer(401, {"message": "Unauthorized"})
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return kong_answer(401, {"message": "Bad token; invalid JSON"})
        if "iss" not in claims:
            return kong_answer(401, {"message": "No mandatory 'iss' in claims"})
        if claims["iss"] != issuer:
            return kong_answer(401, {"message": "No credentials found for given 'iss'"})
        if header.get("alg") != "RS256":
            return kong_answer(401, {"message": "Invalid algorithm"})
        try:
            jwt.decode(token, public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False, "verify_iat": False})
        except jwt.PyJWTError:
            return kong_answer(401, {"message": "Invalid signature"})
        if not isinstance(claims.get("exp"), (int, float)):
            return kong_answer(401, {"exp": "must be a number"})
        if claims["exp"] <= time.time():
            return kong_answer(401, {"exp": "token expired"})
        return kong_answer(200, {"url": request.url})

    return handle


def modelled_route(plugin: KongJwtPlugin) -> Handler:
    """Answers as the model of Kong's jwt plugin judges the request, at the server's own clock."""

    def handle(request: Request) -> Response:
        minted = token_scenarios.MintedRequest(
            headers=dict(request.headers), params=request.args.to_dict(), cookies=request.cookies.to_dict(), method=request.method
        )
        verdict = plugin.access(minted, now=int(time.time()))
        return kong_answer(verdict.status, verdict.body or {"headers": verdict.upstream_headers})

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


def unchecked_signature_route(request: Request) -> Response:
    """A broken gateway that refuses requests without a token but never checks signatures."""
    if "Authorization" not in request.headers:
        return kong_answer(401, {"message": "Unauthorized"})
    token = request.headers["Authorization"].partition(" ")[2]
    try:
        jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return kong_answer(401, {"message": "Bad token; invalid JSON"})
    return kong_answer(200, {})


def serve(httpserver: HTTPServer, handler: Handler, path: str = "/test") -> str:
    httpserver.expect_request(re.compile("^" + re.escape(path))).respond_with_handler(handler)
    httpserver.expect_request(re.compile(".*")).respond_with_json({"message": "no Route matched with those values"}, status=404)
    return httpserver.url_for("/").rstrip("/")


def verify(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = verify_gateway.main(list(argv), out=out)
    return code, out.getvalue()


def token(claims: dict[str, Any], key: rsa.RSAPrivateKey | None = None) -> str:
    return jwt.encode(claims, key or rsa_key("trusted"), algorithm="RS256")


def valid_claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "user-1", "iat": now, "exp": now + 300}


def test_a_protected_route_passes_every_check(httpserver: HTTPServer) -> None:
    url = serve(httpserver, protected_route(rsa_key("trusted").public_key()))
    code, out = verify("--proxy-url", url, "--path", "/test", "--issuer", ISSUER)
    assert code == 0, out
    assert "no token" in out and "malformed token" in out and "untrusted key" in out
    assert "UNPROTECTED" not in out


def test_a_route_without_the_plugin_is_reported_unprotected(httpserver: HTTPServer) -> None:
    url = serve(httpserver, open_route)
    code, out = verify("--proxy-url", url, "--path", "/test")
    assert code == 1
    assert re.search(r"no token .*200.*UNPROTECTED", out), out


def test_a_gateway_that_skips_the_signature_check_is_caught(httpserver: HTTPServer) -> None:
    url = serve(httpserver, unchecked_signature_route)
    code, out = verify("--proxy-url", url, "--path", "/test", "--issuer", ISSUER)
    assert code == 1
    assert re.search(r"untrusted key .*UNPROTECTED", out), out
    assert re.search(r"no token .* ok", out), out


def test_the_forged_token_is_aimed_at_the_real_tokens_issuer(httpserver: HTTPServer) -> None:
    url = serve(httpserver, unchecked_signature_route)
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1
    assert f"untrusted key (iss {ISSUER})" in out


def test_a_real_token_must_be_let_through(httpserver: HTTPServer) -> None:
    url = serve(httpserver, protected_route(rsa_key("trusted").public_key()))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 0, out
    assert re.search(r"the given token .*not 401/403 +200 .* ok", out), out


def test_a_real_token_that_kong_refuses_fails_the_check(httpserver: HTTPServer) -> None:
    # The stack trusts another key than the one the workspace signs with.
    url = serve(httpserver, protected_route(rsa_key("other").public_key()))
    code, out = verify("--proxy-url", url, "--path", "/test", "--token", token(valid_claims()))
    assert code == 1
    assert re.search(r"the given token .*Invalid signature.*REJECTED", out), out


def test_a_path_no_route_matches_is_named(httpserver: HTTPServer) -> None:
    url = serve(httpserver, protected_route(rsa_key("trusted").public_key()))
    code, out = verify("--proxy-url", url, "--path", "/elsewhere")
    assert code == 1
    assert "NO ROUTE" in out


def test_the_host_header_reaches_the_gateway(httpserver: HTTPServer) -> None:
    protected = protected_route(rsa_key("trusted").public_key())

    def by_host(request: Request) -> Response:
        if request.headers.get("Host") != "api.example.com":
            return kong_answer(404, {"message": "no Route matched with those values"})
        return protected(request)

    url = serve(httpserver, by_host)
    assert verify("--proxy-url", url, "--path", "/test", "--host", "api.example.com")[0] == 0
    assert verify("--proxy-url", url, "--path", "/test")[0] == 1


def test_a_closed_port_means_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = verify("--proxy-url", f"http://127.0.0.1:{port}", "--path", "/test", "--timeout", "2")
    assert code == 2
    assert "UNREACHABLE" in out


def test_a_wrong_kong_message_is_a_failure() -> None:
    probe = verify_gateway.Probe("expired", expect_status=401, expect_body={"exp": "token expired"})
    assert verify_gateway.judge(probe, 401, {"exp": "token expired"}) == verify_gateway.OK
    assert verify_gateway.judge(probe, 401, {"message": "Invalid signature"}) == verify_gateway.FAIL
    assert verify_gateway.judge(probe, 200, {}) == verify_gateway.UNPROTECTED


def test_private_key_needs_an_issuer(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(private_pem(rsa_key("trusted")))
    with pytest.raises(SystemExit) as exit_info:
        verify("--proxy-url", "http://127.0.0.1:9", "--path", "/test", "--private-key", str(key_file))
    assert exit_info.value.code == 2


def test_the_local_stack_passes_the_whole_scenario_table(httpserver: HTTPServer, tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(private_pem(rsa_key("trusted")))
    url = serve(httpserver, modelled_route(local_gateway(rsa_key("trusted"))))
    code, out = verify("--proxy-url", url, "--path", "/test", "--private-key", str(key_file), "--issuer", local_stack.ISSUER)
    assert code == 0, out
    replayed = [s for s in token_scenarios.load_scenarios() if not s.jwt and "custom_domain" not in s.needs]
    assert all(re.search(rf"^{re.escape(s.id)} ", out, re.MULTILINE) for s in replayed), out
    assert "two-tokens-header-and-query" not in out  # needs plugin overrides the deployed stack does not have


def test_a_gateway_that_lets_expired_tokens_through_is_caught_by_the_table(httpserver: HTTPServer, tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(private_pem(rsa_key("trusted")))
    # Kong's own default: no claims verified.
    url = serve(httpserver, modelled_route(local_gateway(rsa_key("trusted"), {"claimsToVerify": []})))
    code, out = verify("--proxy-url", url, "--path", "/test", "--private-key", str(key_file), "--issuer", local_stack.ISSUER)
    assert code == 1
    assert re.search(r"^expired .*UNPROTECTED", out, re.MULTILINE), out
