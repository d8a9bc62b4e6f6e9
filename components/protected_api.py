"""The protected API: a Kong service, its route, and the jwt plugin on that route."""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kong as kong

from components import issuer
from components.errors import ConfigError, shown
from components.inputs import checked, known
from components.jwt_settings import JwtSettingsArgs, plugin_config, plugin_config_json, weakening_warnings

ROUTE_PROTOCOLS = ["http", "https"]
_METHOD = re.compile(r"^[A-Z]+$")
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9._~-]+$")


class ProtectedApiArgs(TypedDict):
    """An upstream API exposed through Kong that only admits requests with a trusted JWT."""

    upstream_url: pulumi.Input[str]
    """Backend URL, e.g. https://api.internal:8443/v1; becomes the service's protocol, host, port and path."""
    service_name: NotRequired[pulumi.Input[str]]
    """Kong service name; the route is named `<service_name>-route`. Defaults to the component's name."""
    route_paths: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Path prefixes the route matches, each starting with `/`."""
    route_hosts: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Host names the route matches (a leading or trailing `*` wildcard is allowed)."""
    route_methods: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """HTTP methods the route matches."""
    strip_path: NotRequired[pulumi.Input[bool]]
    """Whether the matched path prefix is removed before proxying; default true."""
    jwt: NotRequired[pulumi.Input[JwtSettingsArgs]]
    """Overrides of the jwt plugin's settings; the defaults are secure."""


def service_name(value: object, key: str) -> str:
    """A Kong service name: letters, digits and . _ ~ - only."""
    if not isinstance(value, str) or not _SERVICE_NAME.match(value):
        raise ConfigError(key, shown(value), "expected a name of letters, digits, '.', '_', '~' or '-'", 'set it like "orders-api"')
    return value


def _string_list(value: object, key: str, example: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise ConfigError(key, shown(value), "expected a list of strings", f"set it like {example}")
    if len(set(value)) != len(value):
        raise ConfigError(key, shown(list(value)), "an entry is listed twice", "list each entry once")
    return list(value)


def route_paths(value: object, key: str) -> list[str]:
    """Route paths: each an absolute path prefix."""
    paths = _string_list(value, key, '["/orders"]')
    for path in paths:
        if not path.startswith("/") or any(c.isspace() for c in path):
            raise ConfigError(key, shown(paths), f"{path!r} does not start with '/' or contains spaces", 'use paths like "/orders"')
    return paths


def route_hosts(value: object, key: str) -> list[str]:
    """Route hosts: DNS names, lower-cased, with an optional wildcard at one end."""
    hosts = [host.lower() for host in _string_list(value, key, '["api.example.com"]')]
    for host in hosts:
        # Kong allows one wildcard, as the first or the last label.
        bare = host.removeprefix("*.") if host.startswith("*.") else host.removesuffix(".*")
        if not issuer.is_host_name(bare):
            raise ConfigError(key, shown(hosts), f"{host!r} is not a host name", 'use names like "api.example.com" or "*.example.com"')
    return hosts


def route_methods(value: object, key: str) -> list[str]:
    """Route methods: HTTP method tokens, upper-cased."""
    methods = [method.upper() for method in _string_list(value, key, '["GET", "POST"]')]
    for method in methods:
        if not _METHOD.match(method):
            raise ConfigError(key, shown(methods), f"{method!r} is not an HTTP method", 'use methods like "GET"')
    return methods


def strip_path(value: object, key: str) -> bool:
    """Whether to strip the matched prefix."""
    if not isinstance(value, bool):
        raise ConfigError(key, shown(value), "expected true or false", "set true or false (no quotes)")
    return value


def route_matchers(paths: list[str], hosts: list[str], methods: list[str], key: str) -> None:
    """Kong needs at least one matcher, or the route would be refused."""
    if not (paths or hosts or methods):
        raise ConfigError(key, "no paths, hosts or methods", "a route needs at least one matcher", 'set routePaths, e.g. ["/test"]')


class ProtectedApi(pulumi.ComponentResource):
    """Kong service + route + jwt plugin on the route; pair it with a FronteggTrust on the same Kong."""

    service_id: pulumi.Output[str]
    route_id: pulumi.Output[str]
    plugin_id: pulumi.Output[str]

    def __init__(self, name: str, args: ProtectedApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        upstream = checked(args["upstream_url"], "upstream_url", issuer.upstream)
        service = service_name(known(args.get("service_name", name), "service_name"), "service_name")
        paths = route_paths(known(args.get("route_paths", []), "route_paths"), "route_paths")
        hosts = route_hosts(known(args.get("route_hosts", []), "route_hosts"), "route_hosts")
        methods = route_methods(known(args.get("route_methods", []), "route_methods"), "route_methods")
        route_matchers(paths, hosts, methods, "route_paths")
        strip = strip_path(known(args.get("strip_path", True), "strip_path"), "strip_path")
        config: dict[str, Any] = plugin_config(known(args.get("jwt", {}), "jwt"), "jwt", spelling="python")
        super().__init__("kong-frontegg-jwt:index:ProtectedApi", name, None, opts)
        for warning in weakening_warnings(config):
            pulumi.log.warn(warning, resource=self)
        child = pulumi.ResourceOptions(parent=self)

        # A URL known now (the usual case) gives plain fields; splitting an Output costs four more Outputs per API.
        protocol, host, port, path = upstream if isinstance(upstream, tuple) else (upstream.apply(itemgetter(i)) for i in range(4))
        kong_service = kong.Service(f"{name}-service", name=service, protocol=protocol, host=host, port=port, path=path, opts=child)
        route = kong.Route(
            f"{name}-route",
            name=f"{service}-route",
            service_id=kong_service.id,
            protocols=ROUTE_PROTOCOLS,
            paths=paths or None,
            hosts=hosts or None,
            methods=methods or None,
            strip_path=strip,
            opts=child,
        )
        # The plugin can only attach to an existing route, so on the first `up` the route is open for the moment
        # until this plugin is created; afterwards the plugin is only updated in place (only `name` would replace it).
        plugin = kong.Plugin(
            f"{name}-jwt",
            name="jwt",  # without it the SDK auto-names the plugin and Kong rejects it as unknown
            route_id=route.id,
            config_json=plugin_config_json(config),
            enabled=True,
            opts=child,
        )

        self.service_id = kong_service.id
        self.route_id = route.id
        self.plugin_id = plugin.id
        self.register_outputs({"service_id": self.service_id, "route_id": self.route_id, "plugin_id": self.plugin_id})
