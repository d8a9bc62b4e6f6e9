"""Token scenarios: the requests that prove the gateway admits Frontegg tokens and refuses everything else.

The rows live in token_scenarios.json (data, not code); this module loads them and mints each row's request.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

SCENARIOS_FILE = Path(__file__).with_name("token_scenarios.json")
TIME_CLAIMS = ("exp", "nbf", "iat")
"""Claims whose "+300" / "-60" strings are seconds relative to the clock handed to `mint`."""

Signer = Literal["trusted", "other-rsa", "other-ed25519", "hs256-with-public-key-bytes", "none", "garbage"]
Place = Literal["header", "query", "cookie"]
SIGNERS: tuple[Signer, ...] = ("trusted", "other-rsa", "other-ed25519", "hs256-with-public-key-bytes", "none", "garbage")
PLACES: tuple[Place, ...] = ("header", "query", "cookie")
NEEDS = ("custom_domain",)
CORS_KEYS = ("origins", "credentials", "methods", "headers", "exposedHeaders", "maxAge")
"""A row's `cors`, in stack-config spelling (Kong's cors plugin fields, camelCased)."""
_RELATIVE = re.compile(r"[+-]\d+")
_RSA_HASHES: dict[str, hashes.HashAlgorithm] = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}
GARBAGE = "this-is-not-a-jwt"


@dataclass(frozen=True)
class Token:
    """One token a row sends: its JOSE header, its claims (with placeholders) and who signs it."""

    header: Any
    """Normally a JSON object; any JSON value is sent as is."""
    claims: Any
    """Normally a JSON object; any JSON value (a number, true, null, ...) is sent as is."""
    signer: Signer
    raw: str | None = None
    """For signer "garbage": the literal text sent instead of a JWT."""
    padded: bool = False
    """Keep base64's "=" padding on every segment (the signature covers the padded text)."""


@dataclass(frozen=True)
class Placement:
    """Where a token travels: a header (with its scheme word, "" for none), a query parameter or a cookie."""

    place: Place
    name: str
    token: int = 0
    """Index into the row's tokens."""
    scheme: str = "Bearer"
    """Header only: the word before the token, e.g. "Bearer" or "bearer"; "" sends the bare token."""
    valueless: bool = False
    """Query only: send `?name` with no "=" and no token."""


@dataclass(frozen=True)
class Scenario:
    """One row: a request, the plugin overrides it runs under, and what Kong answers."""

    id: str
    description: str
    jwt: dict[str, Any]
    """Plugin overrides in stack-config spelling (e.g. {"claimsToVerify": ["exp", "nbf"]}); {} is the default config."""
    needs: tuple[str, ...]
    """What the stack must have beyond the workspace issuer, e.g. ("custom_domain",) for a second configured issuer."""
    expect_status: int
    """200 when the request reaches the upstream (or cors answers a preflight), 401 when Kong refuses it, 500 when
    Kong itself fails on it."""
    expect_body: dict[str, Any] | None
    """Kong's JSON body for refusals; None for 200."""
    tokens: tuple[Token, ...]
    send: tuple[Placement, ...]
    """Empty when the request carries no token at all."""
    method: str = "GET"
    cors: dict[str, Any] = field(default_factory=dict)
    """A cors plugin in front, in stack-config spelling (keys in CORS_KEYS); {} for none."""
    headers: tuple[tuple[str, str], ...] = ()
    """Further request headers sent before the token's (e.g. Origin and Access-Control-Request-Method)."""
    expect_headers: dict[str, str | None] = field(default_factory=dict)
    """Response headers Kong sets, by name; None means the header must be absent."""
    expect_upstream: dict[str, str | None] | None = None
    """Identity headers the upstream receives (None: must be absent); unset means those of the trusted credential."""


@dataclass(frozen=True)
class MintedRequest:
    """A row made concrete: what to send to the gateway.

    `headers` and `params` hold the first value of each name; a name sent again (or a query argument without "=")
    is in `more_headers` / `more_params`, which a client sending plain dicts cannot reproduce.
    """

    headers: dict[str, str]
    params: dict[str, str]
    cookies: dict[str, str]
    method: str = "GET"
    more_headers: tuple[tuple[str, str], ...] = ()
    more_params: tuple[tuple[str, str | None], ...] = ()
    """Repeated query arguments, and (name, None) for an argument sent without "="."""

    @property
    def header_pairs(self) -> list[tuple[str, str]]:
        """Every header line in the order sent."""
        return [*self.headers.items(), *self.more_headers]

    @property
    def query_pairs(self) -> list[tuple[str, str | None]]:
        """Every query argument in the order sent."""
        return [*self.params.items(), *self.more_params]


class ScenarioFileError(ValueError):
    """The scenario file is malformed; the message names the row and field."""


def _token(row_id: str, data: Mapping[str, Any]) -> Token:
    signer = data.get("signer", "trusted")
    if signer not in SIGNERS:
        raise ScenarioFileError(f"{row_id}: signer {signer!r} is not one of {SIGNERS}")
    unknown = set(data) - {"header", "claims", "signer", "raw", "padded"}
    if unknown:
        raise ScenarioFileError(f"{row_id}: unknown token field(s) {sorted(unknown)}")
    return Token(
        header=data.get("header", {"alg": "RS256", "typ": "JWT"}),
        claims=data.get("claims", {}),
        signer=signer,
        raw=data.get("raw"),
        padded=bool(data.get("padded", False)),
    )


def _placement(row_id: str, data: Mapping[str, Any], token_count: int) -> Placement:
    place = data.get("in")
    if place not in PLACES:
        raise ScenarioFileError(f"{row_id}: send.in {place!r} is not one of {PLACES}")
    placement = Placement(
        place=place,
        name=data["name"],
        token=data.get("token", 0),
        scheme=data.get("scheme", "Bearer"),
        valueless=bool(data.get("valueless", False)),
    )
    if placement.valueless and place != "query":
        raise ScenarioFileError(f"{row_id}: only a query argument can be sent without a value")
    if not placement.valueless and not 0 <= placement.token < token_count:
        raise ScenarioFileError(f"{row_id}: send refers to token {placement.token}, but the row has {token_count}")
    return placement


def _scenario(data: Mapping[str, Any]) -> Scenario:
    row_id = data.get("id", "?")
    unknown = set(data) - {"id", "description", "jwt", "cors", "needs", "expect", "tokens", "send", "method", "headers"}
    if unknown:
        raise ScenarioFileError(f"{row_id}: unknown field(s) {sorted(unknown)}")
    needs = tuple(data.get("needs", ()))
    if set(needs) - set(NEEDS):
        raise ScenarioFileError(f"{row_id}: needs {needs} has an entry other than {NEEDS}")
    cors = dict(data.get("cors", {}))
    if set(cors) - set(CORS_KEYS):
        raise ScenarioFileError(f"{row_id}: cors key(s) {sorted(set(cors) - set(CORS_KEYS))} are not among {CORS_KEYS}")
    expect = data["expect"]
    if set(expect) - {"status", "body", "headers", "upstream"}:
        raise ScenarioFileError(f"{row_id}: unknown expect field(s) {sorted(set(expect) - {'status', 'body', 'headers', 'upstream'})}")
    if (expect["status"] == 200) != (expect.get("body") is None):
        raise ScenarioFileError(f"{row_id}: a 200 has no body and a refusal needs one")
    headers = data.get("headers", [])
    if not all(isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair) for pair in headers):
        raise ScenarioFileError(f"{row_id}: headers must be [name, value] pairs of strings")
    tokens = tuple(_token(row_id, t) for t in data.get("tokens", ()))
    return Scenario(
        id=row_id,
        description=data["description"],
        jwt=dict(data.get("jwt", {})),
        needs=needs,
        expect_status=expect["status"],
        expect_body=expect.get("body"),
        tokens=tokens,
        send=tuple(_placement(row_id, p, len(tokens)) for p in data.get("send", ())),
        method=data.get("method", "GET"),
        cors=cors,
        headers=tuple((name, value) for name, value in headers),
        expect_headers=dict(expect.get("headers", {})),
        expect_upstream=expect.get("upstream"),
    )


def load_scenarios(path: Path | None = None) -> list[Scenario]:
    """Read the scenario rows (default: token_scenarios.json beside this module)."""
    rows = json.loads((path or SCENARIOS_FILE).read_text())["scenarios"]
    scenarios = [_scenario(row) for row in rows]
    ids = [s.id for s in scenarios]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ScenarioFileError(f"duplicate scenario ids {duplicates}")
    return scenarios


def _b64url(data: bytes, *, padded: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode("ascii")
    return text if padded else text.rstrip("=")


def _segment(value: Any, *, padded: bool = False) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode(), padded=padded)


@functools.cache
def _throwaway_key() -> RSAPrivateKey:
    # A key nobody trusts: tokens it signs must fail Kong's signature check.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _throwaway_ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _public_pem(key: RSAPrivateKey) -> bytes:
    # Exactly the bytes Kong stores as rsa_public_key (the program deploys SPKI PEM), i.e. what an attacker can read.
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _substitute(value: Any, name: str, places: Mapping[str, str], now: int) -> Any:
    if isinstance(value, str):
        if name in TIME_CLAIMS and _RELATIVE.fullmatch(value):
            return now + int(value)
        for placeholder in sorted(places, key=len, reverse=True):
            value = value.replace(placeholder, places[placeholder])
        return value
    if isinstance(value, list):
        return [_substitute(item, "", places, now) for item in value]
    if isinstance(value, dict):
        return {k: _substitute(v, k, places, now) for k, v in value.items()}
    return value


def _sign(token: Token, header: Any, claims: Any, private_key: RSAPrivateKey) -> str:
    if token.signer == "garbage":
        return token.raw or GARBAGE
    signing_input = f"{_segment(header, padded=token.padded)}.{_segment(claims, padded=token.padded)}"
    if token.signer == "none":
        return signing_input + "."
    if token.signer == "hs256-with-public-key-bytes":
        # The classic algorithm-confusion forgery: HMAC keyed with the public key text.
        signature = hmac.new(_public_pem(private_key), signing_input.encode(), hashlib.sha256).digest()
    elif token.signer == "other-ed25519":
        signature = _throwaway_ed25519_key().sign(signing_input.encode())
    else:
        key = private_key if token.signer == "trusted" else _throwaway_key()
        alg = header.get("alg") if isinstance(header, dict) else None
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), _RSA_HASHES.get(str(alg), hashes.SHA256()))
    return f"{signing_input}.{_b64url(signature, padded=token.padded)}"


def mint(
    scenario: Scenario,
    *,
    private_key: RSAPrivateKey,
    issuer: str,
    now: int,
    custom_domain_issuer: str | None = None,
) -> MintedRequest | None:
    """Build the row's request; None when the row needs something not given (e.g. a custom domain issuer)."""
    if "custom_domain" in scenario.needs and custom_domain_issuer is None:
        return None
    places = {"$issuer": issuer, "$issuer_in_upper_case": issuer.upper()}
    if custom_domain_issuer is not None:
        places["$custom_domain_issuer"] = custom_domain_issuer
    texts = []
    for token in scenario.tokens:
        header = _substitute(token.header, "", places, now)
        claims = _substitute(token.claims, "", places, now)
        texts.append(_sign(token, header, claims, private_key))
    headers: dict[str, str] = {}
    more_headers: list[tuple[str, str]] = []
    params: dict[str, str] = {}
    more_params: list[tuple[str, str | None]] = []
    cookies: dict[str, str] = {}

    def add_header(name: str, value: str) -> None:
        if any(name.lower() == sent.lower() for sent in headers):
            more_headers.append((name, value))
        else:
            headers[name] = value

    for name, value in scenario.headers:
        add_header(name, value)
    for placement in scenario.send:
        if placement.valueless:
            more_params.append((placement.name, None))
            continue
        text = texts[placement.token]
        if placement.place == "header":
            add_header(placement.name, f"{placement.scheme} {text}" if placement.scheme else text)
        elif placement.place == "query":
            if placement.name in params:
                more_params.append((placement.name, text))
            else:
                params[placement.name] = text
        else:
            if placement.name in cookies:
                raise ScenarioFileError(f"{scenario.id}: cookie {placement.name!r} is sent twice")
            cookies[placement.name] = text
    return MintedRequest(
        headers=headers,
        params=params,
        cookies=cookies,
        method=scenario.method,
        more_headers=tuple(more_headers),
        more_params=tuple(more_params),
    )
