"""The policy pack that reviews every preview: each rule by hand, then the whole pack on what the program declares."""

from __future__ import annotations

import contextlib
import functools
import json
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kong as kong
import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from components import FronteggTrust, ProtectedApi, issuer, stack_config
from components.errors import ConfigError
from components.jwt_settings import plugin_config, plugin_config_json
from policy import kong_jwt_rules as rules
from testkit.mock_runtime import KONG, ROOT, Registration, cli_config, run

CONFIG_FILE = ROOT / "policy" / "config.json"
SECURE_CONFIG = plugin_config_json(plugin_config({}, "jwt"))
REFERENCES = ("routeId", "serviceId", "consumerId")


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    urn: str | None


def _opts(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def resource(kind: str, name: str, props: Mapping[str, Any], deps: Mapping[str, list[PolicyResource]] | None = None) -> PolicyResource:
    """A stack resource as the policy server hands it over (unknown values raise when read)."""
    urn = f"urn:pulumi:dev::kong-frontegg-jwt::{KONG[kind]}::{name}"
    return PolicyResource(KONG[kind], unknown_checking_proxy(dict(props)), urn, name, _opts(), None, None, [], dict(deps or {}))


def from_registrations(registrations: list[Registration], *, preview: bool = False) -> list[PolicyResource]:
    """What the engine hands the stack policies for these resources; preview: a first deploy, no id known yet."""
    resources: dict[str, PolicyResource] = {}
    for reg in registrations:
        # Decoded the way the policy server decodes the engine's gRPC properties; bridged providers output `id`.
        props = deserialize_properties(reg.raw_inputs)
        props["id"] = reg.id
        if preview:
            props["id"] = UNKNOWN_STRING_VALUE
            props.update({ref: UNKNOWN_STRING_VALUE for ref in REFERENCES if ref in props})
        proxied = unknown_checking_proxy(props)
        resources[reg.urn] = PolicyResource(reg.type, proxied, reg.urn, reg.name, _opts(reg.parent), None, None, [], {})
    for reg in registrations:
        found = resources[reg.urn]
        found.parent = resources.get(reg.parent)
        found.property_dependencies = {
            prop: [resources[urn] for urn in urns if urn in resources] for prop, urns in reg.property_dependencies.items()
        }
    return list(resources.values())


def pack_config(**overrides: Mapping[str, Any]) -> dict[str, Any]:
    """policy/config.json, as `--policy-pack-config` hands it to the pack, with per-policy overrides."""
    config: dict[str, Any] = json.loads(CONFIG_FILE.read_text())
    for policy, values in overrides.items():
        config[policy.replace("_", "-")] = {**config.get(policy.replace("_", "-"), {}), **values}
    return config


def evaluate(resources: list[PolicyResource], config: Mapping[str, Any] | None = None) -> list[Violation]:
    """Run every policy of the pack over a stack, as `pulumi preview --policy-pack policy` would."""
    config = pack_config() if config is None else config
    found: list[Violation] = []
    for policy in rules.POLICIES:
        settings = config.get(policy.name, {})

        def report(message: str, urn: str | None = None, name: str = policy.name) -> None:
            found.append(Violation(name, message, urn))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None, settings)
                # An unknown value read in a preview becomes the server's advisory "can't run during preview" note.
                with contextlib.suppress(UnknownValueError):
                    policy.validate(args, functools.partial(_report_to, report, r.urn))
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(resources, settings), report)
    return found


def _report_to(report: Any, urn: str, message: str, _urn: str | None = None) -> None:
    report(message, urn)


def _collect(found: list[str]) -> Any:
    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    return report


def check_credential(props: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(KONG["credential"], unknown_checking_proxy(dict(props)), "urn:cred", "frontegg-cred", _opts(), None)
    rules.validate_credential(args, _collect(found))
    return found


def check_plugin(props: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(KONG["plugin"], unknown_checking_proxy(dict(props)), "urn:plugin", "api-jwt", _opts(), None, config)
    rules.validate_plugin(args, _collect(found))
    return found


# --- jwt credentials ------------------------------------------------------------------------------------

GOOD_CREDENTIAL = {"key": "https://app-abc123.frontegg.com", "algorithm": "RS256", "rsaPublicKey": "-----BEGIN PUBLIC KEY-----..."}


def test_an_rs256_credential_keyed_by_the_exact_issuer_passes() -> None:
    assert check_credential(GOOD_CREDENTIAL) == []


def test_a_trailing_slash_on_the_credential_key_is_refused_with_the_fix() -> None:
    [message] = check_credential({**GOOD_CREDENTIAL, "key": "https://app-abc123.frontegg.com/"})
    assert "frontegg-cred" in message and "remove the trailing slash (https://app-abc123.frontegg.com)" in message


@pytest.mark.parametrize("algorithm", ["HS256", None])
def test_a_credential_that_is_not_rs256_is_refused(algorithm: str | None) -> None:
    props = {k: v for k, v in GOOD_CREDENTIAL.items() if k != "algorithm" or algorithm}
    if algorithm:
        props["algorithm"] = algorithm
    [message] = check_credential(props)
    assert "Fix: set algorithm='RS256'" in message


def test_an_rs256_credential_without_a_public_key_is_refused() -> None:
    [message] = check_credential({k: v for k, v in GOOD_CREDENTIAL.items() if k != "rsaPublicKey"})
    assert "rsa_public_key" in message


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("http://app-abc123.frontegg.com", "plain http is only allowed for loopback hosts"),
        ("https://App-ABC123.frontegg.com", "use https://app-abc123.frontegg.com"),
        ("https://app-abc123.frontegg.com:443", "use https://app-abc123.frontegg.com"),
        ("https://app-abc123.frontegg.com/oauth", "bare origins"),
        ("https://app-abc123.frontegg.com?x=1", "query or fragment"),
        ("app-abc123.frontegg.com", "not an http(s) origin"),
        ("", "the key is empty"),
    ],
)
def test_a_credential_key_that_no_frontegg_token_carries_is_refused(key: str, expected: str) -> None:
    [message] = check_credential({**GOOD_CREDENTIAL, "key": key})
    assert expected in message


@pytest.mark.parametrize("key", ["http://localhost:8080", "http://127.0.0.1:9000", "https://login.example.com:8443"])
def test_loopback_http_and_custom_ports_are_accepted(key: str) -> None:
    assert check_credential({**GOOD_CREDENTIAL, "key": key}) == []


@pytest.mark.parametrize(
    "key",
    [
        "https://app-abc123.frontegg.com",
        "https://app-abc123.frontegg.com/",
        "https://App-abc123.frontegg.com",
        "http://app-abc123.frontegg.com",
        "http://localhost:8080",
        "http://[::1]:8080",
        "https://app.frontegg.com:443",
        "https://app.frontegg.com/x",
        "https://app.frontegg.com#f",
    ],
)
def test_the_policy_accepts_exactly_the_issuers_the_program_declares(key: str) -> None:
    try:
        accepted_by_program = issuer.issuers([key], "issuers") == (key,)
    except ConfigError:
        accepted_by_program = False
    assert (rules.issuer_problem(key) is None) == accepted_by_program


def test_a_credential_key_unknown_in_preview_is_not_judged() -> None:
    assert check_credential({**GOOD_CREDENTIAL, "key": UNKNOWN_STRING_VALUE}) == []


# --- jwt plugins ---------------------------------------------------------------------------------------


def test_the_programs_default_plugin_settings_pass() -> None:
    assert check_plugin({"name": "jwt", "configJson": SECURE_CONFIG}) == []


def test_a_plugin_that_does_not_verify_exp_is_refused() -> None:
    config = {**json.loads(SECURE_CONFIG), "claims_to_verify": []}
    [message] = check_plugin({"name": "jwt", "configJson": json.dumps(config)})
    assert "api-jwt" in message and '`exp` is not verified' in message and 'Fix: set "claims_to_verify": ["exp"]' in message


@pytest.mark.parametrize("absent", ["missing", "null"])
def test_absent_uri_param_names_means_kongs_default_jwt_query_parameter_and_is_refused(absent: str) -> None:
    config = {k: v for k, v in json.loads(SECURE_CONFIG).items() if k != "uri_param_names"}
    if absent == "null":
        config["uri_param_names"] = None
    [message] = check_plugin({"name": "jwt", "configJson": json.dumps(config)})
    assert "Kong's default [\"jwt\"]" in message and 'Fix: set "uri_param_names": []' in message


def test_a_plugin_that_reads_tokens_from_the_url_is_refused() -> None:
    config = {**json.loads(SECURE_CONFIG), "uri_param_names": ["jwt"]}
    [message] = check_plugin({"name": "jwt", "configJson": json.dumps(config)})
    assert "query parameters" in message


def test_a_plugin_without_config_fails_on_both_kong_defaults() -> None:
    assert len(check_plugin({"name": "jwt"})) == 2


def test_an_anonymous_fallback_is_refused_unless_the_policy_config_allows_it() -> None:
    props = {"name": "jwt", "configJson": json.dumps({**json.loads(SECURE_CONFIG), "anonymous": "guest"})}
    [message] = check_plugin(props)
    assert "'guest'" in message and "allowAnonymous" in message
    assert check_plugin(props, {"allowAnonymous": True}) == []


def test_config_json_that_is_not_json_is_refused() -> None:
    [message] = check_plugin({"name": "jwt", "configJson": "{claims"})
    assert "not valid JSON" in message


def test_other_plugins_are_not_judged_by_the_jwt_rules() -> None:
    assert check_plugin({"name": "rate-limiting", "configJson": "{}"}) == []


# --- route coverage ------------------------------------------------------------------------------------


def _stack(*, plugin: dict[str, Any] | None = None, by: str = "dependency") -> list[PolicyResource]:
    """A service, its route, and a jwt plugin linked to the route by property dependency (preview) or by id."""
    service = resource("service", "svc", {"name": "orders", "id": "svc-id"})
    route = resource("route", "orders-route", {"name": "orders-route", "serviceId": "svc-id", "id": "route-id"}, {"serviceId": [service]})
    props: dict[str, Any] = {"name": "jwt", "configJson": SECURE_CONFIG, **(plugin or {})}
    deps: dict[str, list[PolicyResource]] = {}
    if by == "dependency":
        props.setdefault("routeId", UNKNOWN_STRING_VALUE)
        deps = {"routeId": [route]}
    elif by == "id":
        props.setdefault("routeId", "route-id")
    return [service, route, resource("plugin", "orders-jwt", props, deps)]


def route_violations(resources: list[PolicyResource], config: Mapping[str, Any] | None = None) -> list[str]:
    found: list[str] = []
    rules.validate_routes(StackValidationArgs(resources, config or {}), _collect(found))
    return found


def test_a_plugin_linked_to_its_route_only_by_property_dependency_covers_it() -> None:
    assert route_violations(_stack(by="dependency")) == []


def test_a_plugin_linked_to_its_route_by_a_known_id_covers_it() -> None:
    assert route_violations(_stack(by="id")) == []


def test_a_plugin_on_the_service_covers_the_services_routes() -> None:
    service, route, _ = _stack()
    other = resource("service", "other", {"name": "other", "id": "other-id"})
    stray = resource("route", "stray", {"name": "stray", "serviceId": "other-id"}, {"serviceId": [other]})
    props = {"name": "jwt", "configJson": SECURE_CONFIG, "serviceId": UNKNOWN_STRING_VALUE}
    plugin = resource("plugin", "svc-jwt", props, {"serviceId": [service]})
    [message] = route_violations([service, route, other, stray, plugin])
    assert "'stray'" in message


def test_a_global_jwt_plugin_covers_every_route() -> None:
    assert route_violations(_stack(by="global")) == []


def test_a_route_without_a_plugin_is_refused_with_the_fix_and_the_exemption() -> None:
    service, route, _ = _stack()
    [message] = route_violations([service, route])
    assert "Kong route 'orders-route' is not covered by a jwt plugin" in message
    assert "Fix:" in message and "'orders-route' to kong-routes-require-jwt.publicRoutes in policy/config.json" in message


def test_a_disabled_plugin_does_not_cover_its_route() -> None:
    [message] = route_violations(_stack(plugin={"enabled": False}))
    assert "orders-jwt is disabled" in message


def test_a_non_jwt_plugin_does_not_cover_a_route() -> None:
    assert len(route_violations(_stack(plugin={"name": "cors"}))) == 1


def test_a_route_listed_as_public_is_exempt() -> None:
    service, route, _ = _stack()
    assert route_violations([service, route], {"publicRoutes": ["orders-route"]}) == []
    assert len(route_violations([service, route], {"publicRoutes": ["something-else"]})) == 1


# --- the whole pack on what the program declares ---------------------------------------------------------


def _open_route_program() -> None:
    """The real stack plus a health route that someone added without a jwt plugin."""
    settings = stack_config.read(stack_config.current())
    FronteggTrust("frontegg", settings.trust)
    api = ProtectedApi("api", settings.api)
    health = kong.Route("health", name="health", service_id=api.service_id, protocols=["http", "https"], paths=["/health"])
    pulumi.export("healthRouteId", health.id)


@pytest.fixture(scope="module")
def dev_stack() -> list[Registration]:
    result = run(cli_config())
    assert result.error is None, result.error
    return result.resources


@pytest.fixture(scope="module")
def open_route_stack() -> list[Registration]:
    result = run(cli_config(), program=_open_route_program)
    assert result.error is None, result.error
    return result.resources


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_the_dev_stack_passes_every_policy(dev_stack: list[Registration], preview: bool) -> None:
    assert evaluate(from_registrations(dev_stack, preview=preview)) == []


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_route_added_without_a_jwt_plugin_fails_the_pack(open_route_stack: list[Registration], preview: bool) -> None:
    [violation] = evaluate(from_registrations(open_route_stack, preview=preview))
    assert violation.policy == "kong-routes-require-jwt"
    assert violation.urn is not None and violation.urn.endswith("kong:index/route:Route::health")
    assert "Kong route 'health' is not covered by a jwt plugin" in violation.message


def test_a_route_made_public_in_the_policy_config_passes_the_pack(open_route_stack: list[Registration]) -> None:
    config = pack_config(kong_routes_require_jwt={"publicRoutes": ["health"]})
    assert evaluate(from_registrations(open_route_stack), config) == []


def test_the_config_file_configures_only_the_packs_policies_within_their_schemas() -> None:
    config = json.loads(CONFIG_FILE.read_text())
    policies = {policy.name: policy for policy in rules.POLICIES}
    assert set(config) <= set(policies)
    for name, settings in config.items():
        schema = policies[name].config_schema
        assert schema is not None and set(settings) <= set(schema.properties), name


def test_the_pack_entry_point_builds_the_pack_from_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}
    monkeypatch.setattr("pulumi_policy.PolicyPack", lambda **kwargs: built.update(kwargs))  # the real one starts a server
    monkeypatch.syspath_prepend(str(ROOT / "policy"))
    monkeypatch.setitem(sys.modules, "kong_jwt_rules", rules)
    runpy.run_path(str(ROOT / "policy" / "__main__.py"))
    assert built["name"] == "kong-frontegg-jwt" and built["policies"] is rules.POLICIES
