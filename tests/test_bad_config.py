"""Bad stack config stops the program with one ConfigError naming the key, before any Kong resource is declared."""

from __future__ import annotations

from typing import Any

import pytest

from components.errors import ConfigError
from components.stack_config import KEYS
from testkit.mock_runtime import PROJECT, Run, cli_config, run
from tests.keys import ec_key, private_pem, rsa_key, spki_pem

WORKSPACE = "https://app-dev-example.frontegg.com"


def key(name: str) -> str:
    return f"{PROJECT}:{name}"


# (case id, overrides on the dev stack, keys dropped, the config key the error must name)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    # fronteggWorkspaceUrl
    ("workspace-missing", {}, (key("fronteggWorkspaceUrl"),), key("fronteggWorkspaceUrl")),
    ("workspace-empty", {key("fronteggWorkspaceUrl"): ""}, (), key("fronteggWorkspaceUrl")),
    ("workspace-not-a-url", {key("fronteggWorkspaceUrl"): "app-dev-example.frontegg.com"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-with-path", {key("fronteggWorkspaceUrl"): WORKSPACE + "/oauth"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-with-query", {key("fronteggWorkspaceUrl"): WORKSPACE + "?env=dev"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-http-not-loopback", {key("fronteggWorkspaceUrl"): "http://app-dev-example.frontegg.com"}, (), key("fronteggWorkspaceUrl")),
    (
        "workspace-with-credentials",
        {key("fronteggWorkspaceUrl"): "https://user:pw@app-dev-example.frontegg.com"},
        (),
        key("fronteggWorkspaceUrl"),
    ),
    ("workspace-bad-port", {key("fronteggWorkspaceUrl"): "https://app-dev-example.frontegg.com:99999"}, (), key("fronteggWorkspaceUrl")),
    ("workspace-oversize-with-path", {key("fronteggWorkspaceUrl"): "https://" + "a" * 5000 + "/x"}, (), key("fronteggWorkspaceUrl")),
    # issuers
    ("issuers-not-json", {key("issuers"): WORKSPACE}, (), key("issuers")),
    ("issuers-object", {key("issuers"): {"dev": WORKSPACE}}, (), key("issuers")),
    ("issuers-trailing-slash", {key("issuers"): [WORKSPACE + "/"]}, (), key("issuers")),
    ("issuers-duplicate", {key("issuers"): [WORKSPACE, WORKSPACE]}, (), key("issuers")),
    ("issuers-http-not-loopback", {key("issuers"): ["http://login.example.com"]}, (), key("issuers")),
    ("issuers-number", {key("issuers"): [42]}, (), key("issuers")),
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
    # upstreamUrl
    ("upstream-empty", {key("upstreamUrl"): ""}, (), key("upstreamUrl")),
    ("upstream-ftp", {key("upstreamUrl"): "ftp://files.internal"}, (), key("upstreamUrl")),
    ("upstream-no-scheme", {key("upstreamUrl"): "api.internal.example.com"}, (), key("upstreamUrl")),
    ("upstream-with-query", {key("upstreamUrl"): "https://api.internal.example.com/v1?debug=1"}, (), key("upstreamUrl")),
    # serviceName
    ("service-name-empty", {key("serviceName"): ""}, (), key("serviceName")),
    ("service-name-with-space", {key("serviceName"): "my service"}, (), key("serviceName")),
    # routePaths, routeHosts, routeMethods
    ("route-path-without-slash", {key("routePaths"): ["test"]}, (), key("routePaths")),
    ("route-paths-not-a-list", {key("routePaths"): "/test"}, (), key("routePaths")),
    ("route-paths-duplicate", {key("routePaths"): ["/a", "/a"]}, (), key("routePaths")),
    ("route-without-matchers", {key("routePaths"): []}, (), key("routePaths")),
    ("route-host-invalid", {key("routeHosts"): ["api example com"]}, (), key("routeHosts")),
    ("route-method-invalid", {key("routeMethods"): ["GET /"]}, (), key("routeMethods")),
    ("route-methods-object", {key("routeMethods"): {"GET": True}}, (), key("routeMethods")),
    # stripPath
    ("strip-path-string", {key("stripPath"): "yes"}, (), key("stripPath")),
    ("strip-path-number", {key("stripPath"): 1}, (), key("stripPath")),
    # consumerUsername
    ("consumer-empty", {key("consumerUsername"): ""}, (), key("consumerUsername")),
    ("consumer-padded", {key("consumerUsername"): " frontegg "}, (), key("consumerUsername")),
    # jwt
    ("jwt-not-an-object", {key("jwt"): ["exp"]}, (), key("jwt")),
    ("jwt-not-json", {key("jwt"): "claimsToVerify=exp"}, (), key("jwt")),
    ("jwt-unknown-setting", {key("jwt"): {"claimsToVerfy": ["exp"]}}, (), key("jwt")),
    ("jwt-python-spelling", {key("jwt"): {"claims_to_verify": ["exp"]}}, (), key("jwt")),
    ("jwt-claims-aud", {key("jwt"): {"claimsToVerify": ["aud"]}}, (), key("jwt.claimsToVerify")),
    ("jwt-claims-string", {key("jwt"): {"claimsToVerify": "exp"}}, (), key("jwt.claimsToVerify")),
    ("jwt-max-expiration-negative", {key("jwt"): {"maximumExpiration": -1}}, (), key("jwt.maximumExpiration")),
    ("jwt-max-expiration-over-a-year", {key("jwt"): {"maximumExpiration": 31_536_001}}, (), key("jwt.maximumExpiration")),
    ("jwt-max-expiration-string", {key("jwt"): {"maximumExpiration": "60"}}, (), key("jwt.maximumExpiration")),
    ("jwt-max-expiration-fraction", {key("jwt"): {"maximumExpiration": 1.5}}, (), key("jwt.maximumExpiration")),
    (
        "jwt-max-expiration-without-exp",
        {key("jwt"): {"maximumExpiration": 3600, "claimsToVerify": []}},
        (),
        key("jwt.maximumExpiration"),
    ),
    ("jwt-header-name-invalid", {key("jwt"): {"headerNames": ["Authorization: Bearer"]}}, (), key("jwt.headerNames")),
    ("jwt-uri-param-duplicate", {key("jwt"): {"uriParamNames": ["jwt", "jwt"]}}, (), key("jwt.uriParamNames")),
    (
        "jwt-nowhere-to-carry-a-token",
        {key("jwt"): {"headerNames": [], "uriParamNames": [], "cookieNames": []}},
        (),
        key("jwt"),
    ),
    ("jwt-run-on-preflight-string", {key("jwt"): {"runOnPreflight": "false"}}, (), key("jwt.runOnPreflight")),
    # unknown keys
    ("typo-routepaths", {key("routepaths"): ["/orders"]}, (), key("routepaths")),
    ("typo-issuer", {key("issuer"): [WORKSPACE]}, (), key("issuer")),
]


def refused(overrides: dict[str, Any], drop: tuple[str, ...]) -> Run:
    result = run(cli_config(overrides=overrides, drop=drop))
    assert isinstance(result.error, ConfigError), f"expected a ConfigError, got {result.error!r}"
    return result


HOST_TOO_LONG = pytest.param(
    {key("fronteggWorkspaceUrl"): "https://" + "a" * 300 + ".frontegg.com"},
    (),
    key("fronteggWorkspaceUrl"),
    id="workspace-host-longer-than-dns-allows",
)


@pytest.mark.parametrize(("overrides", "drop", "named"), [pytest.param(*c[1:], id=c[0]) for c in CASES] + [HOST_TOO_LONG])
def test_bad_config_is_refused_naming_the_key_and_declaring_nothing(overrides: dict[str, Any], drop: tuple[str, ...], named: str) -> None:
    result = refused(overrides, drop)
    assert isinstance(result.error, ConfigError)
    assert result.error.key == named or result.error.key.startswith(named + "["), result.error.key
    assert str(result.error).startswith(named), str(result.error)
    assert "Fix:" in str(result.error)
    assert result.kong == []


def test_every_config_key_has_a_bad_value_in_the_table() -> None:
    named = {case[3].split(".")[0] for case in CASES}
    # fronteggKeyId and fronteggKeyCheck (key discovery) are covered by the key discovery tests.
    wanted = {k.full_name for k in KEYS} - {key("fronteggKeyId"), key("fronteggKeyCheck")}
    assert wanted <= named, sorted(wanted - named)


def test_a_private_key_pasted_as_the_public_key_is_never_echoed() -> None:
    pem = private_pem(rsa_key("trusted"))
    result = refused({key("fronteggPublicKey"): pem}, ())
    body = "".join(pem.strip().splitlines()[1:-1])
    shown = str(result.error) + repr(result.error.__dict__) + "".join(r.getMessage() for r in result.logs)
    for line in pem.strip().splitlines()[1:-1]:
        assert line not in shown
    assert body[:20] not in shown


def test_an_oversize_value_is_shortened_in_the_message() -> None:
    result = refused({key("fronteggWorkspaceUrl"): "https://" + "a" * 5000 + "/x"}, ())
    assert len(str(result.error)) < 600


def test_a_mistyped_key_suggests_the_key_it_resembles() -> None:
    result = refused({key("routepaths"): ["/orders"]}, ())
    assert f"did you mean {key('routePaths')}?" in str(result.error)
