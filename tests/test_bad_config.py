"""Hostile and careless stack config stops the program with one ConfigError naming the key, before any Kong resource.

Each row is a value that Kong 3.9 would refuse at deploy time, that Kong would read differently than meant, or that a
careless paste produces. The error must name the key as the stack config spells it and say how to fix it.
"""

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from components.errors import ConfigError
from components.stack_schema import KEYS, config_name
from testkit.mock_runtime import PROJECT, Run, cli_config, run
from tests.keys import ec_key, private_pem, rsa_key, spki_pem

WORKSPACE = "https://app-dev-example.frontegg.com"


def key(name: str) -> str:
    return f"{PROJECT}:{name}"


def _modulus_pem(modulus: int) -> str:
    """An RSA public key PEM with this modulus, as a forged or corrupted key would carry."""
    public = rsa.RSAPublicNumbers(65537, modulus).public_key()
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


_REAL = rsa_key().public_key().public_numbers().n
EVEN_MODULUS = _REAL + 1 if _REAL % 2 else _REAL
SMALL_FACTOR_MODULUS = 7 * (_REAL // 7) if (_REAL // 7) % 2 else 7 * (_REAL // 7 + 1)

# (case id, overrides on the dev stack, keys dropped, the config key the error must name)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    # fronteggWorkspaceUrl
    ("workspace-missing", {}, (key("fronteggWorkspaceUrl"),), key("fronteggWorkspaceUrl")),
    ("workspace-empty", {key("fronteggWorkspaceUrl"): ""}, (), key("fronteggWorkspaceUrl")),
    ("workspace-not-a-url", {key("fronteggWorkspaceUrl"): "app-dev-example.frontegg.com"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-with-path", {key("fronteggWorkspaceUrl"): WORKSPACE + "/oauth"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-with-query", {key("fronteggWorkspaceUrl"): WORKSPACE + "?env=dev"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-http-not-loopback", {key("fronteggWorkspaceUrl"): "http://app-dev-example.frontegg.com"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-http-dot-localhost", {key("fronteggWorkspaceUrl"): "http://frontegg.localhost"}, (), key("fronteggWorkspaceUrl")),
    (
        "workspace-with-credentials",
        {key("fronteggWorkspaceUrl"): "https://user:pw@app-dev-example.frontegg.com"},
        (),
        key("fronteggWorkspaceUrl"),
    ),
    ("workspace-bad-port", {key("fronteggWorkspaceUrl"): WORKSPACE + ":99999"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-port-zero", {key("fronteggWorkspaceUrl"): WORKSPACE + ":0"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-trailing-newline", {key("fronteggWorkspaceUrl"): WORKSPACE + "\n"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-tab-inside", {key("fronteggWorkspaceUrl"): "https://app-dev-\texample.frontegg.com"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-oversize-with-path", {key("fronteggWorkspaceUrl"): "https://" + "a" * 5000 + "/x"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-host-too-long", {key("fronteggWorkspaceUrl"): "https://" + "a" * 300 + ".frontegg.com"}, (), key("fronteggWorkspaceUrl")),
    # issuers
    ("issuers-not-json", {key("issuers"): WORKSPACE}, (), key("issuers")),
    ("issuers-object", {key("issuers"): {"dev": WORKSPACE}}, (), key("issuers")),
    ("issuers-trailing-slash", {key("issuers"): [WORKSPACE + "/"]}, (), key("issuers[0]")),
    ("issuers-duplicate", {key("issuers"): [WORKSPACE, WORKSPACE]}, (), key("issuers[1]")),
    (
        "issuers-duplicate-after-normalising",
        {key("issuers"): [WORKSPACE, WORKSPACE.upper().replace("HTTPS", "https") + ":443"]},
        (),
        key("issuers[1]"),
    ),
    ("issuers-http-not-loopback", {key("issuers"): ["http://login.example.com"]}, (), key("issuers[0]")),
    ("issuers-number", {key("issuers"): [42]}, (), key("issuers[0]")),
    ("issuers-nested-bomb", {key("issuers"): "[" * 100_000}, (), key("issuers")),
    # fronteggPublicKey
    (
        "public-key-garbage-pem",
        {key("fronteggPublicKey"): "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----"},
        (),
        key("fronteggPublicKey"),
    ),
    ("public-key-ec", {key("fronteggPublicKey"): spki_pem(ec_key())}, (), key("fronteggPublicKey")),
    ("public-key-rsa-1024", {key("fronteggPublicKey"): spki_pem(rsa_key("short", 1024))}, (), key("fronteggPublicKey")),
    ("public-key-is-private", {key("fronteggPublicKey"): private_pem(rsa_key("trusted"))}, (), key("fronteggPublicKey")),
    ("public-key-two-blocks", {key("fronteggPublicKey"): spki_pem(rsa_key()) + spki_pem(rsa_key("other"))}, (), key("fronteggPublicKey")),
    ("public-key-even-modulus", {key("fronteggPublicKey"): _modulus_pem(EVEN_MODULUS)}, (), key("fronteggPublicKey")),
    ("public-key-small-factor", {key("fronteggPublicKey"): _modulus_pem(SMALL_FACTOR_MODULUS)}, (), key("fronteggPublicKey")),
    # fronteggKeyId, fronteggKeyCheck, consumerUsername
    ("key-id-with-newline", {key("fronteggKeyId"): "k1\n"}, (), key("fronteggKeyId")),
    ("key-check-unknown", {key("fronteggKeyCheck"): "loud"}, (), key("fronteggKeyCheck")),
    ("consumer-empty", {key("consumerUsername"): ""}, (), key("consumerUsername")),
    ("consumer-padded", {key("consumerUsername"): " frontegg "}, (), key("consumerUsername")),
    ("consumer-carriage-return", {key("consumerUsername"): "frontegg\r"}, (), key("consumerUsername")),
    # upstreamUrl
    ("upstream-missing", {}, (key("upstreamUrl"),), key("upstreamUrl")),
    ("upstream-empty", {key("upstreamUrl"): ""}, (), key("upstreamUrl")),
    ("upstream-ftp", {key("upstreamUrl"): "ftp://files.internal"}, (), key("upstreamUrl")),
    ("upstream-no-scheme", {key("upstreamUrl"): "api.internal.example.com"}, (), key("upstreamUrl")),
    ("upstream-with-query", {key("upstreamUrl"): "https://api.internal.example.com/v1?debug=1"}, (), key("upstreamUrl")),
    ("upstream-with-credentials", {key("upstreamUrl"): "https://svc:hunter2@api.internal.example.com"}, (), key("upstreamUrl")),
    ("upstream-port-zero", {key("upstreamUrl"): "http://api.internal:0"}, (), key("upstreamUrl")),
    ("upstream-empty-segment", {key("upstreamUrl"): "http://api.internal//v1"}, (), key("upstreamUrl")),
    ("upstream-dot-segment", {key("upstreamUrl"): "http://api.internal/v1/../admin"}, (), key("upstreamUrl")),
    ("upstream-bad-percent", {key("upstreamUrl"): "http://api.internal/%zz"}, (), key("upstreamUrl")),
    ("upstream-line-feed", {key("upstreamUrl"): "http://api.internal/v1\nHost: evil"}, (), key("upstreamUrl")),
    # serviceName
    ("service-name-missing", {}, (key("serviceName"),), key("serviceName")),
    ("service-name-empty", {key("serviceName"): ""}, (), key("serviceName")),
    ("service-name-with-space", {key("serviceName"): "my service"}, (), key("serviceName")),
    ("service-name-trailing-newline", {key("serviceName"): "my-cool-service\n"}, (), key("serviceName")),
    ("service-name-slash", {key("serviceName"): "orders/v1"}, (), key("serviceName")),
    # routePaths, routeHosts, routeMethods
    ("route-path-without-slash", {key("routePaths"): ["test"]}, (), key("routePaths[0]")),
    ("route-paths-not-a-list", {key("routePaths"): "/test"}, (), key("routePaths")),
    ("route-paths-duplicate", {key("routePaths"): ["/a", "/a"]}, (), key("routePaths[1]")),
    ("route-path-double-slash", {key("routePaths"): ["/a//b"]}, (), key("routePaths[0]")),
    ("route-path-dot-segment", {key("routePaths"): ["/a/./b"]}, (), key("routePaths[0]")),
    ("route-path-dot-dot-segment", {key("routePaths"): ["/a/../admin"]}, (), key("routePaths[0]")),
    ("route-path-bad-percent", {key("routePaths"): ["/a%g1"]}, (), key("routePaths[0]")),
    ("route-path-encoded-letter", {key("routePaths"): ["/%61dmin"]}, (), key("routePaths[0]")),
    ("route-path-regex-without-tilde", {key("routePaths"): ["/users/\\d+"]}, (), key("routePaths[0]")),
    ("route-path-bad-regex", {key("routePaths"): ["~/users/(\\d+"]}, (), key("routePaths[0]")),
    ("route-path-tab", {key("routePaths"): ["/test\t"]}, (), key("routePaths[0]")),
    ("route-without-matchers", {key("routePaths"): []}, (), key("routePaths")),
    ("route-host-invalid", {key("routeHosts"): ["api example com"]}, (), key("routeHosts[0]")),
    ("route-host-two-wildcards", {key("routeHosts"): ["*.*.example.com"]}, (), key("routeHosts[0]")),
    ("route-hosts-duplicate-by-case", {key("routeHosts"): ["API.example.com", "api.example.com"]}, (), key("routeHosts[1]")),
    ("route-method-invalid", {key("routeMethods"): ["GET /"]}, (), key("routeMethods[0]")),
    ("route-methods-duplicate-by-case", {key("routeMethods"): ["get", "GET"]}, (), key("routeMethods[1]")),
    ("route-methods-object", {key("routeMethods"): {"GET": True}}, (), key("routeMethods")),
    # stripPath
    ("strip-path-string", {key("stripPath"): "yes"}, (), key("stripPath")),
    ("strip-path-number", {key("stripPath"): 1}, (), key("stripPath")),
    # jwt
    ("jwt-not-an-object", {key("jwt"): ["exp"]}, (), key("jwt")),
    ("jwt-not-json", {key("jwt"): "claimsToVerify=exp"}, (), key("jwt")),
    ("jwt-nested-bomb", {key("jwt"): '{"a":' * 100_000}, (), key("jwt")),
    ("jwt-unknown-setting", {key("jwt"): {"claimsToVerfy": ["exp"]}}, (), key("jwt.claimsToVerfy")),
    ("jwt-python-spelling", {key("jwt"): {"claims_to_verify": ["exp"]}}, (), key("jwt.claims_to_verify")),
    ("jwt-claims-aud", {key("jwt"): {"claimsToVerify": ["aud"]}}, (), key("jwt.claimsToVerify[0]")),
    ("jwt-claims-string", {key("jwt"): {"claimsToVerify": "exp"}}, (), key("jwt.claimsToVerify")),
    ("jwt-max-expiration-negative", {key("jwt"): {"maximumExpiration": -1}}, (), key("jwt.maximumExpiration")),
    ("jwt-max-expiration-over-a-year", {key("jwt"): {"maximumExpiration": 31_536_001}}, (), key("jwt.maximumExpiration")),
    ("jwt-max-expiration-string", {key("jwt"): {"maximumExpiration": "60"}}, (), key("jwt.maximumExpiration")),
    ("jwt-max-expiration-fraction", {key("jwt"): {"maximumExpiration": 1.5}}, (), key("jwt.maximumExpiration")),
    ("jwt-max-expiration-without-exp", {key("jwt"): {"maximumExpiration": 3600, "claimsToVerify": []}}, (), key("jwt.maximumExpiration")),
    ("jwt-header-name-invalid", {key("jwt"): {"headerNames": ["Authorization: Bearer"]}}, (), key("jwt.headerNames[0]")),
    ("jwt-uri-param-duplicate", {key("jwt"): {"uriParamNames": ["jwt", "jwt"]}}, (), key("jwt.uriParamNames[1]")),
    ("jwt-nowhere-to-carry-a-token", {key("jwt"): {"headerNames": [], "uriParamNames": [], "cookieNames": []}}, (), key("jwt")),
    ("jwt-run-on-preflight-string", {key("jwt"): {"runOnPreflight": "false"}}, (), key("jwt.runOnPreflight")),
    # cors
    ("cors-without-origins", {key("cors"): {"credentials": False}}, (), key("cors.origins")),
    ("cors-empty-origins", {key("cors"): {"origins": []}}, (), key("cors.origins")),
    ("cors-star-with-credentials", {key("cors"): {"origins": ["*"], "credentials": True}}, (), key("cors.credentials")),
    ("cors-glob-origin", {key("cors"): {"origins": ["https://*.example.com"]}}, (), key("cors.origins[0]")),
    ("cors-origin-with-path", {key("cors"): {"origins": ["https://app.example.com/"]}}, (), key("cors.origins[0]")),
    ("cors-unknown-method", {key("cors"): {"origins": ["https://app.example.com"], "methods": ["FETCH"]}}, (), key("cors.methods[0]")),
    # apis, and keys that do not belong together
    (
        "apis-with-single-api-keys",
        {key("apis"): [{"name": "orders", "upstreamUrl": "http://o.internal", "routePaths": ["/o"]}]},
        (),
        key("apis"),
    ),
    # unknown keys and namespaces
    ("typo-routepaths", {key("routepaths"): ["/orders"]}, (), key("routepaths")),
    ("typo-issuer", {key("issuer"): [WORKSPACE]}, (), key("issuer")),
    ("typo-namespace", {"kong-fronteg-jwt:routePaths": ["/orders"]}, (), "kong-fronteg-jwt:routePaths"),
]


def refused(overrides: dict[str, Any], drop: tuple[str, ...]) -> Run:
    result = run(cli_config(overrides=overrides, drop=drop))
    assert isinstance(result.error, ConfigError), f"expected a ConfigError, got {result.error!r}"
    return result


@pytest.mark.parametrize(("overrides", "drop", "named"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_config_is_refused_naming_the_key_and_declaring_nothing(overrides: dict[str, Any], drop: tuple[str, ...], named: str) -> None:
    result = refused(overrides, drop)
    assert isinstance(result.error, ConfigError)
    assert result.error.key == named, str(result.error)
    assert str(result.error).startswith(named + ": ")
    assert "Fix:" in str(result.error) and result.error.fix
    assert result.kong == []


def test_every_config_key_has_a_bad_value_in_the_table() -> None:
    named = {case[3].split(".")[0].split("[")[0] for case in CASES}
    assert {key(config_name(k)) for k in KEYS} <= named, sorted({key(config_name(k)) for k in KEYS} - named)


def test_control_characters_are_refused_never_silently_stripped() -> None:
    # urlsplit drops tabs and newlines on its own; the program must refuse them before that can happen.
    for value in ("http://api.internal/v1\n", "http://api.\tinternal/v1", "http://api.internal/v1\r"):
        result = refused({key("upstreamUrl"): value}, ())
        assert "control characters" in str(result.error)


def test_a_weakening_setting_is_allowed_when_asked_for_and_warned_about() -> None:
    result = run(cli_config(overrides={key("jwt"): {"runOnPreflight": False}}), preview=True)
    assert result.error is None
    assert any("OPTIONS" in warning for warning in result.warnings), result.warnings


def test_an_oversize_value_is_shortened_in_the_message() -> None:
    result = refused({key("fronteggWorkspaceUrl"): "https://" + "a" * 5000 + "/x"}, ())
    assert len(str(result.error)) < 600


def test_a_mistyped_key_suggests_the_key_it_resembles() -> None:
    result = refused({key("routepaths"): ["/orders"]}, ())
    assert f"did you mean {key('routePaths')}?" in str(result.error)


def test_a_namespace_one_typo_away_suggests_the_projects() -> None:
    result = refused({"kong-fronteg-jwt:routePaths": ["/orders"]}, ())
    assert f"did you mean {key('routePaths')}?" in str(result.error)


def test_other_namespaces_are_left_to_their_owners() -> None:
    assert run(cli_config(overrides={"kong:kongAdminToken": "t", "aws:region": "eu-west-1"})).error is None
