"""A loopback stand-in for the Pulumi engine, to drive the component provider over gRPC the way the CLI does.

The provider process talks to two engine services: the engine (`Log`, given as the provider's command-line argument)
and the resource monitor named in each ConstructRequest, where the component registers itself and its children. Both
are served here from the stubs in `pulumi.runtime.proto` (checked against pulumi 3.272), on 127.0.0.1 only, and
record what they are sent. The provider itself runs as a real subprocess (`start_provider`).
"""

import selectors
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]  # no stubs in the venv (types-grpcio would bring them)
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc, resource_pb2, resource_pb2_grpc

from testkit.mock_runtime import SECRET_SIG, SECRET_VALUE

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "kong-frontegg-jwt-provider-test"
STACK = "test"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"

FEATURES = [
    resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
    resource_pb2.RESOURCE_MONITOR_FEATURE_OUTPUT_VALUES,
    resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
    resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
]
"""What the monitor tells the SDK it supports (GetDeploymentInfo, which pulumi 3.272 asks first): as the engine does."""

PROVIDER_ENTRY = """
import socket, sys
real = socket.getaddrinfo
def loopback_only(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name not in ("localhost", "::1") and not name.startswith("127."):
        raise socket.gaierror(socket.EAI_NONAME, f"the provider under test may not resolve {name!r} (loopback only)")
    return real(host, *args, **kwargs)
socket.getaddrinfo = loopback_only
from components.provider import serve
serve()
"""
"""The provider from this repository's sources, with name resolution limited to loopback as tests/conftest.py does."""


def secret(value: Any) -> dict[str, Any]:
    """A value as the engine sends a secret: wrapped in Pulumi's secret signature."""
    return {SECRET_SIG: SECRET_VALUE, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


def child_urn(type_: str, name: str, parent: str) -> str:
    """The URN the engine gives a resource: its type qualified by its parents' types (the stack's left out)."""
    qualified = type_
    if parent and parent != STACK_URN:
        qualified = parent.split("::")[2] + "$" + type_
    return f"urn:pulumi:{STACK}::{PROJECT}::{qualified}::{name}"


@dataclass(frozen=True)
class Registration:
    """One RegisterResource call: the resource, its parent and provider, and its inputs as sent (secrets still marked)."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]


class Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    """The resource monitor: records registrations and answers as a preview would (outputs are the inputs)."""

    def __init__(self, existing: Mapping[str, str]) -> None:
        self.existing = dict(existing)
        """Resources the stack already has, by URN: their ids (the provider reads them back by URN)."""
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def GetDeploymentInfo(self, request: empty_pb2.Empty, context: Any) -> resource_pb2.DeploymentInfo:  # noqa: N802 - gRPC name
        return resource_pb2.DeploymentInfo(project=PROJECT, stack=STACK, dryRun=True, supportedFeatures=FEATURES)

    def Invoke(  # noqa: N802 - gRPC name
        self, request: resource_pb2.ResourceInvokeRequest, context: Any
    ) -> resource_pb2.ResourceInvokeResponse:
        # A provider reference in the ConstructRequest is read back by URN (pulumi/runtime/resource.py get_resource).
        if request.tok != "pulumi:pulumi:getResource":
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"the fake monitor has no function {request.tok}")
        urn = json_format.MessageToDict(request.args)["urn"]
        if urn not in self.existing:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no resource {urn}")
        response = resource_pb2.ResourceInvokeResponse()
        getattr(response, "return").update({"urn": urn, "id": self.existing[urn], "state": {}})  # `return` is a keyword
        return response

    def RegisterResource(  # noqa: N802 - gRPC name
        self, request: resource_pb2.RegisterResourceRequest, context: Any
    ) -> resource_pb2.RegisterResourceResponse:
        urn = child_urn(request.type, request.name, request.parent)
        registration = Registration(
            type=request.type,
            name=request.name,
            urn=urn,
            parent=request.parent,
            custom=request.custom,
            provider=request.provider,
            inputs=json_format.MessageToDict(request.object),
        )
        with self._lock:
            self.registrations.append(registration)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=f"{request.name}-id" if request.custom else "", object=request.object)

    def RegisterResourceOutputs(  # noqa: N802 - gRPC name
        self, request: resource_pb2.RegisterResourceOutputsRequest, context: Any
    ) -> empty_pb2.Empty:
        return empty_pb2.Empty()  # what register_outputs sends: the Construct response carries what callers see


class Engine(engine_pb2_grpc.EngineServicer):
    """The engine's log: what the provider would show the user."""

    def __init__(self) -> None:
        self.logs: list[engine_pb2.LogRequest] = []
        self._lock = threading.Lock()

    def Log(self, request: engine_pb2.LogRequest, context: Any) -> empty_pb2.Empty:  # noqa: N802 - gRPC name
        with self._lock:
            self.logs.append(request)
        return empty_pb2.Empty()


@contextmanager
def serving(register: Any) -> Iterator[str]:
    """A gRPC server on a free loopback port with the services `register(server)` adds; yields its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


@contextmanager
def engine() -> Iterator[tuple[Engine, str]]:
    """The engine service and its address."""
    service = Engine()
    with serving(lambda server: engine_pb2_grpc.add_EngineServicer_to_server(service, server)) as address:
        yield service, address


@contextmanager
def monitor(existing: Mapping[str, str]) -> Iterator[tuple[Monitor, str]]:
    """A resource monitor (knowing the `existing` resources, URN to id) and its address."""
    service = Monitor(existing)
    with serving(lambda server: resource_pb2_grpc.add_ResourceMonitorServicer_to_server(service, server)) as address:
        yield service, address


@contextmanager
def start_provider(
    engine_address: str,
    entry: Sequence[str] = ("-c", PROVIDER_ENTRY),
    *,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    startup_seconds: float = 60,
) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """The provider as Pulumi runs it: `python <entry> <engine address>`, which prints its port and serves on it.

    By default the provider from this repository's sources; `entry`, `cwd` and `env` run another (an installed one).
    """
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, *entry, engine_address], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        assert process.stdout is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                # A bound on a hung start, not a synchronisation: the port line itself is what is waited for.
                ready = selector.select(timeout=startup_seconds)
            line = process.stdout.readline() if ready else ""
            if not line.strip().isdigit():
                stderr.seek(0)
                raise AssertionError(f"the provider printed {line!r}, not its port; its stderr:\n{stderr.read().decode(errors='replace')}")
            with grpc.insecure_channel(f"127.0.0.1:{line.strip()}") as channel:
                yield provider_pb2_grpc.ResourceProviderStub(channel)
        finally:
            process.kill()
            process.wait()
            process.stdout.close()
