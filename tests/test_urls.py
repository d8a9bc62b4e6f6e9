"""URLs, names and route matchers: exactly the `iss` Frontegg tokens carry, and only what Kong 3.9 accepts."""

import pytest

from components.errors import ConfigError
from components.routing import route_host, route_method, route_path
from components.trust import _issuers as issuers
from components.urls import Upstream, is_loopback, upstream, workspace_url

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
        ("http://127.42.0.9:9999", "http://127.42.0.9:9999"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_the_workspace_url_becomes_the_issuer_tokens_carry(given: str, issuer: str) -> None:
    assert workspace_url(given, WS) == issuer


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("http://app-abc123.frontegg.com", "plain http is only allowed for localhost"),
        ("http://frontegg.localhost", "plain http is only allowed for localhost"),
        ("http://localhost.example.com", "plain http is only allowed for localhost"),
        ("http://128.0.0.1", "plain http is only allowed for localhost"),
        ("https://app-abc123.frontegg.com/oauth", "a path"),
        ("https://app-abc123.frontegg.com?x=1", "query or fragment"),
        ("https://app-abc123.frontegg.com#frag", "query or fragment"),
        ("https://user:pw@app-abc123.frontegg.com", "credentials in the URL"),
        ("app-abc123.frontegg.com", r"absolute http\(s\) URL"),
        ("https://app-abc123.frontegg.com:99999", "not a valid URL"),
        ("https://app-abc123.frontegg.com:0", "port 0"),
        ("https://app-abc123.frontegg.com\n", "control characters"),
        ("https://app-abc\t123.frontegg.com", "control characters"),
        ("https://app-abc123.frontegg.com\r\nX-Injected: 1", "control characters"),
        ("https://evil.example\\@app.frontegg.com", "credentials in the URL"),
        ("https://app-abc123.frontegg.com\\evil", "not a valid host name"),
        ("", "non-empty URL"),
    ],
)
def test_a_workspace_url_that_is_not_a_bare_https_origin_is_refused(given: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as error:
        workspace_url(given, WS)
    assert str(error.value).startswith(WS)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.255.255.254", "::1"])
def test_loopback_is_localhost_127_slash_8_and_ipv6_one(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["frontegg.localhost", "localhost.", "0.0.0.0", "::", "10.0.0.1", "::ffff:127.0.0.1x"])
def test_nothing_else_counts_as_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_an_issuer_with_a_trailing_slash_is_an_error_that_explains_why() -> None:
    with pytest.raises(ConfigError) as error:
        issuers(["https://app-abc123.frontegg.com/"], ISS)
    assert error.value.key == f"{ISS}[0]" and "without a trailing slash" in error.value.problem


def test_issuers_must_be_a_non_empty_list_without_duplicates_after_normalising() -> None:
    with pytest.raises(ConfigError, match="at least one issuer"):
        issuers([], ISS)
    with pytest.raises(ConfigError, match="the same issuer") as error:
        issuers(["https://a.example.com", "https://A.example.com:443"], ISS)
    assert error.value.key == f"{ISS}[1]"
    with pytest.raises(ConfigError, match="expected a list"):
        issuers("https://a.example.com", ISS)


def test_upstream_urls_keep_their_path_and_get_the_scheme_default_port() -> None:
    assert upstream("https://api.internal/v1", "u") == Upstream("https", "api.internal", 443, "/v1")
    assert upstream("http://api.internal:8080", "u") == Upstream("http", "api.internal", 8080, "/")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("grpc://api.internal", "absolute http"),
        ("http://api.internal:0", "port 0"),
        ("https://api.internal//v1", "empty segment"),
        ("https://api.internal/a/./b", "not normalised"),
        ("https://api.internal/a/../b", "not normalised"),
        ("https://api.internal/%zz", "bad percent-encoding"),
        ("https://api.internal/a%2", "bad percent-encoding"),
        ("https://api.internal/a<b>", "outside RFC 3986"),
        ("https://api.internal/v1?debug=1", "query or fragment"),
        ("https://api.internal/v1?", "query or fragment"),
        ("https://svc:hunter2@api.internal/v1", "credentials in the URL"),
    ],
)
def test_an_upstream_url_kong_would_refuse_is_refused(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        upstream(url, "u")


@pytest.mark.parametrize("path", ["/", "/orders", "/orders/", "/a-b_c.d~e", "/café", "/a%2Fb", "/v1/:id", "~/orders/\\d+$", "~/(a|b)/x"])
def test_route_paths_kong_accepts_are_accepted(path: str) -> None:
    assert route_path(path, "p") == path


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("orders", "does not start with '/'"),
        ("//orders", "empty segment"),
        ("/orders//x", "empty segment"),
        ("/a/./b", "not normalised"),
        ("/a/../b", "not normalised"),
        ("/a/..", "not normalised"),
        ("/%zz", "bad percent-encoding"),
        ("/a%4", "bad percent-encoding"),
        ("/%41", "not normalised"),
        ("/a%2fb", "not normalised"),
        ("/users/\\d+", "looks like a regex"),
        ("/orders/(legacy)", "looks like a regex"),
        ("/orders$", "looks like a regex"),
        ("~orders", "must start with '~/'"),
        ("~/(unclosed", "not a valid regex"),
        ("/a b", "spaces"),
        ("/caf%C3%A9", "not normalised"),
    ],
)
def test_route_paths_kong_refuses_or_misreads_are_refused(path: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        route_path(path, "p")


def test_a_non_normalised_path_is_refused_with_the_normalised_form() -> None:
    with pytest.raises(ConfigError) as error:
        route_path("/%41pi%2fv1", "p")
    assert "'/Api%2Fv1'" in error.value.fix


@pytest.mark.parametrize(
    ("host", "normalised"),
    [
        ("API.Example.com", "api.example.com"),
        ("*.example.com", "*.example.com"),
        ("api.*", "api.*"),
        ("api.example.com:8443", "api.example.com:8443"),
    ],
)
def test_route_hosts_are_lower_cased_and_may_have_one_wildcard_at_one_end(host: str, normalised: str) -> None:
    assert route_host(host, "h") == normalised


@pytest.mark.parametrize("host", ["a.*.com", "*.*.com", "*example.com", "api example.com", "api.example.com:0", "api.example.com:70000"])
def test_route_hosts_kong_refuses_are_refused(host: str) -> None:
    with pytest.raises(ConfigError):
        route_host(host, "h")


def test_route_methods_are_upper_cased_http_tokens() -> None:
    assert route_method("get", "m") == "GET"
    with pytest.raises(ConfigError, match="not an HTTP method"):
        route_method("GET /", "m")
