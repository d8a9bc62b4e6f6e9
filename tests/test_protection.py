"""Every token scenario, judged by a model of Kong's jwt plugin against the config the real program declares."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from testkit.mock_runtime import PROJECT, Run, cli_config, run
from tests.keys import rsa_key, spki_pem
from tests.kong_jwt_model import KongJwtPlugin, Verdict
from tools.token_scenarios import Scenario, load_scenarios, mint

NOW = 1_750_000_000
"""A fixed clock: every exp, nbf and iat is relative to it."""
WORKSPACE = cli_config()[f"{PROJECT}:fronteggWorkspaceUrl"]
"""The dev stack's workspace; Frontegg tokens carry it as `iss`."""
CUSTOM_DOMAIN = "https://login.example.com"
SCENARIOS = load_scenarios()
BY_ID = {scenario.id: scenario for scenario in SCENARIOS}


def stack(jwt: dict[str, Any] | None = None, *, custom_domain: bool = False) -> dict[str, str]:
    """The dev stack, with a public key whose private half the tests hold, plus the row's overrides."""
    overrides: dict[str, Any] = {f"{PROJECT}:fronteggPublicKey": spki_pem(rsa_key("trusted"))}
    if jwt:
        overrides[f"{PROJECT}:jwt"] = jwt
    if custom_domain:
        overrides[f"{PROJECT}:issuers"] = [WORKSPACE, CUSTOM_DOMAIN]
    return cli_config(overrides=overrides)


@functools.cache
def _declared(jwt_json: str, custom_domain: bool) -> Run:
    result = run(stack(json.loads(jwt_json), custom_domain=custom_domain))
    assert result.error is None, result.error
    return result


def declared(jwt: dict[str, Any], *, custom_domain: bool = False) -> Run:
    """The program's registrations for this config (one program run per distinct config)."""
    return _declared(json.dumps(jwt, sort_keys=True), custom_domain)


def judge(scenario: Scenario, jwt: dict[str, Any] | None = None) -> Verdict:
    """Kong's answer to the row's request, under the row's overrides (or the given ones)."""
    custom = "custom_domain" in scenario.needs
    plugin = KongJwtPlugin.from_run(declared(scenario.jwt if jwt is None else jwt, custom_domain=custom))
    request = mint(
        scenario, private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW, custom_domain_issuer=CUSTOM_DOMAIN if custom else None
    )
    assert request is not None
    return plugin.access(request, now=NOW)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_the_gateway_answers_each_scenario_as_expected(scenario: Scenario) -> None:
    verdict = judge(scenario)
    assert (verdict.status, verdict.body) == (scenario.expect_status, scenario.expect_body), scenario.description
    if verdict.status == 200:
        issuer = CUSTOM_DOMAIN if "custom_domain" in scenario.needs else WORKSPACE
        assert verdict.upstream_headers == {"X-Consumer-Username": "frontegg", "X-Credential-Identifier": issuer}


def test_a_row_that_needs_a_custom_domain_is_not_minted_without_one() -> None:
    row = BY_ID["custom-domain-issuer"]
    assert mint(row, private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW) is None


def test_a_valid_token_is_refused_when_the_stack_pins_another_key() -> None:
    plugin = KongJwtPlugin.from_run(run(cli_config(overrides={**stack(), f"{PROJECT}:fronteggPublicKey": spki_pem(rsa_key("other"))})))
    request = mint(BY_ID["frontegg-user-token"], private_key=rsa_key("trusted"), issuer=WORKSPACE, now=NOW)
    assert request is not None
    assert plugin.access(request, now=NOW).body == {"message": "Invalid signature"}


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
