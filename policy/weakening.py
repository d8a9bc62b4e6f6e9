# GENERATED in policy/: policy/weakening.py is a byte-for-byte copy of components/weakening.py, the source.
# Edit components/weakening.py only, then regenerate the copy with:
#     cp components/weakening.py policy/weakening.py
# (tests/test_policy.py fails while the two differ.)
"""Weakenings: the settings of Kong's jwt plugin that make a route weaker than this product's defaults, in one table.

One definition of "weaker", read by the component (a warning per weakening it is asked for) and by the policy pack
(a violation per weakening its config does not allow). The pack must stay self-contained, hence the copy. Stdlib only,
no pulumi, no package-relative imports: the same bytes import as `components.weakening` and as the pack's `weakening`.

Predicates read Kong's jwt plugin config by Kong's field names (kong/plugins/jwt/schema.lua at Kong 3.9.3). An absent
or null key means Kong's default, which is where most weakenings come from: uri_param_names ["jwt"] (schema.lua:12-17),
claims_to_verify none (:26-32), run_on_preflight true (:34), anonymous none (:33), cookie_names [] (:18-23).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Weakening:
    """One weakening: a stable id (what an exemption names), where it is set, when it applies and what it risks."""

    id: str
    """Stable id, e.g. "expired-tokens"; the policy pack's `allow` list names these."""
    kong_name: str
    """The field of Kong's jwt plugin config."""
    config_name: str
    """The same setting's name in the stack config (the `jwt` object)."""
    safe: Any
    """This product's default for the field, which never weakens."""
    weakens: Callable[[Mapping[str, Any]], bool]
    """True when the plugin config (Kong field names; absent or null means Kong's default) has this weakening."""
    risk: str
    """One sentence naming the setting and what it lets through; the component's warning, verbatim."""


def _names(config: Mapping[str, Any], field: str, kong_default: list[str]) -> object:
    value = config.get(field)
    return kong_default if value is None else value


def _lacks_exp(config: Mapping[str, Any]) -> bool:
    claims = _names(config, "claims_to_verify", [])
    # Anything but a list naming "exp" leaves expiry unchecked (or is refused by Kong): never count it as safe.
    return not isinstance(claims, list | tuple) or "exp" not in claims


def _not_empty(field: str, kong_default: list[str]) -> Callable[[Mapping[str, Any]], bool]:
    def weakens(config: Mapping[str, Any]) -> bool:
        return _names(config, field, kong_default) not in ([], ())

    return weakens


def _preflight_skipped(config: Mapping[str, Any]) -> bool:
    # Only true (or Kong's default, absent) authenticates OPTIONS; a string "true" is not Kong's boolean.
    return config.get("run_on_preflight") not in (None, True)


def _anonymous(config: Mapping[str, Any]) -> bool:
    return config.get("anonymous") is not None


WEAKENINGS: tuple[Weakening, ...] = (
    # Kong's default verifies no claim at all: jwt_parser checks `exp` only when claims_to_verify lists it
    # (handler.lua:231), so an expired or stolen-and-old token keeps working forever.
    Weakening(
        "expired-tokens",
        "claims_to_verify",
        "claimsToVerify",
        ["exp"],
        _lacks_exp,
        'claims_to_verify (claimsToVerify) does not include "exp", so Kong accepts expired tokens.',
    ),
    # Kong's default reads ?jwt=<token> (schema.lua:16, handler.lua:31-45): the token then sits in URLs, which
    # access logs, proxies, Referer headers and browser history keep.
    Weakening(
        "tokens-in-urls",
        "uri_param_names",
        "uriParamNames",
        [],
        _not_empty("uri_param_names", ["jwt"]),
        'uri_param_names (uriParamNames) is not [] (Kong\'s default is ["jwt"]), so Kong accepts tokens in URLs, '
        "where access logs, proxies and browser history keep them.",
    ),
    # handler.lua:308: with run_on_preflight false the plugin returns before authenticating on EVERY OPTIONS request,
    # preflight or not, so any OPTIONS the upstream serves is open. Browser apps need the cors plugin instead, which
    # answers real preflights itself before jwt runs (cors/handler.lua:193-241, PRIORITY 2000 > jwt's 1450).
    Weakening(
        "unauthenticated-preflight",
        "run_on_preflight",
        "runOnPreflight",
        True,
        _preflight_skipped,
        "run_on_preflight (runOnPreflight) is not true, so Kong lets every OPTIONS request through without a token; "
        "answer CORS preflights with Kong's cors plugin instead.",
    ),
    # handler.lua:312-313 and 283-292: with anonymous set, any failure (no token, bad signature, expired, unknown
    # issuer) falls back to that consumer and the request goes upstream: authentication is off.
    Weakening(
        "anonymous-fallback",
        "anonymous",
        "anonymous",
        None,
        _anonymous,
        "anonymous is set, so a request whose token is missing or invalid goes upstream as that consumer: authentication is off.",
    ),
    # Cookies do not belong: browsers attach them by themselves to cross-site requests (handler.lua:47-53 reads
    # them), so a token in a cookie turns every API behind Kong into a cross-site request forgery target. Frontegg's
    # SDKs send the access token as `Authorization: Bearer`, so the product never needs them; an API that really
    # serves a cookie-carried token (SameSite cookies plus an upstream CSRF check) exempts this id deliberately.
    Weakening(
        "cookie-tokens",
        "cookie_names",
        "cookieNames",
        [],
        _not_empty("cookie_names", []),
        "cookie_names (cookieNames) is not [], so browsers send the token on cross-site requests by themselves, "
        "which opens the API to cross-site request forgery.",
    ),
)
"""Every weakening, in the order the warnings and violations are reported."""


def found(config: Mapping[str, Any]) -> list[Weakening]:
    """The weakenings a jwt plugin config has (Kong field names; an absent or null key means Kong's default)."""
    return [weakening for weakening in WEAKENINGS if weakening.weakens(config)]
