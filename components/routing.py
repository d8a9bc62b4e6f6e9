"""Kong names and route matchers, checked as Kong 3.9 checks them, so a bad value fails before anything is declared."""

import re

from .errors import ConfigError, describe
from .schema import string_list, text
from .urls import is_host_name, path_problem

# kong/db/schema/typedefs.lua:96-104 (validate_name): alphanumerics and '., -, _, ~'.
_NAME = re.compile(r"[A-Za-z0-9._~-]+")
# kong/tools/uri.lua:28: reserved characters stay percent-encoded when Kong normalises a path; others are decoded.
_RESERVED = "!*'();:@&=+$,/?%#[]"
# Regex syntax in a path without Kong's `~` prefix: Kong 3 matches such a path literally, which is never what was meant.
_REGEX_SYNTAX = re.compile(r"[\\^$|?*+()\[\]{}]")
_METHOD = re.compile(r"[A-Z]+")


def kong_name(value: object, key: str) -> str:
    """A Kong entity name: letters, digits and . _ ~ - only."""
    name = text(value, key, '"orders-api"')
    if not _NAME.fullmatch(name):
        raise ConfigError(
            key, describe(name), "Kong names may only hold letters, digits, '.', '_', '~' and '-'", 'set it like "orders-api"'
        )
    return name


def _percent_normalised(path: str) -> str:
    """The path as Kong normalises its percent-encoding (kong/tools/uri.lua:48-59, 84-89): reserved characters stay
    encoded, upper-cased; everything else is decoded (so Kong wants "/café", not "/caf%C3%A9")."""
    decoded = bytearray()
    for piece in re.split(r"(%[0-9A-Fa-f]{2})", path):
        if piece.startswith("%") and len(piece) == 3:
            char = int(piece[1:], 16)
            decoded += piece.upper().encode() if chr(char) in _RESERVED else bytes([char])
        else:
            decoded += piece.encode()
    return decoded.decode("utf-8", errors="replace")


def regex_problem(pattern: str) -> str | None:
    """Why Kong's PCRE2 would refuse this regex, or None: Python's re judges it, after the PCRE-only syntax it lacks is
    set aside ((?<name>...), \\p{..}, flags in the middle), and with the escapes PCRE2 refuses (\\u, \\U, \\N{) refused."""
    if re.search(r"(?<!\\)(\\\\)*\\(u|U|N\{)", pattern):
        return "uses \\u, \\U or \\N{...}, which PCRE (Kong's regex engine) does not know: write \\x{...} or the character"
    python = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern)
    python = re.sub(r"\\[pP]\{[^}]*\}", ".", python)
    python = re.sub(r"(?<!^)\(\?[aiLmsux]+\)", "", python)
    try:
        re.compile(python)
    except (re.error, RecursionError, OverflowError) as error:
        return f"is not a valid regex ({str(error).split(' at position')[0]})"
    return None


def route_path(value: str, key: str) -> str:
    """A route path as Kong 3.9 accepts it (typedefs.lua:500-525, 578-592): a normalised prefix, or `~` and a regex."""
    if any(char.isspace() for char in value):
        raise ConfigError(key, describe(value), "has spaces", "percent-encode them as %20")
    if value.startswith("~"):
        if not value.startswith("~/"):
            raise ConfigError(key, describe(value), "a regex path must start with '~/'", 'write it like "~/orders/\\\\d+$"')
        if "//" in value or re.search(r"%(?![0-9A-Fa-f]{2})", value):
            raise ConfigError(key, describe(value), "has an empty segment or bad percent-encoding", "fix the regex")
        problem = regex_problem(value[1:])
        if problem:
            raise ConfigError(key, describe(value), problem, "fix the regex after '~'")
        return value
    if "#" in value:
        raise ConfigError(key, describe(value), "has a '#': browsers never send a fragment, so the route could never match", "remove it")
    if _REGEX_SYNTAX.search(value):
        raise ConfigError(
            key,
            describe(value),
            "looks like a regex, but Kong 3 treats a path as a regex only with a '~' prefix and would match it literally",
            "prefix it with '~' for a regex, or percent-encode the character if it is meant literally",
        )
    problem = path_problem(value, rfc3986=False)
    if problem:
        raise ConfigError(key, describe(value), f"the path {problem}; Kong refuses it", 'use a path like "/orders"')
    normalised = _percent_normalised(value)
    if normalised != value:
        # Suggest Kong's own form only when it would itself be accepted (%00 decodes to a control character, %2e%2e to '..').
        try:
            route_path(text(normalised, key, '"/orders"'), key)
            fix = f"write it as {describe(normalised)}"
        except ConfigError:
            fix = "remove the percent-encoded character: Kong would decode it into something no route may hold"
        raise ConfigError(
            key,
            describe(value),
            "is not normalised: Kong decodes percent-encoded letters, digits and -._~ and upper-cases the rest",
            fix,
        )
    return value


def route_host(value: str, key: str) -> str:
    """A route host, lower-cased: a DNS name or IP, an optional port, at most one '*' as the first or last label."""
    if not value.isascii():
        raise ConfigError(key, describe(value), "has characters outside ASCII", "write an international host name in its xn-- form")
    host = value.lower()
    bracketed = re.fullmatch(r"\[([0-9a-f:]+)\](?::([0-9]{1,5}))?", host)
    if bracketed:
        bare, port = bracketed.group(1), bracketed.group(2) or ""
    elif host.count(":") == 1 and re.search(r":[0-9]{1,5}\Z", host):
        bare, _, port = host.rpartition(":")
    else:
        bare, port = host, ""
    if port and not 1 <= int(port) <= 65535:
        raise ConfigError(key, describe(value), "the port is out of range", "use a port from 1 to 65535, or none")
    # kong/db/schema/typedefs.lua:571-590: one wildcard, leftmost or rightmost label.
    if bare.count("*") > 1 or ("*" in bare and not (bare.startswith("*.") or bare.endswith(".*"))):
        raise ConfigError(key, describe(value), "a '*' may only be the whole first or last label, once", 'use "*.example.com"')
    if not is_host_name(bare.removeprefix("*.").removesuffix(".*")):
        raise ConfigError(key, describe(value), "is not a host name", 'use names like "api.example.com" or "*.example.com"')
    return host


def route_method(value: str, key: str) -> str:
    """An HTTP method, upper-cased (typedefs.lua:247-251: upper-case letters only)."""
    if not value.isascii():
        raise ConfigError(key, describe(value), "is not an HTTP method", 'use methods like "GET"')
    method = value.upper()
    if not _METHOD.fullmatch(method):
        raise ConfigError(key, describe(value), "is not an HTTP method", 'use methods like "GET"')
    return method


def route_paths(value: object, key: str) -> list[str]:
    return string_list(value, key, '["/orders"]', route_path, unique_as="path")


def route_hosts(value: object, key: str) -> list[str]:
    return string_list(value, key, '["api.example.com"]', route_host, unique_as="host (host names are not case-sensitive)")


def route_methods(value: object, key: str) -> list[str]:
    return string_list(value, key, '["GET", "POST"]', route_method, unique_as="method (methods are not case-sensitive)")
