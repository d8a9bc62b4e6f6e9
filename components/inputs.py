"""Component arguments: plain values are checked at once, Outputs when they resolve."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import pulumi

from components.errors import ConfigError

T = TypeVar("T")


def is_plain(value: object) -> bool:
    """True when the value, and everything inside it, is known now (no Output or awaitable)."""
    if isinstance(value, (pulumi.Output, Awaitable)):
        return False
    if isinstance(value, Mapping):
        return all(is_plain(item) for item in value.values())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return all(is_plain(item) for item in value)
    return True


def known(value: Any, key: str) -> Any:
    """Insist on a value known when the program runs, because it decides which resources exist."""
    if not is_plain(value):
        raise ConfigError(
            key,
            "an Output or other value not known until deployment",
            "this value decides which Kong resources are declared, so it must be known when the program runs",
            "pass plain values (read them from config, not from another resource's outputs)",
        )
    return value


def checked(value: Any, key: str, check: Callable[[Any, str], T]) -> T | pulumi.Output[T]:
    """Validate now when the value is known (before any resource), otherwise when the Output resolves."""
    if is_plain(value):
        return check(value, key)
    return pulumi.Output.from_input(value).apply(lambda resolved: check(resolved, key))
