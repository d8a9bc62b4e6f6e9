"""Secrets stay secret (admin token, credential secret, anything pasted in the wrong place), and the same config
declares the same inputs on every run."""

import base64
import json
from collections.abc import Callable

import pulumi
import pytest
from pulumi.runtime.config import is_config_secret
from pytest_httpserver import HTTPServer

from components.errors import ConfigError
from testkit.mock_runtime import PROJECT, Run, cli_config, run
from tests.keys import private_pem, rsa_key

ADMIN_TOKEN = "kong-admin-token-3f9a7c1e5b2d4f60"
ADMIN_TOKEN_KEY = "kong:kongAdminToken"


def with_admin_token(*, preview: bool = False, program: Callable[[], None] | None = None) -> Run:
    """The dev stack with the admin token set as `pulumi config set --secret` does."""
    config = cli_config(overrides={ADMIN_TOKEN_KEY: ADMIN_TOKEN})
    return run(config, program, preview=preview, secret_keys=[ADMIN_TOKEN_KEY])


def everything_recorded(result: Run) -> str:
    """Every output, log line and registered input of a run, as one searchable text."""
    parts = [json.dumps(result.outputs, default=str), json.dumps(result.raw_outputs, default=str)]
    parts += [record.getMessage() for record in result.logs]
    parts += [json.dumps(r.raw_inputs, default=str) + json.dumps(r.inputs, default=str) for r in result.resources]
    return "\n".join(parts)


def test_the_admin_token_never_appears_in_outputs_logs_or_inputs() -> None:
    for preview in (False, True):
        result = with_admin_token(preview=preview)
        assert result.error is None and result.kong
        assert ADMIN_TOKEN not in everything_recorded(result)


def test_a_program_that_exported_the_token_would_be_caught() -> None:
    seen_as_secret: list[bool] = []

    def leaky() -> None:
        seen_as_secret.append(is_config_secret(ADMIN_TOKEN_KEY))
        pulumi.export("adminToken", pulumi.Config("kong").get("kongAdminToken"))

    result = with_admin_token(program=leaky)
    assert seen_as_secret == [True], "the harness did not set the key as a secret"
    assert ADMIN_TOKEN in everything_recorded(result)


def test_the_admin_token_is_not_echoed_when_the_config_is_refused() -> None:
    config = cli_config(overrides={ADMIN_TOKEN_KEY: ADMIN_TOKEN, f"{PROJECT}:routePaths": ["orders"]})
    result = run(config, secret_keys=[ADMIN_TOKEN_KEY])
    assert result.error is not None
    assert ADMIN_TOKEN not in str(result.error) + everything_recorded(result)


def test_the_credential_secret_reaches_the_engine_marked_secret() -> None:
    credential = with_admin_token().one("credential")
    assert credential.is_secret("secret")
    assert not credential.is_secret("key"), "the issuer is no secret and should stay readable in previews"


def test_the_same_config_declares_byte_identical_inputs() -> None:
    first, second = with_admin_token(), with_admin_token()

    def inputs(result: Run) -> dict[str, str]:
        return {r.urn: json.dumps(r.raw_inputs, sort_keys=True) for r in result.resources}

    assert inputs(first) == inputs(second)
    assert len(inputs(first)) == len(first.resources) >= 5
    assert first.one("plugin").inputs["configJson"] == second.one("plugin").inputs["configJson"]


def test_jwt_overrides_in_any_order_declare_the_same_plugin_config() -> None:
    def config_json(jwt: str) -> str:
        return str(run(cli_config(overrides={f"{PROJECT}:jwt": jwt})).one("plugin").inputs["configJson"])

    assert config_json('{"maximumExpiration": 3600, "cookieNames": ["fe"]}') == config_json(
        '{"cookieNames": ["fe"], "maximumExpiration": 3600}'
    )


# --- a secret pasted in the wrong place is never echoed ------------------------------------------------------------

MARKER = "Zq7XvR2mK9pL4tW8nB3cY6hJ1fD5sG0a"
"""Stands for a pasted secret (a client secret, an API token, a password): it must appear in no message or log."""
PRIVATE_JWK = json.dumps({"kty": "RSA", "n": "AQAB", "e": "AQAB", "d": MARKER})
K = f"{PROJECT}:"

SWEEP: list[tuple[str, dict[str, object]]] = [
    ("password-in-upstream-url", {K + "upstreamUrl": f"https://svc:{MARKER}@api.internal/v1"}),
    ("user-in-upstream-url", {K + "upstreamUrl": f"https://{MARKER}@api.internal/v1"}),
    ("secret-as-upstream-port", {K + "upstreamUrl": f"https://api.internal:{MARKER}/v1"}),
    ("secret-in-upstream-path", {K + "upstreamUrl": f"https://api.internal/{MARKER}/../x"}),
    ("password-in-workspace-url", {K + "fronteggWorkspaceUrl": f"https://admin:{MARKER}@app.frontegg.com"}),
    ("secret-as-workspace-host", {K + "fronteggWorkspaceUrl": f"https://{MARKER}!.frontegg.com"}),
    ("secret-as-service-name", {K + "serviceName": f"orders {MARKER}"}),
    ("secret-in-a-route-path", {K + "routePaths": [f"/orders/{MARKER} x"]}),
    ("secret-as-a-route-host", {K + "routeHosts": [f"{MARKER}!.example.com"]}),
    ("secret-as-a-route-method", {K + "routeMethods": [f"{MARKER}-1"]}),
    ("secret-as-strip-path", {K + "stripPath": MARKER}),
    ("secret-as-key-id", {K + "fronteggKeyId": f"{MARKER}\n"}),
    ("secret-as-key-check", {K + "fronteggKeyCheck": MARKER}),
    ("secret-as-consumer", {K + "consumerUsername": f" {MARKER}"}),
    ("secret-as-public-key", {K + "fronteggPublicKey": MARKER}),
    ("private-jwk-as-public-key", {K + "fronteggPublicKey": PRIVATE_JWK}),
    ("secret-as-issuer", {K + "issuers": [f"https://{MARKER}.example.com/"]}),
    ("secret-as-a-claim", {K + "jwt": {"claimsToVerify": [MARKER]}}),
    ("secret-as-a-header-name", {K + "jwt": {"headerNames": [f"{MARKER}:x"]}}),
    ("secret-as-maximum-expiration", {K + "jwt": {"maximumExpiration": MARKER}}),
    ("secret-as-jwt-json", {K + "jwt": f"{{{MARKER}"}),
    ("secret-as-a-cors-origin", {K + "cors": {"origins": [f"https://{MARKER}.example.com/"]}}),
    ("secret-as-an-unknown-key", {K + MARKER: "x"}),
    ("secret-as-an-unknown-jwt-setting", {K + "jwt": {MARKER: 1}}),
    ("secret-as-an-apis-name", {K + "apis": [{"name": f"{MARKER} x", "upstreamUrl": "http://a.internal", "routePaths": ["/a"]}]}),
]


def everything_said(result: Run) -> str:
    """The error (message and attributes) and every log line of a run."""
    error = result.error
    said = [str(error), repr(error), repr(getattr(error, "__dict__", {}))] if error else []
    return "\n".join(said + [record.getMessage() for record in result.logs])


@pytest.mark.parametrize(("overrides"), [pytest.param(overrides, id=case) for case, overrides in SWEEP])
def test_a_secret_pasted_into_any_key_is_refused_without_being_echoed(overrides: dict[str, object]) -> None:
    drop = (K + "upstreamUrl", K + "serviceName", K + "routePaths") if K + "apis" in overrides else ()
    result = run(cli_config(overrides=overrides, drop=drop))
    assert isinstance(result.error, ConfigError), result.error
    assert result.kong == []
    assert MARKER not in everything_said(result)
    assert "not shown" in str(result.error), "the message should say what was given without showing it"


def test_a_private_key_pasted_as_the_public_key_is_never_echoed() -> None:
    pem = private_pem(rsa_key("trusted"))
    result = run(cli_config(overrides={K + "fronteggPublicKey": pem}))
    assert isinstance(result.error, ConfigError)
    for line in pem.strip().splitlines()[1:-1]:
        assert line not in everything_said(result)


def test_a_key_set_as_a_secret_where_it_cannot_stay_one_is_refused_without_echoing_it() -> None:
    result = run(cli_config(overrides={K + "serviceName": MARKER}), secret_keys=[K + "serviceName"])
    assert isinstance(result.error, ConfigError) and result.kong == []
    assert MARKER not in everything_said(result)


def test_a_kid_that_is_not_published_is_not_echoed(httpserver: HTTPServer) -> None:
    numbers = rsa_key().public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    httpserver.expect_request("/.well-known/jwks.json").respond_with_json(
        {"keys": [{"kty": "RSA", "kid": "k1", "n": b64(numbers.n), "e": b64(numbers.e)}]}
    )
    workspace = httpserver.url_for("/").rstrip("/")
    result = run(cli_config(overrides={K + "fronteggWorkspaceUrl": workspace, K + "fronteggPublicKey": "", K + "fronteggKeyId": MARKER}))
    assert isinstance(result.error, ConfigError) and result.error.key == K + "fronteggKeyId"
    assert MARKER not in everything_said(result) and "'k1'" in str(result.error)


SECRET_HOST = "billing-internal-corp-acme-tenant"
"""A value with nothing secret-looking about it, set with --secret: the secret marking alone must keep it out of messages."""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("upstreamUrl", f"https://{SECRET_HOST}.example:8443/v1?tenant=acme"),
        ("upstreamUrl", f"https://{SECRET_HOST}!.example/v1"),
        ("upstreamUrl", f"ftp://{SECRET_HOST}.example"),
        ("upstreamUrl", f"https://{SECRET_HOST}.example/a/../b"),
        ("fronteggPublicKey", f"not a key {SECRET_HOST}"),
        ("routePaths", f'["/{SECRET_HOST}/./x"]'),
        ("fronteggKeyCheck", SECRET_HOST),
        ("jwt", f'{{"{SECRET_HOST}": 1}}'),
        ("apis", f'[{{"name": "a", "upstreamUrl": "https://{SECRET_HOST}!.example", "routePaths": ["/a"]}}]'),
        ("apis", f'[{{"name": "a b {SECRET_HOST}", "upstreamUrl": "https://a.example", "routePaths": ["/a"]}}]'),
        ("apis", f"[{{{SECRET_HOST}"),
    ],
)
def test_a_value_set_as_a_secret_is_never_shown_whatever_it_looks_like(name: str, value: str) -> None:
    drop = (K + "upstreamUrl", K + "serviceName", K + "routePaths") if name == "apis" else ()
    config = {**cli_config(drop=drop), K + name: value}
    result = run(config, secret_keys=[K + name])
    assert isinstance(result.error, ConfigError) and result.kong == []
    assert SECRET_HOST not in everything_said(result), everything_said(result)


def test_a_secret_output_from_python_is_never_shown_in_its_error() -> None:
    from components import ProtectedApi

    def program() -> None:
        ProtectedApi("a", {"upstream_url": pulumi.Output.secret(f"https://{SECRET_HOST}!.example/v1"), "route_paths": ["/a"]})

    result = run({}, program=program)
    assert result.error is not None
    assert SECRET_HOST not in str(result.error) + everything_said(result)
