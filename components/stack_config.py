"""Stack config: every key the program reads, its type, default and rule, in one table.

`python -m components.stack_config` prints the Pulumi.yaml generated from this table; a test keeps them equal.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from components import issuer, key_discovery, protected_api, trust
from components.errors import ConfigError, shown
from components.jwt_settings import SETTINGS, JwtSettingsArgs, plugin_config
from components.protected_api import ProtectedApiArgs
from components.public_key import parse_public_key
from components.trust import FronteggTrustArgs

PROJECT = "kong-frontegg-jwt"
ConfigType = Literal["string", "boolean", "integer", "array", "object"]


@dataclass(frozen=True)
class Key:
    """One stack config key of the project namespace."""

    name: str
    type: ConfigType
    description: str
    default: Any = None
    """None means required (Pulumi's CLI refuses to run without it)."""

    @property
    def full_name(self) -> str:
        return f"{PROJECT}:{self.name}"


KEYS: tuple[Key, ...] = (
    Key("fronteggWorkspaceUrl", "string", "Frontegg workspace URL, e.g. https://app-abc123.frontegg.com (https; http only for loopback)."),
    Key(
        "fronteggPublicKey",
        "string",
        "RSA public key to pin, PEM (SPKI or PKCS#1); empty fetches it from <workspace>/.well-known/jwks.json.",
        "",
    ),
    Key("fronteggKeyId", "string", "kid of the signing key to use when the workspace publishes several; empty for the only one.", ""),
    Key(
        "fronteggKeyCheck",
        "string",
        "With a pinned key, compare it with the published keys: warn (default), fail (for drift checks) or off.",
        "warn",
    ),
    Key("issuers", "array", "Exact `iss` values to trust, no trailing slash; empty means the workspace URL.", []),
    Key("upstreamUrl", "string", "Backend URL the route proxies to (http or https, optional port and path).", "http://httpbin.org"),
    Key("serviceName", "string", "Kong service name; the route is named <serviceName>-route.", "my-cool-service"),
    Key("routePaths", "array", "Path prefixes the route matches, each starting with /.", ["/test"]),
    Key("routeHosts", "array", "Host names the route matches.", []),
    Key("routeMethods", "array", "HTTP methods the route matches.", []),
    Key("stripPath", "boolean", "Strip the matched path prefix before proxying.", True),
    Key("consumerUsername", "string", "Kong consumer that stands for the Frontegg workspace.", trust.DEFAULT_CONSUMER_USERNAME),
    # Pulumi's project schema has no object type, so this key stays out of Pulumi.yaml's config block.
    Key("jwt", "object", "JWT plugin overrides: " + ", ".join(s.config_name for s in SETTINGS) + ".", {}),
)
_BY_NAME = {key.name: key for key in KEYS}

_EXAMPLES = {"array": '["value"]', "boolean": "true", "integer": "3600", "object": '{"maximumExpiration": 3600}'}


@dataclass(frozen=True)
class StackSettings:
    """Validated, normalised stack config, ready to become component args."""

    trust: FronteggTrustArgs
    api: ProtectedApiArgs


def _parse(key: Key, raw: str) -> Any:
    if key.type == "string":
        return raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError(key.full_name, shown(raw), f"expected {key.type} (JSON)", f"set it like {_EXAMPLES[key.type]}") from None
    expected: dict[str, Callable[[Any], bool]] = {
        "array": lambda v: isinstance(v, list),
        "boolean": lambda v: isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
    }
    if not expected[key.type](value):
        raise ConfigError(key.full_name, shown(value), f"expected {key.type}", f"set it like {_EXAMPLES[key.type]}")
    return value


def _check_unknown(present: Mapping[str, Any]) -> None:
    for full_name in sorted(present):
        namespace, _, name = full_name.partition(":")
        if namespace == PROJECT and name not in _BY_NAME:
            close = difflib.get_close_matches(name, list(_BY_NAME), n=1)
            fix = f"did you mean {PROJECT}:{close[0]}?" if close else f"use one of {sorted(_BY_NAME)}"
            raise ConfigError(
                full_name, "a key this program does not read", "unknown config key (a typo would silently fall back to a default)", fix
            )


def read(config: Mapping[str, str]) -> StackSettings:
    """Validate every key (nothing is declared before this returns) and build the components' args."""
    _check_unknown(config)
    values: dict[str, Any] = {}
    for key in KEYS:
        raw = config.get(key.full_name)
        if raw is None:
            if key.default is None:
                raise ConfigError(key.full_name, "nothing", "this key is required", f"pulumi config set {key.name} <value>")
            values[key.name] = key.default
        else:
            values[key.name] = _parse(key, raw)

    def name(key: str) -> str:
        return _BY_NAME[key].full_name

    workspace = issuer.workspace_url(values["fronteggWorkspaceUrl"], name("fronteggWorkspaceUrl"))
    issuers = issuer.issuers(values["issuers"] or [workspace], name("issuers"))
    issuer.upstream(values["upstreamUrl"], name("upstreamUrl"))
    service = protected_api.service_name(values["serviceName"], name("serviceName"))
    paths = protected_api.route_paths(values["routePaths"], name("routePaths"))
    hosts = protected_api.route_hosts(values["routeHosts"], name("routeHosts"))
    methods = protected_api.route_methods(values["routeMethods"], name("routeMethods"))
    protected_api.route_matchers(paths, hosts, methods, name("routePaths"))
    strip = protected_api.strip_path(values["stripPath"], name("stripPath"))
    username = trust.consumer_username(values["consumerUsername"], name("consumerUsername"))
    plugin = plugin_config(values["jwt"], name("jwt"), spelling="config")
    names = key_discovery.KeyNames(name("fronteggWorkspaceUrl"), name("fronteggPublicKey"), name("fronteggKeyId"))
    kid = key_discovery.key_id(values["fronteggKeyId"], names.key_id)
    check = key_discovery.key_check(values["fronteggKeyCheck"], name("fronteggKeyCheck"))
    # The network comes last, so a config mistake is reported at once rather than after a fetch.
    if isinstance(values["fronteggPublicKey"], str) and not values["fronteggPublicKey"].strip():
        signing_key = key_discovery.discover(workspace, kid, names)
    else:
        pinned = parse_public_key(values["fronteggPublicKey"], names.public_key)
        signing_key = key_discovery.check_pinned(pinned, kid, workspace, check, names)

    return StackSettings(
        trust=FronteggTrustArgs(
            issuers=list(issuers), public_key_pem=signing_key.public_key.pem, key_id=signing_key.kid or "", consumer_username=username
        ),
        api=ProtectedApiArgs(
            upstream_url=values["upstreamUrl"],
            service_name=service,
            route_paths=paths,
            route_hosts=hosts,
            route_methods=methods,
            strip_path=strip,
            jwt=JwtSettingsArgs(**{s.kong_name: plugin[s.kong_name] for s in SETTINGS}),  # type: ignore[typeddict-item]
        ),
    )


def current() -> dict[str, str]:
    """The config the Pulumi engine handed this run, as `<namespace>:<key>` strings."""
    # The SDK offers no public way to list config keys; the unknown-key check needs them all.
    from pulumi.runtime.config import CONFIG

    return {k: v for k, v in CONFIG.get().items() if isinstance(v, str)}


def pulumi_yaml() -> str:
    """Pulumi.yaml, with the config block generated from KEYS."""
    block: dict[str, Any] = {}
    for key in KEYS:
        if key.type == "object":
            continue
        entry: dict[str, Any] = {"type": key.type, "description": key.description}
        if key.type == "array":
            entry["items"] = {"type": "string"}
        if key.default is not None:
            entry["default"] = key.default
        block[key.name] = entry
    project = {
        "name": PROJECT,
        "description": "Kong Gateway routes that only admit valid Frontegg-issued JWTs.",
        "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}},
        "config": block,
    }
    header = (
        "# Generated by `make pulumi-yaml` from components/stack_config.py: edit KEYS there, not here.\n"
        "# `jwt` (an object of plugin overrides) is read too, but Pulumi's project schema cannot declare objects.\n"
    )
    return header + yaml.safe_dump(project, sort_keys=False, width=120)


if __name__ == "__main__":
    print(pulumi_yaml(), end="")
