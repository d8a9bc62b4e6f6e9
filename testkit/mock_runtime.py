"""Run the real program (or any program function) under Pulumi's mock runtime and record what it declares.

This module is the only place that touches private parts of the Pulumi Python SDK (`SDK_PRIVATE` below, checked
against pulumi 3.272.0). `check_sdk()` runs on import and names whatever moved, so an SDK upgrade fails here, clearly,
instead of somewhere deep inside a test.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import importlib
import importlib.metadata
import json
import logging
import runpy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "__main__.py"
PROJECT = "kong-frontegg-jwt"

SDK_CHECKED = "3.272.0"
"""The pulumi version the private names below were read from."""
SDK_PRIVATE = (
    ("pulumi.runtime.rpc", "_special_sig_key"),
    ("pulumi.runtime.rpc", "_special_secret_sig"),
    ("pulumi.runtime.sync_await", "_sync_await"),
    ("pulumi.runtime.stack", "run_pulumi_func"),
    ("pulumi.runtime.settings", "get_root_resource"),
    ("pulumi.runtime.stack", "Stack._finish"),
    ("pulumi.runtime.mocks", "MockMonitor.RegisterResource"),
    ("pulumi.runtime.mocks", "MockMonitor.RegisterResourceOutputs"),
    ("pulumi.runtime.settings", "SETTINGS.outputs"),
)
"""(module, attribute) pairs the harness uses that are not part of the SDK's public API."""


class SdkChangedError(RuntimeError):
    """The Pulumi SDK no longer has a private name the harness relies on."""


def _resolve(module: str, attribute: str) -> Any:
    value: Any = importlib.import_module(module)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def check_sdk() -> None:
    """Raise SdkChangedError naming every private SDK name that is gone."""
    missing = []
    for module, attribute in SDK_PRIVATE:
        try:
            _resolve(module, attribute)
        except (ImportError, AttributeError):
            missing.append(f"{module}.{attribute}")
    if missing:
        raise SdkChangedError(
            f"pulumi {importlib.metadata.version('pulumi')} no longer has {', '.join(missing)}, "
            f"which testkit/mock_runtime.py uses (checked against pulumi {SDK_CHECKED}); update the harness for this SDK"
        )


check_sdk()
SECRET_SIG: str = _resolve("pulumi.runtime.rpc", "_special_sig_key")
SECRET_VALUE: str = _resolve("pulumi.runtime.rpc", "_special_secret_sig")
_sync_await = _resolve("pulumi.runtime.sync_await", "_sync_await")
_run_pulumi_func = _resolve("pulumi.runtime.stack", "run_pulumi_func")
_get_root_resource = _resolve("pulumi.runtime.settings", "get_root_resource")
_settings = _resolve("pulumi.runtime.settings", "SETTINGS")

KONG = {
    "service": "kong:index/service:Service",
    "route": "kong:index/route:Route",
    "plugin": "kong:index/plugin:Plugin",
    "consumer": "kong:index/consumer:Consumer",
    "credential": "kong:index/consumerJwtAuth:ConsumerJwtAuth",
}


def cli_config(stack: str = "dev", overrides: Mapping[str, Any] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """Stack config as the CLI hands it to the program: Pulumi.yaml defaults, then Pulumi.<stack>.yaml, as strings.

    Tests never reach Frontegg: the dev stack's workspace is a placeholder, so the pinned key's JWKS comparison
    is off unless a test turns it on (against a loopback server).
    """
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    merged: dict[str, Any] = {}
    for name, declaration in project.get("config", {}).items():
        if "default" in declaration:
            merged[f"{PROJECT}:{name}" if ":" not in name else name] = declaration["default"]
    merged[f"{PROJECT}:fronteggKeyCheck"] = "off"
    stack_file = ROOT / f"Pulumi.{stack}.yaml"
    if stack_file.exists():
        merged.update(yaml.safe_load(stack_file.read_text()).get("config", {}))
    merged.update(overrides or {})
    for key in drop:
        merged.pop(key, None)
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in merged.items()}


@dataclass
class Registration:
    """One resource the program registered, with its raw inputs (secrets still marked)."""

    type: str
    name: str
    urn: str
    parent: str
    provider: str
    inputs: dict[str, Any]
    raw_inputs: dict[str, Any]
    property_dependencies: dict[str, list[str]]
    id: str = ""
    dependencies: list[str] = field(default_factory=list)
    """URNs from depends_on (and the SDK's implicit ones): what must exist before this resource is created."""
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False

    def is_secret(self, prop: str) -> bool:
        """Whether the input reached the engine marked secret."""
        value = self.raw_inputs.get(prop)
        return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


@dataclass
class Run:
    """What one program run declared, exported and logged."""

    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    raw_outputs: dict[str, Any] = field(default_factory=dict)
    logs: list[logging.LogRecord] = field(default_factory=list)
    error: BaseException | None = None

    def of(self, kind: str) -> list[Registration]:
        """The registered resources of one Kong kind (service, route, plugin, consumer, credential)."""
        return [r for r in self.resources if r.type == KONG.get(kind, kind)]

    def one(self, kind: str) -> Registration:
        found = self.of(kind)
        assert len(found) == 1, f"expected one {kind}, got {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.resources if r.urn == urn)

    @property
    def kong(self) -> list[Registration]:
        return [r for r in self.resources if r.type.startswith("kong:")]

    @property
    def warnings(self) -> list[str]:
        return [record.getMessage() for record in self.logs if record.levelno == logging.WARNING]


class DuplicateUrnError(Exception):
    """Two resources of one run have the same URN: the real engine refuses the second."""


class KongMocks(pulumi.runtime.Mocks):
    """Give every resource a stable id and echo its inputs, as a provider would after create."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = f"mock-random-{args.name}"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mock: pulumi.runtime.Mocks, run: Run) -> None:
        super().__init__(mock)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if any(resource.urn == response.urn for resource in self.run.resources):
            # What the engine answers for a second resource with one URN; Pulumi's mocks alone would accept it.
            raise DuplicateUrnError(f"Duplicate resource URN '{response.urn}'; try giving it a unique name")
        if request.type != "pulumi:pulumi:Stack":
            self.run.resources.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    provider=request.provider,
                    inputs=rpc.deserialize_properties(request.object),
                    raw_inputs=json_format.MessageToDict(request.object),
                    property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                    id=response.id,
                    dependencies=list(request.dependencies),
                    replace_on_changes=list(request.replaceOnChanges),
                    delete_before_replace=request.deleteBeforeReplace,
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            self.run.raw_outputs = json_format.MessageToDict(request.outputs)
            self.run.outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


class _Capture(logging.Handler):
    def __init__(self, run: Run) -> None:
        super().__init__(logging.DEBUG)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.logs.append(record)


def _drain_event_loop(*, failed: bool) -> None:
    """Leave nothing of this run behind for the next one.

    The SDK keeps one set of outstanding Outputs for the process (set_mocks does not replace it), so a failed Output of
    one run would fail the next run when it waits for them: forget them, and cancel what is still scheduled. A failed
    run also leaves futures whose exception nobody read; collected later, at random, they would log tracebacks in the
    middle of another test. They are collected now, quietly.
    """
    _settings.outputs.clear()
    loop = asyncio.get_event_loop()
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    if failed:
        loop.set_exception_handler(lambda _loop, _context: None)
        try:
            gc.collect()
        finally:
            loop.set_exception_handler(None)


def run(
    config: Mapping[str, str],
    program: Callable[[], Any] | None = None,
    *,
    preview: bool = False,
    stack: str = "dev",
    mock: pulumi.runtime.Mocks | None = None,
    secret_keys: Sequence[str] = (),
) -> Run:
    """Run a program (default: the real __main__.py) in a fresh Pulumi context; errors are kept, not raised.

    `secret_keys` names config keys set as secrets, as `pulumi config set --secret` does.
    """
    result = Run()

    def go() -> None:
        logger = logging.getLogger(f"mock-pulumi-{id(result)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(_Capture(result))
        monitor = _RecordingMonitor(mock or KongMocks(), result)
        pulumi.runtime.set_mocks(mock or KongMocks(), project=PROJECT, stack=stack, preview=preview, logger=logger, monitor=monitor)
        pulumi.runtime.set_all_config(dict(config), list(secret_keys))
        program_body = program or (lambda: runpy.run_path(str(MAIN), run_name="__main__"))

        def body() -> None:
            program_body()
            # set_mocks finishes the root stack before the program runs; register its exports again, as the CLI does after it.
            stack = _get_root_resource()
            stack._outputs_registered = False
            stack._finish()

        try:
            _sync_await(_run_pulumi_func(body))
        except Exception as error:
            result.error = error
        finally:
            _drain_event_loop(failed=result.error is not None)

    contextvars.Context().run(go)
    # Loggers live for the whole process; drop this run's, or every run's records would stay in memory.
    logging.Logger.manager.loggerDict.pop(f"mock-pulumi-{id(result)}", None)
    return result
