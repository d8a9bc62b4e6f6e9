"""The real __main__.py with the real Pulumi.yaml defaults and Pulumi.dev.yaml values, as the CLI merges them."""

from __future__ import annotations

import hashlib
import json

import yaml
from cryptography.hazmat.primitives import serialization

from components import stack_config
from testkit.mock_runtime import KONG, ROOT, cli_config, run


def test_dev_stack_declares_the_five_kong_entities_of_the_guide() -> None:
    result = run(cli_config())
    assert result.error is None
    kinds = sorted(KONG[kind] for kind in ("service", "route", "plugin", "consumer", "credential"))
    assert sorted(r.type for r in result.kong) == kinds


def test_the_route_points_at_the_service_and_the_plugin_at_the_route() -> None:
    result = run(cli_config())
    service, route, plugin = result.one("service"), result.one("route"), result.one("plugin")
    consumer, credential = result.one("consumer"), result.one("credential")
    assert route.inputs["serviceId"] == service.id
    assert plugin.inputs["routeId"] == route.id
    assert "serviceId" not in plugin.inputs and "consumerId" not in plugin.inputs  # on the route, never consumer-scoped
    assert credential.inputs["consumerId"] == consumer.id


def test_service_and_route_carry_the_guide_values_and_explicit_names() -> None:
    result = run(cli_config())
    assert result.one("service").inputs == {"name": "my-cool-service", "protocol": "http", "host": "httpbin.org", "port": 80}
    route = result.one("route").inputs
    assert route == {
        "name": "my-cool-service-route",
        "serviceId": result.one("service").id,
        "protocols": ["http", "https"],
        "paths": ["/test"],
        "stripPath": True,
    }


def test_the_jwt_plugin_is_named_jwt_and_hardened() -> None:
    plugin = run(cli_config()).one("plugin").inputs
    assert plugin["name"] == "jwt"
    assert plugin["enabled"] is True
    assert json.loads(plugin["configJson"]) == {
        "claims_to_verify": ["exp"],
        "maximum_expiration": 0,
        "header_names": ["authorization"],
        "uri_param_names": [],
        "cookie_names": [],
        "run_on_preflight": True,
        "key_claim_name": "iss",
        "secret_is_base64": False,
    }


def test_the_credential_is_rs256_keyed_by_the_issuer_without_trailing_slash() -> None:
    config = cli_config()
    result = run(config)
    credential = result.one("credential")
    assert credential.inputs["algorithm"] == "RS256"
    assert credential.inputs["key"] == "https://app-dev-example.frontegg.com"
    pem = credential.inputs["rsaPublicKey"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and pem.endswith("-----END PUBLIC KEY-----\n")
    assert pem.strip() == config["kong-frontegg-jwt:fronteggPublicKey"].strip()


def test_the_credential_secret_is_random_secret_and_stable() -> None:
    first, second = run(cli_config()), run(cli_config())
    credential = first.one("credential")
    assert credential.is_secret("secret")
    assert credential.inputs["secret"] == second.one("credential").inputs["secret"]
    assert len(credential.inputs["secret"]) > 0
    password = next(r for r in first.resources if r.type == "random:index/randomPassword:RandomPassword")
    assert password.inputs["length"] >= 32


def test_every_kong_resource_hangs_under_a_component() -> None:
    result = run(cli_config())
    components = {r.urn: r.type for r in result.resources if r.type.startswith("kong-frontegg-jwt:index:")}
    assert set(components.values()) == {"kong-frontegg-jwt:index:FronteggTrust", "kong-frontegg-jwt:index:ProtectedApi"}
    for resource in result.kong:
        assert resource.parent in components, resource.name
    trust_children = {r.type for r in result.kong if components[r.parent].endswith("FronteggTrust")}
    assert trust_children == {KONG["consumer"], KONG["credential"]}


def test_outputs_export_ids_issuers_and_the_key_fingerprint() -> None:
    config = cli_config()
    result = run(config)
    key = serialization.load_pem_public_key(config["kong-frontegg-jwt:fronteggPublicKey"].encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert result.outputs["publicKeyFingerprint"] == hashlib.sha256(der).hexdigest()
    assert result.outputs["issuers"] == ["https://app-dev-example.frontegg.com"]
    assert result.outputs["serviceId"] == result.one("service").id
    assert result.outputs["routeId"] == result.one("route").id
    assert result.outputs["pluginId"] == result.one("plugin").id
    assert result.outputs["consumerId"] == result.one("consumer").id
    assert result.outputs["credentialIds"] == [result.one("credential").id]


def test_several_issuers_get_one_credential_each_on_the_one_consumer() -> None:
    issuers = ["https://login.example.com", "https://app-dev-example.frontegg.com"]
    result = run(cli_config(overrides={"kong-frontegg-jwt:issuers": issuers}))
    assert result.error is None
    consumer = result.one("consumer")
    assert sorted(c.inputs["key"] for c in result.of("credential")) == sorted(issuers)
    assert {c.inputs["consumerId"] for c in result.of("credential")} == {consumer.id}
    assert result.outputs["issuers"] == issuers


def test_a_trailing_slash_in_the_workspace_url_is_not_carried_into_the_issuer() -> None:
    result = run(cli_config(overrides={"kong-frontegg-jwt:fronteggWorkspaceUrl": "https://App-Dev-Example.frontegg.com/"}))
    assert result.one("credential").inputs["key"] == "https://app-dev-example.frontegg.com"


def test_pulumi_yaml_is_generated_from_the_one_table_of_config_keys() -> None:
    # Defaults live in components/stack_config.py; the CLI applies Pulumi.yaml's copy, so they must not drift.
    assert (ROOT / "Pulumi.yaml").read_text() == stack_config.pulumi_yaml(), "run `make pulumi-yaml`"


def test_every_config_key_is_declared_with_type_description_and_default() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    for key in stack_config.KEYS:
        if key.type == "object":
            continue  # Pulumi's project schema has no object type
        assert declared[key.name]["type"] == key.type
        assert declared[key.name]["description"]
        if key.default is not None:
            assert declared[key.name]["default"] == key.default


def test_the_dev_stack_sets_the_local_admin_api() -> None:
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert dev["kong:kongAdminUri"] == "http://localhost:8001"


def test_the_readme_config_table_documents_every_key() -> None:
    readme = (ROOT / "README.md").read_text()
    for key in stack_config.KEYS:
        assert f"| `{key.name}` |" in readme, key.name
