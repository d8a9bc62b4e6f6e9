"""The Kong admin token stays secret, the credential secret is marked secret, and the same config declares the same inputs."""

from __future__ import annotations

import json
from collections.abc import Callable

import pulumi
from pulumi.runtime.config import is_config_secret

from testkit.mock_runtime import PROJECT, Run, cli_config, run

ADMIN_TOKEN = "kong-admin-token-3f9a7c1e5b2d4f60"
ADMIN_TOKEN_KEY = "kong:kongAdminToken"


def with_admin_token(*, preview: bool = False, program: Callable[[], None] | None = None) -> Run:
    """The dev stack with the admin token set as `pulumi config set --secret` does."""
    config = cli_config(overrides={ADMIN_TOKEN_KEY: ADMIN_TOKEN})
    return run(config, program, preview=preview, secret_keys=[ADMIN_TOKEN_KEY])


def everything_recorded(result: Run) -> str:
    """Every output, log line and registered input of a run, as one searchable text."""
    parts = [json.dumps(result.outputs, default=str), json.dumps(result.raw_outputs, default=str)]
    parts += [record.getMessage() for record in result.logs]
    parts += [json.dumps(r.raw_inputs, default=str) + json.dumps(r.inputs, default=str) for r in result.resources]
    return "\n".join(parts)


def test_the_admin_token_never_appears_in_outputs_logs_or_inputs() -> None:
    for preview in (False, True):
        result = with_admin_token(preview=preview)
        assert result.error is None and result.kong
        assert ADMIN_TOKEN not in everything_recorded(result)


def test_a_program_that_exported_the_token_would_be_caught() -> None:
    seen_as_secret: list[bool] = []

    def leaky() -> None:
        seen_as_secret.append(is_config_secret(ADMIN_TOKEN_KEY))
        pulumi.export("adminToken", pulumi.Config("kong").get("kongAdminToken"))

    result = with_admin_token(program=leaky)
    assert seen_as_secret == [True], "the harness did not set the key as a secret"
    assert ADMIN_TOKEN in everything_recorded(result)


def test_the_admin_token_is_not_echoed_when_the_config_is_refused() -> None:
    config = cli_config(overrides={ADMIN_TOKEN_KEY: ADMIN_TOKEN, f"{PROJECT}:routePaths": ["orders"]})
    result = run(config, secret_keys=[ADMIN_TOKEN_KEY])
    assert result.error is not None
    assert ADMIN_TOKEN not in str(result.error) + everything_recorded(result)


def test_the_credential_secret_reaches_the_engine_marked_secret() -> None:
    credential = with_admin_token().one("credential")
    assert credential.is_secret("secret")
    assert not credential.is_secret("key"), "the issuer is no secret and should stay readable in previews"


def test_the_same_config_declares_byte_identical_inputs() -> None:
    first, second = with_admin_token(), with_admin_token()

    def inputs(result: Run) -> dict[str, str]:
        return {r.urn: json.dumps(r.raw_inputs, sort_keys=True) for r in result.resources}

    assert inputs(first) == inputs(second)
    assert len(inputs(first)) == len(first.resources) >= 5
    assert first.one("plugin").inputs["configJson"] == second.one("plugin").inputs["configJson"]


def test_jwt_overrides_in_any_order_declare_the_same_plugin_config() -> None:
    def config_json(jwt: str) -> str:
        return str(run(cli_config(overrides={f"{PROJECT}:jwt": jwt})).one("plugin").inputs["configJson"])

    assert config_json('{"maximumExpiration": 3600, "cookieNames": ["fe"]}') == config_json(
        '{"cookieNames": ["fe"], "maximumExpiration": 3600}'
    )
