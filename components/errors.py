"""The one error type for bad configuration, and how a given value is described in it without leaking secrets."""

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

_MAX_SHOWN = 80
_MAX_DEPTH = 32
# Runs of token characters long enough to be a pasted API secret, client secret, password, JWT part or key material;
# '/' and '.' end a run, so paths and host names are judged label by label.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+=_\-!#$%&*@^~]{16,}")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.")
_USERINFO_PASSWORD = re.compile(r"(^|//)[^/@\s:]+:[^/@\s]+@")
_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_HIDDEN: ContextVar[bool] = ContextVar("kong_frontegg_jwt_hidden", default=False)


@contextmanager
def hiding_values() -> Iterator[None]:
    """Within this block, describe() shows no value at all: for values that are secrets (or may be)."""
    token = _HIDDEN.set(True)
    try:
        yield
    finally:
        _HIDDEN.reset(token)


def hiding() -> bool:
    """Whether values are being hidden (see hiding_values)."""
    return _HIDDEN.get()


def _entropy(text: str) -> float:
    counts = {char: text.count(char) for char in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_like_a_name(run: str) -> bool:
    """Hyphenated or underscored words ("orders-api-v2-eu"): a name someone chose, not a generated secret."""
    parts = re.split(r"[-_]", run)
    return len(parts) > 1 and all(part.isalpha() or len(part) <= 3 for part in parts)


def _looks_random(run: str) -> bool:
    if _looks_like_a_name(run):
        return False
    classes = sum(bool(re.search(pattern, run)) for pattern in ("[a-z]", "[A-Z]", "[0-9]", r"[^A-Za-z0-9]"))
    if len(run) >= 24 and classes >= 2 and re.search("[0-9]", run) and re.search("[A-Za-z]", run) and _entropy(run) >= 3.0:
        return True  # long random-looking tokens: API keys, base32/base64 secrets, UUIDs without dashes
    return classes >= 3 and _entropy(run) >= 3.3  # shorter passwords mixing cases, digits and symbols


def secret_kind(value: object, depth: int = 0) -> str | None:
    """What kind of secret the value looks like ("a PEM private key", ...), or None when it looks harmless to show."""
    if depth > _MAX_DEPTH:
        return "a deeply nested value"
    if isinstance(value, Mapping):
        if value.get("kty") is not None and any(member in value for member in _PRIVATE_JWK_MEMBERS):
            return "a private JWK"
        return next((kind for item in value.values() if (kind := secret_kind(item, depth + 1))), None)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return next((kind for item in value if (kind := secret_kind(item, depth + 1))), None)
    if not isinstance(value, str):
        return None
    if "PRIVATE KEY" in value:
        return "a PEM private key"
    if "-----BEGIN" in value:
        return "PEM key material"
    if _USERINFO_PASSWORD.search(value.strip()):
        return "a URL with a password"
    if re.search(r'"(d|p|q|dp|dq|qi|oth|k)"\s*:', value) and '"kty"' in value:
        return "a private JWK"
    if _JWT.search(value):
        return "a token"
    if _HEX.search(value) or any(_looks_random(run) for run in _TOKEN_RUN.findall(value)):
        return "a value that looks like a secret"
    return None


def describe(value: object) -> str:
    """A short, printable description of a given value: the value itself, unless it looks like (or is) a secret."""
    if _HIDDEN.get():
        return "a secret (not shown)"
    kind = secret_kind(value)
    if kind is not None:
        size = f"{len(value)} characters, " if isinstance(value, str) else ""
        return f"{kind} ({size}not shown)"
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class ConfigError(ValueError):
    """Bad configuration: the message names the key (in the caller's spelling), what was given and how to fix it."""

    def __init__(self, key: str, given: str, problem: str, fix: str) -> None:
        self.key = key
        self.given = given
        self.problem = problem
        self.fix = fix
        super().__init__(f"{key}: {problem} (given: {given}). Fix: {fix}")

    @property
    def reason(self) -> str:
        """The message without the key, for callers that show the key apart (e.g. a provider's property path)."""
        return f"{self.problem} (given: {self.given}). Fix: {self.fix}"
