"""The one error type for bad configuration."""

from __future__ import annotations

_MAX_SHOWN = 80


def shown(value: object) -> str:
    """A short, printable rendering of a given value for error messages."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class ConfigError(ValueError):
    """Bad configuration: the message names the key, what was given and how to fix it."""

    def __init__(self, key: str, given: str, problem: str, fix: str) -> None:
        self.key = key
        self.given = given
        self.problem = problem
        self.fix = fix
        super().__init__(f"{key}: {problem} (given: {given}). Fix: {fix}")
