"""Stack config beyond one API: `apis` for many APIs on one trust, CORS, secrets kept secret, every problem at once."""

import json
from typing import Any

import pytest

from components import stack_config
from components.errors import ConfigError
from testkit.mock_runtime import KONG, PROJECT, Run, cli_config, run

APIS = [
    {"name": "orders", "upstreamUrl": "https://orders.internal:8443/v1", "routePaths": ["/orders"]},
    {
        "name": "billing",
        "upstreamUrl": "http://billing.internal",
        "routeHosts": ["billing.example.com"],
        "jwt": {"maximumExpiration": 3600},
    },
    {
        "name": "web",
        "upstreamUrl": "https://web-api.internal",
        "routePaths": ["/web"],
        "routeMethods": ["GET", "POST"],
        "cors": {"origins": ["https://app.example.com"], "credentials": True},
    },
]
SINGLE_API_KEYS = ("upstreamUrl", "serviceName", "routePaths")


def key(name: str) -> str:
    return f"{PROJECT}:{name}"


def apis_stack(apis: Any = APIS, **overrides: Any) -> dict[str, str]:
    """The dev stack turned into a three-API stack (the single-API keys dropped)."""
    return cli_config(
        overrides={key("apis"): apis, **{key(k): v for k, v in overrides.items()}}, drop=tuple(key(k) for k in SINGLE_API_KEYS)
    )


def refused(result: Run) -> ConfigError:
    assert isinstance(result.error, ConfigError), f"expected a ConfigError, got {result.error!r}"
    assert result.kong == []
    return result.error


def test_three_apis_share_one_trust_and_each_gets_service_route_and_plugins() -> None:
    result = run(apis_stack())
    assert result.error is None, result.error
    assert len(result.of("consumer")) == 1 and len(result.of("credential")) == 1
    services = {s.inputs["name"]: s for s in result.of("service")}
    assert set(services) == {"orders", "billing", "web"}
    assert {r.inputs["name"] for r in result.of("route")} == {"orders-route", "billing-route", "web-route"}
    plugins = [(p.inputs["name"], p.inputs["serviceId"]) for p in result.of("plugin")]
    assert sorted(plugins) == sorted([("jwt", s.id) for s in services.values()] + [("cors", services["web"].id)])
    jwt_of = {p.inputs["serviceId"]: json.loads(p.inputs["configJson"]) for p in result.of("plugin") if p.inputs["name"] == "jwt"}
    assert jwt_of[services["billing"].id]["maximum_expiration"] == 3600


def test_the_apis_export_lists_every_apis_ids() -> None:
    result = run(apis_stack())
    assert set(result.outputs["apis"]) == {"orders", "billing", "web"}
    web = result.outputs["apis"]["web"]
    assert web["corsPluginId"] == "web-cors-id" and web["routeId"] == "web-route-id"
    assert "serviceId" not in result.outputs, "the single-API exports belong to the single-API form"


def test_apis_together_with_a_single_api_key_is_an_error_naming_both() -> None:
    error = refused(run({**apis_stack(), key("serviceName"): "orders"}))
    assert error.key == key("apis") and "serviceName" in error.given


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"name": "x", "upstreamUrl": "ftp://x.internal", "routePaths": ["/x"]}, "apis[1].upstreamUrl"),
        ({"name": "x", "upstreamUrl": "http://x.internal", "routePath": ["/x"]}, "apis[1].routePath"),
        ({"name": "x", "upstreamUrl": "http://x.internal"}, "apis[1].routePaths"),
        ({"upstreamUrl": "http://x.internal", "routePaths": ["/x"]}, "apis[1].name"),
        ({"name": "x y", "upstreamUrl": "http://x.internal", "routePaths": ["/x"]}, "apis[1].name"),
        (
            {"name": "x", "upstreamUrl": "http://x.internal", "routePaths": ["/x"], "jwt": {"runOnPreflight": "no"}},
            "apis[1].jwt.runOnPreflight",
        ),
        (
            {"name": "x", "upstreamUrl": "http://x.internal", "routePaths": ["/x"], "cors": {"origins": ["*"], "credentials": True}},
            "apis[1].cors.credentials",
        ),
        ({"name": "orders", "upstreamUrl": "http://x.internal", "routePaths": ["/x"]}, "apis[1].name"),
        ("orders", "apis[1]"),
    ],
)
def test_an_apis_entry_is_checked_like_the_single_api_keys_and_named_by_position(entry: Any, named: str) -> None:
    error = refused(run(apis_stack([APIS[0], entry])))
    assert error.key == key(named), str(error)


def test_an_unknown_key_in_an_entry_suggests_the_right_one() -> None:
    error = refused(run(apis_stack([{"name": "x", "upstreamUrl": "http://x.internal", "routePath": ["/x"]}])))
    assert f"did you mean {key('apis[0].routePaths')}?" in str(error)


def test_an_empty_apis_list_protects_nothing_and_is_refused() -> None:
    assert refused(run(apis_stack([]))).key == key("apis")


def test_apis_set_with_config_set_path_arrive_as_json_and_work() -> None:
    # `pulumi config set --path 'apis[0].upstreamUrl' ...` stores an object; the program gets it as a JSON string.
    config = apis_stack()
    assert json.loads(config[key("apis")])[0]["name"] == "orders"
    assert run(config).error is None


def test_a_secret_upstream_url_stays_secret_in_every_field_it_becomes() -> None:
    config = cli_config(overrides={key("upstreamUrl"): "https://orders.internal/v1"})
    service = run(config, secret_keys=[key("upstreamUrl")]).one("service")
    assert all(service.is_secret(field) for field in ("protocol", "host", "port", "path", "tlsVerify"))
    assert service.inputs["host"]["value"] == "orders.internal"


def test_a_secret_apis_key_keeps_every_upstream_secret() -> None:
    result = run(apis_stack(), secret_keys=[key("apis")])
    assert result.error is None
    assert all(service.is_secret("host") for service in result.of("service"))


def test_a_secret_public_key_stays_secret_in_the_credential() -> None:
    credential = run(cli_config(), secret_keys=[key("fronteggPublicKey")]).one("credential")
    assert credential.is_secret("rsaPublicKey")


@pytest.mark.parametrize("name", ["serviceName", "routePaths", "fronteggWorkspaceUrl", "jwt"])
def test_a_key_that_cannot_stay_secret_set_as_one_is_refused(name: str) -> None:
    config = cli_config(overrides={key("jwt"): {"maximumExpiration": 60}})
    error = refused(run(config, secret_keys=[key(name)]))
    assert error.key == key(name) and "cannot stay secret" in error.problem


def test_every_problem_in_a_config_is_reported_at_once() -> None:
    config = cli_config(
        overrides={key("fronteggWorkspaceUrl"): "http://app.example.com", key("routePaths"): ["orders"], key("jwt"): {"claimsToVerfy": []}},
        drop=(key("serviceName"),),
    )
    found = stack_config.problems(config)
    assert [problem.key for problem in found] == [
        key("fronteggWorkspaceUrl"),
        key("routePaths[0]"),
        key("jwt.claimsToVerfy"),
        key("serviceName"),
    ]


def test_a_good_config_has_no_problems() -> None:
    assert stack_config.problems(cli_config()) == []
    assert stack_config.problems(apis_stack()) == []


def test_the_program_reads_the_config_the_engine_handed_it() -> None:
    # stack_config.current() reads the SDK's config store (no public API lists keys); this fails if that moves.
    seen: list[tuple[dict[str, str], frozenset[str]]] = []
    config = cli_config(overrides={"kong:kongAdminToken": "t"})
    run(config, program=lambda: seen.append(stack_config.current()), secret_keys=["kong:kongAdminToken"])
    [(current, secrets)] = seen
    assert current == config and secrets == {"kong:kongAdminToken"}


def test_the_three_api_stack_registers_what_the_readme_says() -> None:
    result = run(apis_stack())
    kinds = sorted(r.type for r in result.kong)
    assert kinds.count(KONG["service"]) == 3 and kinds.count(KONG["route"]) == 3 and kinds.count(KONG["plugin"]) == 4
    assert len(result.kong) == 3 + 3 + 4 + 1 + 1


def test_an_encrypted_value_counts_as_set_and_is_not_checked() -> None:
    config = cli_config(overrides={key("upstreamUrl"): "v1:not-decryptable", key("fronteggPublicKey"): "v1:not-decryptable"})
    opaque = [key("upstreamUrl"), key("fronteggPublicKey")]
    assert stack_config.problems(config, secret_keys=opaque, opaque=opaque) == []
    missing = stack_config.problems(cli_config(drop=(key("upstreamUrl"),)))
    assert [problem.key for problem in missing] == [key("upstreamUrl")]


def test_two_apis_that_match_the_same_requests_are_refused() -> None:
    twins = [APIS[0], {"name": "orders-v2", "upstreamUrl": "http://v2.internal", "routePaths": ["/orders"]}]
    error = refused(run(apis_stack(twins)))
    assert error.key == key("apis[1].routePaths[0]") and "apis[0]" in error.problem
