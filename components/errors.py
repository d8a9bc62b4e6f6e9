"""The one error type for bad configuration, and how a given value is described in it without leaking secrets."""

import math
import re
from collections.abc import Mapping, Sequence

_MAX_SHOWN = 80
# A run of token characters long enough to be a pasted API secret, client secret, JWT part or key material.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_\-]{20,}")
_JWT = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@", re.IGNORECASE)
_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def _entropy(text: str) -> float:
    counts = {char: text.count(char) for char in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_random(run: str) -> bool:
    classes = sum(bool(re.search(pattern, run)) for pattern in ("[a-z]", "[A-Z]", "[0-9]", "[+/=_-]"))
    return classes >= 3 and _entropy(run) >= 3.5


def secret_kind(value: object) -> str | None:
    """What kind of secret the value looks like ("a PEM private key", ...), or None when it looks harmless to show."""
    if isinstance(value, Mapping):
        if value.get("kty") is not None and any(member in value for member in _PRIVATE_JWK_MEMBERS):
            return "a private JWK"
        return next((kind for item in value.values() if (kind := secret_kind(item))), None)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return next((kind for item in value if (kind := secret_kind(item))), None)
    if not isinstance(value, str):
        return None
    if "PRIVATE KEY" in value:
        return "a PEM private key"
    if "-----BEGIN" in value:
        return "PEM key material"
    if _URL_PASSWORD.search(value.strip()):
        return "a URL with a password"
    if re.search(r'"(d|p|q|dp|dq|qi|oth|k)"\s*:', value) and '"kty"' in value:
        return "a private JWK"
    if _JWT.search(value):
        return "a token"
    if any(_looks_random(run) for run in _TOKEN_RUN.findall(value)):
        return "a value that looks like a secret"
    return None


def describe(value: object) -> str:
    """A short, printable description of a given value: the value itself, unless it looks like a secret."""
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
