"""Day 2: what the provider stores for a plugin, what Kong sends back, and whether the next preview shows a change.

Modelled from terraform-provider-kong 6.5.1 (bridged by pulumi-kong 4.6), kong/resource_kong_plugin.go:
- config_json goes through normalizeDataJSON, a Go map unmarshal and marshal (:55, :278-296);
- Read, with strict_match, stores Kong's whole config the same way (:165-169, :255-266) and the engine diffs the two;
  without it, Kong's config goes to computed_config and config_json is never compared (:170-175).
Kong 3.9 answers with every field of the plugin's schema, absent ones at their defaults
(kong/plugins/jwt/schema.lua:12-47, kong/plugins/cors/schema.lua:34-50).
"""

import json
from collections.abc import Mapping
from typing import Any

import pytest

from components.cors_settings import CORS_SCHEMA, cors_settings
from components.cors_settings import plugin_config as cors_plugin_config
from components.jwt_settings import JWT_SCHEMA, jwt_settings
from components.jwt_settings import plugin_config as jwt_plugin_config
from components.plugin_json import plugin_json
from testkit.mock_runtime import PROJECT, cli_config, run

KONG_JWT_DEFAULTS: Mapping[str, Any] = {
    "uri_param_names": ["jwt"],
    "cookie_names": [],
    "key_claim_name": "iss",
    "secret_is_base64": False,
    "claims_to_verify": None,
    "anonymous": None,
    "run_on_preflight": True,
    "maximum_expiration": 0,
    "header_names": ["authorization"],
    "realm": None,
}
KONG_CORS_DEFAULTS: Mapping[str, Any] = {
    "origins": None,
    "headers": None,
    "exposed_headers": None,
    "methods": ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"],
    "max_age": None,
    "credentials": False,
    "private_network": False,
    "preflight_continue": False,
}
_GO_ESCAPES = {"&": "\\u0026", "<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_marshal(value: Any) -> str:
    """Go's encoding/json Marshal of what Unmarshal into map[string]interface{} gives (written from Go's documented rules)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{go_marshal(key)}:{go_marshal(value[key])}" for key in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_marshal(item) for item in value) + "]"
    if isinstance(value, str):
        return "".join(_GO_ESCAPES.get(char, char) for char in json.dumps(value, ensure_ascii=False))
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    number = float(value)  # Go decodes every JSON number to float64
    return str(int(number)) if number.is_integer() and abs(number) < 1e21 else repr(number)


def normalize_data_json(config_json: str) -> str:
    """normalizeDataJSON: what the provider stores for the config_json the program sends."""
    return go_marshal(json.loads(config_json))


def kong_answers(sent: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The config Kong returns: every schema field, the sent value or Kong's default."""
    assert set(sent) <= set(defaults), f"Kong 3.9 would refuse the unknown field(s) {set(sent) - set(defaults)}"
    return {field: sent.get(field, default) for field, default in defaults.items()}


def refreshed(config_json: str, kong_config: Mapping[str, Any], *, strict: bool) -> str:
    """config_json in state after a refresh: Kong's config with strict matching, the stored value without."""
    return go_marshal(dict(kong_config)) if strict else normalize_data_json(config_json)


JWT_CASES = [
    {},
    {"maximum_expiration": 3600},
    {"claims_to_verify": ["nbf", "exp"], "cookie_names": ["fe", "b"]},
    {"uri_param_names": ["jwt"]},
]
CORS_CASES = [
    {"origins": ["https://app.example.com"]},
    {"origins": ["^https://[a-z0-9-]+\\.example\\.com$", "https://a.example.com"], "credentials": True, "exposed_headers": ["X-Id"]},
    {"origins": ["^https://(a|b)&c<d>\\.example\\.com$"], "max_age": 0, "headers": ["Authorization"]},
    {"origins": ["*"]},
]


@pytest.mark.parametrize("overrides", JWT_CASES)
def test_a_jwt_config_reads_back_from_kong_byte_for_byte(overrides: dict[str, Any]) -> None:
    config_json = plugin_json(jwt_plugin_config(jwt_settings(overrides, "jwt")))
    assert normalize_data_json(config_json) == config_json, "the provider would store something else than was sent"
    assert refreshed(config_json, kong_answers(json.loads(config_json), KONG_JWT_DEFAULTS), strict=True) == config_json


@pytest.mark.parametrize("settings", CORS_CASES)
def test_a_cors_config_reads_back_from_kong_byte_for_byte(settings: dict[str, Any]) -> None:
    config_json = plugin_json(cors_plugin_config(cors_settings(settings, "cors")))
    assert normalize_data_json(config_json) == config_json
    assert refreshed(config_json, kong_answers(json.loads(config_json), KONG_CORS_DEFAULTS), strict=True) == config_json


def test_the_config_names_every_field_so_kongs_defaults_never_read_as_a_change() -> None:
    assert {field.name for field in JWT_SCHEMA.fields} < set(KONG_JWT_DEFAULTS)
    assert set(json.loads(plugin_json(jwt_plugin_config(jwt_settings({}, "jwt"))))) == set(KONG_JWT_DEFAULTS)
    assert set(json.loads(plugin_json(cors_plugin_config(cors_settings({"origins": ["https://a.example.com"]}, "cors"))))) == set(
        KONG_CORS_DEFAULTS
    )
    assert {field.name for field in CORS_SCHEMA.fields} < set(KONG_CORS_DEFAULTS)


def test_leaving_a_field_to_kong_would_diff_on_every_preview() -> None:
    # What an eight-field config did before: Kong answers anonymous and realm too, and the strict read differs forever.
    eight = {
        key: value
        for key, value in json.loads(plugin_json(jwt_plugin_config(jwt_settings({}, "jwt")))).items()
        if key not in ("anonymous", "realm")
    }
    config_json = plugin_json(eight)
    assert refreshed(config_json, kong_answers(eight, KONG_JWT_DEFAULTS), strict=True) != normalize_data_json(config_json)


def test_anonymous_set_outside_pulumi_shows_in_the_next_preview_only_with_strict_matching() -> None:
    plugin = run(cli_config()).one("plugin").inputs
    sent = plugin["configJson"]
    tampered = {**kong_answers(json.loads(sent), KONG_JWT_DEFAULTS), "anonymous": "0b8f0c5e-guest"}
    assert plugin["strictMatch"] is True
    assert refreshed(sent, tampered, strict=True) != normalize_data_json(sent), "strict: the preview shows the change, up resets it"
    assert refreshed(sent, tampered, strict=False) == normalize_data_json(sent), "non-strict: invisible (the reason for strict)"


def test_a_second_run_of_the_same_config_declares_the_same_plugin_json() -> None:
    first = run(cli_config(overrides={f"{PROJECT}:jwt": {"maximumExpiration": 60}})).one("plugin").inputs["configJson"]
    second = run(cli_config(overrides={f"{PROJECT}:jwt": {"maximumExpiration": 60}})).one("plugin").inputs["configJson"]
    assert first == second == normalize_data_json(first)
