"""JWT settings: the jwt plugin settings a caller may change, each with its default and rule, and the config Kong gets."""

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from . import weakening
from .errors import ConfigError, describe
from .schema import CALLER, Field, Schema, flag, http_token, string_list, whole_number

MAX_EXPIRATION = 31_536_000
"""Kong's upper bound for maximum_expiration (one year, in seconds; kong/plugins/jwt/schema.lua:44-49)."""


class JwtSettings(TypedDict, total=False):
    """Overrides of the jwt plugin's settings; the defaults are the secure ones."""

    claims_to_verify: Sequence[str]
    """Claims Kong verifies, "exp" and/or "nbf"; each listed claim becomes mandatory. Default ["exp"] (Kong's: none)."""
    maximum_expiration: int
    """Longest remaining token lifetime accepted, in seconds, 0 to 31536000 (needs "exp"); 0, the default, for no limit."""
    header_names: Sequence[str]
    """Headers that carry `Bearer <token>`. Default ["authorization"]."""
    uri_param_names: Sequence[str]
    """Query parameters that may carry the token. Default [] (Kong's: ["jwt"]), so tokens stay out of URLs and logs."""
    cookie_names: Sequence[str]
    """Cookies that may carry the token. Default []."""
    run_on_preflight: bool
    """Whether OPTIONS requests need a token too. Default true; false lets every OPTIONS request through untouched."""


def _names(value: object, key: str) -> list[str]:
    # Kong keeps these as sets; sorted, they read back from Kong in the order they were sent (no perpetual diff).
    return sorted(string_list(value, key, '["authorization"]', http_token("header, cookie or parameter name"), unique_as="name"))


def _claim(value: str, key: str) -> str:
    if value not in ("exp", "nbf"):
        raise ConfigError(key, describe(value), "Kong can only verify 'exp' and 'nbf'", 'use ["exp"] (or ["exp", "nbf"])')
    return value


def _claims(value: object, key: str) -> list[str]:
    return sorted(string_list(value, key, '["exp"]', _claim, unique_as="claim"))


def _expiration(value: object, key: str) -> int:
    return whole_number(value, key, 0, MAX_EXPIRATION, "3600, or 0 for no limit")


JWT_SCHEMA = Schema(
    "jwt setting",
    (
        # Kong's default is no claims at all, which lets expired tokens through.
        Field("claims_to_verify", _claims, ["exp"]),
        Field("maximum_expiration", _expiration, 0),
        Field("header_names", _names, ["authorization"]),
        # Kong's default accepts ?jwt=<token>, which writes tokens into access logs.
        Field("uri_param_names", _names, []),
        Field("cookie_names", _names, []),
        Field("run_on_preflight", flag, True),
    ),
)

FIXED: Mapping[str, Any] = {
    # Kong looks up the credential by this claim; Frontegg's issuer is what identifies the workspace.
    "key_claim_name": "iss",
    # RS256 credentials carry no shared secret; base64 decoding would only apply to HS* secrets.
    "secret_is_base64": False,
    # Never a fallback consumer: with one, any failed check lets the request through (handler.lua's anonymous branch).
    "anonymous": None,
    "realm": None,
}
"""The remaining fields of Kong 3.9's jwt plugin (kong/plugins/jwt/schema.lua:10-63), stated so that the config names all
ten: with strict matching, a field changed outside Pulumi (say `anonymous`) then shows as drift in the next preview."""


def jwt_settings(value: object, key: str) -> dict[str, Any]:
    """Merge overrides onto the defaults and check the combination as Kong's schema would."""
    settings = JWT_SCHEMA.normalise(value, prefix=key + ".")
    if settings["maximum_expiration"] > 0 and "exp" not in settings["claims_to_verify"]:
        raise ConfigError(
            f"{key}.{_spelled('maximum_expiration')}",
            describe(settings["maximum_expiration"]),
            "a maximum expiration only works when 'exp' is verified (Kong refuses the plugin otherwise: schema.lua:66-71)",
            f'add "exp" to {key}.{_spelled("claims_to_verify")}, or set the maximum to 0',
        )
    if not (settings["header_names"] or settings["cookie_names"] or settings["uri_param_names"]):
        raise ConfigError(
            key,
            describe(value),
            "no header, cookie or query parameter may carry a token, so every request would be refused",
            f'keep {key}.{_spelled("header_names")}: ["authorization"]',
        )
    return settings


def _spelled(name: str) -> str:
    return JWT_SCHEMA.field(name).spelled(CALLER.get().spelling)


def plugin_config(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Kong's jwt plugin config: every field of Kong 3.9's schema, so nothing is left to Kong's defaults."""
    return {**FIXED, **settings}


def warnings(config: Mapping[str, Any]) -> list[str]:
    """Explain settings that were asked for but weaken or break protection."""
    found = [weakness.risk for weakness in weakening.found(config)]
    if "nbf" in config["claims_to_verify"]:
        found.append(
            "jwt.claimsToVerify includes 'nbf': Kong then refuses every token without an 'nbf' claim "
            "('nbf must be a number'), and Frontegg's default token template carries none."
        )
    return found
