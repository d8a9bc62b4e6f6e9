"""The real __main__.py with the real Pulumi.yaml defaults and Pulumi.dev.yaml values, as the CLI merges them."""

import hashlib
import json

import yaml
from cryptography.hazmat.primitives import serialization

from testkit.mock_runtime import KONG, PROJECT, ROOT, cli_config, run
from tools import config_reference

TEN_JWT_FIELDS = {
    "anonymous": None,
    "claims_to_verify": ["exp"],
    "cookie_names": [],
    "header_names": ["authorization"],
    "key_claim_name": "iss",
    "maximum_expiration": 0,
    "realm": None,
    "run_on_preflight": True,
    "secret_is_base64": False,
    "uri_param_names": [],
}
"""Every field of Kong 3.9's jwt plugin (kong/plugins/jwt/schema.lua:10-63), as the dev stack declares them."""


def test_dev_stack_declares_the_five_kong_entities_of_the_guide() -> None:
    result = run(cli_config())
    assert result.error is None
    kinds = sorted(KONG[kind] for kind in ("service", "route", "plugin", "consumer", "credential"))
    assert sorted(r.type for r in result.kong) == kinds


def test_the_jwt_plugin_sits_on_the_service_and_the_route_points_at_the_service() -> None:
    result = run(cli_config())
    service, route, plugin = result.one("service"), result.one("route"), result.one("plugin")
    assert route.inputs["serviceId"] == service.id
    assert plugin.inputs["serviceId"] == service.id
    # Kong runs a service's plugin for every route of the service, so no route of it is ever without the token check.
    assert "routeId" not in plugin.inputs and "consumerId" not in plugin.inputs
    assert result.one("credential").inputs["consumerId"] == result.one("consumer").id


def test_the_route_is_created_after_its_plugin_and_deleted_before_it() -> None:
    result = run(cli_config())
    route, plugin = result.one("route"), result.one("plugin")
    assert plugin.urn in route.dependencies


def test_removing_a_route_matcher_replaces_the_route_because_kong_would_keep_the_old_one() -> None:
    route = run(cli_config()).one("route")
    assert set(route.replace_on_changes) == {"hosts", "methods", "paths", "serviceId"}
    assert route.delete_before_replace, "route names are unique in Kong: the old route must go first"


def test_service_and_route_carry_the_dev_stack_values_and_explicit_names() -> None:
    result = run(cli_config())
    # path "/" rather than none: Kong proxies them alike (kong/router/utils.lua:238), and a path that is always sent
    # keeps removing one effective (the provider leaves empty values out of its PATCH, Kong merges).
    assert result.one("service").inputs == {"name": "my-cool-service", "protocol": "http", "host": "httpbin.org", "port": 80, "path": "/"}
    assert result.one("route").inputs == {
        "name": "my-cool-service-route",
        "serviceId": result.one("service").id,
        "protocols": ["http", "https"],
        "paths": ["/test"],
        "stripPath": True,
    }


def test_an_https_upstream_verifies_the_upstream_certificate() -> None:
    service = run(cli_config(overrides={f"{PROJECT}:upstreamUrl": "https://api.internal.example.com/v1"})).one("service")
    assert service.inputs["tlsVerify"] is True
    assert service.replace_on_changes == ["protocol"] and service.delete_before_replace


def test_the_jwt_plugin_names_every_kong_field_and_is_matched_strictly() -> None:
    plugin = run(cli_config()).one("plugin").inputs
    assert plugin["name"] == "jwt"
    assert plugin["enabled"] is True
    assert plugin["strictMatch"] is True, "without it a hand-set `anonymous` never shows in a preview"
    assert json.loads(plugin["configJson"]) == TEN_JWT_FIELDS


def test_the_consumer_sets_custom_id_so_a_rename_never_sends_an_empty_one() -> None:
    consumer = run(cli_config(overrides={f"{PROJECT}:consumerUsername": "frontegg-dev"})).one("consumer")
    assert consumer.inputs == {"username": "frontegg-dev", "customId": "frontegg-dev"}


def test_the_credential_is_rs256_keyed_by_the_issuer_without_trailing_slash() -> None:
    config = cli_config()
    credential = run(config).one("credential")
    assert credential.inputs["algorithm"] == "RS256"
    assert credential.inputs["key"] == "https://app-dev-example.frontegg.com"
    pem = credential.inputs["rsaPublicKey"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and pem.endswith("-----END PUBLIC KEY-----\n")
    assert pem.strip() == config[f"{PROJECT}:fronteggPublicKey"].strip()


def test_the_credential_secret_is_random_secret_and_stable() -> None:
    first, second = run(cli_config()), run(cli_config())
    credential = first.one("credential")
    assert credential.is_secret("secret")
    assert credential.inputs["secret"] == second.one("credential").inputs["secret"]
    password = next(r for r in first.resources if r.type == "random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] >= 32


def test_every_kong_resource_hangs_under_a_component() -> None:
    result = run(cli_config())
    components = {r.urn: r.type for r in result.resources if r.type.startswith(f"{PROJECT}:index:")}
    assert set(components.values()) == {f"{PROJECT}:index:FronteggTrust", f"{PROJECT}:index:ProtectedApi"}
    for resource in result.kong:
        assert resource.parent in components, resource.name
    trust_children = {r.type for r in result.kong if components[r.parent].endswith("FronteggTrust")}
    assert trust_children == {KONG["consumer"], KONG["credential"]}


def test_outputs_export_ids_issuers_and_the_key_fingerprint() -> None:
    config = cli_config()
    result = run(config)
    key = serialization.load_pem_public_key(config[f"{PROJECT}:fronteggPublicKey"].encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert result.outputs["publicKeyFingerprint"] == hashlib.sha256(der).hexdigest()
    assert result.outputs["issuers"] == ["https://app-dev-example.frontegg.com"]
    ids = {"serviceId": result.one("service").id, "routeId": result.one("route").id, "pluginId": result.one("plugin").id}
    assert {key: result.outputs[key] for key in ids} == ids
    assert result.outputs["apis"] == {"api": {**ids, "corsPluginId": ""}}
    assert result.outputs["consumerId"] == result.one("consumer").id
    assert result.outputs["credentialIds"] == [result.one("credential").id]


def test_several_issuers_get_one_credential_each_on_the_one_consumer() -> None:
    issuers = ["https://login.example.com", "https://app-dev-example.frontegg.com"]
    result = run(cli_config(overrides={f"{PROJECT}:issuers": issuers}))
    assert result.error is None
    consumer = result.one("consumer")
    assert sorted(c.inputs["key"] for c in result.of("credential")) == sorted(issuers)
    assert {c.inputs["consumerId"] for c in result.of("credential")} == {consumer.id}
    assert result.outputs["issuers"] == issuers


def test_a_trailing_slash_in_the_workspace_url_is_not_carried_into_the_issuer() -> None:
    result = run(cli_config(overrides={f"{PROJECT}:fronteggWorkspaceUrl": "https://App-Dev-Example.frontegg.com/"}))
    assert result.one("credential").inputs["key"] == "https://app-dev-example.frontegg.com"


def test_pulumi_yaml_is_generated_from_the_stack_schema() -> None:
    # Defaults live in components/stack_schema.py; the CLI applies Pulumi.yaml's copy, so they must not drift.
    assert (ROOT / "Pulumi.yaml").read_text() == config_reference.pulumi_yaml(), "run `make config-reference`"


def test_the_demo_values_of_the_guide_live_in_the_dev_stack_only() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert not {"upstreamUrl", "serviceName", "routePaths"} & set(declared)
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert dev[f"{PROJECT}:upstreamUrl"] == "http://httpbin.org"
    assert dev["kong:kongAdminUri"] == "http://localhost:8001"


def test_a_stack_without_upstream_url_or_apis_is_told_to_set_one() -> None:
    result = run(cli_config(stack="prod", overrides={f"{PROJECT}:fronteggWorkspaceUrl": "https://app-dev-example.frontegg.com"}))
    assert result.error is not None and result.kong == []
    assert str(result.error).startswith(f"{PROJECT}:upstreamUrl: no API to protect")
    assert f"{PROJECT}:apis" in str(result.error)


def test_issuers_that_would_share_resource_names_are_refused_before_anything_is_declared() -> None:
    result = run(cli_config(overrides={f"{PROJECT}:issuers": ["https://a-b.example.com", "https://a.b.example.com"]}))
    assert result.error is not None and result.kong == []
    assert str(result.error).startswith(f"{PROJECT}:issuers[1]: names the same Pulumi resources")


def test_a_plugin_whose_scope_changes_is_replaced_new_one_first() -> None:
    # A route-scoped plugin of an earlier release reads back route_id, which a PATCH cannot clear: it is replaced, and
    # created before the old one is deleted, so the API is never without a token check.
    plugin = run(cli_config()).one("plugin")
    assert set(plugin.replace_on_changes) == {"serviceId", "routeId"} and not plugin.delete_before_replace
