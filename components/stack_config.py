"""Reading stack config: every key checked before anything is declared, secrets kept secret, args for the components."""

import difflib
import json
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import pulumi

from .cors_settings import CORS_SCHEMA
from .errors import ConfigError, describe
from .jwt_settings import JWT_SCHEMA
from .protected_api import ProtectedApiArgs
from .schema import OPAQUE, Schema, Spelling, calling_as, collecting
from .stack_schema import ENTRY_SCHEMA, KEYS, NAMESPACE, SINGLE_API_KEYS, STACK_SCHEMA, config_name
from .trust import FronteggTrustArgs

SINGLE_API_NAME = "api"
"""The component name of the one API of the single-API form (it is part of every resource's URN: never change it)."""
_DEPLOY_TIME = {"upstreamUrl", "fronteggPublicKey"}
"""Keys whose values may stay secret all the way into Kong: the components take them as Inputs."""


@dataclass(frozen=True)
class StackSettings:
    """The stack's config as component args: one trust, and the protected APIs by component name."""

    trust: FronteggTrustArgs
    apis: dict[str, ProtectedApiArgs]
    single: bool = True
    """Set with upstreamUrl and friends (one API), not with `apis`."""


@contextmanager
def as_configured() -> Iterator[None]:
    """Within this block, components name their arguments as stack config does (kong-frontegg-jwt:fronteggKeyId)."""
    with calling_as(Spelling.CONFIG, f"{NAMESPACE}:"):
        yield


def current() -> tuple[dict[str, str], frozenset[str]]:
    """The config the Pulumi engine handed this run, and which of its keys are secrets."""
    # Checked against pulumi 3.272: the SDK has no public way to list config keys, and the unknown-key check needs them
    # all. `pulumi.runtime.config.CONFIG` holds them (tests/test_stack_config.py fails if that changes).
    from pulumi.runtime.config import CONFIG

    config = {key: value for key, value in CONFIG.get().items() if isinstance(value, str)}
    return config, frozenset(key for key in config if pulumi.runtime.is_config_secret(key))


def _full(name: str) -> str:
    return f"{NAMESPACE}:{name}"


def _check_namespaces(config: Mapping[str, str]) -> None:
    for full in sorted(config):
        namespace, _, name = full.partition(":")
        if namespace != NAMESPACE and difflib.SequenceMatcher(None, namespace, NAMESPACE).ratio() >= 0.85:
            raise ConfigError(
                full, "a key of another namespace", f"the namespace {namespace!r} is not this project's", f"did you mean {_full(name)}?"
            )


MAX_DEPTH = 16
"""No key needs more nesting than apis[i].cors.origins; a deeper value is refused before anything walks it."""


def _depth(value: object) -> int:
    """How deeply a parsed JSON value nests (iteratively: hostile values may nest thousands of levels)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def _parse(
    config: Mapping[str, str], opaque: Collection[str], report: Callable[[ConfigError], None], secret_keys: Collection[str] = ()
) -> dict[str, Any]:
    types = {config_name(key): key.type for key in KEYS}
    parsed: dict[str, Any] = {}
    for full, raw in config.items():
        namespace, _, name = full.partition(":")
        if namespace != NAMESPACE:
            continue
        if full in opaque:
            parsed[name] = OPAQUE
            continue
        if types.get(name, "string") == "string":
            parsed[name] = raw
            continue
        try:
            parsed[name] = json.loads(raw)
        except (ValueError, RecursionError):
            example = {"array": '["value"]', "boolean": "true", "integer": "3600", "object": '{"maximumExpiration": 3600}'}[types[name]]
            given = "a secret (not shown)" if full in secret_keys else describe(raw)
            report(ConfigError(full, given, f"expected {types[name]} (JSON)", f"set it like {example}"))
            continue
        if _depth(parsed[name]) > MAX_DEPTH:
            report(
                ConfigError(
                    full,
                    "a deeply nested value",
                    f"nested more than {MAX_DEPTH} levels deep",
                    "flatten it: no key needs more than a few levels",
                )
            )
            del parsed[name]
    return parsed


def _python(schema: Schema, values: Mapping[str, Any]) -> dict[str, Any]:
    by_camel = {field.spelled(Spelling.CAMEL): field.name for field in schema.fields}
    return {by_camel.get(key, key): value for key, value in values.items()}


def _api_args(values: Mapping[str, Any], secret: bool, names: Mapping[str, str]) -> ProtectedApiArgs:
    """ProtectedApi args (Python names) from one API's config values (config names in `names`)."""
    args: dict[str, Any] = {}
    for python, key in names.items():
        value = values.get(key)
        if value is None:
            continue
        if python == "jwt":
            value = _python(JWT_SCHEMA, value)
        elif python == "cors":
            value = _python(CORS_SCHEMA, value)
        elif python == "upstream_url" and secret:
            value = pulumi.Output.secret(value)
        args[python] = value
    return cast(ProtectedApiArgs, args)


def _settings(
    config: Mapping[str, str], secret_keys: Collection[str], report: Callable[[ConfigError], None], opaque: Collection[str] = ()
) -> StackSettings | None:
    """The settings, or None when a problem was reported (reporting raises, except when collecting every problem)."""
    reported: list[ConfigError] = []

    def problem(error: ConfigError) -> None:
        reported.append(error)
        report(error)

    _check_namespaces(config)
    parsed = _parse(config, opaque, problem, secret_keys)
    secret = {key.field.name for key in KEYS if _full(config_name(key)) in secret_keys}
    normalised = STACK_SCHEMA.normalise(parsed, keys=Spelling.CONFIG, partial=True, secret=secret)
    single = sorted(config_name(key) for key in SINGLE_API_KEYS if parsed.get(config_name(key)) is not None)
    if parsed.get("apis") is not None and single:
        problem(
            ConfigError(
                _full("apis"),
                f"apis and {', '.join(single)}",
                "the single-API keys and apis cannot be combined",
                f"move {', '.join(single)} into an apis entry, or unset apis",
            )
        )
    elif parsed.get("apis") is None:
        if parsed.get("upstreamUrl") is None:
            problem(
                ConfigError(
                    _full("upstreamUrl"),
                    "nothing",
                    "no API to protect",
                    f"set {_full('upstreamUrl')} (one API) or {_full('apis')} (several)",
                )
            )
        if parsed.get("serviceName") is None:
            problem(
                ConfigError(
                    _full("serviceName"), "nothing", "the Kong service needs a name", f"set {_full('serviceName')}, e.g. orders-api"
                )
            )
        if not any(parsed.get(name) for name in ("routePaths", "routeHosts", "routeMethods")):
            key = _full("routePaths")
            problem(
                ConfigError(
                    key, "nothing", "a route needs at least one of routePaths, routeHosts and routeMethods", f'set {key}, e.g. ["/orders"]'
                )
            )
    elif parsed["apis"] is not OPAQUE and normalised["apis"] is not None:
        for index, entry in enumerate(normalised["apis"]):
            if not (entry["route_paths"] or entry["route_hosts"] or entry["route_methods"]):
                key = f"{_full('apis')}[{index}].routePaths"
                problem(
                    ConfigError(
                        key,
                        "nothing",
                        "a route needs at least one of routePaths, routeHosts and routeMethods",
                        f'set {key}, e.g. ["/orders"]',
                    )
                )

    for full in sorted(secret_keys):
        namespace, _, name = full.partition(":")
        if namespace == NAMESPACE and name not in _DEPLOY_TIME | {"apis"}:
            problem(
                ConfigError(
                    full,
                    "a secret (not shown)",
                    "this key names Kong entities or settings that every preview shows, so it cannot stay secret",
                    f"set it without --secret (pulumi config set {name} <value>); if a secret was pasted here, rotate it",
                )
            )
    if reported or opaque:
        return None
    return _args(parsed, normalised, frozenset(secret_keys))


def _trust_args(parsed: Mapping[str, Any], secret_keys: Collection[str]) -> FronteggTrustArgs:
    trust: dict[str, Any] = {}
    for key in KEYS:
        name = config_name(key)
        if key.feeds != "trust" or parsed.get(name) in (None, "", []):
            continue
        trust[key.field.name] = pulumi.Output.secret(parsed[name]) if _full(name) in secret_keys else parsed[name]
    return cast(FronteggTrustArgs, trust)


def trust_args(config: Mapping[str, str]) -> FronteggTrustArgs:
    """The trust's arguments as the program builds them from config, for checks that do not run the program."""
    return _trust_args(_parse(config, (), lambda error: None), ())


def _args(parsed: Mapping[str, Any], normalised: Mapping[str, Any], secret_keys: frozenset[str]) -> StackSettings:
    trust = _trust_args(parsed, secret_keys)
    if normalised["apis"] is not None:
        names = {field.name: field.spelled(Spelling.CONFIG) for field in ENTRY_SCHEMA.fields}
        secret = _full("apis") in secret_keys
        apis = {entry["service_name"]: _api_args(raw, secret, names) for entry, raw in zip(normalised["apis"], parsed["apis"], strict=True)}
        return StackSettings(trust, apis, single=False)
    names = {key.field.name: config_name(key) for key in SINGLE_API_KEYS}
    api = _api_args(parsed, _full("upstreamUrl") in secret_keys, names)
    return StackSettings(trust, {SINGLE_API_NAME: api}, single=True)


def read(config: Mapping[str, str], secret_keys: Collection[str] = ()) -> StackSettings:
    """Check every key (stopping at the first problem, before anything is declared) and build the components' args."""

    def stop(error: ConfigError) -> None:
        raise error

    with as_configured():
        settings = _settings(config, secret_keys, stop)
    assert settings is not None  # every path to None reports, and reporting raises
    return settings


def read_current() -> StackSettings:
    """read() on the config of this Pulumi run."""
    return read(*current())


def problems(config: Mapping[str, str], secret_keys: Collection[str] = (), opaque: Collection[str] = ()) -> list[ConfigError]:
    """Every problem in the config at once (for an offline check), each naming its key; [] when the config is good.

    `opaque` keys are present but unreadable here (encrypted `secure:` values): they count as set and are not checked.
    """
    with as_configured(), collecting() as found:
        try:
            _settings(config, secret_keys, found.append, opaque)
        except ConfigError as error:
            found.append(error)
    return found
