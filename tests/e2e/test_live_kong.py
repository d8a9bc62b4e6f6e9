"""End to end: the real Pulumi engine deploys the program to a live Kong, and the live proxy is checked row by row.

Run with `make e2e` after `docker compose up -d --wait`. Skips, naming what is missing, without the Pulumi CLI or a
reachable Kong. Each run uses a fresh stack in a temporary file backend, with its own issuer, service, route and
consumer, so it never touches the `local` stack of `make up`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi import automation as auto

from components.public_key import PublicKey
from components.stack_config import PROJECT
from tools import local_stack, verify_gateway

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("KONG_ADMIN_ADDR", local_stack.ADMIN_URI).rstrip("/")
PROXY_URL = os.environ.get("KONG_PROXY_URL", "http://localhost:8000").rstrip("/")
UPSTREAM_URL = os.environ.get("E2E_UPSTREAM_URL", local_stack.UPSTREAM_URL)
"""The upstream as Kong reaches it; the default is docker-compose.yml's httpbin service."""
CREDENTIAL = "kong:index/consumerJwtAuth:ConsumerJwtAuth"


def missing_prerequisite() -> str | None:
    """Why the suite cannot run here, or None."""
    if shutil.which("pulumi") is None:
        return "the Pulumi CLI is not on PATH (install it: https://www.pulumi.com/docs/iac/download-install/)"
    try:
        status = requests.get(f"{ADMIN_URL}/status", timeout=3)
    except requests.RequestException as error:
        problem = f"the Kong Admin API is not reachable at {ADMIN_URL} ({type(error).__name__})"
        return f"{problem}; run `docker compose up -d --wait` or set KONG_ADMIN_ADDR"
    if status.status_code != 200:
        return f"{ADMIN_URL}/status answered {status.status_code}, not Kong's Admin API; set KONG_ADMIN_ADDR"
    try:
        requests.get(PROXY_URL, timeout=3)
    except requests.RequestException as error:
        return f"Kong's proxy is not reachable at {PROXY_URL} ({type(error).__name__}); set KONG_PROXY_URL"
    return None


@dataclass
class LiveStack:
    stack: auto.Stack
    issuer: str
    service_name: str
    path: str
    key: rsa.RSAPrivateKey
    destroyed: bool = False

    def probes(self, key: rsa.RSAPrivateKey | None = None) -> list[verify_gateway.Probe]:
        now = int(time.time())
        signing_key = key or self.key
        return verify_gateway.fixed_probes(issuer=self.issuer, token=None, now=now) + verify_gateway.scenario_probes(
            signing_key, self.issuer, now
        )

    def replay(self, probes: list[verify_gateway.Probe]) -> list[verify_gateway.Result]:
        return verify_gateway.run(PROXY_URL, self.path, probes)


def _op(value: Any) -> str:
    return str(getattr(value, "value", value))


def _changes(summary: auto.UpdateSummary) -> dict[str, int]:
    return {_op(op): count for op, count in (summary.resource_changes or {}).items() if count}


def _failures(results: list[verify_gateway.Result]) -> list[str]:
    return [f"{r.probe.name}: expected {r.probe.expected}, got {r.got} ({r.verdict})" for r in results if r.verdict != verify_gateway.OK]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    suffix = secrets.token_hex(3)
    name = f"e2e-{suffix}"
    backend = tmp_path_factory.mktemp("pulumi-state")
    env = {"PULUMI_BACKEND_URL": backend.as_uri(), "PULUMI_CONFIG_PASSPHRASE": "e2e-only", "PULUMI_SKIP_UPDATE_CHECK": "true"}
    stack = auto.create_stack(stack_name=name, work_dir=str(ROOT), opts=auto.LocalWorkspaceOptions(work_dir=str(ROOT), env_vars=env))
    key = local_stack.new_private_key()
    # Names of its own, because Kong keys credentials by issuer and services by name across the whole gateway.
    live = LiveStack(stack, issuer=f"http://{name}.localhost", service_name=name, path=f"/{name}", key=key)
    config = local_stack.stack_settings(
        PublicKey.from_rsa(key.public_key()).pem, issuer=live.issuer, admin_uri=ADMIN_URL, upstream_url=UPSTREAM_URL
    )
    config |= {
        f"{PROJECT}:serviceName": name,
        f"{PROJECT}:routePaths": f'["{live.path}"]',
        f"{PROJECT}:consumerUsername": name,
    }
    try:
        stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in config.items()})
        yield live
    finally:
        try:
            if not live.destroyed:
                stack.destroy(on_output=print)
        finally:
            try:
                stack.workspace.remove_stack(name)
            finally:
                (ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)


def test_up_creates_the_protected_route(live: LiveStack) -> None:
    result = live.stack.up(on_output=print)
    assert result.summary.result == "succeeded"
    changes = _changes(result.summary)
    assert changes.get("create", 0) >= 5, changes  # service, route, plugin, consumer, credential (+ components, secret)
    assert result.outputs["issuers"].value == [live.issuer]


def test_the_live_route_answers_every_scenario_row(live: LiveStack) -> None:
    results = live.replay(live.probes())
    assert len(results) > 3, "the scenario table added no rows"
    assert not _failures(results), "\n".join(_failures(results))


def test_a_second_up_changes_nothing(live: LiveStack) -> None:
    result = live.stack.up(on_output=print)
    assert set(_changes(result.summary)) <= {"same"}, _changes(result.summary)


def test_a_new_public_key_updates_the_credential_in_place(live: LiveStack) -> None:
    old_key, new_key = live.key, local_stack.new_private_key()
    live.stack.set_config(f"{PROJECT}:fronteggPublicKey", auto.ConfigValue(value=PublicKey.from_rsa(new_key.public_key()).pem))
    ops: dict[str, str] = {}

    def record(event: auto.EngineEvent) -> None:
        if event.resource_pre_event and event.resource_pre_event.metadata.type == CREDENTIAL:
            ops[event.resource_pre_event.metadata.urn] = _op(event.resource_pre_event.metadata.op)

    result = live.stack.up(on_output=print, on_event=record)
    live.key = new_key
    assert ops and set(ops.values()) == {"update"}, ops  # an update, never a replace (which would open a gap)
    assert set(_changes(result.summary)) <= {"same", "update"}, _changes(result.summary)

    results = live.replay(live.probes())
    assert not _failures(results), "\n".join(_failures(results))
    now = int(time.time())
    stale = verify_gateway.rs256({"iss": live.issuer, "iat": now, "exp": now + 300}, old_key)
    (old,) = live.replay([verify_gateway.Probe("token signed by the replaced key", headers=verify_gateway.bearer(stale))])
    assert old.verdict == verify_gateway.OK, old.got


def test_destroy_removes_what_up_created(live: LiveStack) -> None:
    result = live.stack.destroy(on_output=print)
    live.destroyed = True
    assert result.summary.result == "succeeded"
    assert requests.get(f"{ADMIN_URL}/services/{live.service_name}", timeout=5).status_code == 404
    assert requests.get(f"{ADMIN_URL}/consumers/{live.service_name}", timeout=5).status_code == 404
