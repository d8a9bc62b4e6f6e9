"""Frontegg trust: the workspace URL and the exact `iss` values Kong will match."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit

from components.errors import ConfigError, shown

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Labels of letters, digits, '-' and '_' (container names use '_'), at most 63 characters, 253 in all.
_DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NO_SLASH = (
    "Frontegg access tokens carry `iss` without a trailing slash and Kong matches it exactly, "
    "so a credential keyed with the slash would reject every token"
)


def is_loopback(host: str) -> bool:
    """True for hosts that never leave this machine (plain http is allowed only for them)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_host_name(host: str) -> bool:
    """True for a DNS name or an IP address."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_DNS_NAME.match(host))


def _split(value: object, key: str, example: str) -> SplitResult:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, shown(value), "expected a non-empty URL string", f"set it like {example}")
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise ConfigError(key, shown(value), f"not a valid URL ({error})", f"set it like {example}") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(key, shown(value), "expected an absolute http(s) URL with a host", f"set it like {example}")
    if not is_host_name(parts.hostname):
        raise ConfigError(key, shown(value), f"{shown(parts.hostname)} is not a valid host name", f"set it like {example}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(key, shown(value), "credentials in the URL are not allowed", "remove the user:password@ part")
    return parts


def _origin(parts: SplitResult) -> str:
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    suffix = "" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{host}{suffix}"


def _issuer_origin(value: object, key: str, *, drop_trailing_slash: bool) -> str:
    example = "https://app-abc123.frontegg.com"
    parts = _split(value, key, example)
    if parts.scheme.lower() != "https" and not is_loopback(parts.hostname or ""):
        raise ConfigError(
            key,
            shown(value),
            "plain http is only allowed for loopback hosts",
            f"use the https URL of the workspace, like {example}",
        )
    if parts.query or parts.fragment or (value if isinstance(value, str) else "").strip().endswith(("?", "#")):
        raise ConfigError(key, shown(value), "a query or fragment is not allowed", f"use only the origin, like {example}")
    if parts.path == "/" and not drop_trailing_slash:
        raise ConfigError(key, shown(value), f"ends with '/'; {_NO_SLASH}", "remove the trailing slash")
    if parts.path not in ("", "/"):
        raise ConfigError(
            key,
            shown(value),
            f"a path ({parts.path!r}) is not allowed; Frontegg issuers are bare origins",
            f"use only the origin, like {example}",
        )
    return _origin(parts)


def workspace_url(value: object, key: str) -> str:
    """The workspace URL as the `iss` its tokens carry: lower-case origin, no trailing slash."""
    return _issuer_origin(value, key, drop_trailing_slash=True)


def issuers(values: object, key: str) -> tuple[str, ...]:
    """Validate a list of exact issuers: non-empty, bare origins, no trailing slash, no duplicates."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ConfigError(key, shown(values), "expected a list of issuer URLs", 'set it like ["https://app-abc123.frontegg.com"]')
    if not values:
        raise ConfigError(
            key,
            "[]",
            "at least one issuer is needed, or no token can pass",
            "list the issuer, or leave the key unset to use the workspace URL",
        )
    result: list[str] = []
    for index, value in enumerate(values):
        issuer = _issuer_origin(value, f"{key}[{index}]", drop_trailing_slash=False)
        if issuer in result:
            raise ConfigError(
                key,
                shown(list(values)),
                f"{issuer} is listed twice; Kong allows one credential per issuer",
                "list each issuer once",
            )
        result.append(issuer)
    return tuple(result)


def upstream(value: object, key: str) -> tuple[str, str, int, str | None]:
    """Split a backend URL into Kong service fields: protocol, host, port, path."""
    example = "https://api.internal.example.com/v1"
    parts = _split(value, key, example)
    if parts.query or parts.fragment:
        raise ConfigError(
            key,
            shown(value),
            "a query or fragment is not allowed in the upstream URL",
            f"use scheme, host, port and path only, like {example}",
        )
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port if parts.port is not None else _DEFAULT_PORTS[scheme]
    path = parts.path or None
    return scheme, host, port, path
