"""Argument schemas: each argument of a component once, as a row of its name, default, rule and whether it may wait.

One `Schema.normalise` serves every caller: Python programs (snake_case), other Pulumi languages through the
provider (camelCase) and stack config (`kong-frontegg-jwt:<key>`). Errors name the argument the way the caller wrote it.
"""

import contextlib
import copy
import difflib
import unicodedata
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import pulumi

from .errors import ConfigError, describe, hiding, hiding_values, secret_kind


class Spelling(Enum):
    """How a caller spells argument names."""

    PYTHON = "python"
    """snake_case, as Python programs pass args."""
    CAMEL = "camel"
    """camelCase, as other Pulumi languages do through the provider."""
    CONFIG = "config"
    """Stack config: top-level keys by their config name, nested keys camelCase."""


@dataclass(frozen=True)
class Caller:
    """Who is passing arguments now: how they spell names, and what their keys sit under (e.g. a config namespace)."""

    spelling: Spelling = Spelling.PYTHON
    prefix: str = ""


CALLER: ContextVar[Caller] = ContextVar("kong_frontegg_jwt_caller", default=Caller())  # noqa: B039 - frozen
"""Whoever is constructing a component now; errors name arguments their way. The provider host sets CAMEL."""

_KEYS: ContextVar[Spelling] = ContextVar("kong_frontegg_jwt_keys", default=Spelling.PYTHON)
"""How the keys of the values being normalised are spelled (constructors always get Python names)."""

_PROBLEMS: ContextVar[list[ConfigError] | None] = ContextVar("kong_frontegg_jwt_problems", default=None)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


_MAX_DEPTH = 16
REQUIRED: Any = _Required()
"""The default of an argument that must be given."""


class _Opaque:
    def __repr__(self) -> str:
        return "OPAQUE"


OPAQUE: Any = _Opaque()
"""A value that is present but cannot be read here (an encrypted `secure:` stack value): counted as given, not checked."""

Rule = Callable[[Any, str], Any]
"""Checks and normalises one value; the second argument is the value's key in the caller's spelling."""


def camel(name: str) -> str:
    """snake_case to camelCase, as Pulumi's component analyzer names schema properties."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(frozen=True)
class Field:
    """One argument: its Python name, default, rule, and whether it may be an Output known only at deployment."""

    name: str
    rule: Rule
    default: Any = REQUIRED
    deploy_time: bool = False
    """True for values that can wait for deployment (an Output): checked when they resolve."""
    config_name: str | None = None
    """The stack config key, when it differs from the camelCase name."""

    def spelled(self, spelling: Spelling) -> str:
        if spelling is Spelling.PYTHON:
            return self.name
        if spelling is Spelling.CONFIG and self.config_name:
            return self.config_name
        return camel(self.name)

    def but(self, **changes: Any) -> "Field":
        """The same argument with other settings (e.g. a stack config name and default)."""
        return replace(self, **changes)


class _CollectedError(Exception):
    """Raised by a nested normalise in collecting mode: its problems are already recorded."""


@contextmanager
def collecting() -> Iterator[list[ConfigError]]:
    """Within this block, normalise records every problem instead of stopping at the first."""
    problems: list[ConfigError] = []
    token = _PROBLEMS.set(problems)
    try:
        yield problems
    finally:
        _PROBLEMS.reset(token)


def is_known(value: object, depth: int = 0) -> bool:
    """True when the value, and everything inside it, is known now (no Output or awaitable).

    Past a depth no argument has, the rules judge the value (and refuse it) instead of this walk going on.
    """
    if isinstance(value, (pulumi.Output, Awaitable)):
        return False
    if depth > _MAX_DEPTH:
        return True
    if isinstance(value, Mapping):
        return all(is_known(item, depth + 1) for item in value.values())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return all(is_known(item, depth + 1) for item in value)
    return True


@dataclass(frozen=True)
class Schema:
    """The arguments of one component (or one nested settings object)."""

    what: str
    """What the arguments belong to, for messages, e.g. "ProtectedApi argument"."""
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        return next(field for field in self.fields if field.name == name)

    def key(self, name: str) -> str:
        """How the current caller names this argument."""
        caller = CALLER.get()
        return caller.prefix + self.field(name).spelled(caller.spelling)

    def normalise(
        self,
        values: object,
        *,
        prefix: str | None = None,
        keys: Spelling | None = None,
        partial: bool = False,
        secret: Collection[str] = (),
    ) -> dict[str, Any]:
        """Check every argument and fill in defaults: a dict by Python name, or ConfigError naming the first problem.

        `keys` is how the names in `values` are spelled (default: as the enclosing call, Python for constructors);
        messages name each argument as the caller does, after `prefix` ("jwt.", "apis[1].", "kong-frontegg-jwt:").
        Within `collecting()`, problems are recorded instead; with `partial`, what could be checked is returned (the
        arguments with problems as None) so that checks across arguments can still run. The arguments named in `secret`
        (Python names) are checked without any of their value showing in a message.
        """
        caller = CALLER.get()
        spelling = caller.spelling
        keys = keys or _KEYS.get()
        prefix = caller.prefix if prefix is None else prefix
        problems = _PROBLEMS.get()
        recorded = len(problems) if problems is not None else 0

        def problem(error: ConfigError) -> None:
            if problems is None:
                raise error
            problems.append(error)

        if not isinstance(values, Mapping):
            problem(ConfigError(prefix.rstrip(".:") or "args", describe(values), f"expected an object of {self.what}s", self._example()))
            raise _CollectedError
        by_key = {field.spelled(keys): field for field in self.fields}
        for given in values:
            if given not in by_key:
                problem(self._unknown(given, prefix, spelling))
        result: dict[str, Any] = {}
        token = _KEYS.set(keys)
        try:
            for given, field in by_key.items():
                key = prefix + field.spelled(spelling)
                if given not in values or values[given] is None:
                    if field.default is REQUIRED:
                        problem(ConfigError(key, "nothing", f"this {self.what} is required", f"set {key}"))
                        continue
                    # A default goes through its rule too: nested settings fill in their own defaults.
                    default = copy.deepcopy(field.default)
                    result[field.name] = None if default is None else field.rule(default, key)
                    continue
                if values[given] is OPAQUE:
                    result[field.name] = None
                    continue
                try:
                    with hiding_values() if field.name in secret else contextlib.nullcontext():
                        result[field.name] = self._check(field, values[given], key)
                except ConfigError as error:
                    problem(error)
                except _CollectedError:
                    continue
        finally:
            _KEYS.reset(token)
        if problems is not None and len(problems) > recorded:
            if not partial:
                raise _CollectedError
            return {field.name: result.get(field.name) for field in self.fields}
        return result

    def _check(self, field: Field, value: object, key: str) -> Any:
        if is_known(value):
            return field.rule(value, key)
        if not field.deploy_time:
            raise ConfigError(
                key,
                "an Output or other value not known until deployment",
                "this value decides which Kong resources are declared, so it must be known when the program runs",
                "pass a plain value (from config or a literal), not another resource's output",
            )

        def checked(resolved: Any) -> Any:
            # An Output may be a secret, and here that cannot be told: never show what it held, nor any part of it.
            with hiding_values():
                try:
                    return field.rule(resolved, key)
                except ConfigError as error:
                    raise ConfigError(key, "a value known at deployment (not shown)", error.problem, error.fix) from None

        return pulumi.Output.from_input(value).apply(checked)

    def _unknown(self, given: object, prefix: str, spelling: Spelling) -> ConfigError:
        if not isinstance(given, str):
            return ConfigError(prefix.rstrip(".:") or "args", describe(given), "argument names must be strings", self._example())
        names = [field.spelled(spelling) for field in self.fields]
        # The right argument in another spelling (claims_to_verify for claimsToVerify) is named outright.
        other = next((f for f in self.fields if given in (f.name, camel(f.name), f.config_name)), None)
        close = [other.spelled(spelling)] if other else difflib.get_close_matches(given, names, n=1)
        fix = f"did you mean {prefix}{close[0]}?" if close else f"use one of {sorted(names)}"
        if hiding():
            shown = "<a name, not shown>"
        elif has_control_characters(given) or len(given) > 80 or secret_kind(given) is not None:
            shown = describe(given)
        else:
            shown = given
        return ConfigError(prefix + shown, "a name this component does not read", f"unknown {self.what} (a typo would be ignored)", fix)

    def _example(self) -> str:
        names = ", ".join(field.spelled(CALLER.get().spelling) for field in self.fields[:3])
        return f"pass an object with keys like {names}"


@contextmanager
def calling_as(spelling: Spelling, prefix: str = "") -> Iterator[None]:
    """Within this block, components name their arguments in this spelling, after this prefix."""
    token = CALLER.set(Caller(spelling, prefix))
    try:
        yield
    finally:
        CALLER.reset(token)


# --- rules shared by the components ------------------------------------------------------------------------------


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_control_characters(text: str) -> bool:
    """CR, LF, tab and every other control character: never meaningful in a name, URL, path or key id."""
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)


def text(value: object, key: str, example: str, *, empty_ok: bool = False) -> str:
    """A string without control characters or surrounding spaces."""
    if not isinstance(value, str):
        raise ConfigError(key, describe(value), "expected a string", f"set it like {example}")
    if has_control_characters(value):
        raise ConfigError(key, describe(value), "contains control characters (a newline, tab or similar)", "remove them")
    if not _is_encodable(value) or any(unicodedata.category(char) == "Cf" for char in value):
        raise ConfigError(key, describe(value), "contains invisible or invalid characters (zero-width, bidi, lone surrogates)", "retype it")
    if value != value.strip():
        raise ConfigError(key, describe(value), "has spaces at the start or end", "remove them")
    if not value and not empty_ok:
        raise ConfigError(key, "an empty string", "a value is needed", f"set it like {example}")
    return value


def flag(value: object, key: str) -> bool:
    """true or false, never a string or number."""
    if not isinstance(value, bool):
        raise ConfigError(key, describe(value), "expected true or false", "set true or false (no quotes)")
    return value


def whole_number(value: object, key: str, low: int, high: int, example: str) -> int:
    """An integer in [low, high]; a float that is a whole number (as other languages send numbers) is accepted."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, describe(value), f"expected a whole number from {low} to {high}", f"set it like {example}")
    return value


def string_list(value: object, key: str, example: str, item: Callable[[str, str], str], *, unique_as: str = "entry") -> list[str]:
    """A list of strings, each checked and normalised by `item`; duplicates (after normalising) are refused."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(key, describe(value), "expected a list", f"set it like {example}")
    result: list[str] = []
    for index, entry in enumerate(value):
        normalised = item(text(entry, f"{key}[{index}]", example), f"{key}[{index}]")
        if normalised in result:
            raise ConfigError(
                f"{key}[{index}]", describe(entry), f"the same {unique_as} as {key}[{result.index(normalised)}]", "list each once"
            )
        result.append(normalised)
    return result


def http_token(what: str) -> Callable[[str, str], str]:
    """A rule for header, cookie and parameter names: an HTTP token (RFC 9110 section 5.6.2)."""

    def rule(value: str, key: str) -> str:
        if not value.isascii() or not all(char.isalnum() or char in "!#$%&'*+.^_`|~-" for char in value):
            raise ConfigError(key, describe(value), f"is not a valid {what}", "use letters, digits, - and _")
        return value

    return rule


def one_of(enum: type[Enum], value: object, key: str) -> Any:
    """An Enum member, given as the member or its value."""
    try:
        return enum(value.value if isinstance(value, enum) else value)
    except ValueError:
        choices = [member.value for member in enum]
        raise ConfigError(key, describe(value), f"expected one of {choices}", f"set one of {choices}") from None
