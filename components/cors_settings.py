"""CORS settings: Kong's cors plugin in front of the token check, so browser apps' preflights get an answer.

Kong's cors plugin (PRIORITY 2000, kong/plugins/cors/handler.lua:20) answers a real preflight itself before the jwt
plugin (1450) runs, so `runOnPreflight` stays true and an OPTIONS request that is not a preflight still needs a token.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from .errors import ConfigError, describe
from .routing import regex_problem
from .schema import CALLER, Field, Schema, flag, http_token, string_list, whole_number
from .urls import is_host_name, is_loopback

# kong/plugins/cors/schema.lua:5-15: the methods Kong's cors plugin knows.
KONG_METHODS = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT")
# kong/plugins/cors/handler.lua:77, 100: an entry of only these characters is an exact origin, anything else a regex.
_EXACT = re.compile(r"[A-Za-z0-9.:/-]+")
_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:]+\])(:[0-9]{1,5})?")
REGEX_EXAMPLE = r"^https://[a-z0-9-]+\.example\.com$"


class CorsSettings(TypedDict, total=False):
    """Which browser origins may call the API; Kong's cors plugin answers their preflights before the token check."""

    origins: Sequence[str]
    """Required: exact origins ("https://app.example.com") or regexes ("^https://[a-z0-9-]+\\.example\\.com$"); "*" allows any site."""
    credentials: bool
    """Whether browsers may send cookies (Access-Control-Allow-Credentials). Default false; never with "*"."""
    methods: Sequence[str]
    """Methods browsers may use. Default GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS."""
    headers: Sequence[str]
    """Request headers browsers may send. Default ["Authorization", "Content-Type"]."""
    exposed_headers: Sequence[str]
    """Response headers scripts may read. Default []."""
    max_age: int
    """Seconds a browser may cache a preflight answer, 0 to 86400. Default 600."""


def _origin(value: str, key: str) -> str:
    if value == "*":
        return value
    if _EXACT.fullmatch(value):
        match = _ORIGIN.fullmatch(value.lower())
        if not match:
            raise ConfigError(
                key,
                describe(value),
                "is not an origin: a scheme and a host, no path or trailing slash (a browser's Origin never has a path, and "
                "Kong matches an entry without a scheme unpredictably: never inside a list, verbatim when alone)",
                'write it like "https://app.example.com"',
            )
        scheme, host, port = match.groups()
        if not is_host_name(host.strip("[]")) or (port and not 1 <= int(port[1:]) <= 65535):
            raise ConfigError(
                key,
                describe(value),
                "no browser sends this origin: the host or port is not valid",
                'write it like "https://app.example.com"',
            )
        if scheme == "http" and not is_loopback(host.strip("[]")):
            raise ConfigError(key, describe(value), "plain http origins are only allowed for localhost", "use the https origin")
        return value.lower()
    problem = regex_problem(value)
    if problem:
        raise ConfigError(key, describe(value), problem, f"write a regex like {REGEX_EXAMPLE}")
    if _top_level_alternation(value):
        # handler.lua:115-121 appends "$" to the whole entry, which then anchors only the last alternative.
        raise ConfigError(
            key,
            describe(value),
            "has a '|' outside any group, so Kong anchors only its last alternative (https://a.example.com.evil.com would match)",
            r"group the alternatives: ^https://(a|b)\.example\.com$",
        )
    if "://" not in value:
        raise ConfigError(
            key,
            describe(value),
            "a regex without the scheme is matched against the host alone, so any scheme and port would pass",
            f"include the scheme, like {REGEX_EXAMPLE}",
        )
    if re.search(r"://\*|^\*|\*\.", value):
        raise ConfigError(
            key,
            describe(value),
            "looks like a glob ('*.example.com'), but Kong reads origins as regexes, where '*' repeats the character before it",
            f"write a regex like {REGEX_EXAMPLE}",
        )
    return value


def _top_level_alternation(pattern: str) -> bool:
    depth, escaped, in_class = 0, False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
    return False


def _origins(value: object, key: str) -> list[str]:
    origins = string_list(value, key, '["https://app.example.com"]', _origin, unique_as="origin")
    if not origins:
        # kong/plugins/cors/handler.lua:68-71: no origins at all means "*".
        raise ConfigError(
            key, "[]", "at least one origin is needed (Kong treats an empty list as every site)", 'set ["https://app.example.com"]'
        )
    if "*" in origins and len(origins) > 1:
        raise ConfigError(
            key, describe(origins), '"*" allows every site, so the other entries would mean nothing', 'keep either "*" or the list'
        )
    return origins


def _method(value: str, key: str) -> str:
    if value.upper() not in KONG_METHODS:
        raise ConfigError(key, describe(value), f"Kong's cors plugin knows only {list(KONG_METHODS)}", 'use methods like "GET"')
    return value.upper()


_header = http_token("header name")


def _headers(value: object, key: str) -> list[str]:
    headers = string_list(value, key, '["Authorization", "Content-Type"]', _header, unique_as="header")
    if "*" in headers:
        raise ConfigError(key, describe(headers), '"*" would let browsers send any header', 'list them, e.g. ["Authorization"]')
    if not headers:
        # kong/plugins/cors/handler.lua: with no headers configured, Kong echoes whatever headers the browser asks for.
        raise ConfigError(key, "[]", "an empty list would let browsers send any header", 'list them, e.g. ["Authorization"]')
    return headers


CORS_SCHEMA = Schema(
    "cors setting",
    (
        Field("origins", _origins),
        Field("credentials", flag, False),
        Field("methods", lambda v, k: string_list(v, k, '["GET", "POST"]', _method, unique_as="method"), list(KONG_METHODS[:7])),
        Field("headers", _headers, ["Authorization", "Content-Type"]),
        Field("exposed_headers", lambda v, k: string_list(v, k, '["X-Request-Id"]', _header, unique_as="header"), []),
        Field("max_age", lambda v, k: whole_number(v, k, 0, 86_400, "600"), 600),
    ),
)


def cors_settings(value: object, key: str) -> dict[str, Any]:
    """Check the CORS settings: origins are required; "*" never goes with credentials."""
    settings = CORS_SCHEMA.normalise(value, prefix=key + ".")
    if settings["origins"] == ["*"] and settings["credentials"]:
        spelled = CORS_SCHEMA.field("credentials").spelled(CALLER.get().spelling)
        raise ConfigError(
            f"{key}.{spelled}",
            'true, with origins ["*"]',
            "credentials with every origin would let any website act with a user's cookies (and browsers refuse it)",
            "list the exact origins of your apps, or keep credentials false",
        )
    return settings


def plugin_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Kong's cors plugin config: all eight fields of Kong 3.9's schema (kong/plugins/cors/schema.lua:30-50)."""
    return {
        "origins": settings["origins"],
        "credentials": settings["credentials"],
        "methods": settings["methods"],
        "headers": settings["headers"],
        # Kong's default for exposed_headers is null; [] would read back differently under strict matching.
        "exposed_headers": settings["exposed_headers"] or None,
        "max_age": settings["max_age"],
        "private_network": False,
        # The preflight is answered by Kong, never proxied upstream without a token.
        "preflight_continue": False,
    }


def warnings(settings: Mapping[str, Any]) -> list[str]:
    """Explain CORS settings that open the API to more sites than a list of origins would."""
    if settings["origins"] == ["*"]:
        return ['cors.origins is ["*"]: any website can call this API from a browser (requests still need a valid token).']
    return []
