"""The pack's rules: every Kong route is covered by a jwt plugin Kong runs; jwt plugins and credentials are safe.

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
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
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

STACK_KEY_PATTERN = r"^([A-Za-z0-9._-]+|\*)$"
"""A trustedIssuers key: a stack's name (the second segment of its URNs), or `*` for issuers every stack trusts."""

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


def stack_of(urn: str) -> str:
    """The stack a resource belongs to: the second segment of its URN (`urn:pulumi:<stack>::<project>::...`)."""
    return urn.partition("::")[0].removeprefix("urn:pulumi:")


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def validate_credential(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A jwt credential is RS256 and keyed by an exact issuer the pack's config trusts on the credential's stack."""
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
    stack = stack_of(args.urn)
    where = f"{CREDENTIAL_POLICY}.trustedIssuers in {CONFIG_FILE}"
    here = f"{CREDENTIAL_POLICY}.trustedIssuers[{json.dumps(stack)}] in {CONFIG_FILE}"
    if key is _UNKNOWN:
        report(
            f"{label}: its key is not known at preview, so the pack cannot tell which issuer Kong would trust. "
            f"Fix: key the credential by a literal issuer listed in {here}.",
            None,
        )
        return
    problem = issuer_problem(None if key is _ABSENT else key)
    if problem:
        report(f"{label}: key {key if key is not _ABSENT else 'unset'!r}: {problem}.", None)
        return
    configured = args.get_config().get("trustedIssuers")
    if isinstance(configured, list | tuple):
        # One list would trust every stack's issuers on every stack: the local stack's http://localhost:9999 on prod.
        report(
            f"{label}: {where} is a plain list, which every stack would share, so a dev or local issuer would be trusted "
            f"on '{stack}' too. Fix: key it by stack, like {{{json.dumps(stack)}: [\"https://app-abc123.frontegg.com\"]}}, "
            'with "*" only for issuers every stack trusts.',
            None,
        )
        return
    by_stack = configured if isinstance(configured, Mapping) else {}
    entries = [*_listed(by_stack.get("*")), *_listed(by_stack.get(stack))]
    usable = [entry for entry in entries if isinstance(entry, str) and trusted_issuer_problem(entry) is None]
    for entry in entries:
        if entry not in usable:
            report(f"{label}: the entry {entry!r} of {where} is unusable: {trusted_issuer_problem(entry)}.", None)
    if not usable:
        report(
            f"{label}: stack '{stack}' trusts no issuer ({where} lists none under {json.dumps(stack)} or \"*\"), so every "
            f"jwt credential on it is refused. Fix: list the exact issuers of this stack's Frontegg workspaces "
            f"(like https://app-abc123.frontegg.com) in {here}.",
            None,
        )
    elif not is_trusted(key, usable):
        report(
            f"{label}: key {key!r} is not a trusted issuer on stack '{stack}' ({', '.join(usable)}), so Kong would admit "
            f"every token that issuer signs with this credential's key. Fix: key the credential by an issuer trusted on "
            f"'{stack}'; if {key} is meant to be trusted there, add {json.dumps(key)} to {here}.",
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


@dataclass(frozen=True)
class KongField:
    """One field of Kong 3.9's jwt plugin config, as kong/plugins/jwt/schema.lua declares it."""

    name: str
    type: str
    """"set" (of strings), "string", "boolean" or "number"."""
    required: bool = False
    """`required = true`: an absent field takes Kong's default, but null is refused."""
    one_of: tuple[str, ...] = ()
    """The only values a set's elements may take."""
    between: tuple[int, int] | None = None

    def problem(self, value: object) -> str | None:
        """Why Kong refuses this value for the field, or None (kong/db/schema/init.lua `validate_field`, 874-1030)."""
        if value is None:
            # init.lua:877-888: null passes unless the field is required (an absent one gets the default instead).
            return "null is refused for a required field; leave the key out for Kong's default" if self.required else None
        if self.type == "set":
            # init.lua:918-927: a JSON array whose elements are all valid; strings need at least one character (990-993).
            if not isinstance(value, list):
                return f"expected a set (a JSON array of strings), got {json.dumps(value)}"
            for element in value:
                if not isinstance(element, str) or not element:
                    return f"expected a set of non-empty strings, got the element {json.dumps(element)}"
                if self.one_of and element not in self.one_of:
                    return f"{json.dumps(element)} is not one of {', '.join(self.one_of)} (init.lua:316-323)"
            return None
        if self.type == "string":
            return None if isinstance(value, str) and value else f"expected a non-empty string, got {json.dumps(value)}"
        if self.type == "boolean":
            return None if isinstance(value, bool) else f"expected a boolean (true or false), got {json.dumps(value)}"
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return f"expected a number, got {json.dumps(value)}"
        low, high = self.between or (value, value)
        return None if low <= value <= high else f"{json.dumps(value)} is not between {low} and {high} (init.lua:214-219)"


JWT_CONFIG: tuple[KongField, ...] = (
    KongField("uri_param_names", "set"),  # schema.lua:12-17
    KongField("cookie_names", "set"),  # :18-23
    KongField("key_claim_name", "string"),  # :24
    KongField("secret_is_base64", "boolean", required=True),  # :25
    KongField("claims_to_verify", "set", one_of=("exp", "nbf")),  # :26-32
    KongField("anonymous", "string"),  # :33
    KongField("run_on_preflight", "boolean", required=True),  # :34
    KongField("maximum_expiration", "number", between=(0, 31_536_000)),  # :35-40
    KongField("header_names", "set"),  # :41-46
    KongField("realm", "string"),  # :47
)
"""Every field of Kong 3.9's jwt plugin config (kong/plugins/jwt/schema.lua at 3.9.3), with the rules Kong checks."""


def kong_config_problems(config: Mapping[str, Any]) -> list[str]:
    """Why Kong 3.9 would refuse a jwt plugin with this config, one entry per field named `config.<field>`."""
    fields = {field.name: field for field in JWT_CONFIG}
    problems = [
        f"config.{field.name}: {problem}" for field in JWT_CONFIG if field.name in config and (problem := field.problem(config[field.name]))
    ]
    # init.lua:1220-1231 (resolve_field, 1119-1123): a key the schema does not declare is refused, even with null.
    unknown = sorted(set(config) - set(fields))
    problems += [f"config.{key}: unknown field (Kong 3.9's jwt plugin has {', '.join(fields)})" for key in unknown]
    # schema.lua:52-59, a conditional entity check (init.lua:725-770): maximum_expiration > 0 needs "exp" in
    # claims_to_verify. It runs only on a valid maximum_expiration, and a null (or absent) claims_to_verify passes it:
    # validate_field lets null through.
    expiration, claims = config.get("maximum_expiration"), config.get("claims_to_verify")
    positive = expiration is not None and fields["maximum_expiration"].problem(expiration) is None and expiration > 0
    if positive and isinstance(claims, list) and "exp" not in claims:
        problems.append(f'config.claims_to_verify: must contain "exp" when config.maximum_expiration is above 0 ({expiration})')
    return problems


def plugin_refused(config_json: object) -> str | None:
    """Why Kong would not run a jwt plugin with this config_json (unknown, unreadable, or refused by Kong 3.9), or None."""
    if config_json is _UNKNOWN:
        return "has config_json unknown at preview"
    config = plugin_settings(config_json)
    if isinstance(config, str):
        return f"has a config_json Kong cannot read ({config.partition(';')[0]})"
    problems = kong_config_problems(config)
    return f"has a config Kong 3.9 refuses ({'; '.join(problems)})" if problems else None


def plugin_problems(config_json: object, weakenings: Sequence[WeakeningRow], allowed: Iterable[str]) -> list[str]:
    """What Kong 3.9 would refuse in a jwt plugin's config_json, then what is weaker than the product's defaults.

    Weakenings are judged on a refused config too: fixing what Kong refuses must not make way for a weakening.
    """
    config = plugin_settings(config_json)
    if isinstance(config, str):
        return [config]
    refused = [
        f"Kong 3.9 refuses this config, so the plugin would not exist and protects nothing: {problem}. "
        "Fix: use only the fields and values of Kong 3.9's jwt plugin (kong/plugins/jwt/schema.lua)"
        for problem in kong_config_problems(config)
    ]
    exempt = set(allowed)
    return refused + [
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

HTTP_PROTOCOLS = ("grpc", "grpcs", "http", "https")
"""The only protocols Kong runs the jwt plugin for. Its `protocols` is typedefs.protocols_http (schema.lua:8): the
protocols of the http subsystem (typedefs.lua:466-488, constants.lua:77-86). Routes for tcp, tls, udp and tls_passthrough
are served by the stream subsystem, whose plugin iterator skips every plugin without a stream protocol
(runloop/plugins_iterator.lua:141-153); a route cannot mix the two (routes.lua:154-166)."""


def kong_of(resource: PolicyResource) -> str | None:
    """The URN of the provider a resource is declared with, which says which Kong it lives on (None: none reported).

    The engine fills in the default provider (`pulumi:providers:kong::default_<version>`) when a resource names none,
    and reports a provider by URN, which is known even in a preview that creates the provider.
    """
    return resource.provider.urn if resource.provider is not None else None


class _Stack:
    """The stack's resources, indexed the ways coverage needs: by URN, and by (Kong, type, id) for ids already known."""

    def __init__(self, resources: Sequence[PolicyResource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        by_id: dict[tuple[str | None, str, str], PolicyResource] = {}
        twice: set[tuple[str | None, str, str]] = set()
        for r in self.resources:
            rid = _get(r.props, "id")
            if isinstance(rid, str):
                key = (kong_of(r), r.resource_type, rid)
                twice |= {key} & by_id.keys()
                by_id[key] = r
        self.by_id = {key: r for key, r in by_id.items() if key not in twice}  # an ambiguous id selects nothing
        self.routes = [r for r in self.resources if r.resource_type == ROUTE]
        self.service_of = {route.urn: service.urn for route in self.routes if (service := self.target(route, "serviceId", SERVICE))}

    def target(self, resource: PolicyResource, prop: str, kind: str) -> PolicyResource | None:
        """The resource of `kind` on the same Kong that a reference property selects there, else None.

        Kong matches the id value, so a known value decides alone: a dependency edge only says what the value was
        computed from. An unknown value (a preview) is trusted to be the edge's id when it has exactly one dependency,
        of the right kind, whose own id is unknown too. That is what a direct `<resource>.id` of a resource this deploy
        creates looks like, and also what `.apply()` on that id looks like, whatever it returns: the engine reports the
        two alike, so a preview cannot tell them apart (docs/policy-pack.md). A known dependency id would have made a
        direct reference known, so an unknown value with a known dependency was computed and is not trusted.
        """
        value = _get(resource.props, prop)
        if isinstance(value, str):
            return self.by_id.get((kong_of(resource), kind, value))
        if value is _UNKNOWN:
            deps = resource.property_dependencies.get(prop, [])
            if len(deps) == 1 and deps[0].resource_type == kind and _get(deps[0].props, "id") is _UNKNOWN:
                return deps[0] if kong_of(deps[0]) == kong_of(resource) and deps[0].urn in self.by_urn else None
        return None

    def reached(self, plugin: PolicyResource) -> tuple[set[str], str]:
        """URNs of the routes a plugin runs on in Kong, and, when it reaches none it is linked to, why."""
        route_set, service_set, consumer_set = (_get(plugin.props, p) is not _ABSENT for p in _REFERENCES)
        if consumer_set:
            return set(), "is scoped to a consumer, which Kong refuses for the jwt plugin"
        elsewhere = f"is declared with another Kong provider ({kong_of(plugin)}), so it runs on that Kong, not on this route's"
        if not route_set and not service_set:
            return {route.urn for route in self.routes if kong_of(route) == kong_of(plugin)}, elsewhere  # global
        route = self.target(plugin, "routeId", ROUTE) if route_set else None
        service = self.target(plugin, "serviceId", SERVICE) if service_set else None
        if route_set and service_set:
            # Kong keys such a plugin by the (route, service) pair (runloop/plugins_iterator.lua:238-243, 565-579): it
            # runs only on requests whose route is that route and whose service is that service, the route's own.
            if route and service and self.service_of.get(route.urn) == service.urn:
                return {route.urn}, ""
            return set(), "names both a route and a service that is not that route's service, so Kong never runs it"
        edges = [d for prop in ("routeId", "serviceId") for d in plugin.property_dependencies.get(prop, [])]
        why = "is linked to it by a dependency, but the id values Kong matches do not select it"
        if any(kong_of(d) != kong_of(plugin) for d in edges):
            why = elsewhere
        if route_set:
            return ({route.urn} if route else set()), why
        return {urn for urn, of in self.service_of.items() if service and of == service.urn}, why

    def linked(self, plugin: PolicyResource) -> set[str]:
        """URNs of the routes a plugin is meant for: all for a global one, else those its dependency edges point at."""
        if all(_get(plugin.props, p) is _ABSENT for p in _REFERENCES):
            return {route.urn for route in self.routes}
        routes = {d.urn for d in plugin.property_dependencies.get("routeId", []) if d.resource_type == ROUTE}
        services = {d.urn for d in plugin.property_dependencies.get("serviceId", []) if d.resource_type == SERVICE}
        for route in self.routes:
            if services & {d.urn for d in route.property_dependencies.get("serviceId", [])}:
                routes.add(route.urn)
        return routes


def _does_not_run(plugin: PolicyResource) -> str | None:
    """Why Kong may not run a jwt plugin, or None: it is enabled and its config is one Kong 3.9 accepts.

    Only a real boolean true (or absent, Kong's default) counts as enabled.
    """
    enabled = _get(plugin.props, "enabled")
    if enabled is _ABSENT or enabled is True:
        return plugin_refused(_get(plugin.props, "configJson"))
    if enabled is False:
        return "is disabled"
    if enabled is _UNKNOWN:
        return "has `enabled` unknown at preview (only a literal true counts)"
    return f"has enabled={enabled!r}, not the boolean true"


def _not_http(route: PolicyResource) -> str | None:
    """Why Kong never runs the jwt plugin on a route's requests because of its protocols, or None."""
    protocols = _get(route.props, "protocols")
    if protocols is _ABSENT:
        return None  # Kong's default is ["http", "https"] (routes.lua:165)
    unknown = "its protocols are not known at preview"
    if protocols is _UNKNOWN:
        return unknown
    try:
        listed = list(protocols) if isinstance(protocols, Sequence) and not isinstance(protocols, str) else [protocols]
    except UnknownValueError:
        return unknown
    other = [protocol for protocol in listed if protocol not in HTTP_PROTOCOLS]
    return f"its protocols include {', '.join(map(str, other))}" if other else None


def public_route_entry(route_urn: str) -> str:
    """The publicRoutes entry that exempts a route in every stack: its URN with the stack segment as `*`."""
    return "urn:pulumi:*::" + route_urn.partition("::")[2]


def is_public(route_urn: str, entries: Iterable[object]) -> bool:
    """Whether a publicRoutes entry names this route's URN exactly, or with `*` as its stack."""
    return any(entry in (route_urn, public_route_entry(route_urn)) for entry in entries)


def validate_routes(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every Kong route serves only HTTP protocols and is covered by a jwt plugin Kong runs, unless its URN is public."""
    configured = args.get_config().get("publicRoutes")
    exempt = list(configured) if isinstance(configured, list | tuple) else []
    stack = _Stack(args.resources)
    covered: set[str] = set()
    notes: dict[str, list[str]] = {}
    for plugin in stack.resources:
        if plugin.resource_type != PLUGIN or _get(plugin.props, "name") != "jwt":
            continue  # a cors plugin answers preflights but checks no token (cors/handler.lua:193-241)
        reached, why = stack.reached(plugin)
        does_not_run = _does_not_run(plugin)
        if does_not_run is None:
            covered |= reached
        else:
            for urn in reached:
                notes.setdefault(urn, []).append(f"jwt plugin {plugin.name} {does_not_run}")
        for urn in stack.linked(plugin) - reached:
            notes.setdefault(urn, []).append(f"jwt plugin {plugin.name} {why}")
    for route in stack.routes:
        if is_public(route.urn, exempt):
            continue
        public = (
            f"if it is deliberately public, add {json.dumps(public_route_entry(route.urn))} to {ROUTE_POLICY}.publicRoutes "
            f"in {CONFIG_FILE}."
        )
        not_http = _not_http(route)
        if not_http:
            report(
                f"{_label('route', route)}: {not_http}, but Kong runs the jwt plugin only for {', '.join(HTTP_PROTOCOLS)} "
                "(a stream route never runs it), so it admits requests without a token whatever plugin covers it. "
                f"Fix: declare it with literal HTTP protocols, like protocols=['http', 'https'] (ProtectedApi does); {public}",
                route.urn,
            )
        elif route.urn not in covered:
            why = f" ({'; '.join(notes[route.urn])})" if route.urn in notes else ""
            report(
                f"{_label('route', route)} is not covered by an enabled jwt plugin{why}, so it admits requests without a token. "
                "Fix: declare it through ProtectedApi (components/), or add kong.Plugin(name='jwt', service_id=<its service>.id, "
                f"...) with the route's provider; {public}",
                route.urn,
            )


# --- the pack --------------------------------------------------------------------------------------------


def policies(weakenings: Sequence[WeakeningRow]) -> list[Policy]:
    """The pack's policies, with the weakening table (weakening.WEAKENINGS) that defines the plugin policy."""
    return [
        StackValidationPolicy(
            name=ROUTE_POLICY,
            description="Every Kong route serves HTTP protocols only and is covered by an enabled, valid jwt plugin on its Kong "
            "(global, on its service or on it), unless its URN is listed in publicRoutes.",
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
            description="Every jwt credential is RS256 and keyed by an exact issuer that trustedIssuers lists for its stack.",
            validate=validate_credential,
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=PolicyConfigSchema(
                properties={
                    "trustedIssuers": {
                        # Keyed by stack: one list would trust the local stack's http://localhost:9999 on prod too.
                        "type": "object",
                        "propertyNames": {"pattern": STACK_KEY_PATTERN},
                        "additionalProperties": {
                            "type": "array",
                            "items": {"type": "string", "pattern": "^https?://"},
                            "uniqueItems": True,
                        },
                        "default": {},
                    }
                },
            ),
        ),
        ResourceValidationPolicy(
            name=PLUGIN_POLICY,
            description="Every jwt plugin has a config Kong 3.9 accepts and is no weaker than the product's defaults, "
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
