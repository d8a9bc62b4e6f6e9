"""The components as other languages get them: the provider process, driven over gRPC as the Pulumi engine drives it.

The provider runs as a real subprocess (tests/fake_engine.py); the engine and the resource monitor it calls back are
fakes on loopback. Inputs arrive the way the engine sends them: numbers as floats, secrets in Pulumi's secret wrapper,
the caller's providers as a map of references.
"""

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import grpc  # type: ignore[import-untyped]  # no stubs in the venv
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import engine_pb2, errors_pb2, provider_pb2, provider_pb2_grpc, status_pb2

from components import __version__
from components.provider import schema
from tests import fake_engine
from tests.fake_engine import PROJECT, ROOT, STACK, STACK_URN, Monitor, Registration, is_secret, secret
from tests.keys import rsa_key, spki_pem
from tools.schema import schema_json

TRUST = "kong-frontegg-jwt:index:FronteggTrust"
API = "kong-frontegg-jwt:index:ProtectedApi"
KONG_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:kong::gateway"
KONG_REF = f"{KONG_URN}::7c1d7b1e-gateway"
"""The caller's kong provider, as the engine passes a provider reference: URN::id."""
KONG_CHILDREN = {
    "kong:index/service:Service",
    "kong:index/route:Route",
    "kong:index/plugin:Plugin",
    "kong:index/consumer:Consumer",
    "kong:index/consumerJwtAuth:ConsumerJwtAuth",
}
ISSUER = "https://login.example.com"
ORDERS: dict[str, Any] = {"upstreamUrl": "https://orders.internal:8443/v1", "routePaths": ["/orders"]}
SECRET_MARKER = "Zq7-not-for-logs"
"""Stands for a secret value: it must appear in no error."""


@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[fake_engine.Engine, str]]:
    with fake_engine.engine() as served:
        yield served


@pytest.fixture(scope="module")
def provider(engine: tuple[fake_engine.Engine, str]) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    with fake_engine.start_provider(engine[1]) as stub:
        yield stub


@pytest.fixture
def monitor() -> Iterator[tuple[Monitor, str]]:
    with fake_engine.monitor({KONG_URN: KONG_REF.rsplit("::", 1)[1]}) as served:
        yield served


@dataclass
class Constructed:
    """What one Construct call answered and registered."""

    urn: str
    state: dict[str, Any]
    registrations: list[Registration]

    def of(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of(type_)
        assert len(found) == 1, f"expected one {type_}, got {[r.name for r in found]}"
        return found[0]


@dataclass(frozen=True)
class Refusal:
    """A refused Construct as the engine reads it: the status, and the property errors from grpc-status-details-bin."""

    code: grpc.StatusCode
    message: str
    errors: list[tuple[str, str]]


def request(monitor_address: str, type_: str, name: str, inputs: Mapping[str, Any]) -> provider_pb2.ConstructRequest:
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return provider_pb2.ConstructRequest(
        project=PROJECT,
        stack=STACK,
        dryRun=True,
        monitorEndpoint=monitor_address,
        type=type_,
        name=name,
        parent=STACK_URN,
        inputs=struct,
        providers={"kong": KONG_REF},
    )


def construct(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str], type_: str, name: str, inputs: Mapping[str, Any]
) -> Constructed:
    response = provider.Construct(request(monitor[1], type_, name, inputs), timeout=60)
    return Constructed(response.urn, json_format.MessageToDict(response.state), list(monitor[0].registrations))


def refused(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str], type_: str, inputs: Mapping[str, Any]
) -> Refusal:
    with pytest.raises(grpc.RpcError) as raised:
        provider.Construct(request(monitor[1], type_, "bad", inputs), timeout=60)
    error: Any = raised.value  # a grpc.Call as well: code(), details(), trailing_metadata()
    packed = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert packed is not None, f"no property errors for the engine to show: {error.code()} {error.details()!r}"
    status = status_pb2.Status.FromString(packed)
    errors: list[tuple[str, str]] = []
    for detail in status.details:
        unpacked = errors_pb2.InputPropertiesError()
        assert detail.Unpack(unpacked), f"unexpected detail {detail.type_url}"
        errors += [(e.property_path, e.reason) for e in unpacked.errors]
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    return Refusal(error.code(), error.details() or "", errors)


def served_schema(provider: provider_pb2_grpc.ResourceProviderStub) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(), timeout=60).schema)
    return loaded


# --- the schema other languages' SDKs are generated from -------------------------------------------------------------


def test_the_served_schema_is_the_one_make_schema_prints(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    printed = subprocess.run([sys.executable, "-m", "tools.schema"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == served_schema(provider) == schema()
    assert printed.stdout == schema_json() == json.dumps(schema(), indent=2, sort_keys=True) + "\n", "sorted, indented, stable"
    assert provider.GetPluginInfo(empty_pb2.Empty(), timeout=60).version == __version__


def test_both_components_are_served_under_the_package_name(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    served = served_schema(provider)
    assert served["name"] == "kong-frontegg-jwt" and served["version"] == __version__
    assert set(served["resources"]) == {TRUST, API}
    assert all(resource["isComponent"] for resource in served["resources"].values())
    assert set(served["types"]) == {f"kong-frontegg-jwt:index:{name}" for name in ("JwtSettings", "CorsSettings", "KeyCheck")}


def test_every_input_output_and_setting_has_a_description(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    served = served_schema(provider)
    described: dict[str, Any] = {}
    for token, resource in served["resources"].items():
        assert resource.get("description"), token
        described |= {f"{token} input {k}": v for k, v in resource["inputProperties"].items()}
        described |= {f"{token} output {k}": v for k, v in resource["properties"].items()}
    for token, type_ in served["types"].items():
        assert type_.get("description"), token
        described |= {f"{token}.{k}": v for k, v in type_.get("properties", {}).items()}
        described |= {f"{token}.{v['value']}": v for v in type_.get("enum", [])}
    assert len(described) == 14 + 10 + 12 + 3, "inputs, outputs, settings and key checks: one more needs a line here"
    assert [name for name, prop in described.items() if not prop.get("description")] == []


def test_only_the_upstream_url_and_the_public_key_may_be_outputs(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    served = served_schema(provider)
    not_plain = {
        f"{token}.{name}"
        for token, resource in served["resources"].items()
        for name, prop in resource["inputProperties"].items()
        if not prop.get("plain")
    }
    # Everything else decides which Kong resources are declared, so it must be known when the program runs.
    assert not_plain == {f"{API}.upstreamUrl", f"{TRUST}.publicKeyPem"}
    for token in ("JwtSettings", "CorsSettings"):
        properties = served["types"][f"kong-frontegg-jwt:index:{token}"]["properties"]
        assert all(prop.get("plain") for prop in properties.values()), token
    outputs = [prop for resource in served["resources"].values() for prop in resource["properties"].values()]
    assert not any(prop.get("plain") for prop in outputs), "outputs are never plain"


def test_nested_settings_are_object_types_and_the_key_check_an_enum(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    served = served_schema(provider)
    types = served["types"]
    api_inputs = served["resources"][API]["inputProperties"]
    assert api_inputs["jwt"]["$ref"] == "#/types/kong-frontegg-jwt:index:JwtSettings"
    assert api_inputs["cors"]["$ref"] == "#/types/kong-frontegg-jwt:index:CorsSettings"
    assert served["resources"][TRUST]["inputProperties"]["keyCheck"]["$ref"] == "#/types/kong-frontegg-jwt:index:KeyCheck"
    jwt, cors = types["kong-frontegg-jwt:index:JwtSettings"], types["kong-frontegg-jwt:index:CorsSettings"]
    assert jwt["type"] == cors["type"] == "object"
    assert set(jwt["properties"]) == {
        "claimsToVerify",
        "maximumExpiration",
        "headerNames",
        "uriParamNames",
        "cookieNames",
        "runOnPreflight",
    }
    assert set(cors["properties"]) == {"origins", "credentials", "methods", "headers", "exposedHeaders", "maxAge"}
    assert jwt["properties"]["maximumExpiration"]["type"] == cors["properties"]["maxAge"]["type"] == "integer"
    key_check = types["kong-frontegg-jwt:index:KeyCheck"]
    assert key_check["type"] == "string"
    assert [member["value"] for member in key_check["enum"]] == ["warn", "fail", "off"]


def test_the_upstream_url_is_the_only_required_input(provider: provider_pb2_grpc.ResourceProviderStub) -> None:
    resources = served_schema(provider)["resources"]
    assert resources[API]["requiredInputs"] == ["upstreamUrl"]
    assert resources[TRUST]["requiredInputs"] == []
    assert resources[API]["required"] == ["corsPluginId", "pluginId", "routeId", "serviceId"]


# --- Construct: what the engine gets back ---------------------------------------------------------------------------


def test_a_protected_api_registers_its_kong_children_under_itself(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str]
) -> None:
    cors = {"origins": ["https://app.example.com"]}
    result = construct(provider, monitor, API, "orders", {**ORDERS, "cors": cors})
    component = result.one(API)
    assert component.urn == result.urn and component.parent == STACK_URN
    children = [r for r in result.registrations if r is not component]
    assert sorted(r.name for r in children) == ["orders-cors", "orders-jwt", "orders-route", "orders-service"]
    assert {r.type for r in children} <= KONG_CHILDREN
    assert all(r.parent == result.urn for r in children)
    assert result.one("kong:index/route:Route").inputs["paths"] == ["/orders"]
    assert result.state == {
        "serviceId": "orders-service-id",
        "routeId": "orders-route-id",
        "pluginId": "orders-jwt-id",
        "corsPluginId": "orders-cors-id",
    }


def test_the_callers_kong_provider_reaches_every_kong_child(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str]
) -> None:
    construct(provider, monitor, API, "orders", ORDERS)
    construct(provider, monitor, TRUST, "frontegg", {"issuers": [ISSUER], "publicKeyPem": spki_pem(rsa_key())})
    kong = [r for r in monitor[0].registrations if r.type in KONG_CHILDREN]
    assert {r.type for r in kong} == KONG_CHILDREN
    assert [r.name for r in kong if r.provider != KONG_REF] == []
    # The map names only kong: the credential secret's random password keeps the default random provider.
    assert [r.provider for r in monitor[0].registrations if r.type.startswith("random:")] == [""]


def test_a_secret_upstream_url_reaches_the_service_still_secret(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str]
) -> None:
    service = construct(provider, monitor, API, "orders", {**ORDERS, "upstreamUrl": secret(ORDERS["upstreamUrl"])}).one(
        "kong:index/service:Service"
    )
    for field in ("protocol", "host", "port", "path"):
        assert is_secret(service.inputs[field]), field
    assert service.inputs["host"]["value"] == "orders.internal" and service.inputs["port"]["value"] == 8443
    assert service.inputs["name"] == "orders", "what is no secret stays readable in previews"


def test_a_secret_public_key_reaches_the_credential_still_secret(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str]
) -> None:
    pem = spki_pem(rsa_key())
    result = construct(provider, monitor, TRUST, "frontegg", {"issuers": [ISSUER], "publicKeyPem": secret(pem)})
    credential = result.one("kong:index/consumerJwtAuth:ConsumerJwtAuth")
    assert is_secret(credential.inputs["rsaPublicKey"]) and credential.inputs["rsaPublicKey"]["value"] == pem
    assert credential.inputs["key"] == ISSUER
    assert is_secret(result.state["publicKeyPem"]), "an output made from a secret stays secret"


def test_whole_numbers_sent_as_floats_are_accepted(provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str]) -> None:
    inputs = {**ORDERS, "jwt": {"maximumExpiration": 3600.0}, "cors": {"origins": ["https://app.example.com"], "maxAge": 300.0}}
    plugins = construct(provider, monitor, API, "orders", inputs).of("kong:index/plugin:Plugin")
    config = {p.inputs["name"]: p.inputs["configJson"] for p in plugins}
    assert '"maximum_expiration":3600,' in config["jwt"], "Kong gets an integer, not 3600.0"
    assert '"max_age":300,' in config["cors"]


def test_a_key_check_is_given_as_its_value(provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str]) -> None:
    inputs = {"workspaceUrl": "https://app-abc123.frontegg.com", "publicKeyPem": spki_pem(rsa_key()), "keyCheck": "off"}
    result = construct(provider, monitor, TRUST, "frontegg", inputs)
    assert result.one("kong:index/consumerJwtAuth:ConsumerJwtAuth").inputs["key"] == "https://app-abc123.frontegg.com"


def test_a_warning_reaches_the_engine_log_against_the_component(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str], engine: tuple[fake_engine.Engine, str]
) -> None:
    result = construct(provider, monitor, API, "public", {**ORDERS, "cors": {"origins": ["*"]}})
    warnings = [log.message for log in engine[0].logs if log.severity == engine_pb2.WARNING and log.urn == result.urn]
    assert warnings == ['cors.origins is ["*"]: any website can call this API from a browser (requests still need a valid token).']


# --- bad arguments: what the engine shows ---------------------------------------------------------------------------

BAD = [
    pytest.param(API, {**ORDERS, "routePaths": ["orders"]}, "routePaths[0]", "does not start with '/'", id="relative-path"),
    pytest.param(API, {**ORDERS, "jwt": {"claimsToVerfy": ["exp"]}}, "jwt.claimsToVerfy", "did you mean jwt.claimsToVerify?", id="typo"),
    pytest.param(API, {**ORDERS, "jwt": {"runOnPreflght": False}}, "jwt.runOnPreflght", "jwt.runOnPreflight", id="typo-false"),
    pytest.param(API, {**ORDERS, "cors": {"origins": ["*"], "credentials": True}}, "cors.credentials", "any website", id="star-creds"),
    pytest.param(API, {**ORDERS, "jwt": {"maximumExpiration": 3600.5}}, "jwt.maximumExpiration", "whole number", id="non-whole"),
    pytest.param(API, {**ORDERS, "jwt": {"maximumExpiration": [3600]}}, "jwt.maximumExpiration", "whole number", id="list-for-int"),
    pytest.param(API, {**ORDERS, "jwt": "strict"}, "jwt", "expected an object", id="jwt-not-object"),
    pytest.param(API, {"routePaths": ["/orders"]}, "upstreamUrl", "required", id="missing"),
    pytest.param(API, {**ORDERS, "route_paths": ["/x"]}, "route_paths", "did you mean routePaths?", id="python-spelling"),
    pytest.param(API, {**ORDERS, "upstreamUrl": secret("ftp://orders.internal")}, "upstreamUrl", "http(s) URL", id="secret-url"),
    pytest.param(TRUST, {"issuers": [ISSUER], "keyCheck": "sometimes"}, "keyCheck", "one of", id="enum"),
    pytest.param(TRUST, {"issuers": [ISSUER], "publicKeyPem": secret("not a key")}, "publicKeyPem", "not a PEM public key", id="key"),
]


@pytest.mark.parametrize(("type_", "inputs", "path", "reason"), BAD)
def test_a_bad_argument_comes_back_as_a_property_error(
    provider: provider_pb2_grpc.ResourceProviderStub,
    monitor: tuple[Monitor, str],
    type_: str,
    inputs: dict[str, Any],
    path: str,
    reason: str,
) -> None:
    refusal = refused(provider, monitor, type_, inputs)
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert len(refusal.errors) == 1 and refusal.errors[0][0] == path
    shown = refusal.errors[0][1]
    assert reason in shown and "Fix:" in shown, shown
    for text in (shown, refusal.message):
        assert "Unexpected <class" not in text and "Traceback" not in text and 'File "' not in text, text


@pytest.mark.parametrize(
    ("type_", "inputs"),
    [
        (API, {**ORDERS, "routePaths": ["/orders", "orders"]}),
        (TRUST, {"issuers": [ISSUER + "/"], "publicKeyPem": spki_pem(rsa_key())}),
    ],
)
def test_a_bad_argument_known_at_once_declares_nothing(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str], type_: str, inputs: dict[str, Any]
) -> None:
    assert refused(provider, monitor, type_, inputs).errors
    assert monitor[0].registrations == []


@pytest.mark.parametrize(
    ("type_", "inputs"),
    [
        (API, {**ORDERS, "upstreamUrl": secret(f"ftp://orders.internal/{SECRET_MARKER}")}),
        (TRUST, {"issuers": [ISSUER], "publicKeyPem": secret(f"-----BEGIN PUBLIC KEY-----\n{SECRET_MARKER}")}),
    ],
)
def test_a_secret_that_fails_its_check_is_not_shown(
    provider: provider_pb2_grpc.ResourceProviderStub, monitor: tuple[Monitor, str], type_: str, inputs: dict[str, Any]
) -> None:
    refusal = refused(provider, monitor, type_, inputs)
    assert "given: a secret, not shown" in refusal.errors[0][1]
    assert SECRET_MARKER not in repr(refusal)
