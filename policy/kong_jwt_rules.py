"""The pack's rules: every Kong route needs a jwt plugin, every jwt credential and plugin is set up safely.

Kept apart from __main__.py (building a PolicyPack starts a server) so the rules can be tested directly.
The pack is self-contained (stdlib and pulumi_policy only), so it can be published to Pulumi Cloud on its own.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

SERVICE = "kong:index/service:Service"
ROUTE = "kong:index/route:Route"
PLUGIN = "kong:index/plugin:Plugin"
CREDENTIAL = "kong:index/consumerJwtAuth:ConsumerJwtAuth"

ROUTE_POLICY = "kong-routes-require-jwt"
CREDENTIAL_POLICY = "kong-jwt-credential-rs256-issuer"
PLUGIN_POLICY = "kong-jwt-plugin-settings"
CONFIG_FILE = "policy/config.json"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ABSENT = object()
_UNKNOWN = object()


def _get(props: Mapping[str, Any], key: str) -> Any:
    """A property's value, _ABSENT when unset or null, _UNKNOWN when a preview cannot know it yet."""
    try:
        value = props[key]
    except KeyError:
        return _ABSENT
    except UnknownValueError:
        return _UNKNOWN
    return _ABSENT if value is None else value


def _label(kind: str, resource: PolicyResource | ResourceValidationArgs) -> str:
    kong_name = _get(resource.props, "name")
    if isinstance(kong_name, str) and kong_name and kong_name != resource.name:
        return f"Kong {kind} '{kong_name}' (resource '{resource.name}')"
    return f"Kong {kind} '{resource.name}'"


# --- jwt credentials -------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True for hosts that never leave the machine; the program allows plain http only for them."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def issuer_problem(key: object) -> str | None:
    """Why a credential key is not an exact Frontegg issuer (https origin, no trailing slash), or None."""
    example = "https://app-abc123.frontegg.com"
    if not isinstance(key, str) or not key:
        return f"the key is empty; set it to the exact `iss` of the tokens, like {example}"
    try:
        parts = urlsplit(key)
        port = parts.port
    except ValueError:
        return f"the key is not a URL; set it to the exact `iss` of the tokens, like {example}"
    scheme, host = parts.scheme, parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return f"the key is not an http(s) origin; set it to the exact `iss` of the tokens, like {example}"
    if scheme == "http" and not is_loopback(host):
        return f"plain http is only allowed for loopback hosts; use the https issuer, like {example}"
    if parts.query or parts.fragment or key.endswith(("?", "#")):
        return "a query or fragment can never match a token's `iss`; keep only the origin"
    if parts.path == "/":
        return (
            "the key ends with '/', but Frontegg tokens carry `iss` without it and Kong matches exactly, "
            f"so every token would be rejected; remove the trailing slash ({key.rstrip('/')})"
        )
    if parts.path:
        return f"Frontegg issuers are bare origins, not paths ({parts.path!r}); keep only the origin"
    netloc = f"[{host}]" if ":" in host else host
    canonical = f"{scheme}://{netloc}" + ("" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}")
    if key != canonical:
        return f"Kong matches `iss` byte for byte and Frontegg issuers are lower-case without a default port; use {canonical}"
    return None


def validate_credential(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A jwt credential must be RS256 and keyed by an exact issuer."""
    if args.resource_type != CREDENTIAL:
        return
    label = f"jwt credential '{args.name}'"
    algorithm = _get(args.props, "algorithm")
    if algorithm is not _UNKNOWN and algorithm != "RS256":
        shown = "unset (Kong's default HS256)" if algorithm is _ABSENT else repr(algorithm)
        report(
            f"{label}: algorithm is {shown}; Frontegg signs with RS256 and an HS* credential makes its secret a forgery key. "
            "Fix: set algorithm='RS256' with the workspace's rsa_public_key (FronteggTrust does).",
            None,
        )
    if algorithm == "RS256" and _get(args.props, "rsaPublicKey") is _ABSENT:
        report(f"{label}: RS256 without rsa_public_key. Fix: set rsa_public_key to the workspace's PEM public key.", None)
    key = _get(args.props, "key")
    if key is not _UNKNOWN:
        problem = issuer_problem(None if key is _ABSENT else key)
        if problem:
            report(f"{label}: key {key if key is not _ABSENT else 'unset'!r}: {problem}.", None)


# --- jwt plugins -------------------------------------------------------------------------------------


def plugin_problems(config_json: object, allow_anonymous: bool) -> list[str]:
    """What is unsafe in a jwt plugin's config_json (Kong's defaults apply to absent keys)."""
    if config_json is _ABSENT or config_json == "":
        config: Any = {}
    elif isinstance(config_json, str):
        try:
            config = json.loads(config_json)
        except json.JSONDecodeError as error:
            return [f"config_json is not valid JSON ({error}); Fix: pass json.dumps of the settings"]
    else:
        config = config_json
    if not isinstance(config, Mapping):
        return ["config_json is not a JSON object; Fix: pass json.dumps of a dict of jwt settings"]
    problems = []
    claims = config.get("claims_to_verify") or []
    if "exp" not in claims:
        problems.append('`exp` is not verified, so expired tokens pass; Fix: set "claims_to_verify": ["exp"]')
    # Absent (or null) means Kong's default ["jwt"], which accepts ?jwt=<token> and writes tokens into access logs.
    params = config.get("uri_param_names")
    if params is None or params:
        given = "absent (Kong's default [\"jwt\"])" if params is None else json.dumps(params)
        problems.append(f'tokens are accepted from query parameters (uri_param_names {given}); Fix: set "uri_param_names": []')
    anonymous = config.get("anonymous")
    if anonymous and not allow_anonymous:
        problems.append(
            f"requests without a valid token fall back to anonymous consumer {anonymous!r}; "
            f"Fix: remove \"anonymous\", or allow it in {CONFIG_FILE} ({PLUGIN_POLICY}.allowAnonymous: true)"
        )
    return problems


def validate_plugin(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A jwt plugin verifies exp, reads no token from the URL and has no anonymous fallback unless allowed."""
    if args.resource_type != PLUGIN or _get(args.props, "name") != "jwt":
        return
    config_json = _get(args.props, "configJson")
    if config_json is _UNKNOWN:
        return
    allow_anonymous = bool(args.get_config().get("allowAnonymous", False))
    for problem in plugin_problems(config_json, allow_anonymous):
        report(f"jwt plugin '{args.name}': {problem}.", None)


# --- route coverage (spans resources) ------------------------------------------------------------------


def _linked(resource: PolicyResource, prop: str, kind: str, by_id: Mapping[str, PolicyResource]) -> list[PolicyResource]:
    """The resources of `kind` a reference property points at: by property dependency, else by a known id."""
    linked = [dep for dep in resource.property_dependencies.get(prop, []) if dep.resource_type == kind]
    value = _get(resource.props, prop)
    if isinstance(value, str) and value in by_id and by_id[value].resource_type == kind:
        linked.append(by_id[value])
    return linked


def _covered_routes(resources: list[PolicyResource]) -> tuple[set[str], dict[str, list[str]]]:
    """URNs of routes an enabled jwt plugin covers (on the route, its service, or globally); disabled plugins by route."""
    by_id = {r.props["id"]: r for r in resources if isinstance(_get(r.props, "id"), str)}
    routes = [r for r in resources if r.resource_type == ROUTE]
    services_of = {route.urn: {s.urn for s in _linked(route, "serviceId", SERVICE, by_id)} for route in routes}
    covered: set[str] = set()
    disabled: dict[str, list[str]] = {}
    for plugin in resources:
        if plugin.resource_type != PLUGIN or _get(plugin.props, "name") != "jwt":
            continue
        route_ref, service_ref, consumer_ref = (_get(plugin.props, p) for p in ("routeId", "serviceId", "consumerId"))
        if route_ref is _ABSENT and service_ref is _ABSENT and consumer_ref is _ABSENT:
            reached = {route.urn for route in routes}  # a global plugin runs on every route
        else:
            services = {s.urn for s in _linked(plugin, "serviceId", SERVICE, by_id)}
            reached = {r.urn for r in _linked(plugin, "routeId", ROUTE, by_id)}
            if route_ref is _ABSENT:
                reached |= {route.urn for route in routes if services_of[route.urn] & services}
        if _get(plugin.props, "enabled") is False:
            for urn in reached:
                disabled.setdefault(urn, []).append(plugin.name)
        else:
            covered |= reached
    return covered, disabled


def public_routes(config: Mapping[str, Any]) -> set[str]:
    """Route names (Kong name or Pulumi resource name) the config declares deliberately public."""
    names = config.get("publicRoutes") or []
    return {name for name in names if isinstance(name, str)}


def validate_routes(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every Kong route is covered by an enabled jwt plugin, unless listed in publicRoutes."""
    exempt = public_routes(args.get_config())
    covered, disabled = _covered_routes(list(args.resources))
    for route in args.resources:
        if route.resource_type != ROUTE or route.urn in covered:
            continue
        kong_name = _get(route.props, "name")
        if route.name in exempt or (isinstance(kong_name, str) and kong_name in exempt):
            continue
        listed = kong_name if isinstance(kong_name, str) and kong_name else route.name
        why = f" (its jwt plugin {', '.join(disabled[route.urn])} is disabled)" if route.urn in disabled else ""
        report(
            f"{_label('route', route)} is not covered by a jwt plugin{why}, so it admits requests without a token. "
            "Fix: declare it through ProtectedApi (components/), or add kong.Plugin(name='jwt', route_id=<route>.id, ...) "
            f"on it or its service; if it is deliberately public, add {listed!r} to {ROUTE_POLICY}.publicRoutes in {CONFIG_FILE}.",
            route.urn,
        )


# --- the pack --------------------------------------------------------------------------------------------

POLICIES: list[Policy] = [
    StackValidationPolicy(
        name=ROUTE_POLICY,
        description="Every Kong route is covered by a jwt plugin on the route or its service, unless listed in publicRoutes.",
        validate=validate_routes,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={"publicRoutes": {"type": "array", "items": {"type": "string"}, "default": []}},
        ),
    ),
    ResourceValidationPolicy(
        name=CREDENTIAL_POLICY,
        description="Every jwt credential is RS256 and keyed by an exact issuer: an https origin without a trailing slash.",
        validate=validate_credential,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name=PLUGIN_POLICY,
        description="Every jwt plugin verifies exp, reads no token from query parameters and has no anonymous fallback.",
        validate=validate_plugin,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=PolicyConfigSchema(properties={"allowAnonymous": {"type": "boolean", "default": False}}),
    ),
]

