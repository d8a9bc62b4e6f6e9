"""The components as other programs import them: composition, providers, URL mapping, inputs known later."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pulumi
import pytest

from components import ConfigError, FronteggTrust, ProtectedApi
from testkit.mock_runtime import ROOT, cli_config, run
from tests.keys import pkcs1_pem, rsa_key, spki_pem


def readme_example(marker: str) -> Callable[[], None]:
    """The python block that follows `<!-- example: marker -->` in the README, as a program."""
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- example: {marker} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has no example '{marker}'"
    code = compile(match.group(1), f"README.md:{marker}", "exec")
    return lambda: exec(code, {"__name__": "__main__"})


def test_the_readme_composition_example_shares_one_trust_between_two_apis() -> None:
    result = run(cli_config(), program=readme_example("composition"))
    assert result.error is None
    assert len(result.of("consumer")) == 1 and len(result.of("credential")) == 1
    assert len(result.of("service")) == 2 and len(result.of("route")) == 2 and len(result.of("plugin")) == 2
    routes = {r.inputs["name"]: r for r in result.of("route")}
    assert set(routes) == {"orders-route", "billing-route"}
    plugins = {p.inputs["routeId"]: json.loads(p.inputs["configJson"]) for p in result.of("plugin")}
    assert plugins[routes["billing-route"].id]["maximum_expiration"] == 3600
    assert plugins[routes["orders-route"].id]["maximum_expiration"] == 0


def test_a_provider_passed_by_the_caller_reaches_every_kong_child() -> None:
    result = run(cli_config(), program=readme_example("composition"))
    gateway = next(r for r in result.resources if r.type == "pulumi:providers:kong")
    assert result.kong
    for resource in result.kong:
        assert resource.provider.startswith(gateway.urn + "::"), resource.name


def test_upstream_https_without_port_maps_to_443_and_keeps_the_path() -> None:
    result = run(cli_config(), program=readme_example("composition"))
    services = {s.inputs["name"]: s.inputs for s in result.of("service")}
    assert services["orders"] == {"name": "orders", "protocol": "https", "host": "orders.internal", "port": 8443, "path": "/v1"}
    assert services["billing"] == {"name": "billing", "protocol": "http", "host": "billing.internal", "port": 80}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com", {"protocol": "https", "host": "api.example.com", "port": 443}),
        ("https://api.example.com/v2/", {"protocol": "https", "host": "api.example.com", "port": 443, "path": "/v2/"}),
        ("HTTP://API.example.com:8080", {"protocol": "http", "host": "api.example.com", "port": 8080}),
    ],
)
def test_upstream_url_becomes_protocol_host_port_path(url: str, expected: dict[str, object]) -> None:
    result = run(cli_config(overrides={"kong-frontegg-jwt:upstreamUrl": url}))
    service = result.one("service").inputs
    assert {k: v for k, v in service.items() if k != "name"} == expected


def test_a_pkcs1_key_is_sent_to_kong_as_spki() -> None:
    key = rsa_key()

    def program() -> None:
        FronteggTrust("t", {"issuers": ["https://login.example.com"], "public_key_pem": "\n  " + pkcs1_pem(key) + "\n\n"})

    result = run({}, program=program)
    assert result.error is None
    assert result.one("credential").inputs["rsaPublicKey"] == spki_pem(key)


def test_a_public_key_known_only_at_deploy_time_is_still_validated_and_canonicalised() -> None:
    key = rsa_key()

    def program() -> None:
        later = pulumi.Output.from_input(pkcs1_pem(key))
        trust = FronteggTrust("t", {"issuers": ["https://login.example.com"], "public_key_pem": later})
        pulumi.export("fingerprint", trust.public_key_fingerprint)

    result = run({}, program=program)
    assert result.error is None
    assert result.one("credential").inputs["rsaPublicKey"] == spki_pem(key)
    assert len(result.outputs["fingerprint"]) == 64


def test_issuers_must_be_known_when_the_program_runs() -> None:
    def program() -> None:
        FronteggTrust("t", {"issuers": pulumi.Output.from_input(["https://login.example.com"]), "public_key_pem": spki_pem(rsa_key())})

    result = run({}, program=program)
    assert isinstance(result.error, ConfigError)
    assert "issuers" in str(result.error) and result.kong == []


def test_component_args_are_validated_before_any_resource_with_the_argument_named() -> None:
    def program() -> None:
        ProtectedApi("a", {"upstream_url": "ftp://files.example.com", "route_paths": ["/files"]})

    result = run({}, program=program)
    assert isinstance(result.error, ConfigError)
    assert str(result.error).startswith("upstream_url:")
    assert result.resources == []


def test_component_jwt_overrides_use_kong_field_names() -> None:
    def program() -> None:
        ProtectedApi("a", {"upstream_url": "http://a.internal", "route_paths": ["/a"], "jwt": {"claimsToVerify": ["exp"]}})  # type: ignore[typeddict-item]

    result = run({}, program=program)
    assert isinstance(result.error, ConfigError)
    assert "claimsToVerify" in str(result.error) and "claims_to_verify" in str(result.error)


def test_service_name_defaults_to_the_component_name() -> None:
    result = run({}, program=lambda: ProtectedApi("orders", {"upstream_url": "http://o.internal", "route_hosts": ["Orders.Example.com"]}))
    assert result.one("service").inputs["name"] == "orders"
    assert result.one("route").inputs["hosts"] == ["orders.example.com"]
    assert "paths" not in result.one("route").inputs


def test_an_upstream_url_known_only_at_deploy_time_is_split_into_service_fields() -> None:
    def program() -> None:
        later = pulumi.Output.from_input("https://orders.internal:8443/v1")
        ProtectedApi("orders", {"upstream_url": later, "route_paths": ["/orders"]})

    result = run({}, program=program)
    assert result.error is None
    assert result.one("service").inputs == {"name": "orders", "protocol": "https", "host": "orders.internal", "port": 8443, "path": "/v1"}


def test_a_secret_upstream_url_stays_secret() -> None:
    def program() -> None:
        ProtectedApi("orders", {"upstream_url": pulumi.Output.secret("https://orders.internal/v1"), "route_paths": ["/orders"]})

    service = run({}, program=program).one("service")
    assert service.is_secret("host") and service.is_secret("path")
