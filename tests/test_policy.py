"""The policy pack that reviews every preview: each rule by hand, then the whole pack on what the program declares."""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import math
import re
import runpy
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kong as kong
import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from components import weakening
from policy import kong_jwt_rules as rules
from policy import weakening as pack_weakening
from testkit.mock_runtime import KONG, MAIN, PROJECT, ROOT, Registration, cli_config, run
from tests.test_program import TEN_JWT_FIELDS

CONFIG_FILE = ROOT / "policy" / "config.json"
POLICIES = rules.policies(pack_weakening.WEAKENINGS)
"""The pack as policy/__main__.py builds it: the rules with the pack's own copy of the weakening table."""
REFERENCES = ("routeId", "serviceId", "consumerId")
UNKNOWN = UNKNOWN_STRING_VALUE
DEV_ISSUER = "https://app-dev-example.frontegg.com"

SECURE: dict[str, Any] = dict(TEN_JWT_FIELDS)
"""The jwt plugin config the program declares: all ten fields of Kong 3.9's jwt schema, `anonymous` and `realm` null."""
SECURE_CONFIG = json.dumps(SECURE, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    urn: str | None


def _opts(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def provider(urn: str) -> PolicyProviderResource:
    """A provider as the policy server reports it: its type, inputs, URN and name (never its id)."""
    return PolicyProviderResource(urn.split("::")[2].rpartition("$")[2], unknown_checking_proxy({}), urn, urn.rpartition("::")[2])


def default_provider(package: str, stack: str = "dev") -> PolicyProviderResource:
    """The provider the engine fills in for a resource that names none: `default_<version>` of its package."""
    version = importlib.metadata.version(f"pulumi_{package}").replace(".", "_")
    return provider(f"urn:pulumi:{stack}::{PROJECT}::pulumi:providers:{package}::default_{version}")


KONG_DEFAULT = default_provider("kong")
SCRATCH_KONG = provider(f"urn:pulumi:dev::{PROJECT}::pulumi:providers:kong::scratch")
"""A second Kong provider, as `kong.Provider("scratch", ...)` declares it."""


def resource(
    kind: str,
    name: str,
    props: Mapping[str, Any],
    deps: Mapping[str, list[PolicyResource]] | None = None,
    on: PolicyProviderResource = KONG_DEFAULT,
) -> PolicyResource:
    """A stack resource as the policy server hands it over (unknown values raise when read), on the default Kong."""
    urn = f"urn:pulumi:dev::kong-frontegg-jwt::{KONG[kind]}::{name}"
    return PolicyResource(KONG[kind], unknown_checking_proxy(dict(props)), urn, name, _opts(), on, None, [], dict(deps or {}))


def _provider_of(reg: Registration) -> PolicyProviderResource | None:
    """The provider the engine reports for a registration: the one it names, else its package's default (custom only)."""
    package, module, _ = reg.type.split(":", 2)
    if "/" not in module:  # a component (pkg:index:Name) or a provider (pulumi:providers:pkg) has none
        return None
    return provider(reg.provider.rpartition("::")[0]) if reg.provider else default_provider(package, rules.stack_of(reg.urn))


def from_registrations(registrations: list[Registration], *, preview: bool = False) -> list[PolicyResource]:
    """What the engine hands the stack policies for these resources; preview: a first deploy, no id known yet."""
    resources: dict[str, PolicyResource] = {}
    for reg in registrations:
        # Decoded the way the policy server decodes the engine's gRPC properties; bridged providers output `id`.
        props = deserialize_properties(reg.raw_inputs)
        props["id"] = reg.id
        if preview:
            props["id"] = UNKNOWN
            props.update({ref: UNKNOWN for ref in REFERENCES if ref in props})
        proxied = unknown_checking_proxy(props)
        resources[reg.urn] = PolicyResource(reg.type, proxied, reg.urn, reg.name, _opts(reg.parent), _provider_of(reg), None, [], {})
    for reg in registrations:
        found = resources[reg.urn]
        found.parent = resources.get(reg.parent)
        found.property_dependencies = {
            prop: [resources[urn] for urn in urns if urn in resources] for prop, urns in reg.property_dependencies.items()
        }
    return list(resources.values())


def raw(r: PolicyResource) -> dict[str, Any]:
    """A resource's properties as stored, unknown sentinels included (reading them through the proxy raises)."""
    target: dict[str, Any] = r.props["__target"]  # pulumi_policy.proxy's key for the wrapped dict
    return target


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
    for policy in POLICIES:
        settings = config.get(policy.name, {})

        def report(message: str, urn: str | None = None, name: str = policy.name) -> None:
            found.append(Violation(name, message, urn))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider, settings)
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


def check_credential(props: Mapping[str, Any], config: Mapping[str, Any] | None = None, *, stack: str = "dev") -> list[str]:
    """The credential policy on one credential of a stack, with policy/config.json's settings unless given."""
    found: list[str] = []
    settings = pack_config()[rules.CREDENTIAL_POLICY] if config is None else config
    proxied = unknown_checking_proxy(dict(props))
    urn = f"urn:pulumi:{stack}::{PROJECT}::{KONG['credential']}::frontegg-cred"
    args = ResourceValidationArgs(KONG["credential"], proxied, urn, "frontegg-cred", _opts(), KONG_DEFAULT, settings)
    rules.validate_credential(args, _collect(found))
    return found


def check_plugin(props: Mapping[str, Any], config: Mapping[str, Any] | None = None) -> list[str]:
    """The plugin policy, as the pack builds it, on one plugin."""
    found: list[str] = []
    args = ResourceValidationArgs(
        KONG["plugin"], unknown_checking_proxy(dict(props)), "urn:plugin", "api-jwt", _opts(), KONG_DEFAULT, config
    )
    rules.plugin_validator(pack_weakening.WEAKENINGS)(args, _collect(found))
    return found


def jwt_plugin(**config: Any) -> dict[str, Any]:
    """Plugin props with the secure config, changed by `config` (a value of DROP removes the key: Kong's default)."""
    settings = {k: v for k, v in {**SECURE, **config}.items() if v is not DROP}
    return {"name": "jwt", "configJson": json.dumps(settings)}


DROP: Any = object()


# --- one definition of "weaker than the product's defaults" ------------------------------------------------


def test_the_packs_weakening_table_is_the_generated_copy_of_the_components() -> None:
    source, copy = ROOT / "components" / "weakening.py", ROOT / "policy" / "weakening.py"
    assert copy.read_bytes() == source.read_bytes(), "regenerate the copy: cp components/weakening.py policy/weakening.py"


def test_the_weakenings_are_the_five_known_ones_each_with_a_one_sentence_risk_naming_its_setting() -> None:
    ids = [w.id for w in weakening.WEAKENINGS]
    assert ids == ["expired-tokens", "tokens-in-urls", "unauthenticated-preflight", "anonymous-fallback", "cookie-tokens"]
    for row in weakening.WEAKENINGS:
        assert row.kong_name in row.risk and row.config_name in row.risk, row.id
        assert row.risk.endswith(".") and ". " not in row.risk, row.id


def test_the_products_defaults_have_no_weakening_and_kongs_own_defaults_have_two() -> None:
    assert weakening.found({w.kong_name: w.safe for w in weakening.WEAKENINGS}) == []
    assert weakening.found(SECURE) == []
    assert [w.id for w in weakening.found({})] == ["expired-tokens", "tokens-in-urls"]


WEAKENED: list[tuple[str, dict[str, Any]]] = [
    ("expired-tokens", {"claims_to_verify": []}),
    ("expired-tokens", {"claims_to_verify": None}),
    ("expired-tokens", {"claims_to_verify": DROP}),
    ("expired-tokens", {"claims_to_verify": ["nbf"]}),
    ("expired-tokens", {"claims_to_verify": "exp"}),
    ("tokens-in-urls", {"uri_param_names": DROP}),
    ("tokens-in-urls", {"uri_param_names": None}),
    ("tokens-in-urls", {"uri_param_names": ["jwt"]}),
    ("tokens-in-urls", {"uri_param_names": ["access_token"]}),
    ("unauthenticated-preflight", {"run_on_preflight": False}),
    ("unauthenticated-preflight", {"run_on_preflight": "false"}),
    ("anonymous-fallback", {"anonymous": "guest"}),
    ("anonymous-fallback", {"anonymous": "5bd1ad4e-1f31-4c7e-9d8a-0a0ad4b0c0de"}),
    ("cookie-tokens", {"cookie_names": ["session"]}),
]


KONG_REFUSES = "Kong 3.9 refuses this config"


def _policy_verdict(messages: list[str]) -> list[str]:
    """The weakening ids the plugin policy's messages report, in table order (each message carries one risk).

    Messages about a config Kong refuses are left out: they name a field, not a weakening (see _refused).
    """
    weakened = [message for message in messages if KONG_REFUSES not in message]
    ids = [w.id for w in pack_weakening.WEAKENINGS if any(w.risk in message for message in weakened)]
    assert len(ids) == len(weakened), messages
    return ids


def _refused(messages: list[str]) -> list[str]:
    """The config fields the plugin policy says Kong 3.9 refuses, in the order reported."""
    return [re.findall(r"protects nothing: config\.(\w+)", message)[0] for message in messages if KONG_REFUSES in message]


@pytest.mark.parametrize(("expected", "change"), WEAKENED, ids=[f"{w}-{i}" for i, (w, _) in enumerate(WEAKENED)])
def test_the_component_and_the_pack_judge_each_weakening_alike(expected: str, change: dict[str, Any]) -> None:
    props = jwt_plugin(**change)
    component = [w.id for w in weakening.found(json.loads(props["configJson"]))]
    assert component == [expected]
    assert _policy_verdict(check_plugin(props)) == component


@pytest.mark.parametrize(
    "config",
    [SECURE, {}, {k: v for k, v in SECURE.items() if k not in ("anonymous", "realm")}, {**SECURE, "claims_to_verify": ["nbf", "exp"]}],
    ids=["secure", "kong-defaults", "secure-without-nulls", "exp-and-nbf"],
)
def test_the_component_and_the_pack_agree_on_whole_configs(config: dict[str, Any]) -> None:
    component = [w.id for w in weakening.found(config)]
    messages = check_plugin({"name": "jwt", "configJson": json.dumps(config)})
    assert _policy_verdict(messages) == component and _refused(messages) == []


def test_every_weakening_at_once_is_reported_once_each() -> None:
    config = {"claims_to_verify": [], "uri_param_names": ["jwt"], "run_on_preflight": False, "anonymous": "guest", "cookie_names": ["s"]}
    expected = [w.id for w in weakening.WEAKENINGS]
    assert [w.id for w in weakening.found(config)] == expected
    assert _policy_verdict(check_plugin({"name": "jwt", "configJson": json.dumps(config)})) == expected


# --- jwt credentials ------------------------------------------------------------------------------------

GOOD_CREDENTIAL = {"key": DEV_ISSUER, "algorithm": "RS256", "rsaPublicKey": "-----BEGIN PUBLIC KEY-----..."}
LOCAL_ISSUER = "http://localhost:9999"
PROD_ISSUER = "https://app-prod-example.frontegg.com"


def trusting(*entries: str, stack: str = "dev") -> dict[str, Any]:
    """The credential policy's settings trusting these issuers on one stack."""
    return {"trustedIssuers": {stack: list(entries)}}


def test_an_rs256_credential_keyed_by_a_trusted_issuer_passes() -> None:
    assert check_credential(GOOD_CREDENTIAL) == []


def test_the_stack_is_the_second_segment_of_the_urn() -> None:
    assert rules.stack_of("urn:pulumi:prod::kong-frontegg-jwt::kong:index/route:Route::api-route") == "prod"
    assert rules.stack_of("urn:pulumi:dev.eu-1::p::a$kong:index/route:Route::r") == "dev.eu-1"


@pytest.mark.parametrize(("stack", "trusted"), [("local", True), ("dev", False), ("prod", False)])
def test_the_local_stacks_loopback_issuer_is_trusted_on_the_local_stack_only(stack: str, trusted: bool) -> None:
    # Today's pack trusted one list on every stack: a credential keyed http://localhost:9999 passed on prod.
    found = check_credential({**GOOD_CREDENTIAL, "key": LOCAL_ISSUER}, stack=stack)
    assert (found == []) is trusted, found


def test_localhost_9999_is_refused_on_prod_even_when_prod_trusts_its_own_issuer() -> None:
    config = {"trustedIssuers": {**pack_config()[rules.CREDENTIAL_POLICY]["trustedIssuers"], "prod": [PROD_ISSUER]}}
    assert check_credential({**GOOD_CREDENTIAL, "key": PROD_ISSUER}, config, stack="prod") == []
    [message] = check_credential({**GOOD_CREDENTIAL, "key": LOCAL_ISSUER}, config, stack="prod")
    assert f"key '{LOCAL_ISSUER}' is not a trusted issuer on stack 'prod' ({PROD_ISSUER})" in message
    assert f'add "{LOCAL_ISSUER}" to kong-jwt-credential-rs256-issuer.trustedIssuers["prod"] in policy/config.json' in message


def test_a_credential_for_an_issuer_nobody_configured_is_refused_with_the_entry_to_add() -> None:
    [message] = check_credential({**GOOD_CREDENTIAL, "key": "https://app-attacker.frontegg.com"})
    assert "'https://app-attacker.frontegg.com' is not a trusted issuer on stack 'dev'" in message
    assert (
        'add "https://app-attacker.frontegg.com" to kong-jwt-credential-rs256-issuer.trustedIssuers["dev"] in policy/config.json' in message
    )


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_issuers_under_star_are_trusted_on_every_stack(stack: str) -> None:
    config = {"trustedIssuers": {"*": [PROD_ISSUER], "dev": [DEV_ISSUER]}}
    assert check_credential({**GOOD_CREDENTIAL, "key": PROD_ISSUER}, config, stack=stack) == []


def test_the_default_config_trusts_no_issuer_on_every_stack() -> None:
    assert "*" not in pack_config()[rules.CREDENTIAL_POLICY]["trustedIssuers"]
    [message] = check_credential({**GOOD_CREDENTIAL, "key": DEV_ISSUER}, stack="prod")
    assert "stack 'prod' trusts no issuer" in message


@pytest.mark.parametrize("trusted", [{}, None, {"dev": []}, {"prod": [DEV_ISSUER]}])
def test_a_stack_without_trusted_issuers_refuses_every_credential_and_says_how_to_list_them(trusted: dict[str, Any] | None) -> None:
    config = {} if trusted is None else {"trustedIssuers": trusted}
    [message] = check_credential(GOOD_CREDENTIAL, config)
    assert "stack 'dev' trusts no issuer" in message
    assert 'kong-jwt-credential-rs256-issuer.trustedIssuers["dev"] in policy/config.json' in message


def test_a_plain_list_of_trusted_issuers_is_refused_with_how_to_key_it_by_stack() -> None:
    # A plain list is what every stack would share; it trusts nothing, even an issuer it lists.
    [message] = check_credential(GOOD_CREDENTIAL, {"trustedIssuers": [DEV_ISSUER, LOCAL_ISSUER]}, stack="prod")
    assert "is a plain list, which every stack would share" in message
    assert 'key it by stack, like {"prod": ["https://app-abc123.frontegg.com"]}' in message and '"*"' in message


@pytest.mark.parametrize(
    ("key", "trusted"),
    [
        ("https://app-abc.example.com", True),
        ("https://login.example.com", True),
        ("https://example.com", False),  # `*` is one label, never none
        ("https://a.b.example.com", False),  # nor two
        ("https://app-abc.example.com.evil.io", False),
        ("https://app-abc.example.org", False),
        ("http://app-abc.example.com", False),
    ],
)
def test_a_trusted_pattern_stands_for_exactly_one_dns_label(key: str, trusted: bool) -> None:
    found = check_credential({**GOOD_CREDENTIAL, "key": key}, trusting("https://*.example.com"))
    assert (found == []) is trusted, found


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("*", "a bare `*` would trust anyone"),
        ("https://*", "a bare `*` would trust anyone"),
        ("https://app-*.example.com", "only stand for the first label"),
        ("https://a.*.example.com", "only stand for the first label"),
        ("http://*.example.com", "only stand for the first label"),
        ("https://*.com", "spans a whole top-level domain"),
        ("https://*.frontegg.com", "every Frontegg customer's workspace"),
        ("https://*.example.com/", "trailing slash"),
        ("https://app.example.com/", "trailing slash"),
        ("http://frontegg.localhost", "plain http is only allowed"),
    ],
)
def test_an_unusable_trusted_issuer_entry_is_reported_and_trusts_nothing(entry: str, expected: str) -> None:
    for stack, config in [("dev", trusting(entry)), ("prod", trusting(entry, stack="*"))]:
        found = check_credential(GOOD_CREDENTIAL, config, stack=stack)
        assert any(f"the entry {entry!r}" in message and expected in message for message in found), found
        assert any(f"stack '{stack}' trusts no issuer" in message for message in found)


def test_the_default_config_trusts_the_dev_workspace_on_dev_and_the_loopback_issuer_on_local_only() -> None:
    trusted = pack_config()[rules.CREDENTIAL_POLICY]["trustedIssuers"]
    assert trusted == {"dev": [DEV_ISSUER], "local": [LOCAL_ISSUER]}
    assert [rules.trusted_issuer_problem(entry) for entries in trusted.values() for entry in entries] == [None, None]


def test_a_trailing_slash_on_the_credential_key_is_refused_with_the_fix() -> None:
    [message] = check_credential({**GOOD_CREDENTIAL, "key": DEV_ISSUER + "/"})
    assert "frontegg-cred" in message and f"remove the trailing slash ({DEV_ISSUER})" in message


@pytest.mark.parametrize("algorithm", ["HS256", None, UNKNOWN])
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
        ("http://app-abc123.frontegg.com", "plain http is only allowed for localhost, 127.0.0.0/8 and ::1"),
        ("http://frontegg.localhost", "plain http is only allowed for localhost, 127.0.0.0/8 and ::1"),
        ("http://localhost.example.com", "plain http is only allowed"),
        ("https://App-ABC123.frontegg.com", "use https://app-abc123.frontegg.com"),
        ("https://app-abc123.frontegg.com:443", "use https://app-abc123.frontegg.com"),
        ("https://app-abc123.frontegg.com/oauth", "bare origins"),
        ("https://app-abc123.frontegg.com?x=1", "query or fragment"),
        ("app-abc123.frontegg.com", "not an http(s) origin"),
        ("", "the key is empty"),
    ],
)
def test_a_credential_key_that_no_frontegg_token_carries_is_refused(key: str, expected: str) -> None:
    [message] = check_credential({**GOOD_CREDENTIAL, "key": key}, trusting(key))
    assert expected in message


@pytest.mark.parametrize(
    "key", ["http://localhost:8080", "http://127.0.0.1:9000", "http://127.0.0.2", "http://[::1]:8080", "https://login.example.com:8443"]
)
def test_loopback_http_and_custom_ports_are_accepted_when_trusted(key: str) -> None:
    assert check_credential({**GOOD_CREDENTIAL, "key": key}, trusting(key)) == []


def test_a_credential_key_unknown_in_preview_is_refused() -> None:
    [message] = check_credential({**GOOD_CREDENTIAL, "key": UNKNOWN})
    assert "not known at preview" in message and "literal issuer" in message


@pytest.mark.parametrize(
    "key",
    [
        DEV_ISSUER,
        DEV_ISSUER + "/",
        "https://App-dev-example.frontegg.com",
        "http://app-dev-example.frontegg.com",
        "http://localhost:9999",
        "http://127.0.0.2",
        "http://[::1]:8080",
        "http://frontegg.localhost",
        "https://app.frontegg.com:443",
        "https://app.frontegg.com/x",
        "https://app.frontegg.com#f",
    ],
)
def test_the_pack_accepts_exactly_the_issuers_the_program_declares_as_given(key: str) -> None:
    # Through the real program and its stack config, not a component function: its API may change, its contract not.
    result = run(cli_config(overrides={"kong-frontegg-jwt:issuers": [key]}))
    declared = [c.inputs.get("key") for c in result.of("credential")] if result.error is None else []
    assert (rules.issuer_problem(key) is None) == (declared == [key]), (declared, result.error)


# --- jwt plugins ---------------------------------------------------------------------------------------


def test_the_programs_plugin_settings_pass() -> None:
    assert check_plugin({"name": "jwt", "configJson": SECURE_CONFIG, "enabled": True}) == []


@pytest.mark.parametrize("row", weakening.WEAKENINGS, ids=lambda row: row.id)
def test_each_weakening_is_refused_with_its_fix_unless_the_pack_config_allows_that_id(row: weakening.Weakening) -> None:
    change = dict(next(c for w, c in WEAKENED if w == row.id))
    props = jwt_plugin(**change)
    [message] = check_plugin(props)
    assert message.startswith("jwt plugin 'api-jwt': " + row.risk)
    assert f'Fix: set "{row.kong_name}": {json.dumps(row.safe)}' in message
    assert f'add "{row.id}" to kong-jwt-plugin-settings.allow in policy/config.json' in message
    assert check_plugin(props, {"allow": [row.id]}) == []
    others = [w.id for w in weakening.WEAKENINGS if w.id != row.id]
    assert len(check_plugin(props, {"allow": others})) == 1


def test_run_on_preflight_false_is_refused_without_an_exemption() -> None:
    [message] = check_plugin(jwt_plugin(run_on_preflight=False))
    assert "every OPTIONS request through without a token" in message and "cors plugin" in message


def test_a_plugin_without_config_fails_on_both_kong_defaults() -> None:
    assert _policy_verdict(check_plugin({"name": "jwt"})) == ["expired-tokens", "tokens-in-urls"]


def test_a_consumer_scoped_jwt_plugin_is_refused_as_invalid_in_kong() -> None:
    [message] = check_plugin({**jwt_plugin(), "consumerId": "consumer-id"})
    assert "scoped to a consumer, which Kong refuses" in message


@pytest.mark.parametrize(("prop", "expected"), [("configJson", "config_json is not known at preview"), ("name", "name is not known")])
def test_a_plugin_setting_unknown_at_preview_is_refused(prop: str, expected: str) -> None:
    [message] = check_plugin({**jwt_plugin(), prop: UNKNOWN})
    assert expected in message


@pytest.mark.parametrize(("config_json", "expected"), [("{claims", "not valid JSON"), ('["exp"]', "not a JSON object")])
def test_config_json_that_is_not_a_json_object_is_refused(config_json: str, expected: str) -> None:
    [message] = check_plugin({"name": "jwt", "configJson": config_json})
    assert expected in message


@pytest.mark.parametrize("name", ["cors", "rate-limiting"])
def test_other_plugins_are_not_judged_by_the_jwt_rules(name: str) -> None:
    assert check_plugin({"name": name, "configJson": "{}", "consumerId": "c"}) == []


KONG_REFUSED: list[tuple[str, dict[str, Any], str]] = [
    # (the field Kong names, the change to the secure config, what the violation says), kong/plugins/jwt/schema.lua.
    ("bogus_field", {"bogus_field": 1}, "unknown field"),
    ("bogus_field", {"bogus_field": None}, "unknown field"),  # Kong refuses an unknown key even with null
    ("maximum_expiration", {"maximum_expiration": 99999999999}, "is not between 0 and 31536000"),
    ("maximum_expiration", {"maximum_expiration": -1}, "is not between 0 and 31536000"),
    ("maximum_expiration", {"maximum_expiration": "3600"}, "expected a number"),
    ("maximum_expiration", {"maximum_expiration": True}, "expected a number"),
    ("maximum_expiration", {"maximum_expiration": math.nan}, "expected a number"),
    ("claims_to_verify", {"claims_to_verify": ["aud"]}, '"aud" is not one of exp, nbf'),
    ("claims_to_verify", {"claims_to_verify": ["exp", "iat"]}, '"iat" is not one of exp, nbf'),
    ("claims_to_verify", {"claims_to_verify": "exp"}, "expected a set"),
    ("claims_to_verify", {"maximum_expiration": 3600, "claims_to_verify": ["nbf"]}, 'must contain "exp"'),
    ("claims_to_verify", {"maximum_expiration": 3600, "claims_to_verify": []}, 'must contain "exp"'),
    ("header_names", {"header_names": "authorization"}, "expected a set"),
    ("header_names", {"header_names": ["authorization", ""]}, 'got the element ""'),
    ("uri_param_names", {"uri_param_names": [None]}, "got the element null"),
    ("cookie_names", {"cookie_names": {}}, "expected a set"),
    ("run_on_preflight", {"run_on_preflight": None}, "null is refused for a required field"),
    ("run_on_preflight", {"run_on_preflight": "true"}, "expected a boolean"),
    ("secret_is_base64", {"secret_is_base64": None}, "null is refused for a required field"),
    ("secret_is_base64", {"secret_is_base64": 0}, "expected a boolean"),
    ("key_claim_name", {"key_claim_name": ""}, "expected a non-empty string"),
    ("realm", {"realm": 5}, "expected a non-empty string"),
]


@pytest.mark.parametrize(("field", "change", "expected"), KONG_REFUSED, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(KONG_REFUSED)])
def test_a_config_kong_39_refuses_is_refused_naming_the_field(field: str, change: dict[str, Any], expected: str) -> None:
    # Today's pack judged only weakenings: a jwt plugin Kong would refuse passed, and counted as protection.
    messages = check_plugin(jwt_plugin(**change))
    assert _refused(messages) == [field], messages
    [message] = [m for m in messages if KONG_REFUSES in m]
    assert f"config.{field}: " in message and expected in message and "protects nothing" in message


@pytest.mark.parametrize(
    "change",
    [
        {"maximum_expiration": 3600},
        {"maximum_expiration": 31536000},
        {"maximum_expiration": 60.5},
        {"maximum_expiration": 0, "claims_to_verify": ["nbf"]},
        {"claims_to_verify": ["exp", "nbf", "exp"]},  # Kong drops the repeat (make_set)
        {"header_names": ["authorization", "x-token"]},
        {"realm": "orders"},
        {"key_claim_name": "iss", "secret_is_base64": False, "run_on_preflight": True},
        {"anonymous": None, "realm": None, "uri_param_names": None},
    ],
    ids=lambda change: "-".join(change),
)
def test_a_config_kong_39_accepts_is_not_refused(change: dict[str, Any]) -> None:
    assert _refused(check_plugin(jwt_plugin(**change))) == []


def test_a_maximum_expiration_without_claims_to_verify_passes_kongs_check_but_not_the_packs() -> None:
    # schema.lua:52-59 lets a null claims_to_verify through; expired tokens pass then, which the pack refuses anyway.
    messages = check_plugin(jwt_plugin(maximum_expiration=3600, claims_to_verify=DROP))
    assert _refused(messages) == [] and _policy_verdict(messages) == ["expired-tokens"]


def test_the_packs_kong_schema_names_every_field_of_the_programs_config() -> None:
    assert [field.name for field in rules.JWT_CONFIG] == [
        "uri_param_names",
        "cookie_names",
        "key_claim_name",
        "secret_is_base64",
        "claims_to_verify",
        "anonymous",
        "run_on_preflight",
        "maximum_expiration",
        "header_names",
        "realm",
    ]
    assert {field.name for field in rules.JWT_CONFIG} == set(TEN_JWT_FIELDS)


@pytest.mark.parametrize(
    "jwt",
    [
        {"maximumExpiration": 3600},
        {"maximumExpiration": 31536000, "claimsToVerify": ["exp", "nbf"]},
        {"headerNames": ["authorization", "x-token"], "cookieNames": ["session"], "uriParamNames": ["jwt"]},
        {"runOnPreflight": False},
    ],
    ids=lambda jwt: "-".join(jwt),
)
def test_every_config_the_program_declares_is_one_kong_39_accepts(jwt: dict[str, Any]) -> None:
    # The component validates its settings its own way; the pack must never call what it declares refused by Kong.
    result = run(cli_config(overrides={f"{PROJECT}:jwt": jwt}))
    assert result.error is None, result.error
    config = json.loads(result.one("plugin").inputs["configJson"])
    assert rules.kong_config_problems(config) == []


# --- route coverage ------------------------------------------------------------------------------------


class Graph:
    """Synthetic Kong resources wired as the engine reports them: known ids after `up`, unknown in a first preview."""

    def __init__(self, preview: bool = False) -> None:
        self.preview = preview
        self.resources: list[PolicyResource] = []

    def _add(self, kind: str, name: str, props: dict[str, Any], deps: dict[str, list[PolicyResource]]) -> PolicyResource:
        found = resource(kind, name, {**props, "id": UNKNOWN if self.preview else f"{name}-id"}, deps)
        self.resources.append(found)
        return found

    def ref(self, target: PolicyResource) -> str:
        """A direct `<target>.id` reference, as it reaches the engine."""
        return UNKNOWN if self.preview else f"{target.name}-id"

    def service(self, name: str = "svc") -> PolicyResource:
        return self._add("service", name, {"name": name}, {})

    def route(self, service: PolicyResource, name: str = "orders-route", **props: Any) -> PolicyResource:
        return self._add("route", name, {"name": name, "serviceId": self.ref(service), **props}, {"serviceId": [service]})

    def plugin(self, resource_name: str = "orders-jwt", *, on: Sequence[PolicyResource] = (), **props: Any) -> PolicyResource:
        """A jwt plugin (secure config) scoped by direct references to `on` (a route and/or a service; none: global)."""
        refs = {("routeId" if target.resource_type == KONG["route"] else "serviceId"): target for target in on}
        values = {prop: self.ref(target) for prop, target in refs.items()}
        return self._add("plugin", resource_name, {**jwt_plugin(), **values, **props}, {prop: [t] for prop, t in refs.items()})


def route_violations(resources: list[PolicyResource], config: Mapping[str, Any] | None = None) -> list[str]:
    found: list[str] = []
    rules.validate_routes(StackValidationArgs(resources, config or {}), _collect(found))
    return found


MODES = pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])


@MODES
@pytest.mark.parametrize("scope", ["route", "service", "route-and-its-service", "global"])
def test_a_plugin_covers_its_route_in_every_scope_kong_runs_it(preview: bool, scope: str) -> None:
    g = Graph(preview)
    service = g.service()
    route = g.route(service)
    on = {"route": [route], "service": [service], "route-and-its-service": [route, service], "global": []}[scope]
    g.plugin(on=on)
    assert route_violations(g.resources) == []


@MODES
def test_a_service_plugin_covers_only_that_services_routes(preview: bool) -> None:
    g = Graph(preview)
    service, other = g.service(), g.service("other")
    g.route(service)
    g.route(other, "stray")
    g.plugin(on=[service])
    [message] = route_violations(g.resources)
    assert "'stray'" in message


def test_a_route_without_a_plugin_is_refused_with_the_fix_and_the_exact_urn_entry() -> None:
    g = Graph()
    g.route(g.service())
    [message] = route_violations(g.resources)
    assert "Kong route 'orders-route' is not covered by an enabled jwt plugin" in message and "Fix:" in message
    entry = "urn:pulumi:*::kong-frontegg-jwt::kong:index/route:Route::orders-route"
    assert f'add "{entry}" to kong-routes-require-jwt.publicRoutes in policy/config.json' in message


@pytest.mark.parametrize(
    ("enabled", "expected"),
    [
        (False, "is disabled"),
        ("false", "has enabled='false', not the boolean true"),
        ("true", "has enabled='true', not the boolean true"),
        (UNKNOWN_BOOLEAN_VALUE, "has `enabled` unknown at preview"),
    ],
)
def test_only_a_real_boolean_true_enables_a_plugin(enabled: Any, expected: str) -> None:
    # Today's rules counted anything but False as enabled.
    g = Graph()
    g.plugin(on=[g.route(g.service())], enabled=enabled)
    [message] = route_violations(g.resources)
    assert f"jwt plugin orders-jwt {expected}" in message


def test_an_absent_enabled_is_kongs_default_true() -> None:
    g = Graph()
    g.plugin(on=[g.route(g.service())])
    assert route_violations(g.resources) == []


def test_a_disabled_global_plugin_covers_nothing() -> None:
    g = Graph()
    g.route(g.service())
    g.plugin(enabled=False)
    assert len(route_violations(g.resources)) == 1


@MODES
def test_a_cors_plugin_is_not_protection(preview: bool) -> None:
    g = Graph(preview)
    service = g.service()
    g.route(service)
    g.plugin("orders-cors", on=[service], name="cors", configJson="{}")
    assert len(route_violations(g.resources)) == 1


@MODES
def test_a_consumer_scoped_jwt_plugin_covers_nothing(preview: bool) -> None:
    g = Graph(preview)
    g.route(g.service())
    g.plugin(consumerId="consumer-id")
    [message] = route_violations(g.resources)
    assert "not covered" in message


@pytest.mark.parametrize("prop", ["routeId", "serviceId"])
def test_a_known_id_value_decides_coverage_not_the_dependency_edge(prop: str) -> None:
    # Today's rules trusted the edge as well as the value: a plugin pointing at a decoy covered both.
    g = Graph()
    service, decoy_service = g.service(), g.service("decoy")
    route, decoy_route = g.route(service), g.route(decoy_service, "decoy-route")
    target, decoy = (route, decoy_route) if prop == "routeId" else (service, decoy_service)
    g.plugin(on=[target], **{prop: f"{decoy.name}-id"})
    g.plugin("decoy-jwt", on=[decoy_route])
    [message] = route_violations(g.resources)
    assert "Kong route 'orders-route'" in message and "the id values Kong matches do not select it" in message


def test_a_known_id_value_covers_without_any_dependency_edge() -> None:
    g = Graph()
    route = g.route(g.service())
    g.resources.append(resource("plugin", "by-id", {**jwt_plugin(), "routeId": f"{route.name}-id"}))
    assert route_violations(g.resources) == []


def test_a_plugin_on_a_route_outside_the_stack_covers_nothing_here() -> None:
    g = Graph()
    g.route(g.service())
    g.plugin(routeId="0f9c7e0a-0000-4000-8000-00000000beef")
    assert len(route_violations(g.resources)) == 1


@pytest.mark.parametrize("prop", ["routeId", "serviceId"])
def test_an_unknown_value_whose_one_dependency_already_exists_is_not_trusted(prop: str) -> None:
    # A direct reference to an existing resource is known in a preview; an unknown one was computed (apply) from it.
    g = Graph()
    service = g.service()
    route = g.route(service)
    g.plugin(on=[route if prop == "routeId" else service], **{prop: UNKNOWN})
    assert len(route_violations(g.resources)) == 1


@pytest.mark.parametrize("prop", ["routeId", "serviceId"])
def test_an_unknown_value_with_two_dependencies_is_not_trusted(prop: str) -> None:
    g = Graph(preview=True)
    service, decoy_service = g.service(), g.service("decoy")
    route, decoy_route = g.route(service), g.route(decoy_service, "decoy-route")
    g.plugin("decoy-jwt", on=[decoy_route])
    plugin = g.plugin(on=[route if prop == "routeId" else service])
    plugin.property_dependencies[prop].append(decoy_route if prop == "routeId" else decoy_service)
    [message] = route_violations(g.resources)
    assert "Kong route 'orders-route'" in message


def test_an_unknown_value_whose_dependency_is_of_the_wrong_kind_is_not_trusted() -> None:
    g = Graph(preview=True)
    service = g.service()
    g.route(service)
    g.plugin(routeId=UNKNOWN).property_dependencies["routeId"] = [service]
    assert len(route_violations(g.resources)) == 1


def test_a_routes_service_is_its_service_id_value_too() -> None:
    # Today's rules took the route's service from the edge as well: a route whose value names another service counted.
    g = Graph()
    service, other = g.service(), g.service("other")
    route = g.route(service)
    raw(route)["serviceId"] = f"{other.name}-id"
    g.plugin(on=[service])
    [message] = route_violations(g.resources)
    assert "Kong route 'orders-route'" in message and "the id values Kong matches do not select it" in message


def test_a_plugin_on_a_route_and_another_service_never_runs() -> None:
    # Kong keys the plugin by the (route, service) pair; today's rules counted the route alone.
    g = Graph()
    service, other = g.service(), g.service("other")
    route = g.route(service)
    g.plugin(on=[route, other])
    [message] = route_violations(g.resources)
    assert "names both a route and a service that is not that route's service" in message


@MODES
@pytest.mark.parametrize("scope", ["global", "service", "route"])
def test_a_plugin_declared_with_another_kong_provider_covers_nothing_on_this_kong(preview: bool, scope: str) -> None:
    # Today's pack ignored providers: a global jwt plugin on a scratch Kong covered every route of this one.
    g = Graph(preview)
    service = g.service()
    route = g.route(service)
    g.plugin(on={"global": [], "service": [service], "route": [route]}[scope]).provider = SCRATCH_KONG
    [message] = route_violations(g.resources)
    assert f"jwt plugin orders-jwt is declared with another Kong provider ({SCRATCH_KONG.urn})" in message


@MODES
def test_a_plugin_covers_the_routes_of_its_own_kong_whichever_provider_that_is(preview: bool) -> None:
    g = Graph(preview)
    service, other_service = g.service(), g.service("other")
    g.route(service)
    other_route = g.route(other_service, "other-route")
    for r in (other_service, other_route, g.plugin(), g.plugin("other-jwt", on=[other_service])):
        r.provider = SCRATCH_KONG
    [message] = route_violations(g.resources)
    assert "Kong route 'orders-route'" in message and "another Kong provider" in message


def test_an_id_value_selects_a_resource_on_the_same_kong_only() -> None:
    g = Graph()
    service = g.service()
    g.plugin(on=[service])
    there = g.route(service, "there-route")  # its service_id value is this Kong's service id, on the scratch Kong
    there.provider = SCRATCH_KONG
    g.route(service)
    [message] = route_violations(g.resources)
    assert "Kong route 'there-route'" in message


@MODES
@pytest.mark.parametrize("protocols", [["tcp"], ["tls"], ["udp"], ["tls_passthrough"], ["tcp", "tls", "udp"]])
def test_a_stream_route_is_refused_though_its_service_has_a_jwt_plugin(preview: bool, protocols: list[str]) -> None:
    # Today's pack counted it covered, but Kong's stream subsystem never runs the jwt plugin.
    g = Graph(preview)
    service = g.service()
    g.route(service, protocols=protocols)
    g.plugin(on=[service])
    [message] = route_violations(g.resources)
    assert f"Kong route 'orders-route': its protocols include {', '.join(protocols)}" in message
    assert "Kong runs the jwt plugin only for grpc, grpcs, http, https" in message and "publicRoutes" in message


@MODES
@pytest.mark.parametrize("protocols", [["http", "https"], ["https"], ["grpc", "grpcs"], None])
def test_http_and_grpc_routes_are_covered_by_their_services_jwt_plugin(preview: bool, protocols: list[str] | None) -> None:
    g = Graph(preview)
    service = g.service()
    props: dict[str, Any] = {} if protocols is None else {"protocols": protocols}  # absent: Kong's ["http", "https"]
    g.route(service, **props)
    g.plugin(on=[service])
    assert route_violations(g.resources) == []


@pytest.mark.parametrize("protocols", [UNKNOWN, ["https", UNKNOWN]], ids=["list", "element"])
def test_route_protocols_unknown_at_preview_are_refused(protocols: Any) -> None:
    g = Graph(preview=True)
    service = g.service()
    g.route(service, protocols=protocols)
    g.plugin(on=[service])
    [message] = route_violations(g.resources)
    assert "its protocols are not known at preview" in message and "literal HTTP protocols" in message


def test_a_stream_route_listed_as_public_is_exempt() -> None:
    g = Graph()
    route = g.route(g.service(), "tcp-echo", protocols=["tcp"])
    assert len(route_violations(g.resources)) == 1
    assert route_violations(g.resources, {"publicRoutes": [rules.public_route_entry(route.urn)]}) == []


@MODES
def test_a_jwt_plugin_kong_would_refuse_covers_nothing(preview: bool) -> None:
    # Today's pack counted it: Kong refuses the plugin, so it never exists.
    g = Graph(preview)
    service = g.service()
    g.route(service)
    g.plugin(on=[service], configJson=json.dumps({**SECURE, "bogus_field": 1}))
    [message] = route_violations(g.resources)
    assert "jwt plugin orders-jwt has a config Kong 3.9 refuses (config.bogus_field: unknown field" in message


def test_a_public_route_is_exempt_by_its_urn_not_by_a_spoofable_name() -> None:
    g = Graph()
    route = g.route(g.service(), "health")
    assert len(route_violations(g.resources, {"publicRoutes": ["health"]})) == 1  # today's rules exempted any "health"
    assert route_violations(g.resources, {"publicRoutes": [route.urn]}) == []
    assert route_violations(g.resources, {"publicRoutes": [rules.public_route_entry(route.urn)]}) == []


@pytest.mark.parametrize(
    "entry",
    [
        "urn:pulumi:*::kong-frontegg-jwt::kong:index/route:Route::*",
        "urn:pulumi:*::*::kong:index/route:Route::health",
        "urn:pulumi:*::kong-frontegg-jwt::*::health",
        "urn:pulumi:prod::kong-frontegg-jwt::kong:index/route:Route::health",
        "urn:pulumi:*::kong-frontegg-jwt::kong:index/route:Route::health-2",
        "*",
    ],
)
def test_a_public_route_entry_matches_one_urn_with_a_wildcard_only_for_the_stack(entry: str) -> None:
    g = Graph()
    g.route(g.service(), "health")
    assert len(route_violations(g.resources, {"publicRoutes": [entry]})) == 1


def test_the_public_route_schema_allows_a_wildcard_only_in_the_stack_segment() -> None:
    pattern = re.compile(rules.PUBLIC_ROUTE_PATTERN)
    assert pattern.match("urn:pulumi:*::kong-frontegg-jwt::kong-frontegg-jwt:index:ProtectedApi$kong:index/route:Route::health")
    assert pattern.match("urn:pulumi:dev::kong-frontegg-jwt::kong:index/route:Route::health")
    for entry in ("health", "*", "urn:pulumi:*::kong-frontegg-jwt::kong:index/route:Route::*", "urn:pulumi:*::*::x::health"):
        assert not pattern.match(entry), entry


# --- the whole pack on what the program declares ---------------------------------------------------------


def _open_route_program() -> None:
    """The real program, plus a service and a health route that someone added without a jwt plugin."""
    runpy.run_path(str(MAIN), run_name="__main__")
    service = kong.Service("open", name="open", protocol="http", host="health.internal", port=8080)
    kong.Route("health", name="health", service_id=service.id, protocols=["http", "https"], paths=["/health"])


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


@MODES
def test_the_dev_stack_passes_every_policy(dev_stack: list[Registration], preview: bool) -> None:
    assert evaluate(from_registrations(dev_stack, preview=preview)) == []


@MODES
def test_the_dev_stack_protects_every_route_it_declares(dev_stack: list[Registration], preview: bool) -> None:
    # Not vacuous: the program declares routes, and taking its jwt plugins away uncovers each of them.
    resources = from_registrations(dev_stack, preview=preview)
    routes = {r.urn for r in resources if r.resource_type == KONG["route"]}
    assert routes
    without_jwt = [r for r in resources if not (r.resource_type == KONG["plugin"] and r.props["name"] == "jwt")]
    assert {v.urn for v in evaluate(without_jwt)} == routes


@MODES
def test_a_route_added_without_a_jwt_plugin_fails_the_pack(open_route_stack: list[Registration], preview: bool) -> None:
    [violation] = evaluate(from_registrations(open_route_stack, preview=preview))
    assert violation.policy == "kong-routes-require-jwt"
    assert violation.urn is not None and violation.urn.endswith("kong:index/route:Route::health")
    assert "Kong route 'health' is not covered by an enabled jwt plugin" in violation.message


def _entry_in(message: str) -> str:
    found = re.search(r'add "(urn:pulumi:[^"]+)" to kong-routes-require-jwt\.publicRoutes', message)
    assert found, message
    return found.group(1)


@MODES
def test_the_entry_a_violation_prints_makes_that_route_public_in_every_stack(open_route_stack: list[Registration], preview: bool) -> None:
    [violation] = evaluate(from_registrations(open_route_stack, preview=preview))
    entry = _entry_in(violation.message)
    assert entry.startswith("urn:pulumi:*::")
    config = pack_config(kong_routes_require_jwt={"publicRoutes": [entry]})
    assert evaluate(from_registrations(open_route_stack, preview=preview), config) == []


@MODES
def test_the_printed_entry_also_exempts_a_route_inside_a_component(dev_stack: list[Registration], preview: bool) -> None:
    resources = from_registrations(dev_stack, preview=preview)
    for plugin in resources:
        if plugin.resource_type == KONG["plugin"]:
            raw(plugin)["enabled"] = False
    entries = [_entry_in(v.message) for v in evaluate(resources)]
    assert entries
    assert evaluate(resources, pack_config(kong_routes_require_jwt={"publicRoutes": entries})) == []


def _scratch_kong_program(*, on_scratch: bool = True) -> Callable[[], None]:
    """The open-route program plus a global jwt plugin, declared with a second Kong provider (or with the default)."""

    def program() -> None:
        _open_route_program()
        scratch = kong.Provider("scratch", kong_admin_uri="http://scratch.internal:8001")
        opts = pulumi.ResourceOptions(provider=scratch) if on_scratch else None
        kong.Plugin("everything", name="jwt", config_json=SECURE_CONFIG, opts=opts)

    return program


@MODES
def test_a_global_jwt_plugin_on_another_kong_leaves_the_open_route_unprotected(preview: bool) -> None:
    result = run(cli_config(), program=_scratch_kong_program())
    assert result.error is None, result.error
    [violation] = evaluate(from_registrations(result.resources, preview=preview))
    assert violation.urn is not None and violation.urn.endswith("kong:index/route:Route::health")
    assert "jwt plugin everything is declared with another Kong provider" in violation.message and "::scratch)" in violation.message


@MODES
def test_the_same_global_jwt_plugin_on_this_kong_protects_the_open_route(preview: bool) -> None:
    result = run(cli_config(), program=_scratch_kong_program(on_scratch=False))
    assert result.error is None, result.error
    assert evaluate(from_registrations(result.resources, preview=preview)) == []


def _apply_decoy_program() -> None:
    """The program, plus a protected service whose second route takes its service_id from .apply() on that service's id."""
    runpy.run_path(str(MAIN), run_name="__main__")
    kong.Service("open", name="open", protocol="http", host="open.internal", port=8080)  # no jwt plugin; KongMocks: id open-id
    service = kong.Service("orders", name="orders", protocol="http", host="orders.internal", port=8080)
    kong.Plugin("orders-jwt", name="jwt", service_id=service.id, config_json=SECURE_CONFIG)
    kong.Route("orders-route", name="orders", service_id=service.id, protocols=["http", "https"], paths=["/orders"])
    kong.Route("side", name="side", service_id=service.id.apply(lambda _: "open-id"), protocols=["http", "https"], paths=["/side"])


def test_an_apply_on_a_new_services_id_passes_the_first_preview_and_fails_at_up() -> None:
    # A documented limitation (docs/policy-pack.md): the engine reports `.apply()` on a new resource's id exactly as it
    # reports the id itself, so the first preview trusts it; the stack policy at `up` sees the value Kong got.
    result = run(cli_config(), program=_apply_decoy_program)
    assert result.error is None, result.error
    preview = from_registrations(result.resources, preview=True)
    side, direct = (next(r for r in preview if r.name == name) for name in ("side", "orders-route"))
    assert raw(side)["serviceId"] == raw(direct)["serviceId"] == UNKNOWN
    assert [d.urn for d in side.property_dependencies["serviceId"]] == [d.urn for d in direct.property_dependencies["serviceId"]]
    assert evaluate(preview) == []
    [violation] = evaluate(from_registrations(result.resources))
    assert violation.urn is not None and violation.urn.endswith("kong:index/route:Route::side")
    assert "Kong route 'side' is not covered" in violation.message


@MODES
@pytest.mark.parametrize(("stack", "trusted"), [("local", True), ("dev", False), ("prod", False)])
def test_the_program_keyed_by_the_loopback_issuer_passes_the_pack_on_the_local_stack_only(preview: bool, stack: str, trusted: bool) -> None:
    result = run(cli_config(overrides={f"{PROJECT}:issuers": [LOCAL_ISSUER]}), stack=stack)
    assert result.error is None, result.error
    found = evaluate(from_registrations(result.resources, preview=preview))
    if trusted:
        assert found == []
    else:
        [violation] = found
        assert violation.policy == rules.CREDENTIAL_POLICY and f"stack '{stack}'" in violation.message
        assert violation.urn is not None and violation.urn.startswith(f"urn:pulumi:{stack}::")


# --- hostile resource sets: each must fail the whole pack -----------------------------------------------


@dataclass
class Attack:
    """The dev stack (or the open-route stack) as the engine reports it, to be tampered with."""

    resources: list[PolicyResource]
    preview: bool
    program_routes: set[str] = field(default_factory=set)

    def of(self, kind: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type == KONG[kind]]

    def jwt_plugins(self) -> list[PolicyResource]:
        plugins = [r for r in self.of("plugin") if raw(r).get("name") == "jwt"]
        assert plugins, "the program declares no jwt plugin"
        return plugins

    def id_of(self, target: PolicyResource) -> str:
        """The id a reference to `target` carries (unknown in a first preview)."""
        value = raw(target)["id"]
        assert isinstance(value, str)
        return value

    def point(self, resource: PolicyResource, prop: str, target: PolicyResource) -> None:
        """Set a reference property as a direct `<target>.id` would."""
        raw(resource)[prop] = self.id_of(target)
        resource.property_dependencies[prop] = [target]

    def protected_decoy(self) -> tuple[PolicyResource, PolicyResource]:
        """Another service and route, properly covered by a jwt plugin of their own: only the program's route is at stake."""
        g = Graph(self.preview)
        service = g.service("decoy")
        route = g.route(service, "decoy-route")
        g.plugin("decoy-jwt", on=[route])
        self.resources += g.resources
        return service, route

    def configure(self, **change: Any) -> None:
        """Change the config_json of every jwt plugin of the program (DROP removes a key)."""
        for plugin in self.jwt_plugins():
            settings = {**json.loads(plugin.props["configJson"]), **change}
            raw(plugin)["configJson"] = json.dumps({k: v for k, v in settings.items() if v is not DROP})

    def credential(self, name: str, **props: Any) -> None:
        """A jwt credential on the program's consumer."""
        [consumer] = self.of("consumer")
        values = {**GOOD_CREDENTIAL, **props}
        self.resources.append(resource("credential", name, {**values, "consumerId": self.id_of(consumer)}, {"consumerId": [consumer]}))


def _refs(plugin: PolicyResource) -> list[str]:
    return [prop for prop in ("routeId", "serviceId") if raw(plugin).get(prop) is not None]


def _known_dependency(attack: Attack) -> None:
    """Preview: each jwt plugin's target already exists (its id is known), yet the plugin's reference is still unknown."""
    for plugin in attack.jwt_plugins():
        for prop in _refs(plugin):
            [target] = plugin.property_dependencies[prop]
            raw(target)["id"] = f"{target.name}-existing-id"
            for other in attack.resources:  # everything else refers to the existing target directly: a known id
                for key, deps in other.property_dependencies.items():
                    if other is not plugin and target in deps:
                        raw(other)[key] = raw(target)["id"]


def _second_dependency(attack: Attack) -> None:
    plugins = attack.jwt_plugins()
    decoy_service, decoy_route = attack.protected_decoy()
    for plugin in plugins:
        for prop in _refs(plugin):
            plugin.property_dependencies[prop].append(decoy_route if prop == "routeId" else decoy_service)


def _value_elsewhere(attack: Attack) -> None:
    plugins = attack.jwt_plugins()
    decoy_service, decoy_route = attack.protected_decoy()
    for plugin in plugins:
        for prop in _refs(plugin):
            raw(plugin)[prop] = attack.id_of(decoy_route if prop == "routeId" else decoy_service)


def _foreign_value(attack: Attack) -> None:
    for plugin in attack.jwt_plugins():
        for prop in _refs(plugin):
            raw(plugin)[prop] = "0f9c7e0a-0000-4000-8000-00000000beef"


def _wrong_kind_dependency(attack: Attack) -> None:
    [consumer] = attack.of("consumer")
    for plugin in attack.jwt_plugins():
        for prop in _refs(plugin):
            plugin.property_dependencies[prop] = [consumer]


def _route_with_mismatched_service(attack: Attack) -> None:
    plugins = attack.jwt_plugins()
    decoy_service, _ = attack.protected_decoy()
    routes = [r for r in attack.of("route") if r.urn in attack.program_routes]
    for plugin in plugins:
        attack.point(plugin, "routeId", routes[0])
        attack.point(plugin, "serviceId", decoy_service)


def _consumer_scoped(attack: Attack) -> None:
    [consumer] = attack.of("consumer")
    for plugin in attack.jwt_plugins():
        for prop in _refs(plugin):
            raw(plugin)[prop] = None
            plugin.property_dependencies.pop(prop, None)
        attack.point(plugin, "consumerId", consumer)


def _set_plugins(**props: Any) -> Callable[[Attack], None]:
    def tamper(attack: Attack) -> None:
        for plugin in attack.jwt_plugins():
            for key, value in props.items():
                raw(plugin)[key] = value

    return tamper


def _configure(**change: Any) -> Callable[[Attack], None]:
    return lambda attack: attack.configure(**change)


def _add_credential(**props: Any) -> Callable[[Attack], None]:
    return lambda attack: attack.credential("rogue", **props)


def _set_credentials(**props: Any) -> Callable[[Attack], None]:
    def tamper(attack: Attack) -> None:
        for credential in attack.of("credential"):
            for key, value in props.items():
                raw(credential)[key] = value

    return tamper


def _route_on_foreign_service(attack: Attack) -> None:
    attack.resources.append(resource("route", "side-door", {"name": "side-door", "serviceId": "1d2c0000-0000-4000-8000-0000000000aa"}))


def _set_routes(**props: Any) -> Callable[[Attack], None]:
    def tamper(attack: Attack) -> None:
        for route in attack.of("route"):
            raw(route).update(raw(resource("route", route.name, props)))  # lists wrapped as the policy server wraps them

    return tamper


def _plugins_on_kong(on: PolicyProviderResource, *, scope: str) -> Callable[[Attack], None]:
    """Declare the program's jwt plugins with another Kong provider, where they are (scope "service") or global."""

    def tamper(attack: Attack) -> None:
        for plugin in attack.jwt_plugins():
            plugin.provider = on
            for prop in _refs(plugin) if scope == "global" else []:
                raw(plugin)[prop] = None
                plugin.property_dependencies.pop(prop, None)

    return tamper


def _service_id_by_apply(attack: Attack) -> None:
    """`service_id=service.id.apply(lambda _: <an unprotected service's id>)`: the value names another service, and the
    dependency edge stays on the program's service, exactly as the SDK reports it."""
    unprotected = resource("service", "unprotected", {"name": "unprotected", "id": "unprotected-id"})
    attack.resources.append(unprotected)
    for route in attack.of("route"):
        raw(route)["serviceId"] = "unprotected-id"


def _on_stack(stack: str, *then: Callable[[Attack], None]) -> Callable[[Attack], None]:
    """Apply other tampers, then move every resource (and its provider) to another stack of the same program."""

    def tamper(attack: Attack) -> None:
        for step in then:
            step(attack)
        for r in attack.resources:
            r.urn = r.urn.replace("urn:pulumi:dev::", f"urn:pulumi:{stack}::", 1)
            if r.provider is not None:
                r.provider = provider(r.provider.urn.replace("urn:pulumi:dev::", f"urn:pulumi:{stack}::", 1))

    return tamper


def _unknown_plugin_name(attack: Attack) -> None:
    routes = [r for r in attack.of("route") if r.urn in attack.program_routes]
    plugin = resource("plugin", "mystery", {"name": UNKNOWN, "configJson": "{}"})
    attack.point(plugin, "routeId", routes[0])
    attack.resources.append(plugin)


def _nothing(attack: Attack) -> None:
    pass


ROUTE_P, PLUGIN_P, CREDENTIAL_P = rules.ROUTE_POLICY, rules.PLUGIN_POLICY, rules.CREDENTIAL_POLICY
UP, PREVIEW, BOTH = ("up",), ("preview",), ("up", "preview")


@dataclass(frozen=True)
class Hostile:
    """A tampered stack, the modes it applies to, and the violations (policy, text) it must raise."""

    id: str
    tamper: Callable[[Attack], None]
    expected: tuple[tuple[str, str], ...]
    modes: tuple[str, ...] = BOTH
    base: str = "dev"
    config: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


HOSTILE: list[Hostile] = [
    # Routes nobody protects.
    Hostile("route-without-plugin", _nothing, ((ROUTE_P, "Kong route 'health' is not covered"),), base="open-route"),
    Hostile("route-on-a-service-outside-the-stack", _route_on_foreign_service, ((ROUTE_P, "'side-door' is not covered"),)),
    Hostile("public-by-kong-name", _nothing, ((ROUTE_P, "'health'"),), base="open-route", config={ROUTE_P: {"publicRoutes": ["health"]}}),
    Hostile(
        "public-by-wildcard-name",
        _nothing,
        ((ROUTE_P, "'health'"),),
        base="open-route",
        config={ROUTE_P: {"publicRoutes": ["urn:pulumi:*::kong-frontegg-jwt::kong:index/route:Route::*"]}},
    ),
    Hostile(
        "public-by-wildcard-type",
        _nothing,
        ((ROUTE_P, "'health'"),),
        base="open-route",
        config={ROUTE_P: {"publicRoutes": ["urn:pulumi:*::kong-frontegg-jwt::*::health"]}},
    ),
    # Plugins that do not run.
    Hostile("plugin-disabled", _set_plugins(enabled=False), ((ROUTE_P, "is disabled"),)),
    Hostile("plugin-enabled-string-false", _set_plugins(enabled="false"), ((ROUTE_P, "not the boolean true"),)),
    Hostile("plugin-enabled-string-true", _set_plugins(enabled="true"), ((ROUTE_P, "not the boolean true"),)),
    Hostile("plugin-enabled-unknown", _set_plugins(enabled=UNKNOWN_BOOLEAN_VALUE), ((ROUTE_P, "unknown at preview"),), PREVIEW),
    Hostile("cors-instead-of-jwt", _set_plugins(name="cors", configJson="{}"), ((ROUTE_P, "not covered"),)),
    Hostile("consumer-scoped-plugin", _consumer_scoped, ((PLUGIN_P, "scoped to a consumer"), (ROUTE_P, "not covered"))),
    # Plugins whose reference values say something else than their dependency edges.
    Hostile("plugin-id-value-names-a-decoy", _value_elsewhere, ((ROUTE_P, "id values Kong matches do not select it"),), UP),
    Hostile("plugin-id-value-outside-the-stack", _foreign_value, ((ROUTE_P, "id values Kong matches do not select it"),), UP),
    Hostile("plugin-unknown-ref-to-an-existing-target", _known_dependency, ((ROUTE_P, "not covered"),), PREVIEW),
    Hostile("plugin-unknown-ref-with-two-deps", _second_dependency, ((ROUTE_P, "id values Kong matches do not select it"),), PREVIEW),
    Hostile("plugin-unknown-ref-to-the-wrong-kind", _wrong_kind_dependency, ((ROUTE_P, "not covered"),), PREVIEW),
    Hostile("plugin-on-route-and-another-service", _route_with_mismatched_service, ((ROUTE_P, "names both a route and a service"),)),
    # A route's id value computed by .apply() from a new service's id: the first preview cannot tell it from a direct
    # reference (see test_an_apply_on_a_new_services_id_passes_the_first_preview_and_fails_at_up); `up` judges the value.
    Hostile("route-service-id-by-apply", _service_id_by_apply, ((ROUTE_P, "(resource 'api-route') is not covered"),), UP),
    # Plugins on another Kong.
    Hostile("global-plugin-on-another-kong", _plugins_on_kong(SCRATCH_KONG, scope="global"), ((ROUTE_P, "another Kong provider"),)),
    Hostile("service-plugin-on-another-kong", _plugins_on_kong(SCRATCH_KONG, scope="service"), ((ROUTE_P, "another Kong provider"),)),
    # Routes the jwt plugin never runs on.
    Hostile("route-over-tcp-and-tls", _set_routes(protocols=["tcp", "tls"]), ((ROUTE_P, "its protocols include tcp, tls"),)),
    Hostile("route-over-udp", _set_routes(protocols=["udp"]), ((ROUTE_P, "its protocols include udp"),)),
    Hostile("route-over-tls-passthrough", _set_routes(protocols=["tls_passthrough"]), ((ROUTE_P, "include tls_passthrough"),)),
    Hostile("route-protocols-unknown", _set_routes(protocols=UNKNOWN), ((ROUTE_P, "protocols are not known at preview"),), PREVIEW),
    Hostile("route-protocol-unknown", _set_routes(protocols=["http", UNKNOWN]), ((ROUTE_P, "protocols are not known"),), PREVIEW),
    # Plugins that run, weakened.
    Hostile("expired-tokens", _configure(claims_to_verify=[]), ((PLUGIN_P, "accepts expired tokens"),)),
    Hostile("tokens-in-urls", _configure(uri_param_names=["jwt"]), ((PLUGIN_P, "accepts tokens in URLs"),)),
    Hostile("tokens-in-urls-by-kong-default", _configure(uri_param_names=DROP), ((PLUGIN_P, "accepts tokens in URLs"),)),
    Hostile("unauthenticated-preflight", _configure(run_on_preflight=False), ((PLUGIN_P, "every OPTIONS request"),)),
    Hostile("anonymous-fallback", _configure(anonymous="guest"), ((PLUGIN_P, "authentication is off"),)),
    Hostile(
        "anonymous-fallback-with-another-exemption",
        _configure(anonymous="guest"),
        ((PLUGIN_P, "authentication is off"),),
        config={PLUGIN_P: {"allow": ["unauthenticated-preflight"]}},
    ),
    Hostile("cookie-tokens", _configure(cookie_names=["session"]), ((PLUGIN_P, "cross-site request forgery"),)),
    Hostile(
        "config-json-unknown",
        _set_plugins(configJson=UNKNOWN),
        ((PLUGIN_P, "config_json is not known"), (ROUTE_P, "config_json unknown at preview")),
        PREVIEW,
    ),
    Hostile("config-json-not-json", _set_plugins(configJson="{claims"), ((PLUGIN_P, "not valid JSON"), (ROUTE_P, "Kong cannot read"))),
    # Plugins Kong 3.9 refuses: they never exist, so they cover nothing.
    Hostile(
        "config-unknown-field",
        _configure(bogus_field=1),
        ((PLUGIN_P, "config.bogus_field: unknown field"), (ROUTE_P, "has a config Kong 3.9 refuses (config.bogus_field")),
    ),
    Hostile(
        "maximum-expiration-beyond-a-year",
        _configure(maximum_expiration=99999999999),
        ((PLUGIN_P, "config.maximum_expiration: 99999999999 is not between"), (ROUTE_P, "Kong 3.9 refuses")),
    ),
    Hostile(
        "claims-to-verify-aud", _configure(claims_to_verify=["aud"]), ((PLUGIN_P, '"aud" is not one of'), (ROUTE_P, "Kong 3.9 refuses"))
    ),
    Hostile(
        "maximum-expiration-without-exp",
        _configure(maximum_expiration=3600, claims_to_verify=["nbf"]),
        ((PLUGIN_P, 'config.claims_to_verify: must contain "exp"'), (ROUTE_P, "Kong 3.9 refuses")),
    ),
    Hostile(
        "config-wrong-type",
        _configure(secret_is_base64="false"),
        ((PLUGIN_P, "config.secret_is_base64: expected a boolean"), (ROUTE_P, "Kong 3.9 refuses")),
    ),
    Hostile("plugin-name-unknown", _unknown_plugin_name, ((PLUGIN_P, "name is not known"),), PREVIEW),
    # Credentials Kong would trust.
    Hostile("rogue-issuer", _add_credential(key="https://app-attacker.frontegg.com"), ((CREDENTIAL_P, "is not a trusted issuer"),)),
    Hostile("lookalike-issuer", _add_credential(key=DEV_ISSUER + ".evil.example"), ((CREDENTIAL_P, "is not a trusted issuer"),)),
    Hostile("http-issuer-on-a-localhost-name", _add_credential(key="http://frontegg.localhost"), ((CREDENTIAL_P, "plain http"),)),
    Hostile("credential-key-unknown", _add_credential(key=UNKNOWN), ((CREDENTIAL_P, "not known at preview"),), PREVIEW),
    Hostile("hs256-credential", _set_credentials(algorithm="HS256"), ((CREDENTIAL_P, "algorithm is 'HS256'"),)),
    Hostile("trusted-issuer-with-trailing-slash", _set_credentials(key=DEV_ISSUER + "/"), ((CREDENTIAL_P, "trailing slash"),)),
    Hostile(
        "no-trusted-issuers", _nothing, ((CREDENTIAL_P, "stack 'dev' trusts no issuer"),), config={CREDENTIAL_P: {"trustedIssuers": {}}}
    ),
    Hostile("bare-star-trusted", _nothing, ((CREDENTIAL_P, "a bare `*`"),), config={CREDENTIAL_P: {"trustedIssuers": {"dev": ["*"]}}}),
    Hostile(
        "wildcard-over-every-frontegg-workspace",
        _add_credential(key="https://app-attacker.frontegg.com"),
        ((CREDENTIAL_P, "every Frontegg customer's workspace"),),
        config={CREDENTIAL_P: {"trustedIssuers": {"dev": [DEV_ISSUER, "https://*.frontegg.com"]}}},
    ),
    Hostile(
        "wildcard-two-labels-deep",
        _add_credential(key="https://a.b.example.com"),
        ((CREDENTIAL_P, "is not a trusted issuer"),),
        config={CREDENTIAL_P: {"trustedIssuers": {"dev": [DEV_ISSUER, "https://*.example.com"]}}},
    ),
    # Issuers trusted on another stack.
    Hostile(
        "loopback-issuer-on-prod",
        _on_stack("prod", _add_credential(key=LOCAL_ISSUER)),
        ((CREDENTIAL_P, "'http://localhost:9999' is not a trusted issuer on stack 'prod'"),),
        config={CREDENTIAL_P: {"trustedIssuers": {"dev": [DEV_ISSUER], "local": [LOCAL_ISSUER], "prod": [DEV_ISSUER]}}},
    ),
    Hostile("dev-issuer-on-an-unlisted-stack", _on_stack("prod"), ((CREDENTIAL_P, "stack 'prod' trusts no issuer"),)),
    Hostile(
        "trusted-issuers-as-one-list",
        _add_credential(key=LOCAL_ISSUER),
        ((CREDENTIAL_P, "is a plain list, which every stack would share"),),
        config={CREDENTIAL_P: {"trustedIssuers": [DEV_ISSUER, LOCAL_ISSUER]}},
    ),
]
CASES = [pytest.param(h, mode, id=f"{h.id}-{mode}") for h in HOSTILE for mode in h.modes]


def test_the_hostile_table_has_one_entry_per_kind() -> None:
    ids = [h.id for h in HOSTILE]
    assert len(ids) == len(set(ids)) >= 53


@pytest.mark.parametrize(("hostile", "mode"), CASES)
def test_a_hostile_resource_set_fails_the_pack(
    hostile: Hostile, mode: str, dev_stack: list[Registration], open_route_stack: list[Registration]
) -> None:
    preview = mode == "preview"
    base = from_registrations(open_route_stack if hostile.base == "open-route" else dev_stack, preview=preview)
    program_routes = {r.urn for r in from_registrations(dev_stack) if r.resource_type == KONG["route"]}
    attack = Attack(base, preview, program_routes)
    hostile.tamper(attack)
    found = evaluate(attack.resources, pack_config(**{name.replace("-", "_"): values for name, values in hostile.config.items()}))
    for policy, text in hostile.expected:
        assert any(v.policy == policy and text in v.message for v in found), (policy, text, found)
    assert not any("decoy" in (v.urn or "") for v in found), "a decoy is protected: only the program's resources are at stake"


# --- the pack's config and entry point --------------------------------------------------------------------

_TYPES: Mapping[str, type | tuple[type, ...]] = {"array": (list,), "string": (str,), "boolean": (bool,), "object": (dict,)}


def _schema_errors(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """The JSON Schema keywords the pack's schemas use, checked the way the CLI checks policy config."""
    unchecked = set(schema) - {"type", "items", "pattern", "enum", "uniqueItems", "default", "propertyNames", "additionalProperties"}
    assert not unchecked, f"{where}: teach _schema_errors {sorted(unchecked)}"
    errors: list[str] = []
    if "type" in schema and not isinstance(value, _TYPES[schema["type"]]):
        return [f"{where}: {value!r} is not of type {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if schema.get("uniqueItems") and len({json.dumps(item) for item in value}) != len(value):
        errors.append(f"{where}: items repeat")
    for index, item in enumerate(value if "items" in schema else []):
        errors += _schema_errors(item, schema["items"], f"{where}[{index}]")
    for key in value if "propertyNames" in schema else []:
        errors += _schema_errors(key, schema["propertyNames"], f"{where} key {key!r}")
    for key, item in value.items() if "additionalProperties" in schema else []:
        errors += _schema_errors(item, schema["additionalProperties"], f"{where}.{key}")
    return errors


def test_the_config_file_configures_only_the_packs_policies_within_their_schemas() -> None:
    config = json.loads(CONFIG_FILE.read_text())
    policies = {policy.name: policy for policy in POLICIES}
    assert set(config) == set(policies)
    for name, settings in config.items():
        schema = policies[name].config_schema
        assert schema is not None and set(settings) <= set(schema.properties), name
        for key, value in settings.items():
            assert _schema_errors(value, schema.properties[key], f"{name}.{key}") == []
            assert _schema_errors(schema.properties[key]["default"], schema.properties[key], f"{name}.{key} default") == []


@pytest.mark.parametrize(
    ("policy", "key", "value"),
    [
        (rules.PLUGIN_POLICY, "allow", ["anonymous"]),
        (rules.PLUGIN_POLICY, "allow", "anonymous-fallback"),
        (rules.ROUTE_POLICY, "publicRoutes", ["health"]),
        (rules.ROUTE_POLICY, "publicRoutes", ["urn:pulumi:*::kong-frontegg-jwt::kong:index/route:Route::*"]),
        (rules.CREDENTIAL_POLICY, "trustedIssuers", [DEV_ISSUER]),  # a plain list: every stack would share it
        (rules.CREDENTIAL_POLICY, "trustedIssuers", {"dev": DEV_ISSUER}),
        (rules.CREDENTIAL_POLICY, "trustedIssuers", {"dev": ["*"]}),
        (rules.CREDENTIAL_POLICY, "trustedIssuers", {"dev": [DEV_ISSUER, DEV_ISSUER]}),
        (rules.CREDENTIAL_POLICY, "trustedIssuers", {"dev/prod": [DEV_ISSUER]}),
        (rules.CREDENTIAL_POLICY, "trustedIssuers", {"de*": [DEV_ISSUER]}),
    ],
)
def test_the_schemas_refuse_config_the_rules_would_ignore(policy: str, key: str, value: Any) -> None:
    schema = next(p.config_schema for p in POLICIES if p.name == policy)
    assert schema is not None and _schema_errors(value, schema.properties[key], key) != []


def test_the_trusted_issuers_schema_takes_lists_keyed_by_stack_or_star() -> None:
    schema = next(p.config_schema for p in POLICIES if p.name == rules.CREDENTIAL_POLICY)
    value = {"*": ["https://*.example.com"], "dev": [DEV_ISSUER], "local": [LOCAL_ISSUER], "prod.eu-1": [], "a_b": []}
    assert schema is not None and _schema_errors(value, schema.properties["trustedIssuers"], "trustedIssuers") == []


def test_the_plugin_policy_allows_exactly_the_weakening_ids() -> None:
    schema = next(p.config_schema for p in POLICIES if p.name == rules.PLUGIN_POLICY)
    assert schema is not None and schema.properties["allow"]["items"]["enum"] == [w.id for w in weakening.WEAKENINGS]


def test_the_pack_entry_point_builds_the_pack_from_the_rules_and_its_weakening_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[str, Any] = {}
    monkeypatch.setattr("pulumi_policy.PolicyPack", lambda **kwargs: built.update(kwargs))  # the real one starts a server
    monkeypatch.syspath_prepend(str(ROOT / "policy"))
    # The CLI imports the pack's modules top-level from policy/; hand it the ones already loaded.
    monkeypatch.setitem(sys.modules, "kong_jwt_rules", rules)
    monkeypatch.setitem(sys.modules, "weakening", pack_weakening)
    runpy.run_path(str(ROOT / "policy" / "__main__.py"))
    assert built["name"] == "kong-frontegg-jwt"
    assert [p.name for p in built["policies"]] == [p.name for p in POLICIES]
    [plugin_policy] = [p for p in built["policies"] if p.name == rules.PLUGIN_POLICY]
    assert plugin_policy.config_schema.properties["allow"]["items"]["enum"] == [w.id for w in pack_weakening.WEAKENINGS]


@pytest.mark.parametrize(
    "key", ["https://app-dev-example.frontegg.com\n", "https://app-dev-\nexample.frontegg.com", "https://app-dev-example.frontegg.com\t"]
)
def test_a_credential_key_with_control_characters_is_refused_though_urlsplit_drops_them(key: str) -> None:
    assert check_credential({**GOOD_CREDENTIAL, "key": key})
