"""JWT settings: every setting of Kong's jwt plugin this product manages, its default and its rule, in one table."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import pulumi

from components.errors import ConfigError, shown

MAX_EXPIRATION = 31_536_000
"""Kong's upper bound for maximum_expiration (one year, in seconds)."""

_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def _name_set(value: object, key: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(key, shown(value), "expected a list of names", 'set it like ["authorization"] or []')
    names: list[str] = []
    for item in value:
        if not isinstance(item, str) or not _NAME.match(item):
            raise ConfigError(
                key, shown(list(value)), f"{shown(item)} is not a valid header, cookie or parameter name", "use letters, digits and - or _"
            )
        if item in names:
            raise ConfigError(key, shown(list(value)), f"{item!r} is listed twice", "list each name once")
        names.append(item)
    return names


def _claims(value: object, key: str) -> list[str]:
    claims = _name_set(value, key)
    unknown = [claim for claim in claims if claim not in ("exp", "nbf")]
    if unknown:
        raise ConfigError(key, shown(claims), f"Kong can only verify 'exp' and 'nbf', not {unknown}", 'use ["exp"] (or ["exp", "nbf"])')
    return claims


def _expiration(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXPIRATION:
        raise ConfigError(key, shown(value), f"expected whole seconds from 0 to {MAX_EXPIRATION}", "set e.g. 3600, or 0 for no limit")
    return value


def _flag(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, shown(value), "expected true or false", "set true or false (no quotes)")
    return value


class JwtSettingsArgs(TypedDict, total=False):
    """Overrides of the jwt plugin's settings; each key's default and rule is in SETTINGS below."""

    claims_to_verify: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Claims Kong verifies, 'exp' and/or 'nbf'; each listed claim becomes mandatory. Default ["exp"]."""
    maximum_expiration: pulumi.Input[int]
    """Longest token lifetime left that is accepted, in seconds (needs 'exp'); 0, the default, for no limit."""
    header_names: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Headers that carry `Bearer <token>`. Default ["authorization"]."""
    uri_param_names: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Query parameters that may carry the token. Default [], so tokens stay out of URLs and logs."""
    cookie_names: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Cookies that may carry the token. Default []."""
    run_on_preflight: pulumi.Input[bool]
    """Whether CORS preflight (OPTIONS) requests need a token too. Default true."""


@dataclass(frozen=True)
class Setting:
    """One plugin setting: Kong's field name (also the Python argument name), its stack config name, default and rule."""

    kong_name: str
    config_name: str
    default: Any
    check: Callable[[object, str], Any]


SETTINGS: tuple[Setting, ...] = (
    # Kong's default is no claims at all, which lets expired tokens through.
    Setting("claims_to_verify", "claimsToVerify", ["exp"], _claims),
    Setting("maximum_expiration", "maximumExpiration", 0, _expiration),
    Setting("header_names", "headerNames", ["authorization"], _name_set),
    # Kong's default accepts ?jwt=<token>, which writes tokens into access logs.
    Setting("uri_param_names", "uriParamNames", [], _name_set),
    Setting("cookie_names", "cookieNames", [], _name_set),
    Setting("run_on_preflight", "runOnPreflight", True, _flag),
)

FIXED: Mapping[str, Any] = {
    # Kong looks up the credential by this claim; Frontegg's issuer is what identifies the workspace.
    "key_claim_name": "iss",
    # RS256 credentials carry no shared secret; base64 decoding would only apply to HS* secrets.
    "secret_is_base64": False,
}

Spelling = Literal["config", "python"]


def plugin_config(overrides: object, key: str, spelling: Spelling = "config") -> dict[str, Any]:
    """Merge overrides onto the defaults, validate, and return Kong's jwt plugin config."""
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, Mapping):
        raise ConfigError(key, shown(overrides), "expected an object of JWT settings", 'set it like {"maximumExpiration": 3600} or {}')
    by_name = {(s.config_name if spelling == "config" else s.kong_name): s for s in SETTINGS}
    unknown = sorted(set(overrides) - set(by_name))
    if unknown:
        raise ConfigError(key, shown(dict(overrides)), f"unknown setting(s) {unknown}", f"use only {sorted(by_name)}")
    config: dict[str, Any] = dict(FIXED)
    for name, setting in by_name.items():
        value = overrides.get(name, setting.default)
        config[setting.kong_name] = setting.check(value, f"{key}.{name}")
    if config["maximum_expiration"] > 0 and "exp" not in config["claims_to_verify"]:
        name = "maximumExpiration" if spelling == "config" else "maximum_expiration"
        raise ConfigError(
            f"{key}.{name}",
            shown(config["maximum_expiration"]),
            "a maximum expiration only works when 'exp' is verified (Kong rejects the plugin otherwise)",
            'add "exp" to claimsToVerify, or set the maximum to 0',
        )
    if not (config["header_names"] or config["cookie_names"] or config["uri_param_names"]):
        raise ConfigError(
            key,
            shown(dict(overrides)),
            "no header, cookie or query parameter may carry a token, so every request would be refused",
            'keep headerNames: ["authorization"]',
        )
    return config


def plugin_config_json(config: Mapping[str, Any]) -> str:
    """Serialise the plugin config byte-for-byte the same on every run."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def weakening_warnings(config: Mapping[str, Any]) -> list[str]:
    """Explain settings that were asked for but weaken or break protection."""
    warnings: list[str] = []
    if "exp" not in config["claims_to_verify"]:
        warnings.append("jwt.claimsToVerify does not include 'exp': Kong will accept expired tokens.")
    if "nbf" in config["claims_to_verify"]:
        warnings.append(
            "jwt.claimsToVerify includes 'nbf': Kong then rejects every token without an 'nbf' claim "
            "('nbf must be a number'), and Frontegg's default token template carries none."
        )
    if config["uri_param_names"]:
        warnings.append(f"jwt.uriParamNames is {config['uri_param_names']}: tokens sent in URLs end up in access logs and browser history.")
    return warnings
