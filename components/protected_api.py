"""The protected API: a Kong service, the jwt plugin (and optionally cors) on that service, and its route."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kong as kong

from . import cors_settings, jwt_settings, routing, urls
from .cors_settings import CorsSettings
from .errors import ConfigError
from .jwt_settings import JwtSettings
from .plugin_json import plugin_json
from .schema import Field, Schema, flag

ROUTE_PROTOCOLS = ["http", "https"]
TYPE = "kong-frontegg-jwt:index:ProtectedApi"


class ProtectedApiArgs(TypedDict):
    """An upstream API exposed through Kong that only admits requests with a trusted JWT."""

    upstream_url: pulumi.Input[str]
    """Backend URL, e.g. https://api.internal:8443/v1: the service's protocol, host, port and path (no credentials, query or fragment)."""
    service_name: NotRequired[str]
    """Kong service name (letters, digits, . _ ~ -); the route gets this name plus "-route". Default: the component's name."""
    route_paths: NotRequired[Sequence[str]]
    """Path prefixes the route matches, each starting with / (normalised, as Kong requires), or ~/ and a regex."""
    route_hosts: NotRequired[Sequence[str]]
    """Host names the route matches (a * wildcard as the first or last label is allowed)."""
    route_methods: NotRequired[Sequence[str]]
    """HTTP methods the route matches. At least one of paths, hosts and methods is needed."""
    strip_path: NotRequired[bool]
    """Whether the matched path prefix is removed before proxying; default true."""
    jwt: NotRequired[JwtSettings]
    """Overrides of the jwt plugin's settings; the defaults are the secure ones."""
    cors: NotRequired[CorsSettings]
    """CORS for browser apps: Kong's cors plugin answers their preflights before the token check. Default: none."""


API_SCHEMA = Schema(
    "ProtectedApi argument",
    (
        Field("upstream_url", urls.upstream, deploy_time=True),
        Field("service_name", routing.kong_name, None),
        Field("route_paths", routing.route_paths, []),
        Field("route_hosts", routing.route_hosts, []),
        Field("route_methods", routing.route_methods, []),
        Field("strip_path", flag, True),
        Field("jwt", jwt_settings.jwt_settings, {}),
        Field("cors", cors_settings.cors_settings, None),
    ),
)


@dataclass(frozen=True)
class ApiSettings:
    """A protected API's arguments, checked and with defaults filled in."""

    upstream: urls.Upstream | pulumi.Output[urls.Upstream]
    service_name: str | None
    route_paths: list[str]
    route_hosts: list[str]
    route_methods: list[str]
    strip_path: bool
    jwt: dict[str, Any]
    cors: dict[str, Any] | None

    def warnings(self) -> list[str]:
        """What in these settings weakens protection, said once per preview."""
        cors = cors_settings.warnings(self.cors) if self.cors else []
        return jwt_settings.warnings(self.jwt) + cors


def api_settings(args: object) -> ApiSettings:
    """Check a protected API's arguments: every problem is a ConfigError naming the argument as the caller wrote it."""
    values: dict[str, Any] = API_SCHEMA.normalise(args)
    if not (values["route_paths"] or values["route_hosts"] or values["route_methods"]):
        key = API_SCHEMA.key("route_paths")
        raise ConfigError(
            key,
            "no paths, hosts or methods",
            "a route needs at least one matcher (Kong refuses it otherwise)",
            f'set {key}, e.g. ["/orders"]',
        )
    return ApiSettings(
        values["upstream_url"],
        values["service_name"],
        values["route_paths"],
        values["route_hosts"],
        values["route_methods"],
        values["strip_path"],
        jwt_settings.plugin_config(values["jwt"]),
        cors_settings.plugin_config(values["cors"]) if values["cors"] else None,
    )


def _service_fields(upstream: urls.Upstream | pulumi.Output[urls.Upstream]) -> dict[str, Any]:
    if isinstance(upstream, urls.Upstream):
        # tls_verify only for https: Kong refuses it on other protocols (kong/db/schema/entities/services.lua:60-63).
        return {
            "protocol": upstream.protocol,
            "host": upstream.host,
            "port": upstream.port,
            "path": upstream.path,
            "tls_verify": upstream.protocol == "https" or None,
        }
    return {
        "protocol": upstream.apply(lambda u: u.protocol),
        "host": upstream.apply(lambda u: u.host),
        "port": upstream.apply(lambda u: u.port),
        "path": upstream.apply(lambda u: u.path),
        "tls_verify": upstream.apply(lambda u: u.protocol == "https" or None),
    }


class ProtectedApi(pulumi.ComponentResource):
    """A Kong service whose every route needs a trusted JWT: the jwt plugin sits on the service; pair it with a FronteggTrust."""

    service_id: pulumi.Output[str]
    """The Kong service's id."""
    route_id: pulumi.Output[str]
    """The Kong route's id."""
    plugin_id: pulumi.Output[str]
    """The jwt plugin's id."""
    cors_plugin_id: pulumi.Output[str]
    """The cors plugin's id; empty without cors."""

    def __init__(self, name: str, args: ProtectedApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings = api_settings(args)
        service_name = settings.service_name or routing.kong_name(name, "name")
        super().__init__(TYPE, name, None, opts)
        for warning in settings.warnings():
            pulumi.log.warn(warning, resource=self)

        # The service is replaced when its protocol changes: Kong keeps tls_verify on a PATCH that leaves it out and
        # then refuses it for http. Its route and plugins are replaced with it (replace_on_changes serviceId).
        service = kong.Service(
            f"{name}-service",
            name=service_name,
            **_service_fields(settings.upstream),
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["protocol"], delete_before_replace=True),
        )
        # A plugin is replaced (a new one created before the old one goes, so the service is never without one) when
        # its scope changes: a route-scoped plugin of an earlier release reads back its route_id, which the provider
        # cannot clear with a PATCH. When the service itself is replaced, the engine deletes its plugins first.
        with_service = pulumi.ResourceOptions(parent=self, replace_on_changes=["serviceId", "routeId"])
        # On the service, not the route: Kong runs it for every route of the service, so a route can never exist
        # without it, and strict matching makes a change made outside Pulumi (anonymous!) show in the next preview.
        jwt = kong.Plugin(
            f"{name}-jwt",
            name="jwt",  # without it the SDK auto-names the plugin and Kong refuses it as unknown
            service_id=service.id,
            config_json=plugin_json(settings.jwt),
            enabled=True,
            strict_match=True,
            opts=with_service,
        )
        plugins = [jwt]
        if settings.cors is not None:
            plugins.append(
                kong.Plugin(
                    f"{name}-cors",
                    name="cors",
                    service_id=service.id,
                    config_json=plugin_json(settings.cors),
                    enabled=True,
                    strict_match=True,
                    opts=with_service,
                )
            )
        # Created after the plugins and deleted before them: no moment with a route and no token check.
        # Replaced when a matcher changes: the provider leaves empty lists out of its PATCH and Kong merges, so
        # removing the last host, method or path would otherwise never reach Kong (route names are unique: delete first).
        route = kong.Route(
            f"{name}-route",
            name=f"{service_name}-route",
            service_id=service.id,
            protocols=ROUTE_PROTOCOLS,
            paths=settings.route_paths or None,
            hosts=settings.route_hosts or None,
            methods=settings.route_methods or None,
            strip_path=settings.strip_path,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=plugins, replace_on_changes=["hosts", "methods", "paths", "serviceId"], delete_before_replace=True
            ),
        )

        self.service_id = service.id
        self.route_id = route.id
        self.plugin_id = jwt.id
        self.cors_plugin_id = plugins[1].id if len(plugins) > 1 else pulumi.Output.from_input("")
        self.register_outputs(
            {"service_id": self.service_id, "route_id": self.route_id, "plugin_id": self.plugin_id, "cors_plugin_id": self.cors_plugin_id}
        )
