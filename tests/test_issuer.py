"""The workspace URL and issuers: exactly the `iss` Frontegg tokens carry."""

from __future__ import annotations

import pytest

from components.errors import ConfigError
from components.issuer import issuers, upstream, workspace_url

WS = "kong-frontegg-jwt:fronteggWorkspaceUrl"
ISS = "kong-frontegg-jwt:issuers"


@pytest.mark.parametrize(
    ("given", "issuer"),
    [
        ("https://app-abc123.frontegg.com", "https://app-abc123.frontegg.com"),
        ("https://app-abc123.frontegg.com/", "https://app-abc123.frontegg.com"),
        ("  HTTPS://App-ABC123.Frontegg.com:443  ", "https://app-abc123.frontegg.com"),
        ("https://login.example.com:8443", "https://login.example.com:8443"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1", "http://127.0.0.1"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_the_workspace_url_becomes_the_issuer_tokens_carry(given: str, issuer: str) -> None:
    assert workspace_url(given, WS) == issuer


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("http://app-abc123.frontegg.com", "plain http is only allowed for loopback"),
        ("https://app-abc123.frontegg.com/oauth", "a path"),
        ("https://app-abc123.frontegg.com?x=1", "query or fragment"),
        ("https://app-abc123.frontegg.com#frag", "query or fragment"),
        ("https://user:pw@app-abc123.frontegg.com", "credentials in the URL"),
        ("app-abc123.frontegg.com", r"absolute http\(s\) URL"),
        ("https://app-abc123.frontegg.com:99999", "not a valid URL"),
        ("", "non-empty URL"),
    ],
)
def test_a_workspace_url_that_is_not_a_bare_origin_is_refused(given: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as error:
        workspace_url(given, WS)
    assert str(error.value).startswith(WS)


def test_an_issuer_with_a_trailing_slash_is_an_error_that_explains_why() -> None:
    with pytest.raises(ConfigError) as error:
        issuers(["https://app-abc123.frontegg.com/"], ISS)
    message = str(error.value)
    assert message.startswith(f"{ISS}[0]") and "without a trailing slash" in message and "remove the trailing slash" in message


def test_issuers_must_be_a_non_empty_list_without_duplicates() -> None:
    with pytest.raises(ConfigError, match="at least one issuer"):
        issuers([], ISS)
    with pytest.raises(ConfigError, match="listed twice"):
        issuers(["https://a.example.com", "https://A.example.com:443"], ISS)
    with pytest.raises(ConfigError, match="list of issuer URLs"):
        issuers("https://a.example.com", ISS)


def test_upstream_urls_keep_their_path_and_get_the_scheme_default_port() -> None:
    assert upstream("https://api.internal/v1", "u") == ("https", "api.internal", 443, "/v1")
    assert upstream("http://api.internal:8080", "u") == ("http", "api.internal", 8080, None)
    with pytest.raises(ConfigError, match="absolute http"):
        upstream("grpc://api.internal", "u")
