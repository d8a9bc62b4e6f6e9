"""The components as other Python programs use them: composition, providers, argument checks in the caller's spelling."""

import json
import re
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components import ConfigError, FronteggTrust, KeyCheck, ProtectedApi, ProtectedApiArgs
from testkit.mock_runtime import KONG, ROOT, Run, cli_config, run
from tests.keys import pkcs1_pem, rsa_key, spki_pem

ISSUER = "https://login.example.com"


def readme_example(marker: str) -> Callable[[], None]:
    """The python block that follows `<!-- example: marker -->` in the README, as a program."""
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- example: {marker} -->\s*```python\n(.*?)```", text, re.S)
    assert match, f"README has no example '{marker}'"
    code = compile(match.group(1), f"README.md:{marker}", "exec")
    return lambda: exec(code, {"__name__": "__main__"})


def api(name: str = "orders", **args: Any) -> Run:
    """A program with one ProtectedApi of these args (an upstream and a path unless given)."""
    full: dict[str, Any] = {"upstream_url": "https://orders.internal/v1", "route_paths": ["/orders"], **args}
    return run({}, program=lambda: ProtectedApi(name, full))  # type: ignore[arg-type]


def refused(result: Run) -> ConfigError:
    assert isinstance(result.error, ConfigError), f"expected a ConfigError, got {result.error!r}"
    assert result.kong == [], "nothing may be declared before the arguments are checked"
    return result.error


def test_the_readme_composition_example_shares_one_trust_between_two_apis() -> None:
    result = run(cli_config(), program=readme_example("composition"))
    assert result.error is None
    assert len(result.of("consumer")) == 1 and len(result.of("credential")) == 1
    assert len(result.of("service")) == 2 and len(result.of("route")) == 2 and len(result.of("plugin")) == 2
    services = {s.inputs["name"]: s for s in result.of("service")}
    plugins = {p.inputs["serviceId"]: json.loads(p.inputs["configJson"]) for p in result.of("plugin")}
    assert plugins[services["billing"].id]["maximum_expiration"] == 3600
    assert plugins[services["orders"].id]["maximum_expiration"] == 0


def test_a_provider_passed_by_the_caller_reaches_every_kong_child() -> None:
    result = run(cli_config(), program=readme_example("composition"))
    gateway = next(r for r in result.resources if r.type == "pulumi:providers:kong")
    assert result.kong
    for resource in result.kong:
        assert resource.provider.startswith(gateway.urn + "::"), resource.name


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com", {"protocol": "https", "host": "api.example.com", "port": 443, "path": "/", "tlsVerify": True}),
        ("https://api.example.com/v2/", {"protocol": "https", "host": "api.example.com", "port": 443, "path": "/v2/", "tlsVerify": True}),
        ("HTTP://API.example.com:8080", {"protocol": "http", "host": "api.example.com", "port": 8080, "path": "/"}),
        ("http://[::1]:9000/x", {"protocol": "http", "host": "::1", "port": 9000, "path": "/x"}),
    ],
)
def test_upstream_url_becomes_protocol_host_port_path(url: str, expected: dict[str, object]) -> None:
    service = api(upstream_url=url).one("service").inputs
    assert {k: v for k, v in service.items() if k != "name"} == expected


def test_a_pkcs1_key_is_sent_to_kong_as_spki() -> None:
    key = rsa_key()
    result = run({}, program=lambda: FronteggTrust("t", {"issuers": [ISSUER], "public_key_pem": "\n  " + pkcs1_pem(key) + "\n\n"}))
    assert result.error is None
    assert result.one("credential").inputs["rsaPublicKey"] == spki_pem(key)


def test_a_public_key_known_only_at_deploy_time_is_still_validated_and_canonicalised() -> None:
    key = rsa_key()

    def program() -> None:
        trust = FronteggTrust("t", {"issuers": [ISSUER], "public_key_pem": pulumi.Output.from_input(pkcs1_pem(key))})
        pulumi.export("fingerprint", trust.public_key_fingerprint)

    result = run({}, program=program)
    assert result.error is None
    assert result.one("credential").inputs["rsaPublicKey"] == spki_pem(key)
    assert len(result.outputs["fingerprint"]) == 64


def test_a_secret_public_key_stays_secret_in_the_credential() -> None:
    result = run({}, program=lambda: FronteggTrust("t", {"issuers": [ISSUER], "public_key_pem": pulumi.Output.secret(spki_pem(rsa_key()))}))
    assert result.one("credential").is_secret("rsaPublicKey")


def test_values_that_decide_which_resources_exist_must_be_known_when_the_program_runs() -> None:
    def program() -> None:
        issuers: Any = pulumi.Output.from_input([ISSUER])
        FronteggTrust("t", {"issuers": issuers, "public_key_pem": spki_pem(rsa_key())})

    error = refused(run({}, program=program))
    assert error.key == "issuers" and "known when the program runs" in error.problem


def test_a_missing_required_argument_is_named_not_a_key_error() -> None:
    error = refused(run({}, program=lambda: ProtectedApi("a", {"route_paths": ["/a"]})))  # type: ignore[typeddict-item]
    assert str(error).startswith("upstream_url: this ProtectedApi argument is required")


def test_a_misspelled_argument_is_refused_with_the_name_it_resembles() -> None:
    error = refused(api(route_path=["/orders"]))
    assert error.key == "route_path" and "did you mean route_paths?" in str(error)


def test_python_callers_get_python_names_even_when_they_write_camel_case() -> None:
    error = refused(api(jwt={"claimsToVerify": ["exp"]}))
    assert error.key == "jwt.claimsToVerify" and "did you mean jwt.claims_to_verify?" in str(error)
    nested = refused(api(jwt={"maximum_expiration": 3600, "claims_to_verify": []}))
    assert nested.key == "jwt.maximum_expiration" and "jwt.claims_to_verify" in nested.fix


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ({"route_paths": "/orders"}, "route_paths"),
        ({"strip_path": "yes"}, "strip_path"),
        ({"jwt": ["exp"]}, "jwt"),
        ({"jwt": {"maximum_expiration": "60"}}, "jwt.maximum_expiration"),
        ({"service_name": 42}, "service_name"),
        ({"upstream_url": "ftp://files.internal"}, "upstream_url"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_the_argument(args: dict[str, Any], key: str) -> None:
    assert refused(api(**args)).key == key


def test_a_whole_number_sent_as_a_float_is_accepted_as_other_languages_send_it() -> None:
    plugin = api(jwt={"maximum_expiration": 3600.0}).one("plugin")
    assert json.loads(plugin.inputs["configJson"])["maximum_expiration"] == 3600
    assert refused(api(jwt={"maximum_expiration": 1.5})).key == "jwt.maximum_expiration"


def test_the_key_check_is_an_enum_that_also_takes_its_value() -> None:
    def trust(check: object) -> Callable[[], None]:
        args: Any = {"workspace_url": ISSUER, "public_key_pem": spki_pem(rsa_key()), "key_check": check}

        def program() -> None:
            FronteggTrust("t", args)

        return program

    assert run({}, program=trust(KeyCheck.OFF)).error is None
    assert run({}, program=trust("off")).error is None
    error = refused(run({}, program=trust("sometimes")))
    assert error.key == "key_check" and "['warn', 'fail', 'off']" in error.problem


def test_service_name_defaults_to_the_component_name() -> None:
    result = run({}, program=lambda: ProtectedApi("orders", {"upstream_url": "http://o.internal", "route_hosts": ["Orders.Example.com"]}))
    assert result.one("service").inputs["name"] == "orders"
    assert result.one("route").inputs["hosts"] == ["orders.example.com"]
    assert "paths" not in result.one("route").inputs


def test_an_upstream_url_known_only_at_deploy_time_is_split_into_service_fields() -> None:
    service = api(upstream_url=pulumi.Output.from_input("https://orders.internal:8443/v1")).one("service")
    assert service.inputs == {
        "name": "orders",
        "protocol": "https",
        "host": "orders.internal",
        "port": 8443,
        "path": "/v1",
        "tlsVerify": True,
    }


def test_a_secret_upstream_url_stays_secret_in_every_service_field() -> None:
    service = api(upstream_url=pulumi.Output.secret("https://orders.internal/v1")).one("service")
    assert all(service.is_secret(field) for field in ("protocol", "host", "port", "path", "tlsVerify"))


def test_cors_puts_kongs_cors_plugin_on_the_same_service_before_the_route_exists() -> None:
    result = api(cors={"origins": ["https://app.example.com"]})
    plugins = {p.inputs["name"]: p for p in result.of("plugin")}
    assert set(plugins) == {"jwt", "cors"}
    assert plugins["cors"].inputs["serviceId"] == result.one("service").id and plugins["cors"].inputs["strictMatch"] is True
    assert json.loads(plugins["cors"].inputs["configJson"]) == {
        "origins": ["https://app.example.com"],
        "credentials": False,
        "methods": ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS"],
        "headers": ["Authorization", "Content-Type"],
        "exposed_headers": None,
        "max_age": 600,
        "private_network": False,
        "preflight_continue": False,
    }
    # The preflight is answered by cors, so every other OPTIONS request still needs a token.
    assert json.loads(plugins["jwt"].inputs["configJson"])["run_on_preflight"] is True
    assert {plugins["jwt"].urn, plugins["cors"].urn} <= set(result.one("route").dependencies)


def test_cors_for_every_origin_is_allowed_with_a_warning_but_never_with_credentials() -> None:
    assert any("any website" in warning for warning in api(cors={"origins": ["*"]}).warnings)
    error = refused(api(cors={"origins": ["*"], "credentials": True}))
    assert error.key == "cors.credentials"


@pytest.mark.parametrize(
    "origin",
    [
        "https://*.example.com",
        "app.example.com",
        "https://app.example.com/",
        "http://app.example.com",
        "^app\\.example\\.com$",
        "~([",
        "https://app.example.com:0",
        "https://app.example.com:99999",
        "https://app..example.com",
    ],
)
def test_an_origin_kong_would_read_more_widely_than_meant_is_refused(origin: str) -> None:
    assert refused(api(cors={"origins": [origin]})).key == "cors.origins[0]"


def test_a_weakening_setting_asked_for_is_warned_about_once_per_api() -> None:
    warnings = api(jwt={"run_on_preflight": False}).warnings
    assert len(warnings) == 1 and "OPTIONS" in warnings[0]


def test_the_composition_types_are_the_ones_the_package_exports() -> None:
    args: ProtectedApiArgs = {"upstream_url": "https://orders.internal", "route_paths": ["/orders"], "jwt": {"maximum_expiration": 60}}
    result = run({}, program=lambda: ProtectedApi("orders", args))
    assert {r.type for r in result.kong} == {KONG["service"], KONG["plugin"], KONG["route"]}


def test_a_value_known_only_at_deployment_that_fails_its_check_is_not_echoed() -> None:
    secret = "ftp://Zq7XvR2mK9pL4tW8nB3cY6hJ1fD5sG0a.internal"
    result = api(upstream_url=pulumi.Output.secret(secret))
    # The check runs when the Output resolves, so the SDK reports it while registering the resources that use it.
    said = str(result.error) + "".join(record.getMessage() for record in result.logs)
    assert "upstream_url: expected an absolute http(s) URL" in said and "(given: a value known at deployment (not shown))" in said
    assert "Zq7XvR2mK9pL4tW8nB3cY6hJ1fD5sG0a" not in said
