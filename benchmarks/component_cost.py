"""What the components cost: N protected APIs sharing one trust, against the same Kong resources declared directly.

Run with `make bench`. Every program runs under Pulumi's mock runtime through tests/mock_runtime.py, the harness the
tests use, and the trust discovers its key from a JWKS this script serves on loopback, so JWKS requests can be counted.
"""

from __future__ import annotations

import base64
import gc
import http.server
import json
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# `python benchmarks/component_cost.py` puts benchmarks/ first on sys.path, not the project root the imports below need.
sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402
import pulumi_kong as kong  # noqa: E402
import pulumi_random as random  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from components import FronteggTrust, ProtectedApi  # noqa: E402
from components.jwks import JWKS_PATH, fetch_jwks  # noqa: E402
from components.key_discovery import discover  # noqa: E402
from testkit.mock_runtime import Run, run  # noqa: E402

SIZES = (1, 10, 100, 500)
RUNS = {1: 5, 10: 5, 100: 5, 500: 5}
SECOND_ISSUER = "https://login.example.com"
ISSUERS = 2
# The jwt plugin config the component writes with default settings, spelled out as a hand-written program would.
PLUGIN_JSON = json.dumps(
    {
        "claims_to_verify": ["exp"],
        "cookie_names": [],
        "header_names": ["authorization"],
        "key_claim_name": "iss",
        "maximum_expiration": 0,
        "run_on_preflight": True,
        "secret_is_base64": False,
        "uri_param_names": [],
    },
    sort_keys=True,
    separators=(",", ":"),
)
Program = Callable[[], None]


class Jwks:
    """A JWKS on loopback (stdlib http.server in a thread) that counts the requests it answers."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
        jwk = {"kty": "RSA", "kid": "bench", "alg": "RS256", "use": "sig", "n": _b64(key.n), "e": _b64(key.e)}
        payload = json.dumps({"keys": [jwk]}).encode()
        self.requests = 0
        jwks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                jwks.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@contextmanager
def loopback_jwks() -> Iterator[Jwks]:
    jwks = Jwks()
    try:
        yield jwks
    finally:
        jwks.server.shutdown()
        jwks.server.server_close()


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def _slug(issuer_url: str) -> str:
    """The trust's child-name slug for an issuer (components/trust.py), so both programs name resources alike."""
    return issuer_url.removeprefix("https://").replace("http://", "http-").replace(".", "-").replace(":", "-")


def _api(index: int) -> str:
    return f"api-{index:03d}"


def component_program(n: int, workspace: str) -> Program:
    """N ProtectedApi components sharing one FronteggTrust that discovers its key."""

    def program() -> None:
        FronteggTrust("frontegg", {"issuers": [workspace, SECOND_ISSUER], "workspace_url": workspace})
        for index in range(n):
            name = _api(index)
            ProtectedApi(name, {"upstream_url": f"https://{name}.internal:8443/v1", "route_paths": [f"/{name}"]})

    return program


class _Node(pulumi.ComponentResource):
    """An empty component node with the real component's type, to price the nodes apart from the components' code."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"kong-frontegg-jwt:index:{kind}", name, None, None)


def raw_program(n: int, workspace: str, *, nodes: bool = False) -> Program:
    """The same Kong resources and random secrets declared directly (optionally under bare component nodes).

    The key comes from the same discovery call: a hand-written program needs the key too, so the fetch is not part of the
    component's cost.
    """

    def under(kind: str, name: str) -> tuple[_Node | None, pulumi.ResourceOptions | None]:
        node = _Node(kind, name) if nodes else None
        return node, pulumi.ResourceOptions(parent=node) if node else None

    def program() -> None:
        pem = discover(workspace, None, lambda name: name).public_key.pem
        trust, opts = under("FronteggTrust", "frontegg")
        consumer = kong.Consumer("frontegg-consumer", username="frontegg", opts=opts)
        credentials = []
        for iss in (workspace, SECOND_ISSUER):
            secret = random.RandomPassword(f"frontegg-{_slug(iss)}-secret", length=48, special=False, opts=opts)
            credential = kong.ConsumerJwtAuth(
                f"frontegg-{_slug(iss)}",
                consumer_id=consumer.id,
                key=iss,
                algorithm="RS256",
                rsa_public_key=pem,
                secret=secret.result.apply(pulumi.Output.secret),
                opts=opts,
            )
            credentials.append(credential.id)
        if trust:
            trust.register_outputs({"consumer_id": consumer.id, "credential_ids": pulumi.Output.all(*credentials)})
        for index in range(n):
            name = _api(index)
            api, opts = under("ProtectedApi", name)
            service = kong.Service(
                f"{name}-service", name=name, protocol="https", host=f"{name}.internal", port=8443, path="/v1", opts=opts
            )
            route = kong.Route(
                f"{name}-route",
                name=f"{name}-route",
                service_id=service.id,
                protocols=["http", "https"],
                paths=[f"/{name}"],
                strip_path=True,
                opts=opts,
            )
            plugin = kong.Plugin(f"{name}-jwt", name="jwt", route_id=route.id, config_json=PLUGIN_JSON, enabled=True, opts=opts)
            if api:
                api.register_outputs({"service_id": service.id, "route_id": route.id, "plugin_id": plugin.id})

    return program


class GcClock:
    """Seconds spent in the cyclic garbage collector, read from gc.callbacks."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


@dataclass
class Sample:
    seconds: float
    gc_seconds: float
    jwks_requests: int


def run_once(program: Program, jwks: Jwks) -> tuple[Sample, Run]:
    """One program run as the CLI would start it: a cold JWKS cache, a fresh Pulumi context, no garbage left from before.

    Callers drop the Run before the next timed run: the records it holds would otherwise make every later collection slower.
    """
    fetch_jwks.cache_clear()
    gc.collect()
    before = jwks.requests
    clock = GcClock()
    gc.callbacks.append(clock)
    started = time.perf_counter()
    try:
        result = run({}, program=program)
        seconds = time.perf_counter() - started
    finally:
        gc.callbacks.remove(clock)
    if result.error is not None:
        raise result.error
    return Sample(seconds, clock.seconds, jwks.requests - before), result


def traced_run(program: Program, jwks: Jwks) -> tuple[Run, float]:
    """One extra, untimed run under tracemalloc (tracing slows Python down): its records and its peak in MiB."""
    tracemalloc.start()
    try:
        result = run_once(program, jwks)[1]
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def kong_inputs(result: Run) -> list[tuple[str, str, str]]:
    return sorted((r.type, r.name, json.dumps(r.inputs, sort_keys=True)) for r in result.kong)


@dataclass
class Row:
    n: int
    runs: int
    kong_resources: int
    registrations: dict[str, int]
    seconds: dict[str, float]
    work_seconds: dict[str, float]
    peak: dict[str, float]
    jwks_requests: set[int]

    def ratio(self, kind: str = "component") -> float:
        return self.seconds[kind] / self.seconds["raw"]

    def work_ratio(self) -> float:
        return self.work_seconds["component"] / self.work_seconds["raw"]


def measure(n: int, runs: int, jwks: Jwks) -> Row:
    programs = {
        "component": component_program(n, jwks.url),
        "nodes": raw_program(n, jwks.url, nodes=True),
        "raw": raw_program(n, jwks.url),
    }
    samples: dict[str, list[Sample]] = {kind: [] for kind in programs}
    # Interleaved, so drift in machine load hits every program alike.
    for _ in range(runs):
        for kind, program in programs.items():
            samples[kind].append(run_once(program, jwks)[0])
    # What each program declared is checked on extra, untimed runs, which also give the memory peaks.
    peak: dict[str, float] = {}
    declared: dict[str, list[tuple[str, str, str]]] = {}
    registrations: dict[str, int] = {}
    expected = 3 * n + 1 + ISSUERS
    for kind, program in programs.items():
        result, peak[kind] = traced_run(program, jwks)
        assert len(result.kong) == expected, f"N={n} {kind}: {len(result.kong)} Kong resources, expected {expected}"
        declared[kind], registrations[kind] = kong_inputs(result), len(result.resources)
        assert declared[kind] == declared["component"], f"N={n}: {kind} declares other Kong resources than the component"
        del result
    return Row(
        n=n,
        runs=runs,
        kong_resources=len(declared["component"]),
        registrations=registrations,
        seconds={kind: statistics.median(s.seconds for s in found) for kind, found in samples.items()},
        work_seconds={kind: statistics.median(s.seconds - s.gc_seconds for s in found) for kind, found in samples.items()},
        peak=peak,
        jwks_requests={s.jwks_requests for found in samples.values() for s in found},
    )


def table(rows: list[Row]) -> str:
    columns = [
        "N",
        "runs",
        "Kong resources",
        "registrations comp/raw",
        "component s",
        "raw s",
        "ratio",
        "nodes-only ratio",
        "ratio w/o GC",
        "comp ms/API",
        "comp ms/API w/o GC",
        "peak MiB comp/raw",
        "JWKS req/run",
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        component = row.seconds["component"]
        cells = [
            str(row.n),
            str(row.runs),
            str(row.kong_resources),
            f"{row.registrations['component']}/{row.registrations['raw']}",
            f"{component:.3f}",
            f"{row.seconds['raw']:.3f}",
            f"{row.ratio():.2f}x",
            f"{row.ratio('nodes'):.2f}x",
            f"{row.work_ratio():.2f}x",
            f"{1000 * component / row.n:.2f}",
            f"{1000 * row.work_seconds['component'] / row.n:.2f}",
            f"{row.peak['component']:.1f}/{row.peak['raw']:.1f}",
            "/".join(str(count) for count in sorted(row.jwks_requests)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


NOTES = f"""\
Medians over the runs. Kong resources = 3 per API + (1 consumer + {ISSUERS} issuers); registrations add the random secrets
and, for the component program, 1 ComponentResource per API + 1 trust. raw: the same Kong resources declared with
pulumi_kong directly; nodes-only: raw plus bare ComponentResource nodes (no component code), so nodes-only ratio is what
the nodes alone cost. w/o GC: median of each run's time minus the time it spent in the cyclic garbage collector
(gc.callbacks). Peak MiB: tracemalloc peak of one extra, untimed run. JWKS req/run: every count seen, all programs."""


def main() -> None:
    started = time.perf_counter()
    rows = []
    with loopback_jwks() as jwks:
        warm = component_program(10, jwks.url), raw_program(10, jwks.url), raw_program(10, jwks.url, nodes=True)
        for program in warm:
            run_once(program, jwks)
        for n in SIZES:
            rows.append(measure(n, RUNS[n], jwks))
            print(f"N={n} measured ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    print(table(rows))
    print(NOTES)
    print(f"overhead at N={rows[-1].n}: {rows[-1].ratio():.2f}x")


if __name__ == "__main__":
    main()
