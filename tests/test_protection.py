"""Every token scenario, judged by a model of Kong 3.9.3 (jwt plugin, cors in front) against what the real program declares."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from testkit.mock_runtime import KONG, PROJECT, Registration, Run, cli_config, run
from tests.keys import rsa_key, spki_pem
from tests.kong_jwt_model import CORS_METHODS, UNEXPECTED_ERROR, HttpRequest, KongJwtPlugin, Verdict
from tools.token_scenarios import Scenario, load_scenarios, mint

NOW = 1_750_000_000
"""A fixed clock: every exp, nbf and iat is relative to it."""
WORKSPACE = cli_config()[f"{PROJECT}:fronteggWorkspaceUrl"]
"""The dev stack's workspace; Frontegg tokens carry it as `iss`."""
CUSTOM_DOMAIN = "https://login.example.com"
SCENARIOS = load_scenarios()
BY_ID = {scenario.id: scenario for scenario in SCENARIOS}


@functools.cache
def program_reads(key: str) -> bool:
    """Whether the program reads this stack key: it refuses a key it does not read, calling it unknown."""
    probe = run(cli_config(overrides={f"{PROJECT}:{key}": {}}))
    return probe.error is None or not ("unknown" in str(probe.error) and f"{PROJECT}:{key}" in str(probe.error))


def cors_plugin_config(row_cors: dict[str, Any]) -> dict[str, Any]:
    """A row's `cors` (stack spelling) as the config of Kong 3.9's cors plugin, every field named
    (kong/plugins/cors/schema.lua:34-50). Stands in for the program's own cors plugin while the program declares none."""
    return {
        "origins": row_cors.get("origins"),
        "headers": row_cors.get("headers"),
        "exposed_headers": row_cors.get("exposedHeaders"),
        "methods": row_cors.get("methods", list(CORS_METHODS)),
        "max_age": row_cors.get("maxAge"),
        "credentials": row_cors.get("credentials", False),
        "private_network": False,
        "preflight_continue": False,
    }


def stack(jwt: dict[str, Any] | None = None, *, custom_domain: bool = False, cors: dict[str, Any] | None = None) -> dict[str, str]:
    """The dev stack, with a public key whose private half the tests hold, plus the row's overrides."""
    overrides: dict[str, Any] = {f"{PROJECT}:fronteggPublicKey": spki_pem(rsa_key("trusted"))}
    if jwt:
        overrides[f"{PROJECT}:jwt"] = jwt
    if custom_domain:
        overrides[f"{PROJECT}:issuers"] = [WORKSPACE, CUSTOM_DOMAIN]
    if cors and program_reads("cors"):
        overrides[f"{PROJECT}:cors"] = cors
    return cli_config(overrides=overrides)


@functools.cache
def _declared(jwt_json: str, custom_domain: bool, cors_json: str) -> Run:
    result = run(stack(json.loads(jwt_json), custom_domain=custom_domain, cors=json.loads(cors_json)))
    assert result.error is None, result.error
    return result


def declared(jwt: dict[str, Any], *, custom_domain: bool = False, cors: dict[str, Any] | None = None) -> Run:
    """The program's registrations for this config (one program run per distinct config)."""
    return _declared(json.dumps(jwt, sort_keys=True), custom_domain, json.dumps(cors or {}, sort_keys=True))


def gateway(scenario: Scenario, jwt: dict[str, Any] | None = None) -> KongJwtPlugin:
    """Kong as the program configures it for this row; a row's cors stands in only while the program declares no cors."""
    registered = declared(scenario.jwt if jwt is None else jwt, custom_domain="custom_domain" in scenario.needs, cors=scenario.cors)
    plugin = KongJwtPlugin.from_run(registered)
    if scenario.cors and plugin.cors is None:
        plugin = plugin.with_cors(cors_plugin_config(scenario.cors))
    return plugin


def judge(scenario: Scenario, jwt: dict[str, Any] | None = None) -> Verdict:
    """Kong's answer to the row's request, under the row's overrides (or the given ones)."""
    custom = "custom_domain" in scenario.needs
    request = mint(
        scenario, private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW, custom_domain_issuer=CUSTOM_DOMAIN if custom else None
    )
    assert request is not None
    return gateway(scenario, jwt).access(request, now=NOW)


def trusted_identity(scenario: Scenario) -> dict[str, str | None]:
    """The identity headers the upstream gets for a token of a configured issuer: the program's consumer and credential."""
    consumer = declared(scenario.jwt, custom_domain="custom_domain" in scenario.needs, cors=scenario.cors).one("consumer")
    return {
        "X-Consumer-ID": consumer.id,
        "X-Consumer-Username": consumer.inputs["username"],
        "X-Credential-Identifier": CUSTOM_DOMAIN if "custom_domain" in scenario.needs else WORKSPACE,
        "X-Anonymous-Consumer": None,
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_the_gateway_answers_each_scenario_as_expected(scenario: Scenario) -> None:
    verdict = judge(scenario)
    assert (verdict.status, verdict.body) == (scenario.expect_status, scenario.expect_body), scenario.description
    for name, value in scenario.expect_headers.items():
        assert verdict.header(name) == value, f"{name}: {verdict.response_headers}"
    if verdict.status == 200:
        expected = scenario.expect_upstream if scenario.expect_upstream is not None else trusted_identity(scenario)
        assert {name: verdict.upstream_headers.get(name) for name in expected} == expected
    if verdict.status == 401:
        # handler.lua:160-171: every refusal carries WWW-Authenticate; only "no token" has no error="invalid_token".
        no_token = verdict.body == {"message": "Unauthorized"}
        assert verdict.header("WWW-Authenticate") == ("Bearer" if no_token else 'Bearer error="invalid_token"')


def test_a_token_that_makes_kong_fail_is_answered_with_kongs_500_message() -> None:
    assert judge(BY_ID["iss-number"]).body == UNEXPECTED_ERROR
    assert judge(BY_ID["iss-number"]).upstream_headers == {}


def test_a_row_that_needs_a_custom_domain_is_not_minted_without_one() -> None:
    row = BY_ID["custom-domain-issuer"]
    assert mint(row, private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW) is None


def test_a_valid_token_is_refused_when_the_stack_pins_another_key() -> None:
    plugin = KongJwtPlugin.from_run(run(cli_config(overrides={**stack(), f"{PROJECT}:fronteggPublicKey": spki_pem(rsa_key("other"))})))
    request = mint(BY_ID["frontegg-user-token"], private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW)
    assert request is not None
    assert plugin.access(request, now=NOW).body == {"message": "Invalid signature"}


def test_the_token_reaches_the_upstream_as_sent() -> None:
    request = mint(BY_ID["frontegg-user-token"], private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW)
    assert request is not None
    forwarded = dict(judge(BY_ID["frontegg-user-token"]).forwarded_headers)
    assert forwarded["Authorization"] == request.headers["Authorization"]


def test_a_client_cannot_pose_as_another_consumer_once_authenticated() -> None:
    scenario = BY_ID["frontegg-user-token"]
    request = mint(scenario, private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW)
    assert request is not None
    spoofed = {"X-Consumer-Username": "admin", "X-Anonymous-Consumer": "true", "X-Credential-Identifier": "someone"}
    request.headers.update(spoofed)
    verdict = gateway(scenario).access(request, now=NOW)
    assert verdict.upstream_headers["X-Consumer-Username"] == trusted_identity(scenario)["X-Consumer-Username"]
    assert verdict.upstream_headers["X-Credential-Identifier"] == WORKSPACE
    assert "X-Anonymous-Consumer" not in verdict.upstream_headers


@pytest.mark.parametrize("jwt", sorted({json.dumps(s.jwt, sort_keys=True) for s in SCENARIOS}))
def test_the_program_never_configures_a_fallback_consumer_or_another_key_claim(jwt: str) -> None:
    # anonymous would let every refused request through as that consumer (handler.lua:283-293).
    config = KongJwtPlugin.from_run(declared(json.loads(jwt))).config
    assert (config.anonymous, config.key_claim_name, config.secret_is_base64) == (None, "iss", False)


@pytest.mark.parametrize(
    ("kong_default", "scenario_id"),
    [
        ({"claimsToVerify": []}, "expired"),
        ({"claimsToVerify": []}, "no-exp"),
        ({"uriParamNames": ["jwt"]}, "token-in-query"),
        ({"claimsToVerify": [], "uriParamNames": ["jwt"]}, "expired"),
        ({"claimsToVerify": [], "uriParamNames": ["jwt"]}, "token-in-query"),
    ],
)
def test_kongs_own_defaults_would_let_the_refused_token_through(kong_default: dict[str, Any], scenario_id: str) -> None:
    scenario = BY_ID[scenario_id]
    assert judge(scenario).status == 401
    assert judge(scenario, jwt=kong_default).status == 200
    assert run(stack(kong_default), preview=True).warnings, "a weakening setting is not reported"


def test_the_default_config_previews_without_warnings() -> None:
    assert run(stack(), preview=True).warnings == []


def test_asking_for_nbf_warns_at_preview_and_refuses_frontegg_tokens_without_nbf() -> None:
    warnings = run(stack({"claimsToVerify": ["exp", "nbf"]}), preview=True).warnings
    assert any("'nbf'" in warning and "Frontegg" in warning for warning in warnings), warnings
    verdict = judge(BY_ID["frontegg-user-token"], jwt={"claimsToVerify": ["exp", "nbf"]})
    assert (verdict.status, verdict.body) == (401, {"nbf": "must be a number"})


def test_a_row_cors_becomes_every_field_of_kongs_cors_plugin() -> None:
    config = cors_plugin_config({"origins": ["https://app.example.com"], "exposedHeaders": ["X-Request-Id"], "maxAge": 600})
    assert config == {
        "origins": ["https://app.example.com"],
        "headers": None,
        "exposed_headers": ["X-Request-Id"],
        "methods": list(CORS_METHODS),
        "max_age": 600,
        "credentials": False,
        "private_network": False,
        "preflight_continue": False,
    }


def test_the_program_refuses_the_cors_config_kong_would_turn_into_echoing_every_origin() -> None:
    if not program_reads("cors"):
        pytest.skip("the program reads no cors stack key yet")
    wildcard = {"origins": ["*"], "credentials": True}
    assert run(stack(cors=wildcard)).error is not None, 'origins ["*"] with credentials must be refused'
    # What Kong would do with it (cors/handler.lua:182-189): echo any site's Origin back and allow credentials.
    plugin = KongJwtPlugin.from_run(declared({})).with_cors(cors_plugin_config(wildcard))
    preflight = HttpRequest("OPTIONS", (("Origin", "https://evil.example.com"), ("Access-Control-Request-Method", "POST")))
    verdict = plugin.access(preflight, now=NOW)
    assert verdict.header("Access-Control-Allow-Origin") == "https://evil.example.com"
    assert verdict.header("Access-Control-Allow-Credentials") == "true"


# --- from_run against the shapes the program has registered (route-scoped, 8 fields) and will register --------------


def registration(kind: str, name: str, inputs: dict[str, Any]) -> Registration:
    return Registration(KONG[kind], name, f"urn:{name}", "", "", inputs, inputs, {}, id=f"{name}-id")


def kong_resources(service: str, *, scope: str, config: dict[str, Any], username: str, issuer: str) -> list[Registration]:
    """One protected API as the program registers it: service, route, jwt plugin, consumer and credential."""
    route_id = f"{service}-route-id"
    plugin_scope = {"routeId": route_id} if scope == "route" else {"serviceId": f"{service}-id"}
    return [
        registration("service", service, {"name": service, "protocol": "http", "host": "upstream.test", "port": 80}),
        registration("route", f"{service}-route", {"name": f"{service}-route", "serviceId": f"{service}-id", "paths": ["/"]}),
        registration("plugin", f"{service}-jwt", {"name": "jwt", "enabled": True, "configJson": json.dumps(config), **plugin_scope}),
        registration("consumer", f"{service}-consumer", {"username": username}),
        registration(
            "credential",
            f"{service}-credential",
            {"key": issuer, "algorithm": "RS256", "rsaPublicKey": spki_pem(rsa_key("trusted")), "consumerId": f"{service}-consumer-id"},
        ),
    ]


EIGHT_FIELDS = {
    "claims_to_verify": ["exp"],
    "cookie_names": [],
    "header_names": ["authorization"],
    "key_claim_name": "iss",
    "maximum_expiration": 0,
    "run_on_preflight": True,
    "secret_is_base64": False,
    "uri_param_names": [],
}


def test_from_run_reads_a_route_scoped_plugin_with_eight_fields() -> None:
    plugin = KongJwtPlugin.from_run(
        Run(resources=kong_resources("api", scope="route", config=EIGHT_FIELDS, username="f", issuer=WORKSPACE))
    )
    assert (plugin.config.uri_param_names, plugin.config.realm, plugin.cors) == ((), None, None)
    request = mint(BY_ID["frontegg-user-token"], private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW)
    assert request is not None
    assert plugin.access(request, now=NOW).upstream_headers["X-Consumer-Username"] == "f"


def test_from_run_needs_the_service_named_when_there_are_several() -> None:
    ten_fields = {**EIGHT_FIELDS, "anonymous": None, "realm": "orders"}
    resources = [
        *kong_resources("orders", scope="service", config=ten_fields, username="a", issuer=WORKSPACE),
        *kong_resources("billing", scope="service", config=EIGHT_FIELDS, username="b", issuer=CUSTOM_DOMAIN),
        registration(
            "plugin", "orders-cors", {"name": "cors", "serviceId": "orders-id", "configJson": json.dumps({"origins": ["https://a.test"]})}
        ),
    ]
    with pytest.raises(AssertionError, match="service_name"):
        KongJwtPlugin.from_run(Run(resources=resources))
    orders = KongJwtPlugin.from_run(Run(resources=resources), service_name="orders")
    billing = KongJwtPlugin.from_run(Run(resources=resources), service_name="billing")
    assert (orders.config.realm, billing.config.realm) == ("orders", None)
    assert orders.cors is not None and orders.cors.origins == ("https://a.test",) and billing.cors is None
    # Credentials are global in Kong: each service's plugin finds every credential by key.
    assert set(orders.credentials) == set(billing.credentials) == {WORKSPACE, CUSTOM_DOMAIN}
