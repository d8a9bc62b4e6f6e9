"""What Kong 3.9.3 answers to a request on a service guarded by its jwt plugin, with its cors plugin in front.

A line-by-line model of kong/plugins/jwt/{handler,jwt_parser,schema,daos}.lua and kong/plugins/cors/{handler,schema}.lua
at tag 3.9.3, fed with what the real program declared under Pulumi's mock runtime (`KongJwtPlugin.from_run`). Every
rule names the Kong file and line it follows. Where Kong raises a Lua error the client gets a 500; a corner the model does
not cover raises `Unmodelled` rather than guess.

Not modelled: a warm credential cache (see `_credential`), Kong's 500 page beyond its message, other plugins (key-auth,
...), the upstream's own response headers (an upstream `Vary` is not merged), more than 100 headers or query arguments
(lua_max_req_headers / lua_max_uri_args, kong_defaults.lua:198-200), and JSON that Python and lua-cjson read differently
(NaN, Infinity, hexadecimal numbers, nesting deeper than 1000).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from testkit.mock_runtime import SECRET_SIG, Registration, Run
from tools.token_scenarios import MintedRequest

KONG_VERSION = "3.9.3"
JWT_PRIORITY = 1450
"""kong/plugins/jwt/handler.lua:18."""
CORS_PRIORITY = 2000
"""kong/plugins/cors/handler.lua:20: higher runs first, so cors sees every request before jwt."""

ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA")
"""The keys of alg_verify (jwt_parser.lua:111-195) and the credential's algorithm one_of (daos.lua:29-47)."""
KNOWN_ALGS = frozenset(ALGORITHMS)

UNEXPECTED_ERROR = {"message": "An unexpected error occurred"}
"""kong/error_handlers.lua:24. Kong's 500 page carries this message (JSON when the client accepts it, i.e. Accept */* or
application/json; text/plain by default, kong_defaults.lua:74) plus a request_id that varies, left out here."""

IDENTITY_HEADERS = ("X-Consumer-ID", "X-Consumer-Custom-ID", "X-Consumer-Username", "X-Credential-Identifier", "X-Anonymous-Consumer")
"""The upstream headers set_consumer sets or clears (kong/constants.lua:116-127, handler.lua:110-147)."""

CORS_METHODS = ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT")
"""kong/plugins/cors/schema.lua:5-15: the `methods` default."""
MAX_EXPIRATION = 31_536_000
"""kong/plugins/jwt/schema.lua:35-40."""

_LUA_STRING_LIBRARY = frozenset(
    {"byte", "char", "dump", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep", "reverse", "sub", "upper"}
)
"""A Lua string's fields are its library (string metatable's __index): claims that are a JSON string answer these."""
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
"""kong/tools/uuid.lua:7,19-24 (flags 'ioj': case-insensitive)."""


class KongError(Exception):
    """Kong raised a Lua error while handling the request: the client gets 500 (kong/error_handlers.lua:24)."""


class Unmodelled(NotImplementedError):  # noqa: N818 - reads as "this corner is unmodelled"
    """The request reaches a corner of Kong the model does not reproduce; the message says which."""


class BadToken(Exception):  # noqa: N818 - Kong's own wording ("Bad token; ...")
    """jwt_parser.lua's decode_token returned an error; the message is what Kong puts after "Bad token; "."""


# --- The request -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """A request as Kong reads it: header lines in order (a name may repeat) and query arguments in order."""

    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str | None], ...] = ()
    """(name, value) after URL-decoding; value None is an argument without "=" (`?jwt`)."""

    @classmethod
    def of(cls, request: MintedRequest | HttpRequest) -> HttpRequest:
        """A scenario's minted request as header lines (its cookies as one Cookie line, as HTTP clients send them)."""
        if isinstance(request, HttpRequest):
            return request
        lines = list(request.header_pairs)
        if request.cookies:
            lines.append(("Cookie", "; ".join(f"{name}={value}" for name, value in request.cookies.items())))
        return cls(method=request.method, headers=tuple(lines), query=tuple(request.query_pairs))

    def values(self, name: str) -> list[str]:
        """Every value of a header, in order; names compare case-insensitively."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def header(self, name: str) -> str | None:
        """kong.request.get_header: the first occurrence only (kong/pdk/request.lua:596-630)."""
        values = self.values(name)
        return values[0] if values else None

    def header_for_plugin(self, name: str) -> str | None:
        """`kong.request.get_headers()[name]` (handler.lua:55-61): lower-case keys; on a miss the table's __index retries
        with "_" read as "-" (lua-nginx-module ngx.req.get_headers); a repeated header is a list and handler.lua:59-61
        keeps its first value. Kong's nginx accepts underscores in names (templates/nginx_kong.lua:30)."""
        return self.header(name) if self.values(name) else self.header(name.replace("_", "-"))

    def cookie(self, name: str) -> str | None:
        """nginx's $cookie_<name> (ngx.var, handler.lua:49): over every Cookie line in order, the first pair whose name
        matches case-insensitively; the value runs to the next ";" (nginx src/http/ngx_http_parse.c,
        ngx_http_parse_multi_header_lines, nginx 1.25 in OpenResty 1.25.3.2, Kong's .requirements:3)."""
        wanted = name.lower()
        for line in self.values("cookie"):
            start, end = 0, len(line)
            while start < end:
                if line[start : start + len(wanted)].lower() == wanted:
                    start += len(wanted)
                    while start < end and line[start] == " ":
                        start += 1
                    if start < end:
                        start += 1  # nginx's `*start++ != '='` moves on even when it is not "="
                        if line[start - 1] == "=":
                            while start < end and line[start] == " ":
                                start += 1
                            last = line.find(";", start)
                            return line[start : last if last >= 0 else end]
                while start < end:  # skip: past the next ";" or ",", then past spaces
                    start += 1
                    if line[start - 1] in ";,":
                        break
                while start < end and line[start] == " ":
                    start += 1
        return None


# --- Config, as Kong's schemas define it -------------------------------------------------------------------------------


def _string_list(config: Mapping[str, Any], name: str, plugin: str) -> tuple[str, ...] | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"Kong refuses {plugin} config {name}={value!r}: expected an array of strings")
    return tuple(value)


@dataclass(frozen=True)
class JwtConfig:
    """The jwt plugin's config record (kong/plugins/jwt/schema.lua:9-50), defaults filled as Kong fills them."""

    uri_param_names: tuple[str, ...] = ("jwt",)  # schema.lua:12-17
    cookie_names: tuple[str, ...] = ()  # schema.lua:18-23
    key_claim_name: str = "iss"  # schema.lua:24
    secret_is_base64: bool = False  # schema.lua:25
    claims_to_verify: tuple[str, ...] | None = None  # schema.lua:26-32 (no default)
    anonymous: str | None = None  # schema.lua:33
    run_on_preflight: bool = True  # schema.lua:34
    maximum_expiration: float = 0  # schema.lua:35-40
    header_names: tuple[str, ...] = ("authorization",)  # schema.lua:41-46
    realm: str | None = None  # schema.lua:47

    @classmethod
    def from_kong(cls, config: Mapping[str, Any]) -> JwtConfig:
        """Kong's record from a config_json object, refusing what the schema refuses; null or absent means the default."""
        unknown = set(config) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"Kong refuses jwt config fields {sorted(unknown)}: unknown field")
        defaults = cls()
        values: dict[str, Any] = {}
        for name in ("uri_param_names", "cookie_names", "header_names", "claims_to_verify"):
            items = _string_list(config, name, "jwt")
            if items is not None:
                values[name] = tuple(dict.fromkeys(items))  # a set: Kong drops repeats (schema/init.lua:1606-1625)
        for name in ("key_claim_name", "anonymous", "realm"):
            value = config.get(name)
            if value is not None and (not isinstance(value, str) or value == ""):
                raise ValueError(f"Kong refuses jwt config {name}={value!r}: expected a non-empty string")  # schema/init.lua:986-993
            if value is not None:
                values[name] = value
        for name in ("secret_is_base64", "run_on_preflight"):
            value = config.get(name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"Kong refuses jwt config {name}={value!r}: expected a boolean")
            if value is not None:
                values[name] = value
        maximum = config.get("maximum_expiration")
        if maximum is not None:
            if isinstance(maximum, bool) or not isinstance(maximum, (int, float)) or not 0 <= maximum <= MAX_EXPIRATION:
                raise ValueError(f"Kong refuses jwt config maximum_expiration={maximum!r}: between 0 and {MAX_EXPIRATION}")
            values["maximum_expiration"] = maximum
        result = replace(defaults, **values)
        if any(claim not in ("exp", "nbf") for claim in result.claims_to_verify or ()):
            raise ValueError(f"Kong refuses claims_to_verify={result.claims_to_verify}: one of exp, nbf (schema.lua:29-31)")
        if result.maximum_expiration > 0 and "exp" not in (result.claims_to_verify or ()):
            raise ValueError("Kong refuses maximum_expiration > 0 without exp in claims_to_verify (schema.lua:52-58)")
        return result


@dataclass(frozen=True)
class CorsConfig:
    """The cors plugin's config record (kong/plugins/cors/schema.lua:31-51)."""

    origins: tuple[str, ...] | None = None  # schema.lua:34-38 (no default)
    headers: tuple[str, ...] | None = None  # schema.lua:39
    exposed_headers: tuple[str, ...] | None = None  # schema.lua:40
    methods: tuple[str, ...] | None = CORS_METHODS  # schema.lua:41-46
    max_age: float | None = None  # schema.lua:47
    credentials: bool = False  # schema.lua:48
    private_network: bool = False  # schema.lua:49
    preflight_continue: bool = False  # schema.lua:50

    @classmethod
    def from_kong(cls, config: Mapping[str, Any]) -> CorsConfig:
        """Kong's record from a config_json object; null or absent means the default."""
        unknown = set(config) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"Kong refuses cors config fields {sorted(unknown)}: unknown field")
        values: dict[str, Any] = {}
        for name in ("origins", "headers", "exposed_headers", "methods"):
            items = _string_list(config, name, "cors")
            if items is not None:
                values[name] = items
        for origin in values.get("origins", ()):
            # schema.lua:18-23: "*" or a valid (PCRE) regex; Python's re stands in for PCRE here.
            if origin == "*":
                continue
            try:
                re.compile(origin)
            except re.error:
                raise ValueError(f"Kong refuses cors origin {origin!r}: not a valid regex") from None
        if any(method not in CORS_METHODS for method in values.get("methods", ())):
            raise ValueError(f"Kong refuses cors methods {values['methods']}: one of {CORS_METHODS} (schema.lua:41-46)")
        max_age = config.get("max_age")
        if max_age is not None:
            if isinstance(max_age, bool) or not isinstance(max_age, (int, float)):
                raise ValueError(f"Kong refuses cors max_age={max_age!r}: expected a number")
            values["max_age"] = max_age
        for name in ("credentials", "private_network", "preflight_continue"):
            value = config.get(name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"Kong refuses cors config {name}={value!r}: expected a boolean")
            if value is not None:
                values[name] = value
        return replace(cls(), **values)


# --- Entities --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Consumer:
    """A consumer (kong/db/schema/entities/consumers.lua): Kong's id, username and custom_id."""

    id: str
    username: str | None = None
    custom_id: str | None = None


@dataclass(frozen=True)
class Credential:
    """A jwt credential as Kong stores it (jwt_secrets, kong/plugins/jwt/daos.lua:14-69)."""

    key: str
    algorithm: str = "HS256"  # daos.lua:31
    rsa_public_key: str | None = None
    secret: str | None = None
    consumer: Consumer = field(default_factory=lambda: Consumer("consumer"))


# --- jwt_parser.lua ----------------------------------------------------------------------------------------------------

_B64URL_VALUE = {char: value for value, char in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")}


def base64url_decode(text: str) -> bytes | None:
    """jwt_parser.lua:210-219, None where Kong gets nil.

    Kong pads to a multiple of four with "=" and calls ngx.base64.decode_base64url (lua-resty-core lib/ngx/base64.lua),
    i.e. nginx's ngx_decode_base64url (src/core/ngx_string.c): it reads up to the first "=" and ignores the rest, fails on
    any other character outside A-Z a-z 0-9 - _ ("+" and "/" included), fails when 4n+1 characters were read, and drops
    leftover bits.
    """
    if len(text) % 4:
        text += "=" * (4 - len(text) % 4)
    read = text.split("=", 1)[0]
    if any(char not in _B64URL_VALUE for char in read) or len(read) % 4 == 1:
        return None
    out = bytearray()
    buffer = bits = 0
    for char in read:
        buffer = (buffer << 6) | _B64URL_VALUE[char]
        bits += 6
        if bits >= 8:
            bits -= 8
            out.append((buffer >> bits) & 0xFF)
    return bytes(out)


def _tokenize(token: str) -> list[str]:
    """jwt_parser.lua:228-247 with tokenize(token, ".", 3): at most three parts, the last keeps any further dots."""
    return token.split(".", 2)


def _cjson_decode(data: bytes | None) -> Any:
    """cjson.decode (jwt_parser.lua:8,260-261): raises on nil or invalid JSON; null is cjson.null (None here).

    lua-cjson does not check UTF-8, so bytes that are not UTF-8 are carried through rather than refused."""
    if data is None:
        raise BadToken("invalid JSON")  # json.decode(nil) raises inside the pcall
    try:
        return json.loads(data.decode("utf-8", "surrogateescape"))
    except ValueError:
        raise BadToken("invalid JSON") from None


_MISSING: Any = object()
"""Lua nil: a key that is absent (JSON null is cjson.null, a truthy lightuserdata, held as None)."""


def _lua_index(value: Any, name: str) -> Any:
    """`value[name]` in Lua for a value cjson decoded: tables answer (arrays have no string keys), strings answer their
    library, and numbers, booleans and cjson.null raise ("attempt to index a ... value"), which Kong turns into a 500."""
    if isinstance(value, dict):
        return value.get(name, _MISSING)
    if isinstance(value, list):
        return _MISSING
    if isinstance(value, str):
        if name in _LUA_STRING_LIBRARY:
            raise Unmodelled(f"a string's field {name!r} is a Lua function; the model does not follow it further")
        return _MISSING
    raise KongError(f"attempt to index a {_lua_type(value)} value (field {name!r})")


def _lua_type(value: Any) -> str:
    if value is _MISSING:
        return "nil"
    if value is None:
        return "userdata"  # cjson.null
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "table"


def _truthy(value: Any) -> bool:
    """Lua truth: only nil and false are false (cjson.null, 0 and "" are true)."""
    return value is not _MISSING and value is not False


@dataclass(frozen=True)
class ParsedJwt:
    """What decode_token returns (jwt_parser.lua:280-288)."""

    header_64: str
    claims_64: str
    header: dict[str, Any]
    claims: Any
    """Any JSON value but false: object, array, string, number, true or null (None)."""
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header["alg"])


def decode_token(token: str) -> ParsedJwt:
    """jwt_parser.lua:254-289: raises BadToken with Kong's reason, or KongError where Kong itself errors."""
    parts = _tokenize(token)
    header_64, claims_64, signature_64 = [*parts, None, None][:3]
    # jwt_parser.lua:259-266: both JSON decodes and the signature's base64 decode run under one pcall; base64_decode(nil)
    # (a token with fewer than three parts) raises there too, so every one of these is "invalid JSON".
    header = _cjson_decode(base64url_decode(header_64) if header_64 is not None else None)
    if claims_64 is None:
        raise BadToken("invalid JSON")
    claims = _cjson_decode(base64url_decode(claims_64))
    if signature_64 is None:
        raise BadToken("invalid JSON")
    signature = base64url_decode(signature_64)
    # jwt_parser.lua:268-270, outside the pcall: `header.alg` on a number, boolean or null header raises (500).
    alg = _lua_index(header, "alg")
    if not _truthy(alg) or not isinstance(alg, str) or alg not in KNOWN_ALGS:
        raise BadToken("invalid alg")
    if claims is False:  # jwt_parser.lua:272-274: `not claims`
        raise BadToken("invalid claims")
    if signature is None:  # jwt_parser.lua:276-278
        raise BadToken("invalid signature")
    assert isinstance(header, dict) and header_64 is not None  # an array or string header has no alg, refused above
    return ParsedJwt(header_64, claims_64, header, claims, signature)


_HASH: dict[str, Callable[[], hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
_ES_SIGNATURE_BYTES = {"ES256": 64, "ES384": 96, "ES512": 132}


def _public_key(pem: str | bytes) -> Any:
    # openssl_pkey.new(key) (jwt_parser.lua:116 and alike); daos.lua:4-11 only stores keys OpenSSL parses.
    try:
        return serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except (ValueError, UnsupportedAlgorithm):
        raise Unmodelled("a credential key that is not a PEM public key (OpenSSL would also accept a private key)") from None


def verify_signature(jwt: ParsedJwt, key: str | bytes) -> bool:
    """jwt_parser.lua:385-387 and alg_verify (111-195); the key is the secret (HS*) or the PEM text (others)."""
    alg = jwt.alg
    data = f"{jwt.header_64}.{jwt.claims_64}".encode()
    if alg in _HMAC:
        # jwt_parser.lua:112-114: the whole signature must equal the HMAC of the signing input.
        secret = key.encode() if isinstance(key, str) else key
        if not secret:
            raise Unmodelled("an empty HMAC key (OpenSSL's answer to it is not modelled)")
        return jwt.signature == hmac.new(secret, data, _HMAC[alg]).digest()
    public_key = _public_key(key)
    digest = _HASH.get(alg[2:], hashes.SHA256)
    try:
        if alg.startswith("RS"):  # jwt_parser.lua:115-129: PKCS#1 v1.5
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise Unmodelled(f"{alg} with a {type(public_key).__name__} credential key")
            public_key.verify(jwt.signature, data, padding.PKCS1v15(), digest())
        elif alg.startswith("ES"):  # jwt_parser.lua:131-168: raw r||s of a fixed size, else assert() raises (500)
            if len(jwt.signature) != _ES_SIGNATURE_BYTES[alg]:
                raise KongError(f"{alg} signature must be {_ES_SIGNATURE_BYTES[alg]} bytes")
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                return False  # lua-resty-openssl refuses ecdsa_use_raw on another key type (parser spec :240-263)
            half = len(jwt.signature) // 2
            r, s = int.from_bytes(jwt.signature[:half], "big"), int.from_bytes(jwt.signature[half:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(digest()))
        elif alg.startswith("PS"):  # jwt_parser.lua:170-187: 256-byte signatures only, else assert() raises (500)
            if len(jwt.signature) != 256:
                raise KongError("PS* signature must be 256 bytes")
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False  # PSS padding on a non-RSA key fails in OpenSSL (parser spec :264-287)
            # OpenSSL 3 (Kong's .requirements:7) verifies PSS with MGF1 over the same digest and detects the salt length.
            public_key.verify(jwt.signature, data, padding.PSS(padding.MGF1(digest()), padding.PSS.AUTO), digest())
        else:  # EdDSA, jwt_parser.lua:188-194
            if not isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
                raise Unmodelled(f"EdDSA with a {type(public_key).__name__} credential key")
            public_key.verify(jwt.signature, data)
    except InvalidSignature:
        return False
    return True


_REGISTERED_CLAIMS: dict[str, tuple[str, Callable[[float, int], bool]]] = {
    "nbf": ("token not valid yet", lambda nbf, now: nbf > now),  # jwt_parser.lua:397-404
    "exp": ("token expired", lambda exp, now: exp <= now),  # jwt_parser.lua:405-412 (no leeway)
}


def verify_registered_claims(jwt: ParsedJwt, claims_to_verify: Sequence[str] | None, now: int) -> dict[str, str]:
    """jwt_parser.lua:421-446: the errors by claim (empty when all pass); `now` is ngx.time()."""
    errors: dict[str, str] = {}
    for name in claims_to_verify or ():
        value = _lua_index(jwt.claims, name)
        message, failed = _REGISTERED_CLAIMS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):  # type(claim) ~= "number"
            errors[name] = "must be a number"
        elif failed(value, now):
            errors[name] = message
    return errors


def check_maximum_expiration(jwt: ParsedJwt, maximum_expiration: float, now: int) -> dict[str, str]:
    """jwt_parser.lua:454-465; the schema (schema.lua:52-58) makes exp a verified number by the time this runs."""
    if maximum_expiration <= 0:
        return {}
    exp = _lua_index(jwt.claims, "exp")
    if exp is _MISSING:
        return {"exp": "exceeds maximum allowed expiration"}
    assert isinstance(exp, (int, float)), "exp is verified as a number first (handler.lua:231-242)"
    return {"exp": "exceeds maximum allowed expiration"} if exp - now > maximum_expiration else {}


# --- The verdict -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Kong's answer: its status, JSON body (None when the upstream answers or the body is empty), the response headers
    the plugins set, and what reaches the upstream."""

    status: int
    body: dict[str, Any] | None
    upstream_headers: dict[str, str]
    """The identity headers (IDENTITY_HEADERS) as the upstream receives them, the client's own values included when no
    plugin touched them; {} when the request never reaches the upstream."""
    response_headers: dict[str, str] = field(default_factory=dict)
    """WWW-Authenticate and the Access-Control-* / Vary headers the plugins set on the response."""
    answered_by: str = "upstream"
    """"upstream" (proxied; status 200 stands for whatever it answers), "jwt", "cors" or "kong" (a Lua error, 500)."""
    forwarded_headers: tuple[tuple[str, str], ...] = ()
    """Every request header line as proxied upstream (Authorization is passed on as sent)."""
    authenticated_jwt_token: str | None = None
    """kong.ctx.shared.authenticated_jwt_token (handler.lua:146)."""

    def header(self, name: str) -> str | None:
        """A response header, by case-insensitive name."""
        return next((value for key, value in self.response_headers.items() if key.lower() == name.lower()), None)


@dataclass(frozen=True)
class _Refusal:
    """handler.lua:149-151's unauthorized(): status, message or claim errors, response headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _refusal(message: str | None, www_authenticate: str | None, errors: dict[str, str] | None = None) -> _Refusal:
    # handler.lua:301: kong.response.exit(err.status, err.errors or { message = err.message }, err.headers)
    return _Refusal(401, errors or {"message": message}, {"WWW-Authenticate": www_authenticate} if www_authenticate else {})


@dataclass(frozen=True)
class _Authenticated:
    consumer: Consumer | None
    credential: Credential | None
    token: str | None


# --- The plugins -------------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """An input with its secret marker removed (Kong receives the value itself)."""
    return value["value"] if isinstance(value, dict) and SECRET_SIG in value else value


def _pick(found: list[Registration], name: str | None, kind: str) -> Registration:
    if name is not None:
        named = [r for r in found if name in (r.inputs.get("name"), r.name)]
        assert len(named) == 1, f"expected one {kind} named {name!r}, got {[r.inputs.get('name', r.name) for r in found]}"
        return named[0]
    assert len(found) == 1, f"expected one {kind}, got {[r.inputs.get('name', r.name) for r in found]}: say which ({kind}_name=...)"
    return found[0]


class KongJwtPlugin:
    """Kong's answer on one route: the cors plugin (if any) and the jwt plugin of that route, with every jwt credential
    and consumer Kong holds (credentials are looked up by key across the whole Kong, not per consumer)."""

    def __init__(
        self,
        config: Mapping[str, Any] | JwtConfig,
        credentials: Sequence[Credential],
        consumers: Sequence[Consumer] = (),
        cors: Mapping[str, Any] | CorsConfig | None = None,
    ) -> None:
        self.config = config if isinstance(config, JwtConfig) else JwtConfig.from_kong(config)
        self.credentials = {c.key: c for c in credentials}
        assert len(self.credentials) == len(credentials), "Kong refuses a second credential with the same key (daos.lua:26, 409)"
        self.consumers = list(dict.fromkeys([*consumers, *(c.consumer for c in credentials)]))
        self.cors = cors if isinstance(cors, CorsConfig) or cors is None else CorsConfig.from_kong(cors)

    def with_cors(self, cors: Mapping[str, Any] | CorsConfig | None) -> KongJwtPlugin:
        """The same route with another cors plugin in front (None: none)."""
        return KongJwtPlugin(self.config, list(self.credentials.values()), self.consumers, cors)

    @classmethod
    def from_run(cls, run: Run, *, service_name: str | None = None, route_name: str | None = None) -> KongJwtPlugin:
        """The plugins, credentials and consumers exactly as the program registered them.

        Plugins are found by name ("jwt", "cors") whether scoped to the route, the service or neither, taking the most
        specific one as Kong does (kong/runloop/plugins_iterator.lua:215-268: route+service, then route, then service,
        then global). With several services (or routes on the service and route-scoped plugins) name the one to judge.
        """
        assert run.error is None, run.error
        service = _pick(run.of("service"), service_name, "service")
        routes = [r for r in run.of("route") if r.inputs.get("serviceId") == service.id]
        route = _pick(routes, route_name, "route") if route_name is not None or len(routes) == 1 else None

        def plugin(name: str) -> dict[str, Any] | None:
            enabled = [p for p in run.of("plugin") if p.inputs.get("name") == name and p.inputs.get("enabled", True) is not False]
            if route is None and any(p.inputs.get("routeId") in {r.id for r in routes} for p in enabled):
                raise AssertionError(f"a {name} plugin is route-scoped and the service has several routes: say which (route_name=...)")
            route_id = route.id if route is not None else None
            for scope in ((route_id, service.id), (route_id, None), (None, service.id), (None, None)):
                scoped = [p for p in enabled if (p.inputs.get("routeId") or None, p.inputs.get("serviceId") or None) == scope]
                if scoped:
                    assert len(scoped) == 1, f"Kong refuses two {name} plugins on one scope ({[p.name for p in scoped]})"
                    assert not scoped[0].inputs.get("consumerId"), f"the {name} plugin cannot be scoped to a consumer (no_consumer)"
                    parsed: dict[str, Any] = json.loads(_plain(scoped[0].inputs.get("configJson")) or "{}")
                    return parsed
            return None

        jwt = plugin("jwt")
        assert jwt is not None, f"no jwt plugin applies to service {service.inputs.get('name')!r}"
        consumers = {r.id: Consumer(r.id, _plain(r.inputs.get("username")), _plain(r.inputs.get("customId"))) for r in run.of("consumer")}
        credentials = [
            Credential(
                key=_plain(r.inputs["key"]),
                algorithm=_plain(r.inputs.get("algorithm")) or "HS256",
                rsa_public_key=_plain(r.inputs.get("rsaPublicKey")),
                secret=_plain(r.inputs.get("secret")),
                consumer=consumers[r.inputs["consumerId"]],
            )
            for r in run.of("credential")
        ]
        return cls(jwt, credentials, list(consumers.values()), plugin("cors"))

    # -- the request's path through Kong: cors access, jwt access, then cors header_filter --

    def access(self, request: MintedRequest | HttpRequest, *, now: int) -> Verdict:
        """Kong's answer to one request at the given clock (ngx.time())."""
        http = HttpRequest.of(request)
        try:
            return self._handle(http, now)
        except KongError:
            return Verdict(500, dict(UNEXPECTED_ERROR), {}, answered_by="kong")

    def _handle(self, request: HttpRequest, now: int) -> Verdict:
        skip_cors_headers = False
        if self.cors is not None and _is_preflight(request):  # cors/handler.lua:194-199
            skip_cors_headers = True  # cors/handler.lua:204
            if not self.cors.preflight_continue:  # cors/handler.lua:206-208
                return Verdict(200, None, {}, _cors_preflight(self.cors, request), answered_by="cors")  # cors/handler.lua:241
        cors_headers = {} if self.cors is None or skip_cors_headers else _cors_header_filter(self.cors, request)
        try:
            outcome = self._jwt_access(request, now)
        except KongError:
            # Kong's error page still passes cors's header_filter (spec/03-plugins/13-cors/01-access_spec.lua:842-857).
            return Verdict(500, dict(UNEXPECTED_ERROR), {}, cors_headers, answered_by="kong")
        if isinstance(outcome, _Refusal):
            return Verdict(outcome.status, outcome.body, {}, {**outcome.headers, **cors_headers}, answered_by="jwt")
        forwarded = _forward(request, outcome)
        identity = {name: values[0] for name in IDENTITY_HEADERS if (values := [v for k, v in forwarded if k.lower() == name.lower()])}
        token = outcome.token if outcome is not None else None
        return Verdict(200, None, identity, cors_headers, forwarded_headers=forwarded, authenticated_jwt_token=token)

    def _jwt_access(self, request: HttpRequest, now: int) -> _Refusal | _Authenticated | None:
        """handler.lua:306-317; None when the plugin does nothing."""
        if not self.config.run_on_preflight and request.method == "OPTIONS":  # handler.lua:308-310: every OPTIONS request
            return None
        if self.config.anonymous is not None:  # handler.lua:312-313, logical OR (283-293)
            outcome = self._authenticate(request, now)
            if isinstance(outcome, _Refusal):
                return self._anonymous(self.config.anonymous)  # handler.lua:289-292
            return outcome
        return self._authenticate(request, now)  # handler.lua:298-303, logical AND

    def _anonymous(self, anonymous: str) -> _Authenticated:
        """handler.lua:267-277 with kong.client.load_consumer(anonymous, true) (kong/pdk/client.lua:184-212): by id when
        it is a uuid, else (or when no such id) by username; none found makes set_consumer(nil) call
        kong.client.authenticate(nil, nil), which raises (kong/pdk/client.lua:257-258): 500."""
        found = None
        if _UUID.match(anonymous):
            found = next((c for c in self.consumers if c.id == anonymous), None)
        found = found or next((c for c in self.consumers if c.username == anonymous), None)
        if found is None:
            raise KongError("either credential or consumer must be provided")
        return _Authenticated(found, None, None)

    def _tokens(self, request: HttpRequest) -> set[str | bool]:
        """handler.lua:28-98: every distinct non-empty token from query args, then cookies, then headers."""
        tokens: set[str | bool] = set()
        for name in self.config.uri_param_names:  # handler.lua:30-45
            # kong.request.get_query() (kong/pdk/request.lua:520-551): a repeated argument is an array of its values,
            # one without "=" is boolean true, which handler.lua:41 keeps as a token of its own.
            for key, value in request.query:
                if key == name and value != "":
                    tokens.add(True if value is None else value)
        for name in self.config.cookie_names:  # handler.lua:47-53
            cookie = request.cookie(name)
            if cookie:
                tokens.add(cookie)
        for name in self.config.header_names:  # handler.lua:55-80
            value = request.header_for_plugin(name)
            # handler.lua:62: ngx.re.gmatch, unanchored, first match; PCRE's \s and . read like Python's with re.ASCII
            match = re.search(r"\s*[Bb]earer\s+(.+)", value, re.ASCII) if value is not None else None
            if match:
                tokens.add(match.group(1))
        return tokens

    def _authenticate(self, request: HttpRequest, now: int) -> _Refusal | _Authenticated:
        """do_authentication, handler.lua:154-264."""
        conf = self.config
        base = f'Bearer realm="{conf.realm}"' if conf.realm is not None else "Bearer"  # handler.lua:160
        with_error = base + ' error="invalid_token"'  # handler.lua:161
        tokens = self._tokens(request)
        if not tokens:  # handler.lua:164-165: the only refusal without error="invalid_token"
            return _refusal("Unauthorized", base)
        if len(tokens) > 1:  # handler.lua:166-167
            return _refusal("Multiple tokens provided", with_error)
        token = tokens.pop()
        if not isinstance(token, str):  # handler.lua:168-169: `?jwt` with no value
            return _refusal("Unrecognizable token", with_error)
        try:
            jwt = decode_token(token)  # handler.lua:174-177
        except BadToken as error:
            return _refusal(f"Bad token; {error}", with_error)

        claim = conf.key_claim_name
        key = _lua_index(jwt.claims, claim)  # handler.lua:182: claims[k] or header[k]
        if not _truthy(key):
            key = _lua_index(jwt.header, claim)
        if not _truthy(key):  # handler.lua:183-184
            return _refusal(f"No mandatory '{claim}' in claims", with_error)
        if key == "":  # handler.lua:185-186
            return _refusal(f"Invalid '{claim}' in claims", with_error)
        credential = self._credential(key)
        if credential is None:  # handler.lua:197-199
            return _refusal(f"No credentials found for given '{claim}'", with_error)
        if jwt.alg != credential.algorithm:  # handler.lua:201-206
            return _refusal("Invalid algorithm", with_error)

        secret: str | bytes | None  # handler.lua:208-219
        if credential.algorithm.startswith("HS"):
            secret = credential.secret
            if conf.secret_is_base64 and secret is not None:
                secret = base64url_decode(secret)  # jwt:base64_decode: base64url, so a standard "+" or "/" gives nil
        else:
            secret = credential.rsa_public_key
        if secret is None:  # handler.lua:221-223
            return _refusal("Invalid key/secret", with_error)
        if not verify_signature(jwt, secret):  # handler.lua:226-228
            return _refusal("Invalid signature", with_error)
        errors = verify_registered_claims(jwt, conf.claims_to_verify, now)  # handler.lua:231-234
        if errors:
            return _refusal(None, with_error, errors)
        errors = check_maximum_expiration(jwt, conf.maximum_expiration, now)  # handler.lua:237-242
        if errors:
            return _refusal(None, with_error, errors)
        # handler.lua:245-259: the credential's consumer (a foreign key, so it always exists).
        return _Authenticated(credential.consumer, credential, token)  # handler.lua:261

    def _credential(self, key: Any) -> Credential | None:
        """handler.lua:190-195 with the DAO (kong/db/dao/init.lua). A string is looked up exactly (case-sensitive, no
        normalisation). Anything else raises: cache_key() refuses a number, boolean or null (1565-1566); a table gets a
        cache key, and on a cold cache select_by_key() refuses it (116-126, 758-760), so mlcache reports an error and
        handler.lua:193-195 raises it. (Warm-cache quirk, not modelled: an object {"key": K} shares K's cache key, so once
        K's credential is cached it is found.)"""
        if isinstance(key, str):
            return self.credentials.get(key)
        raise KongError(f"a {_lua_type(key)} key claim ({json.dumps(key)[:40]}) is not a credential key")


def _forward(request: HttpRequest, outcome: _Authenticated | None) -> tuple[tuple[str, str], ...]:
    """The request header lines proxied upstream after set_consumer (handler.lua:110-147) sets or clears each identity
    header (kong.service.request.set_header replaces every line of that name; clear_header removes them)."""
    lines = list(request.headers)
    if outcome is None:
        return tuple(lines)
    consumer, credential = outcome.consumer, outcome.credential
    values = {
        "X-Consumer-ID": consumer.id if consumer else None,  # handler.lua:116-120
        "X-Consumer-Custom-ID": consumer.custom_id if consumer else None,  # handler.lua:122-126
        "X-Consumer-Username": consumer.username if consumer else None,  # handler.lua:128-132
        "X-Credential-Identifier": credential.key if credential else None,  # handler.lua:134-138
        "X-Anonymous-Consumer": None if credential else "true",  # handler.lua:140-144
    }
    for name, value in values.items():
        lines = [(key, v) for key, v in lines if key.lower() != name.lower()]
        if value is not None:
            lines.append((name, value))
    return tuple(lines)


# --- kong/plugins/cors/handler.lua ------------------------------------------------------------------------------------


def _is_preflight(request: HttpRequest) -> bool:
    """cors/handler.lua:194-199: OPTIONS with both Origin and Access-Control-Request-Method (an empty value counts)."""
    return (
        request.method == "OPTIONS" and request.header("Origin") is not None and request.header("Access-Control-Request-Method") is not None
    )


def _url_parse(url: str) -> dict[str, str] | None:
    """LuaSocket 3.0-rc1's socket.url.parse (kong-3.9.3-0.rockspec:17), the parts normalize_origin reads."""
    if url == "":
        return None
    parsed: dict[str, str] = {}

    def take(pattern: str, part: str) -> None:
        nonlocal url
        match = re.search(pattern, url, re.DOTALL)
        if match:
            parsed[part] = match.group(1)
            url = url[: match.start()] + url[match.end() :]

    take(r"#(.*)$", "fragment")
    take(r"^([A-Za-z0-9][A-Za-z0-9+\-.]*):", "scheme")
    take(r"^//([^/]*)", "authority")
    take(r"\?(.*)", "query")
    take(r";(.*)", "params")
    authority = parsed.get("authority")
    if authority is None:
        return parsed
    authority = re.sub(r"^([^@]*)@", "", authority, count=1)
    port = re.search(r":([^:\]]*)$", authority)
    if port:
        parsed["port"] = port.group(1)
        authority = authority[: port.start()]
    if authority != "":
        ipv6 = re.match(r"^\[(.+)\]$", authority, re.DOTALL)
        parsed["host"] = ipv6.group(1) if ipv6 else authority
    return parsed


def _normalize_origin(domain: str) -> tuple[str, str]:
    """cors/handler.lua:33-54: (domain, host); `assert(url.parse(domain))` raises on an empty origin."""
    parsed = _url_parse(domain)
    if parsed is None:
        raise KongError("invalid url")
    if "host" not in parsed:
        return domain, domain
    port = parsed.get("port")
    if (parsed.get("scheme"), port) in (("http", "80"), ("https", "443")):
        port = None
    scheme = parsed.get("scheme")
    return (f"{scheme}://" if scheme else "") + parsed["host"] + (f":{port}" if port else ""), parsed["host"]


class _ResponseHeaders:
    """kong.response.set_header / add_header / clear_header on the headers a plugin sets."""

    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {}

    def set(self, name: str, value: str) -> None:
        self.values[name] = [value]

    def add(self, name: str, value: str) -> None:
        self.values.setdefault(name, []).append(value)

    def clear(self, name: str) -> None:
        self.values.pop(name, None)

    def as_dict(self) -> dict[str, str]:
        return {name: ", ".join(values) for name, values in self.values.items()}


def _configure_origin(conf: CorsConfig, request: HttpRequest, out: _ResponseHeaders, header_filter: bool) -> bool:
    """cors/handler.lua:64-167; True when every origin is allowed."""
    origins = conf.origins or ()
    if not origins or origins == ("*",):  # cors/handler.lua:68-71
        out.set("Access-Control-Allow-Origin", "*")
        return True
    vary = out.add if header_filter else out.set  # cors/handler.lua:56-62,75: Vary always set
    vary("Vary", "Origin")
    if len(origins) == 1 and re.fullmatch(r"[A-Za-z0-9.:/-]+", origins[0]):  # cors/handler.lua:77-90
        out.set("Access-Control-Allow-Origin", origins[0])  # whatever the request's Origin
        return False
    request_origin = request.header("Origin")  # cors/handler.lua:92
    if request_origin is not None:
        entries: list[tuple[str | None, str | None, bool]] = []  # (regex, domain, by_host)
        for entry in origins:  # cors/handler.lua:98-130
            if entry == "*":
                out.set("Access-Control-Allow-Origin", "*")
                return True
            if re.search(r"[^A-Za-z0-9.:/-]", entry):  # cors/handler.lua:105-122: a regex, anchored at both ends
                anchored = entry if entry.endswith("$") else entry + "$"
                anchored = anchored[1:] if anchored.startswith("^") else anchored
                entries.append((anchored, None, ":" not in anchored))  # cors/handler.lua:128: by_host without ":"
            else:
                entries.append((None, _normalize_origin(entry)[0], ":" not in entry))
        domain, host = _normalize_origin(request_origin)  # cors/handler.lua:135-139
        for regex, allowed, by_host in entries:  # cors/handler.lua:141-162
            try:
                found = re.match(regex, host if by_host else domain) is not None if regex is not None else domain == allowed
            except re.error:
                raise Unmodelled(f"cors origin regex {regex!r} (PCRE) that Python's re cannot compile") from None
            if found:
                out.set("Access-Control-Allow-Origin", domain)
                return False
    out.clear("Access-Control-Allow-Origin")  # cors/handler.lua:165
    return False


def _configure_credentials(conf: CorsConfig, request: HttpRequest, allow_all: bool, out: _ResponseHeaders, header_filter: bool) -> None:
    """cors/handler.lua:170-190: with every origin allowed and credentials on, the request's Origin is echoed back."""
    if not conf.credentials:
        return
    if not allow_all:
        out.set("Access-Control-Allow-Credentials", "true")
        return
    origin = request.header("Origin")
    if origin is not None:
        (out.add if header_filter else out.set)("Vary", "Origin")
        out.set("Access-Control-Allow-Origin", origin)
        out.set("Access-Control-Allow-Credentials", "true")


def _lua_number(value: float) -> str:
    """tostring() of a Lua number (LuaJIT prints "%.14g")."""
    return f"{value:.14g}"


def _cors_preflight(conf: CorsConfig, request: HttpRequest) -> dict[str, str]:
    """cors/handler.lua:210-241: the headers of cors's own 200 answer to a preflight (no body)."""
    out = _ResponseHeaders()
    allow_all = _configure_origin(conf, request, out, header_filter=False)
    _configure_credentials(conf, request, allow_all, out, header_filter=False)
    if conf.headers:  # cors/handler.lua:215-225
        out.set("Access-Control-Allow-Headers", ",".join(conf.headers))
    elif request.header("Access-Control-Request-Headers") is not None:
        out.set("Access-Control-Allow-Headers", str(request.header("Access-Control-Request-Headers")))
    else:
        out.clear("Access-Control-Allow-Headers")
    # cors/handler.lua:227-230: Lua's `methods and concat(methods) or default` keeps "" for an empty list
    out.set("Access-Control-Allow-Methods", ",".join(conf.methods) if conf.methods is not None else ",".join(CORS_METHODS))
    if conf.max_age is not None:  # cors/handler.lua:232-234
        out.set("Access-Control-Max-Age", _lua_number(conf.max_age))
    if conf.private_network and request.header("Access-Control-Request-Private-Network") == "true":  # cors/handler.lua:236-239
        out.set("Access-Control-Allow-Private-Network", "true")
    return out.as_dict()


def _cors_header_filter(conf: CorsConfig, request: HttpRequest) -> dict[str, str]:
    """cors/handler.lua:245-257: on every other response, the jwt plugin's 401s included (Kong runs header_filter for
    the plugins that ran, also after kong.response.exit)."""
    out = _ResponseHeaders()
    try:
        allow_all = _configure_origin(conf, request, out, header_filter=True)
    except KongError:
        raise Unmodelled("a Lua error in cors's header_filter (an empty Origin with an origin list)") from None
    _configure_credentials(conf, request, allow_all, out, header_filter=True)
    if conf.exposed_headers:  # cors/handler.lua:253-256
        out.set("Access-Control-Expose-Headers", ",".join(conf.exposed_headers))
    return out.as_dict()
