"""End to end: the real Pulumi engine deploys the program to a live Kong 3.9, then changes it the way operators do.

Run with `make e2e` (docs/end-to-end.md). It refuses, naming what is missing, without the Pulumi CLI, Docker or
a reachable Kong. Each run is one fresh stack in a temporary file backend, with names of its own (the `e2e-xxxxxx`
service, route and consumer; issuers on a random localhost port), so it never touches the `local` stack of `make up`.

The tests are the phases of one story and run in file order, each starting from what the one before left in Kong;
scripts/e2e.sh stops at the first failure, and the fixture destroys the stack however the run ends. After every
change a phase "settles": the state has no pending operations, Kong holds exactly the stack's entities (checked
through the Admin API), the gateway verifier passes for every issuer, and `preview --refresh` shows no change.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec
from urllib.parse import quote, urlsplit

import jwt
import pytest
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pulumi import automation as auto

from tests.e2e import environment
from tests.e2e.environment import ADMIN_URL, PROXY_URL, ROOT, UPSTREAM_URL
from tests.e2e.kong_admin import AdminApi, StackInKong, foreign_id
from tools import token_scenarios

pytestmark = pytest.mark.e2e

PROJECT = str(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"])
PLUGIN = "kong:index/plugin:Plugin"
CREDENTIAL = "kong:index/consumerJwtAuth:ConsumerJwtAuth"
UNCHANGED = {"same", "read", "refresh"}
"""Engine operations that change nothing in Kong (a refresh step only reads)."""
UP_TIMEOUT = 900.0
KONG_CATCH_UP = 30.0
"""Seconds the proxy may lag the Admin API: with Kong's default worker_consistency = eventual, routes and plugins
are rebuilt in the background every worker_state_update_frequency (5 s), so the proxy can answer from the previous
config for a moment after a change."""
EXTRA_ISSUERS = 7
"""Issuers a fault phase adds at once: with one operation at a time, enough work for the fault to land halfway."""

P = ParamSpec("P")


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def is_public_half(pem: str, key: rsa.RSAPrivateKey) -> bool:
    loaded = serialization.load_pem_public_key(pem.encode())
    return isinstance(loaded, rsa.RSAPublicKey) and loaded.public_numbers() == key.public_key().public_numbers()


def bearer(key: rsa.RSAPrivateKey, issuer: str) -> dict[str, str]:
    now = int(time.time())
    token = jwt.encode({"iss": issuer, "sub": "e2e", "iat": now, "exp": now + 300}, key, algorithm="RS256")
    return {"Authorization": f"Bearer {token}"}


def op_name(op: object) -> str:
    return str(getattr(op, "value", op))


def changes_in(counts: Mapping[Any, int] | None) -> dict[str, int]:
    """The operations of a change summary that touch Kong, by name."""
    return {op_name(op): n for op, n in (counts or {}).items() if n and op_name(op) not in UNCHANGED}


def answer(response: requests.Response) -> str:
    return f"{response.status_code} {response.text.strip()[:200]}"


def message_of(response: requests.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("message") if isinstance(body, dict) else None


def eventually(check: Callable[P, str | None], *args: P.args, **kwargs: P.kwargs) -> None:
    """Repeat a check that returns a problem (or None once satisfied) until it passes or KONG_CATCH_UP runs out."""
    deadline = time.monotonic() + KONG_CATCH_UP
    while (problem := check(*args, **kwargs)) is not None:
        if time.monotonic() > deadline:
            pytest.fail(problem, pytrace=False)
        time.sleep(1)


def compose(*args: str) -> None:
    """A docker compose command on docker-compose.yml (the Kong the suite runs against)."""
    result = subprocess.run([*environment.COMPOSE, *args], capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"docker compose {' '.join(args)}: exit {result.returncode}\n{result.stdout}{result.stderr}"


@dataclass
class LiveStack:
    """The e2e stack, the config it was last given, and every Kong entity the suite has seen it own."""

    stack: auto.Stack
    name: str
    """The stack's name, and the prefix of everything it names in Kong."""
    key: rsa.RSAPrivateKey
    """The signing key whose public half the stack trusts (a Frontegg workspace's, in real life)."""
    port: int
    """Issuers are http://localhost:<port + n>: loopback, so plain http is accepted, and unique to this run."""
    key_dir: Path
    admin: AdminApi = field(default_factory=lambda: AdminApi(ADMIN_URL))
    config: dict[str, Any] = field(default_factory=dict)
    issuers_used: set[str] = field(default_factory=set)
    seen: dict[str, set[str]] = field(default_factory=dict)
    destroyed: bool = False

    def issuer(self, n: int) -> str:
        return f"http://localhost:{self.port + n}"

    def _get(self, key: str) -> Any:
        return self.config.get(f"{PROJECT}:{key}")

    @property
    def issuers(self) -> list[str]:
        return list(self._get("issuers") or [self._get("fronteggWorkspaceUrl")])

    @property
    def service_name(self) -> str:
        return str(self._get("serviceName"))

    @property
    def consumer_username(self) -> str:
        return str(self._get("consumerUsername"))

    @property
    def path(self) -> str:
        return str(self._get("routePaths")[0])

    @property
    def host(self) -> str | None:
        hosts = self._get("routeHosts")
        return str(hosts[0]) if hosts else None

    def configure(self, **values: Any) -> None:
        """Set project config keys (None removes one) and write the stack file.

        The whole file is written, with lists and objects as YAML, because Pulumi checks array keys against
        Pulumi.yaml's types and `pulumi config set` would store a JSON list as a string."""
        for key, value in values.items():
            if value is None:
                self.config.pop(f"{PROJECT}:{key}", None)
            else:
                self.config[f"{PROJECT}:{key}"] = value
        self.issuers_used.update(self.issuers)
        settings = self.stack.workspace.stack_settings(self.name)
        settings.config = dict(self.config)
        self.stack.workspace.save_stack_settings(self.name, settings)

    def up(self, **options: Any) -> auto.UpResult:
        result = self.stack.up(color="never", diff=True, on_output=print, **options)
        assert result.summary.result == "succeeded", result.summary.result
        return result

    def preview_changes(self, *, refresh: bool) -> dict[str, tuple[str, str]]:
        """urn -> (type, operation) of every resource a preview would change."""
        changes: dict[str, tuple[str, str]] = {}

        def record(event: auto.EngineEvent) -> None:
            pre = event.resource_pre_event
            if pre is not None and op_name(pre.metadata.op) not in UNCHANGED:
                changes[pre.metadata.urn] = (pre.metadata.type, op_name(pre.metadata.op))

        self.stack.preview(refresh=refresh, diff=True, color="never", on_output=print, on_event=record)
        return changes

    def assert_no_changes(self, after: str) -> None:
        """`pulumi preview --refresh --expect-no-changes`: what Kong holds is what the program declares."""
        try:
            result = self.stack.preview(refresh=True, diff=True, expect_no_changes=True, color="never", on_output=print)
        except auto.CommandError as error:
            pytest.fail(f"after {after}, `preview --refresh` still shows changes:\n{error}", pytrace=False)
        assert not changes_in(result.change_summary), f"after {after}: {changes_in(result.change_summary)}"

    def in_kong(self) -> StackInKong:
        return StackInKong.read(self.admin, self.name, self.issuers_used)

    def assert_converged(self, after: str) -> StackInKong:
        """No pending operation in the state, and exactly the stack's entities in Kong: no duplicate, no leftover."""
        deployment = self.stack.export_stack().deployment or {}
        pending = deployment.get("pending_operations") or []
        assert not pending, f"after {after}, the state still holds pending operations: {json.dumps(pending, indent=1)[:2000]}"
        kong = self.in_kong()
        for kind, ids in kong.ids().items():
            self.seen.setdefault(kind, set()).update(ids)
        problems = []
        services = [s["name"] for s in kong.services]
        if services != [self.service_name]:
            problems.append(f"services {services}, expected only {self.service_name!r}")
        service_id = kong.services[0]["id"] if len(kong.services) == 1 else None
        routes = [(r["name"], foreign_id(r, "service")) for r in kong.routes]
        if routes != [(f"{self.service_name}-route", service_id)]:
            problems.append(f"routes (name, service id) {routes}, expected only ({self.service_name}-route, {service_id})")
        plugins = [(p["name"], foreign_id(p, "service"), foreign_id(p, "route"), foreign_id(p, "consumer")) for p in kong.plugins]
        if plugins != [("jwt", service_id, None, None)]:
            problems.append(f"plugins (name, service, route, consumer) {plugins}, expected only one jwt plugin on service {service_id}")
        consumers = [(c.get("username"), bool(c.get("custom_id"))) for c in kong.consumers]
        if consumers != [(self.consumer_username, True)]:
            problems.append(f"consumers (username, has custom_id) {consumers}, expected only ({self.consumer_username!r}, True)")
        consumer_id = kong.consumers[0]["id"] if len(kong.consumers) == 1 else None
        keys = sorted(c["key"] for c in kong.credentials)
        if keys != sorted(self.issuers):
            problems.append(f"jwt credentials keyed {keys}, expected exactly one per issuer {sorted(self.issuers)}")
        for credential in kong.credentials:
            if foreign_id(credential, "consumer") != consumer_id or credential.get("algorithm") != "RS256":
                problems.append(
                    f"credential {credential['key']}: consumer {foreign_id(credential, 'consumer')}, {credential.get('algorithm')}"
                )
            elif not is_public_half(credential.get("rsa_public_key") or "", self.key):
                problems.append(f"credential {credential['key']} holds another public key than the stack's")
        assert not problems, f"after {after}, Kong does not hold exactly the stack's entities:\n  " + "\n  ".join(problems)
        return kong

    def key_file(self) -> Path:
        """The current signing key as a PEM file, for the verifier (in pytest's private temporary directory)."""
        path = self.key_dir / "signing-key.pem"
        path.write_bytes(
            self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        return path

    def _verifier_problem(self, issuer: str, after: str) -> str | None:
        command = [sys.executable, "-m", "tools.verify_gateway", "--proxy-url", PROXY_URL, "--path", self.path]
        command += ["--private-key", str(self.key_file()), "--issuer", issuer] + (["--host", self.host] if self.host else [])
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        if result.returncode == 0:
            return None
        return f"after {after}, `{' '.join(command[1:])}` exited {result.returncode}:\n{result.stdout}{result.stderr}"

    def verify(self, after: str) -> None:
        """The gateway verifier, with the scenario table, for every trusted issuer."""
        for issuer in self.issuers:
            eventually(self._verifier_problem, issuer, after)

    def settle(self, after: str) -> None:
        self.assert_converged(after)
        self.verify(after)
        self.assert_no_changes(after)

    def send(self, headers: Mapping[str, str]) -> requests.Response:
        """A GET of the route through Kong's proxy."""
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment would test the wrong gateway
            host = {"Host": self.host} if self.host else {}
            return session.get(PROXY_URL + self.path, headers={**headers, **host}, timeout=10, allow_redirects=False)

    def refused(self, headers: Mapping[str, str], message: str) -> str | None:
        """None when Kong refuses the request with this message, else what it answered."""
        response = self.send(headers)
        if response.status_code == 401 and message_of(response) == message:
            return None
        return f"expected 401 {message!r}, got {answer(response)}"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    missing = environment.missing()
    if missing:
        pytest.fail(environment.report(missing), pytrace=False)
    name = f"e2e-{secrets.token_hex(3)}"
    backend = tmp_path_factory.mktemp("pulumi-state")
    env = {"PULUMI_BACKEND_URL": backend.as_uri(), "PULUMI_CONFIG_PASSPHRASE": "e2e-only", "PULUMI_SKIP_UPDATE_CHECK": "true"}
    stack = auto.create_stack(stack_name=name, work_dir=str(ROOT), opts=auto.LocalWorkspaceOptions(work_dir=str(ROOT), env_vars=env))
    live = LiveStack(stack, name, new_private_key(), port=30000 + secrets.randbelow(30000), key_dir=tmp_path_factory.mktemp("keys"))
    try:
        live.config["kong:kongAdminUri"] = ADMIN_URL
        live.configure(
            fronteggWorkspaceUrl=live.issuer(0),
            fronteggPublicKey=public_pem(live.key),
            fronteggKeyCheck="off",  # the issuer is only the tokens' iss: nothing publishes a JWKS there
            upstreamUrl=f"{UPSTREAM_URL}/anything",  # a path, so that a later phase can drop it
            serviceName=name,
            routePaths=[f"/{name}"],
            routeHosts=[f"{name}.e2e.test"],  # a host, so that a later phase can remove it
            consumerUsername=f"{name}-consumer",
        )
        yield live
    finally:
        try:
            if not live.destroyed:
                live.stack.destroy(color="never", on_output=print)
        except auto.CommandError as error:
            print(f"destroy failed; Kong may still hold entities named {name}*: {error}")
        try:
            live.stack.workspace.remove_stack(name, force=True)
        finally:
            (ROOT / f"Pulumi.{name}.yaml").unlink(missing_ok=True)


class FirstKongOperation:
    """An on_event callback that notes the first Kong resource the engine starts to change."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.urn: str | None = None

    def __call__(self, event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if self.urn is None and pre is not None and pre.metadata.type.startswith("kong:") and op_name(pre.metadata.op) not in UNCHANGED:
            self.urn = pre.metadata.urn
            self.started.set()


def interrupted_up(live: LiveStack, interrupt: Callable[[], None]) -> BaseException | None:
    """Run `up` in a thread, one operation at a time so that it is still under way, call `interrupt` once the engine has
    started its first Kong operation, and return how the up ended (None: it succeeded anyway)."""
    first = FirstKongOperation()
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(live.stack.up, parallel=1, color="never", on_output=print, on_event=first)
        running.add_done_callback(lambda _: first.started.set())  # wakes the wait below if the up ends first
        if not first.started.wait(timeout=UP_TIMEOUT):
            pytest.fail(f"no Kong operation started within {UP_TIMEOUT:.0f} s", pytrace=False)
        if first.urn is None:
            pytest.fail(f"the up ended before any Kong operation started: {running.exception()!r}", pytrace=False)
        interrupt()
        outcome = running.exception(timeout=UP_TIMEOUT)
    print(f"interrupted after {first.urn} had started: {outcome!r}")
    return outcome


def interrupt_the_cli() -> None:
    """Ctrl-C for the Pulumi CLI this process runs: the engine starts no more operations, finishes the ones under way
    and exits with an error. (`stack.cancel()` runs `pulumi cancel`, which on a file backend only deletes the stack's
    lock file and leaves the update running: pkg/backend/diy/backend.go, CancelCurrentUpdate.)"""
    found = subprocess.run(["pgrep", "-P", str(os.getpid()), "-x", "pulumi"], capture_output=True, text=True, check=False)
    pids = [int(pid) for pid in found.stdout.split()]
    assert len(pids) == 1, f"expected the one Pulumi CLI this test runs, found {pids}"
    os.kill(pids[0], signal.SIGINT)


def restart_kong() -> None:
    compose("restart", "kong")


def scenario_settings(scenario: token_scenarios.Scenario) -> dict[str, Any]:
    """The stack config a row of the scenario table runs under, beyond the defaults (the table spells it as the stack does)."""
    settings: dict[str, Any] = {}
    if scenario.jwt:
        settings["jwt"] = scenario.jwt
    if scenario.cors:
        settings["cors"] = scenario.cors
    return settings


def send_row(live: LiveStack, request: token_scenarios.MintedRequest) -> tuple[int, http.client.HTTPMessage, Any]:
    """Send a row's request exactly as minted (repeated headers, query arguments without a value) through Kong's proxy."""
    proxy = urlsplit(PROXY_URL)
    query = "&".join(quote(name, safe="") + ("" if value is None else "=" + quote(value, safe="")) for name, value in request.query_pairs)
    connection_class = http.client.HTTPSConnection if proxy.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(proxy.hostname or "localhost", proxy.port, timeout=10)
    try:
        connection.putrequest(request.method, live.path + (f"?{query}" if query else ""), skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", live.host or proxy.netloc)
        if not any(name.lower() == "accept" for name, _ in request.header_pairs):
            connection.putheader("Accept", "application/json")  # Kong picks its error format from Accept
        for name, value in request.header_pairs:
            connection.putheader(name, value)
        if request.cookies:
            connection.putheader("Cookie", "; ".join(f"{name}={value}" for name, value in request.cookies.items()))
        connection.endheaders()
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return response.status, response.headers, body


def echoed(body: Any, name: str) -> str | None:
    """A request header as the upstream (go-httpbin's /anything) echoes it back; None when it did not receive it."""
    for key, value in body["headers"].items():
        if key.lower() == name.lower():
            return ",".join(value) if isinstance(value, list) else str(value)
    return None


def replay(live: LiveStack, rows: list[token_scenarios.Scenario], custom_domain: str | None, label: str) -> str | None:
    """Send each row's request through Kong; None when every answer is the row's, else what differed.

    Checked: the status, the keys of the expected body, the response headers the row names, and, when the upstream
    echoed the request (go-httpbin's /anything), the identity headers Kong added for it."""
    consumer = live.admin.get(f"/consumers/{live.consumer_username}") or {}
    wrong = []
    for row in rows:
        request = token_scenarios.mint(
            row, private_key=live.key, issuer=live.issuer(0), now=int(time.time()), custom_domain_issuer=custom_domain
        )
        assert request is not None, f"{row.id}: could not be minted"
        status, headers, body = send_row(live, request)
        got = []
        if status != row.expect_status:
            got.append(f"status {status}")
        for key, value in (row.expect_body or {}).items():
            if not isinstance(body, dict) or body.get(key) != value:
                got.append(f"body {json.dumps(body)[:200]}")
                break
        for name, value in row.expect_headers.items():
            sent = headers.get_all(name)
            if (", ".join(sent) if sent else None) != value:
                got.append(f"{name}: {sent}")
        if status == 200 and isinstance(body, dict) and isinstance(body.get("headers"), dict):
            trusted = {
                "X-Consumer-ID": consumer.get("id"),
                "X-Consumer-Username": live.consumer_username,
                "X-Credential-Identifier": custom_domain if "custom_domain" in row.needs else live.issuer(0),
                "X-Anonymous-Consumer": None,
            }
            for name, value in (row.expect_upstream if row.expect_upstream is not None else trusted).items():
                if echoed(body, name) != value:
                    got.append(f"upstream received {name}: {echoed(body, name)!r}, expected {value!r}")
        if got:
            wrong.append(f"{row.id}: expected {row.expect_status} {row.expect_body or ''}; got {'; '.join(got)}")
    return f"under {label}, Kong did not answer as the scenario table says:\n  " + "\n  ".join(wrong) if wrong else None


# The phases, in order.


def test_up_deploys_the_protected_api(live: LiveStack) -> None:
    result = live.up()
    assert result.outputs["issuers"].value == live.issuers
    kong = live.assert_converged("the first up")
    (service,) = kong.services
    (route,) = kong.routes
    (plugin,) = kong.plugins
    assert (service["protocol"], service["path"]) == ("http", "/anything"), service
    assert (route["hosts"], route["paths"]) == ([live.host], [live.path]), route
    assert plugin["config"]["anonymous"] is None, plugin["config"]


def test_the_verifier_and_the_scenario_table_pass_on_the_live_proxy(live: LiveStack) -> None:
    live.verify("the first up")


def test_a_second_preview_shows_no_changes(live: LiveStack) -> None:
    live.assert_no_changes("the first up")


def test_every_scenario_row_that_needs_other_settings_passes_under_them(live: LiveStack) -> None:
    groups: dict[tuple[str, bool], list[token_scenarios.Scenario]] = {}
    for scenario in token_scenarios.load_scenarios():
        settings, needs_domain = scenario_settings(scenario), "custom_domain" in scenario.needs
        if settings or needs_domain:  # the others ran with the verifier, under the default settings
            groups.setdefault((json.dumps(settings, sort_keys=True), needs_domain), []).append(scenario)
    assert groups, "the scenario table has no row that needs plugin settings or a custom domain: is it the right table?"
    custom_domain = f"http://127.0.0.1:{live.port}"
    for (settings_json, needs_domain), rows in groups.items():
        settings = json.loads(settings_json)
        live.configure(
            jwt=settings.get("jwt"), cors=settings.get("cors"), issuers=[live.issuer(0), custom_domain] if needs_domain else None
        )
        live.up()
        label = settings_json + (" with a second, custom-domain issuer" if needs_domain else "")
        eventually(replay, live, rows, custom_domain if needs_domain else None, label)
    live.configure(jwt=None, cors=None, issuers=None)
    live.up()
    live.settle("the scenario settings were reverted")


def test_renaming_the_consumer(live: LiveStack) -> None:
    old = live.consumer_username
    live.configure(consumerUsername=f"{live.name}-renamed")
    live.up()
    assert live.admin.get(f"/consumers/{old}") is None, f"the consumer {old!r} is still in Kong"
    live.settle("renaming the consumer")


def test_removing_the_route_host(live: LiveStack) -> None:
    live.configure(routeHosts=None)
    live.up()
    route = live.admin.get(f"/routes/{live.service_name}-route")
    assert route is not None and not route.get("hosts"), f"the route still matches hosts: {route}"
    live.settle("removing the route host")


def test_dropping_the_upstream_path(live: LiveStack) -> None:
    live.configure(upstreamUrl=UPSTREAM_URL)
    live.up()
    service = live.admin.get(f"/services/{live.service_name}")
    assert service is not None and service["path"] is None, f"the service still has a path: {service}"
    live.settle("dropping the upstream path")


def test_switching_the_signing_key(live: LiveStack) -> None:
    old_key, new_key = live.key, new_private_key()
    live.configure(fronteggPublicKey=public_pem(new_key))
    credential_ops: list[str] = []

    def record(event: auto.EngineEvent) -> None:
        pre = event.resource_pre_event
        if pre is not None and pre.metadata.type == CREDENTIAL:
            credential_ops.append(op_name(pre.metadata.op))

    live.up(on_event=record)
    live.key = new_key
    # In place: a replacement deletes the credential first (its key is unique in Kong), so tokens would fail meanwhile.
    assert credential_ops and set(credential_ops) == {"update"}, credential_ops
    eventually(live.refused, bearer(old_key, live.issuer(0)), "Invalid signature")
    live.settle("switching the signing key")  # the verifier signs with the new key: its tokens are admitted


def test_a_plugin_changed_outside_pulumi_is_detected_and_put_back(live: LiveStack) -> None:
    (plugin,) = live.in_kong().plugins
    (consumer,) = live.in_kong().consumers
    # An existing consumer as `anonymous`: every request without a valid token now passes as that consumer.
    live.admin.patch(f"/plugins/{plugin['id']}", {"config": {"anonymous": consumer["id"]}})

    def opened() -> str | None:
        response = live.send({})
        return None if response.status_code not in (401, 403) else f"the tampering did not open the route: {answer(response)}"

    eventually(opened)
    changes = live.preview_changes(refresh=True)
    assert {kind for kind, _ in changes.values()} == {PLUGIN}, f"preview --refresh should change the jwt plugin alone: {changes}"
    live.up(refresh=True)
    (plugin,) = live.in_kong().plugins
    assert plugin["config"]["anonymous"] is None, plugin["config"]
    eventually(live.refused, {}, "Unauthorized")
    live.settle("putting back the plugin")


def test_an_up_cancelled_halfway_is_finished_by_the_next_up(live: LiveStack) -> None:
    live.configure(issuers=[live.issuer(n) for n in range(EXTRA_ISSUERS + 1)])
    outcome = interrupted_up(live, interrupt_the_cli)
    assert outcome is not None, "the up finished before Ctrl-C reached it: nothing was cancelled"
    recovery = live.up()
    assert changes_in(recovery.summary.resource_changes), "the cancelled up had done everything: it was not cancelled halfway"
    live.settle("an up cancelled halfway, then another up")


def test_an_up_during_a_kong_restart_is_finished_by_the_next_up(live: LiveStack) -> None:
    # New issuers replace the extra ones: creates then deletes, one at a time, while Kong goes down and comes back.
    live.configure(issuers=[live.issuer(0), *(live.issuer(n) for n in range(EXTRA_ISSUERS + 1, 2 * EXTRA_ISSUERS + 1))])
    outcome = interrupted_up(live, restart_kong)
    compose("up", "--detach", "--wait", "--no-deps", "kong")  # healthy again before anything else talks to it
    assert outcome is not None, "the up finished before Kong went down: the restart interrupted nothing"
    live.up()
    live.settle("an up during a Kong restart, then another up")


def test_destroy_leaves_nothing_behind(live: LiveStack) -> None:
    assert live.seen, "nothing was deployed before destroy, so it would prove nothing: run the phases in order"
    result = live.stack.destroy(color="never", on_output=print)
    live.destroyed = True
    assert result.summary.result == "succeeded", result.summary.result
    still_there = sorted(f"/{kind}/{id_}" for kind, ids in live.seen.items() for id_ in ids if live.admin.get(f"/{kind}/{id_}") is not None)
    assert not still_there, f"still in Kong after destroy: {still_there}"
    left = live.in_kong()
    assert left.is_empty(), f"entities of {live.name} still in Kong after destroy: {left.ids()}"
