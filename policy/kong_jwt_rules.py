"""The pack's rules: every Kong route is covered by an enabled jwt plugin; jwt plugins and credentials are safe.

Kept apart from __main__.py (building a PolicyPack starts a server) so the rules can be tested directly.
The pack is self-contained (stdlib and pulumi_policy only), so it can be published to Pulumi Cloud on its own.
What counts as a weakened jwt plugin is not defined here: `policies(WEAKENINGS)` receives the table of
weakening.py (a generated copy of components/weakening.py, which the component warns from), so this module
imports nothing local and loads the same as the pack's `kong_jwt_rules` and as the tests' `policy.kong_jwt_rules`.

Kong behaviour cited as file:line is Kong 3.9.3 (github.com/Kong/kong at tag 3.9.3).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol
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

PUBLIC_ROUTE_PATTERN = r"^urn:pulumi:([A-Za-z0-9._-]+|\*)::[^*]+$"
"""A publicRoutes entry: a route's URN, whose stack segment alone may be `*` (one config file serves every stack)."""

_DEFAULT_PORTS = {"http": 80, "https": 443}
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_ABSENT = object()
_UNKNOWN = object()


class WeakeningRow(Protocol):
    """A row of weakening.WEAKENINGS, as far as the rules read it."""

    @property
    def id(self) -> str: ...

    @property
    def kong_name(self) -> str: ...

    @property
    def safe(self) -> Any: ...

    @property
    def risk(self) -> str: ...

    @property
    def weakens(self) -> Callable[[Mapping[str, Any]], bool]: ...


Validation = Callable[[ResourceValidationArgs, ReportViolation], None]


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
    """True for localhost, 127.0.0.0/8 and ::1, the only hosts a plain-http issuer may name.

    Not `*.localhost` names: whether they stay on the machine is up to each resolver, and the credential trusts
    whoever serves that name.
    """
    if host == "localhost":
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
        return f"plain http is only allowed for localhost, 127.0.0.0/8 and ::1; use the https issuer, like {example}"
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


def trusted_issuer_problem(entry: object) -> str | None:
    """Why a trustedIssuers entry is unusable, or None: an exact issuer, or `https://*.<domain>` (`*` = one DNS label)."""
    if not isinstance(entry, str) or "*" not in entry:
        return issuer_problem(entry)
    prefix, _, rest = entry.partition("://*.")
    if prefix != "https" or not rest or "*" in rest:
        return "`*` may only stand for the first label of an https host, like https://*.example.com (a bare `*` would trust anyone)"
    domain = rest.split(":", 1)[0].split("/", 1)[0]
    if "." not in domain:
        return f"`*.{domain}` spans a whole top-level domain; name a domain you control, like https://*.example.com"
    if domain == "frontegg.com":
        return "https://*.frontegg.com trusts every Frontegg customer's workspace, not only yours; list your workspaces' issuers"
    return issuer_problem(f"https://x.{rest}")


def is_trusted(key: str, entries: Iterable[str]) -> bool:
    """Whether an exact issuer is listed, or matches a pattern whose `*` stands for exactly one DNS label."""
    for entry in entries:
        prefix, star, suffix = entry.partition("*")
        if not star and key == entry:
            return True
        label = key[len(prefix) : len(key) - len(suffix)] if len(key) > len(prefix) + len(suffix) else ""
        if star and key.startswith(prefix) and key.endswith(suffix) and _DNS_LABEL.fullmatch(label):
            return True
    return False


def validate_credential(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A jwt credential is RS256 and keyed by an exact issuer the pack's config trusts."""
    if args.resource_type != CREDENTIAL:
        return
    label = f"jwt credential '{args.name}'"
    algorithm = _get(args.props, "algorithm")
    if algorithm != "RS256":
        shown = repr(algorithm)
        if algorithm is _ABSENT or algorithm is _UNKNOWN:
            shown = "unset (Kong's default HS256)" if algorithm is _ABSENT else "not known at preview"
        report(
            f"{label}: algorithm is {shown}; Frontegg signs with RS256 and an HS* credential makes its secret a forgery key. "
            "Fix: set algorithm='RS256' with the workspace's rsa_public_key (FronteggTrust does).",
            None,
        )
    elif _get(args.props, "rsaPublicKey") is _ABSENT:
        report(f"{label}: RS256 without rsa_public_key. Fix: set rsa_public_key to the workspace's PEM public key.", None)
    key = _get(args.props, "key")
    where = f"{CREDENTIAL_POLICY}.trustedIssuers in {CONFIG_FILE}"
    if key is _UNKNOWN:
        report(
            f"{label}: its key is not known at preview, so the pack cannot tell which issuer Kong would trust. "
            f"Fix: key the credential by a literal issuer listed in {where}.",
            None,
        )
        return
    problem = issuer_problem(None if key is _ABSENT else key)
    if problem:
        report(f"{label}: key {key if key is not _ABSENT else 'unset'!r}: {problem}.", None)
        return
    configured = args.get_config().get("trustedIssuers")
    entries = list(configured) if isinstance(configured, list | tuple) else []
    usable = [entry for entry in entries if trusted_issuer_problem(entry) is None]
    for entry in entries:
        if entry not in usable:
            report(f"{label}: the entry {entry!r} of {where} is unusable: {trusted_issuer_problem(entry)}.", None)
    if not usable:
        report(
            f"{label}: no trusted issuers are configured, so every jwt credential is refused. "
            f"Fix: list the exact issuers of your Frontegg workspaces (like https://app-abc123.frontegg.com) in {where}.",
            None,
        )
    elif not is_trusted(key, usable):
        report(
            f"{label}: key {key!r} is not a trusted issuer ({', '.join(usable)}), so Kong would admit every token that "
            f"issuer signs with this credential's key. Fix: key the credential by a trusted issuer; if {key} is meant to be "
            f"trusted, add {json.dumps(key)} to {where}.",
            None,
        )


# --- jwt plugins -------------------------------------------------------------------------------------


def plugin_settings(config_json: object) -> Mapping[str, Any] | str:
    """The jwt plugin config a config_json holds (absent: all of Kong's defaults), or why it cannot be read."""
    if config_json is _ABSENT or config_json == "":
        return {}
    if not isinstance(config_json, str):
        return "config_json is not a JSON string; Fix: pass json.dumps of a dict of jwt settings"
    try:
        config = json.loads(config_json)
    except json.JSONDecodeError as error:
        return f"config_json is not valid JSON ({error}); Fix: pass json.dumps of the settings"
    if not isinstance(config, dict):
        return "config_json is not a JSON object; Fix: pass json.dumps of a dict of jwt settings"
    return config


def plugin_problems(config_json: object, weakenings: Sequence[WeakeningRow], allowed: Iterable[str]) -> list[str]:
    """What is weaker than the product's defaults in a jwt plugin's config_json, less the weakenings allowed."""
    config = plugin_settings(config_json)
    if isinstance(config, str):
        return [config]
    exempt = set(allowed)
    return [
        f"{weakening.risk} Fix: set {json.dumps(weakening.kong_name)}: {json.dumps(weakening.safe)}; if this is deliberate, "
        f"add {json.dumps(weakening.id)} to {PLUGIN_POLICY}.allow in {CONFIG_FILE}"
        for weakening in weakenings
        if weakening.weakens(config) and weakening.id not in exempt
    ]


def plugin_validator(weakenings: Sequence[WeakeningRow]) -> Validation:
    """The plugin policy's check: a jwt plugin is valid in Kong and has no weakening its config does not allow."""

    def validate_plugin(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type != PLUGIN:
            return
        name = _get(args.props, "name")
        if name is _UNKNOWN:
            report(
                f"plugin '{args.name}': its name is not known at preview, so the pack cannot tell whether it is a jwt plugin "
                "(or one that outranks it). Fix: pass the plugin's name as a literal, e.g. name='jwt'.",
                None,
            )
            return
        if name != "jwt":
            return
        label = f"jwt plugin '{args.name}'"
        if _get(args.props, "consumerId") is not _ABSENT:
            # schema.lua:7 `consumer = typedefs.no_consumer` (typedefs.lua:400-405: must be null).
            report(
                f"{label}: it is scoped to a consumer, which Kong refuses for the jwt plugin (its consumer must be null), "
                "so it protects nothing. Fix: drop consumer_id and scope the plugin to the service (service_id).",
                None,
            )
        config_json = _get(args.props, "configJson")
        if config_json is _UNKNOWN:
            report(
                f"{label}: config_json is not known at preview, so the pack cannot check its settings. "
                "Fix: build config_json from plain values (json.dumps of a dict).",
                None,
            )
            return
        allowed = [entry for entry in args.get_config().get("allow") or [] if isinstance(entry, str)]
        for problem in plugin_problems(config_json, weakenings, allowed):
            report(f"{label}: {problem}.", None)

    return validate_plugin


# --- route coverage (spans resources) ------------------------------------------------------------------

_REFERENCES = ("routeId", "serviceId", "consumerId")


class _Stack:
    """The stack's resources, indexed the ways coverage needs: by URN, and by (type, id) for ids already known."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        by_id: dict[tuple[str, str], PolicyResource] = {}
        twice: set[tuple[str, str]] = set()
        for r in self.resources:
            rid = _get(r.props, "id")
            if isinstance(rid, str):
                twice |= {(r.resource_type, rid)} & by_id.keys()
                by_id[(r.resource_type, rid)] = r
        self.by_id = {key: r for key, r in by_id.items() if key not in twice}  # an ambiguous id selects nothing
        self.routes = [r for r in self.resources if r.resource_type == ROUTE]
        self.service_of = {route.urn: service.urn for route in self.routes if (service := self.target(route, "serviceId", SERVICE))}

    def target(self, resource: PolicyResource, prop: str, kind: str) -> PolicyResource | None:
        """The resource of `kind` this stack holds that a reference property selects in Kong, else None.

        Kong matches the id value, so a known value decides alone: a dependency edge only says what the value was
        computed from. An unknown value (a preview) is trusted to be the edge's id only when it can be nothing else:
        exactly one dependency, of the right kind, whose own id is unknown too (a direct `<resource>.id` of a
        resource this deploy creates). A known dependency id would have made a direct reference known.
        """
        value = _get(resource.props, prop)
        if isinstance(value, str):
            return self.by_id.get((kind, value))
        if value is _UNKNOWN:
            deps = resource.property_dependencies.get(prop, [])
            if len(deps) == 1 and deps[0].resource_type == kind and _get(deps[0].props, "id") is _UNKNOWN:
                return self.by_urn.get(deps[0].urn)
        return None

    def reached(self, plugin: PolicyResource) -> tuple[set[str], str]:
        """URNs of the routes a plugin runs on in Kong, and, when it reaches none it is linked to, why."""
        route_set, service_set, consumer_set = (_get(plugin.props, p) is not _ABSENT for p in _REFERENCES)
        if consumer_set:
            return set(), "is scoped to a consumer, which Kong refuses for the jwt plugin"
        if not route_set and not service_set:
            return {route.urn for route in self.routes}, ""  # global: runs on every route
        route = self.target(plugin, "routeId", ROUTE) if route_set else None
        service = self.target(plugin, "serviceId", SERVICE) if service_set else None
        if route_set and service_set:
            # Kong keys such a plugin by the (route, service) pair (runloop/plugins_iterator.lua:238-243, 565-579): it
            # runs only on requests whose route is that route and whose service is that service, the route's own.
            if route and service and self.service_of.get(route.urn) == service.urn:
                return {route.urn}, ""
            return set(), "names both a route and a service that is not that route's service, so Kong never runs it"
        why = "is linked to it by a dependency, but the id values Kong matches do not select it"
        if route_set:
            return ({route.urn} if route else set()), why
        return {urn for urn, of in self.service_of.items() if service and of == service.urn}, why

    def linked(self, plugin: PolicyResource) -> set[str]:
        """URNs of the routes a plugin's dependency edges point at (directly, or through their service)."""
        routes = {d.urn for d in plugin.property_dependencies.get("routeId", []) if d.resource_type == ROUTE}
        services = {d.urn for d in plugin.property_dependencies.get("serviceId", []) if d.resource_type == SERVICE}
        for route in self.routes:
            if services & {d.urn for d in route.property_dependencies.get("serviceId", [])}:
                routes.add(route.urn)
        return routes


def _not_enabled(plugin: PolicyResource) -> str | None:
    """Why a plugin may not run, or None: only a real boolean true (or absent, Kong's default) counts as enabled."""
    enabled = _get(plugin.props, "enabled")
    if enabled is _ABSENT or enabled is True:
        return None
    if enabled is False:
        return "is disabled"
    if enabled is _UNKNOWN:
        return "has `enabled` unknown at preview (only a literal true counts)"
    return f"has enabled={enabled!r}, not the boolean true"


def public_route_entry(route_urn: str) -> str:
    """The publicRoutes entry that exempts a route in every stack: its URN with the stack segment as `*`."""
    return "urn:pulumi:*::" + route_urn.partition("::")[2]


def is_public(route_urn: str, entries: Iterable[object]) -> bool:
    """Whether a publicRoutes entry names this route's URN exactly, or with `*` as its stack."""
    return any(entry in (route_urn, public_route_entry(route_urn)) for entry in entries)


def validate_routes(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every Kong route is covered by an enabled jwt plugin, unless its URN is listed in publicRoutes."""
    configured = args.get_config().get("publicRoutes")
    exempt = list(configured) if isinstance(configured, list | tuple) else []
    stack = _Stack(args.resources)
    covered: set[str] = set()
    notes: dict[str, list[str]] = {}
    for plugin in stack.resources:
        if plugin.resource_type != PLUGIN or _get(plugin.props, "name") != "jwt":
            continue  # a cors plugin answers preflights but checks no token (cors/handler.lua:193-241)
        reached, why = stack.reached(plugin)
        not_enabled = _not_enabled(plugin)
        if not_enabled is None:
            covered |= reached
        else:
            for urn in reached:
                notes.setdefault(urn, []).append(f"jwt plugin {plugin.name} {not_enabled}")
        for urn in stack.linked(plugin) - reached:
            notes.setdefault(urn, []).append(f"jwt plugin {plugin.name} {why}")
    for route in stack.routes:
        if route.urn in covered or is_public(route.urn, exempt):
            continue
        why = f" ({'; '.join(notes[route.urn])})" if route.urn in notes else ""
        report(
            f"{_label('route', route)} is not covered by an enabled jwt plugin{why}, so it admits requests without a token. "
            "Fix: declare it through ProtectedApi (components/), or add kong.Plugin(name='jwt', service_id=<its service>.id, ...); "
            f"if it is deliberately public, add {json.dumps(public_route_entry(route.urn))} to {ROUTE_POLICY}.publicRoutes "
            f"in {CONFIG_FILE}.",
            route.urn,
        )


# --- the pack --------------------------------------------------------------------------------------------


def policies(weakenings: Sequence[WeakeningRow]) -> list[Policy]:
    """The pack's policies, with the weakening table (weakening.WEAKENINGS) that defines the plugin policy."""
    return [
        StackValidationPolicy(
            name=ROUTE_POLICY,
            description="Every Kong route is covered by an enabled jwt plugin (global, on its service or on it), "
            "unless its URN is listed in publicRoutes.",
            validate=validate_routes,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "publicRoutes": {
                        "type": "array",
                        "items": {"type": "string", "pattern": PUBLIC_ROUTE_PATTERN},
                        "uniqueItems": True,
                        "default": [],
                    }
                },
            ),
        ),
        ResourceValidationPolicy(
            name=CREDENTIAL_POLICY,
            description="Every jwt credential is RS256 and keyed by an exact issuer listed in trustedIssuers.",
            validate=validate_credential,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "trustedIssuers": {
                        "type": "array",
                        "items": {"type": "string", "pattern": "^https?://"},
                        "uniqueItems": True,
                        "default": [],
                    }
                },
            ),
        ),
        ResourceValidationPolicy(
            name=PLUGIN_POLICY,
            description="Every jwt plugin is valid in Kong and no weaker than the product's defaults, "
            "except for the weakenings listed in allow.",
            validate=plugin_validator(weakenings),
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "allow": {
                        "type": "array",
                        "items": {"type": "string", "enum": [weakening.id for weakening in weakenings]},
                        "uniqueItems": True,
                        "default": [],
                    }
                },
            ),
        ),
    ]
