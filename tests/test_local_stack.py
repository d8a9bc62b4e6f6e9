"""The local stack: a throwaway key pair stands in for a Frontegg workspace, and the program accepts its config."""

import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from components.errors import ConfigError
from testkit.mock_runtime import PROJECT, cli_config, run
from tools import local_stack


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / ".local" / "key.pem", tmp_path / "Pulumi.local.yaml"


def prepare(paths: tuple[Path, Path], **kwargs: object) -> local_stack.LocalStack:
    key_file, stack_file = paths
    return local_stack.prepare(key_file=key_file, stack_file=stack_file, **kwargs)  # type: ignore[arg-type]


def config_of(stack_file: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(stack_file.read_text())["config"])


def test_the_program_trusts_the_generated_key_for_the_local_issuer(paths: tuple[Path, Path]) -> None:
    stack = prepare(paths)
    config = config_of(stack.stack_file)
    assert config["kong:kongAdminUri"] == "http://localhost:8001"
    declared = run(cli_config(stack="no-such-stack", overrides=config))
    assert declared.error is None, declared.error
    credential = declared.one("credential").inputs
    assert credential["key"] == local_stack.ISSUER
    assert credential["rsaPublicKey"] == stack.public_key.pem


def test_jwks_checks_are_off_because_the_local_issuer_publishes_none(paths: tuple[Path, Path]) -> None:
    config = config_of(prepare(paths).stack_file)
    assert config[f"{PROJECT}:fronteggKeyCheck"] == "off"


def test_the_private_key_stays_out_of_the_stack_config(paths: tuple[Path, Path]) -> None:
    stack = prepare(paths)
    assert "PRIVATE KEY" in stack.key_file.read_text()
    assert "PRIVATE KEY" not in stack.stack_file.read_text()
    assert stat.S_IMODE(stack.key_file.stat().st_mode) == 0o600


def test_running_again_keeps_the_key_and_what_pulumi_added(paths: tuple[Path, Path]) -> None:
    first = prepare(paths)
    # `pulumi stack init` adds the passphrase salt to the stack file; losing it would lock the stack's secrets.
    document = yaml.safe_load(first.stack_file.read_text())
    document["encryptionsalt"] = "v1:salt:from-pulumi"
    first.stack_file.write_text(yaml.safe_dump(document))
    second = prepare(paths)
    assert not second.created_key
    assert second.public_key == first.public_key
    assert yaml.safe_load(second.stack_file.read_text())["encryptionsalt"] == "v1:salt:from-pulumi"


def test_rotate_replaces_the_key(paths: tuple[Path, Path]) -> None:
    first = prepare(paths)
    rotated = prepare(paths, rotate=True)
    assert rotated.created_key
    assert rotated.public_key != first.public_key
    assert config_of(rotated.stack_file)[f"{PROJECT}:fronteggPublicKey"] == rotated.public_key.pem


def test_an_issuer_the_program_would_refuse_is_refused_before_anything_is_written(paths: tuple[Path, Path]) -> None:
    with pytest.raises(ConfigError, match=r"plain http is only allowed for localhost, 127\.0\.0\.0/8 and ::1"):
        prepare(paths, issuer="http://frontegg.example.com")
    assert not paths[0].exists() and not paths[1].exists()


def test_a_dot_localhost_name_does_not_count_as_loopback(paths: tuple[Path, Path]) -> None:
    # Nothing guarantees a resolver keeps *.localhost on this machine: plain http there could leave it.
    with pytest.raises(ConfigError, match="fronteggWorkspaceUrl: plain http is only allowed"):
        prepare(paths, issuer="http://frontegg.localhost")


def test_the_stack_file_holds_lists_as_yaml_lists(paths: tuple[Path, Path]) -> None:
    assert config_of(prepare(paths).stack_file)[f"{PROJECT}:routePaths"] == [local_stack.ROUTE_PATH]


def test_the_compose_file_serves_what_the_local_stack_points_at() -> None:
    compose = yaml.safe_load((local_stack.ROOT / "docker-compose.yml").read_text())["services"]
    kong = compose["kong"]
    assert kong["image"] == "kong:3.9"  # 3.10+ images are Enterprise-only
    assert kong["environment"]["KONG_DATABASE"] == "postgres"  # DB-less refuses Admin API writes (405)
    assert "127.0.0.1:8001:8001" in kong["ports"] and local_stack.ADMIN_URI == "http://localhost:8001"
    assert "healthcheck" in kong and "healthcheck" in compose["kong-database"]
    assert kong["depends_on"]["kong-migrations"]["condition"] == "service_completed_successfully"
    assert "migrations bootstrap" in compose["kong-migrations"]["command"]
    upstream = urlsplit(local_stack.UPSTREAM_URL)
    assert upstream.hostname in compose and str(upstream.port) in compose[upstream.hostname]["expose"]
