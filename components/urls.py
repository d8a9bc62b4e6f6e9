"""URL rules: issuer origins (what Kong matches `iss` against), upstream URLs (a Kong service) and host names."""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from .errors import ConfigError, describe
from .schema import has_control_characters

DEFAULT_PORTS = {"http": 80, "https": 443}
ISSUER_EXAMPLE = "https://app-abc123.frontegg.com"
UPSTREAM_EXAMPLE = "https://api.internal.example.com/v1"
# Labels of letters, digits, '-' and '_' (container names use '_'), at most 63 characters, 253 in all.
_DNS_NAME = re.compile(r"(?=.{1,253}\Z)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
# kong/db/schema/typedefs.lua:71-93 (typedefs.path): RFC 3986 unreserved, sub-delims, ':', '@', '/' and '%'.
_PATH_CHARACTERS = re.compile(r"/[A-Za-z0-9._~/%:@!$&'()*+,;=-]*")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NO_SLASH = (
    "Frontegg access tokens carry `iss` without a trailing slash and Kong matches it exactly, "
    "so a credential keyed with the slash would reject every token"
)


def is_loopback(host: str) -> bool:
    """True only for localhost, 127.0.0.0/8 and ::1: plain http is allowed for nothing else.

    Names under .localhost are not counted: nothing guarantees that a resolver keeps them on this machine.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_host_name(host: str) -> bool:
    """True for a lower-case ASCII DNS name or an IP address, told apart as Kong does (kong/tools/ip.lua:121-130):
    two or more colons make an IPv6 address, only digits and dots an IPv4 one, and each must then be valid."""
    if not host.isascii():
        return False
    if host.count(":") > 1:
        if "." in host or "%" in host:
            return False  # Kong's IPv6 parser takes neither an embedded IPv4 address nor a zone
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return bool(_DNS_NAME.fullmatch(host))


def _split(value: object, key: str, example: str) -> SplitResult:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, describe(value), "expected a non-empty URL", f"set it like {example}")
    # urlsplit silently drops tabs and newlines; a URL carrying them is a paste accident or an injection attempt.
    if has_control_characters(value) or " " in value.strip():
        raise ConfigError(key, describe(value), "contains spaces or control characters (a newline, tab or similar)", "remove them")
    # urlsplit lower-cases with Unicode rules (the Kelvin sign becomes "k"): a host must be ASCII before anything else.
    if not value.isascii():
        raise ConfigError(key, describe(value), "has characters outside ASCII", "write an international host name in its xn-- form")
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        # urlsplit's own message quotes the bad port, which may be anything pasted there: say what it means instead.
        what = "the port is not a number from 0 to 65535" if "port" in str(error).lower() else "brackets or characters out of place"
        raise ConfigError(key, describe(value), f"not a valid URL ({what})", f"set it like {example}") from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            key,
            describe(value) if parts.password is None else "a URL with a password (not shown)",
            "credentials in the URL are not allowed (Kong would not use them, and they would show in every preview)",
            "remove the user:password@ part; if a password was pasted here, rotate it",
        )
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigError(key, describe(value), "expected an absolute http(s) URL with a host", f"set it like {example}")
    if not is_host_name(parts.hostname):
        raise ConfigError(key, describe(value), "the host is not a valid host name", f"set it like {example}")
    if parts.port == 0:
        raise ConfigError(key, describe(value), "port 0 cannot be connected to", "give a port from 1 to 65535, or none for the default")
    return parts


def _origin(parts: SplitResult) -> str:
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    suffix = "" if port is None or port == DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{host}{suffix}"


def _issuer_origin(value: object, key: str, *, drop_trailing_slash: bool) -> str:
    parts = _split(value, key, ISSUER_EXAMPLE)
    if parts.scheme.lower() != "https" and not is_loopback(parts.hostname or ""):
        raise ConfigError(
            key,
            describe(value),
            "plain http is only allowed for localhost, 127.0.0.0/8 and ::1",
            f"use the https URL of the workspace, like {ISSUER_EXAMPLE}",
        )
    if parts.query or parts.fragment or str(value).strip().endswith(("?", "#")):
        raise ConfigError(key, describe(value), "a query or fragment is not allowed", f"use only the origin, like {ISSUER_EXAMPLE}")
    if parts.path == "/" and not drop_trailing_slash:
        raise ConfigError(key, describe(value), f"ends with '/'; {_NO_SLASH}", "remove the trailing slash")
    if parts.path not in ("", "/"):
        raise ConfigError(
            key, describe(value), "a path is not allowed; Frontegg issuers are bare origins", f"use only the origin, like {ISSUER_EXAMPLE}"
        )
    return _origin(parts)


def workspace_url(value: object, key: str) -> str:
    """The workspace URL as the `iss` its tokens carry: lower-case origin, no trailing slash."""
    return _issuer_origin(value, key, drop_trailing_slash=True)


def issuer(value: object, key: str) -> str:
    """One exact issuer: a bare origin, no trailing slash (Kong matches `iss` byte for byte)."""
    return _issuer_origin(value, key, drop_trailing_slash=False)


def path_problem(path: str, *, rfc3986: bool = True) -> str | None:
    """Why Kong 3.9 would refuse this URL path (kong/db/schema/typedefs.lua:71-93, 318-328), or None.

    Route paths skip the RFC 3986 character check, as Kong does (typedefs.lua:500-506 keeps only its percent error).
    """
    if not path.startswith("/"):
        return "does not start with '/'"
    if "//" in path:
        return "has an empty segment ('//')"
    if _PERCENT.search(path):
        return "has a '%' that is not followed by two hex digits (bad percent-encoding)"
    if rfc3986 and not _PATH_CHARACTERS.fullmatch(path):
        return "has characters outside RFC 3986 (percent-encode them)"
    if any(segment in (".", "..") for segment in path.split("/")):
        return "has a '.' or '..' segment (not normalised)"
    return None


@dataclass(frozen=True)
class Upstream:
    """A backend URL as Kong service fields."""

    protocol: str
    host: str
    port: int
    path: str
    """Always set: Kong proxies a service without a path exactly as one with "/" (kong/router/utils.lua:238), and
    sending "/" keeps removing a path effective (the provider leaves empty values out of its PATCH, Kong merges)."""


def upstream(value: object, key: str) -> Upstream:
    """Split a backend URL into Kong service fields."""
    parts = _split(value, key, UPSTREAM_EXAMPLE)
    if parts.query or parts.fragment or str(value).strip().endswith(("?", "#")):
        raise ConfigError(
            key,
            describe(value),
            "a query or fragment is not allowed in the upstream URL",
            f"use scheme, host, port and path only, like {UPSTREAM_EXAMPLE}",
        )
    path = parts.path or "/"
    problem = path_problem(path)
    if problem:
        raise ConfigError(key, describe(value), f"the path {problem}; Kong refuses such a service path", "use a path like /v1")
    scheme = parts.scheme.lower()
    return Upstream(scheme, parts.hostname or "", parts.port or DEFAULT_PORTS[scheme], path)
