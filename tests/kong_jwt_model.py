"""A model of Kong 3.9's jwt plugin access phase (handler.lua, jwt_parser.lua), fed with what the program declared.

Each step follows /work/shared/reference/FACTS.md and Kong's source in order; it judges the config the real
program registered under the mock runtime, so a change to the declared plugin or credentials changes the verdicts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from testkit.mock_runtime import SECRET_SIG, Run
from tools.token_scenarios import MintedRequest

# jwt_parser.lua's alg_verify table: any other alg (e.g. "none") fails decoding with "invalid alg".
KNOWN_ALGS = frozenset({"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"})
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
_RSA: dict[str, hashes.HashAlgorithm] = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}
# handler.lua matches header values with ngx.re.gmatch, unanchored.
_BEARER = re.compile(r"\s*[Bb]earer\s+(.+)")


@dataclass(frozen=True)
class Credential:
    """A jwt credential as Kong stores it (jwt_secrets)."""

    key: str
    algorithm: str
    rsa_public_key: str
    secret: str


@dataclass(frozen=True)
class Verdict:
    """Kong's answer: 200 with the headers it adds upstream, or the refusal status and JSON body."""

    status: int
    body: dict[str, Any] | None
    upstream_headers: dict[str, str]


def _refuse(body: dict[str, Any]) -> Verdict:
    return Verdict(401, body, {})


class _BadTokenError(Exception):
    """Kong's jwt_parser could not decode the token; the message is what follows "Bad token; "."""


def _b64decode(segment: str | None) -> bytes:
    # Kong pads, maps -_ to +/ and uses ngx.decode_base64, which returns nil on bad input (a nil later fails json.decode).
    if segment is None:
        raise _BadTokenError("invalid JSON")
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise _BadTokenError("invalid JSON") from None


def _json(segment: str | None) -> Any:
    try:
        return json.loads(_b64decode(segment))
    except (UnicodeDecodeError, ValueError):
        raise _BadTokenError("invalid JSON") from None


@dataclass(frozen=True)
class _Jwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _decode(token: str) -> _Jwt:
    # tokenize(token, ".", 3): at most three parts, the last keeps any further dots.
    parts = token.split(".", 2)
    header_64, claims_64, signature_64 = [*parts, None, None][:3]
    header, claims = _json(header_64), _json(claims_64)
    signature = _b64decode(signature_64)
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _BadTokenError("invalid JSON")
    typ = header.get("typ")
    if typ is not None and str(typ).upper() != "JWT":
        raise _BadTokenError("invalid typ")
    if not isinstance(header.get("alg"), str) or header["alg"] not in KNOWN_ALGS:
        raise _BadTokenError("invalid alg")
    return _Jwt(header, claims, f"{header_64}.{claims_64}".encode(), signature)


def _signature_ok(jwt: _Jwt, credential: Credential) -> bool:
    alg = jwt.header["alg"]
    if alg in _HMAC:
        expected = hmac.new(credential.secret.encode(), jwt.signing_input, _HMAC[alg]).digest()
        return hmac.compare_digest(expected, jwt.signature)
    if alg in _RSA:
        key = serialization.load_pem_public_key(credential.rsa_public_key.encode())
        assert isinstance(key, rsa.RSAPublicKey), "Kong refuses a credential whose rsa_public_key is not RSA"
        try:
            key.verify(jwt.signature, jwt.signing_input, padding.PKCS1v15(), _RSA[alg])
        except InvalidSignature:
            return False
        return True
    raise NotImplementedError(f"the model does not verify {alg} signatures")


def _plain(value: Any) -> Any:
    """An input with its secret marker removed (Kong receives the value itself)."""
    return value["value"] if isinstance(value, dict) and SECRET_SIG in value else value


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class KongJwtPlugin:
    """The jwt plugin on one route, with the credentials (keyed by issuer) of the consumer that owns them."""

    def __init__(self, config: Mapping[str, Any], credentials: list[Credential], consumer_username: str) -> None:
        self.config = dict(config)
        self.credentials = {c.key: c for c in credentials}
        assert len(self.credentials) == len(credentials), "Kong refuses a second credential with the same key (409)"
        self.consumer_username = consumer_username

    @classmethod
    def from_run(cls, run: Run) -> KongJwtPlugin:
        """The plugin and credentials exactly as the program registered them."""
        assert run.error is None, run.error
        plugin = run.one("plugin").inputs
        assert plugin["name"] == "jwt" and plugin.get("enabled", True)
        credentials = [
            Credential(
                key=r.inputs["key"],
                algorithm=r.inputs["algorithm"],
                rsa_public_key=_plain(r.inputs["rsaPublicKey"]),
                secret=_plain(r.inputs["secret"]),
            )
            for r in run.of("credential")
        ]
        return cls(json.loads(plugin["configJson"]), credentials, run.one("consumer").inputs["username"])

    def _tokens(self, request: MintedRequest) -> set[str]:
        tokens: set[str] = set()
        for name in self.config.get("uri_param_names", ["jwt"]):
            if request.params.get(name):
                tokens.add(request.params[name])
        for name in self.config.get("cookie_names", []):
            if request.cookies.get(name):
                tokens.add(request.cookies[name])
        headers = {k.lower(): v for k, v in request.headers.items()}
        for name in self.config.get("header_names", ["authorization"]):
            value = headers.get(name.lower())
            match = _BEARER.search(value) if value is not None else None
            if match:
                tokens.add(match.group(1))
        return tokens

    def access(self, request: MintedRequest, *, now: int) -> Verdict:
        """Kong's access phase for one request at the given clock (ngx.time())."""
        if not self.config.get("run_on_preflight", True) and request.method == "OPTIONS":
            return Verdict(200, None, {})
        tokens = self._tokens(request)
        if not tokens:
            return _refuse({"message": "Unauthorized"})
        if len(tokens) > 1:
            return _refuse({"message": "Multiple tokens provided"})
        try:
            jwt = _decode(tokens.pop())
        except _BadTokenError as error:
            return _refuse({"message": f"Bad token; {error}"})

        claim_name = self.config.get("key_claim_name", "iss")
        # Lua's `claims[k] or header[k]`: only a missing (nil) or false claim falls through to the header.
        key = jwt.claims.get(claim_name)
        if key is None or key is False:
            key = jwt.header.get(claim_name)
        if key is None or key is False:
            return _refuse({"message": f"No mandatory '{claim_name}' in claims"})
        if key == "":
            return _refuse({"message": f"Invalid '{claim_name}' in claims"})
        credential = self.credentials.get(key) if isinstance(key, str) else None
        if credential is None:
            return _refuse({"message": f"No credentials found for given '{claim_name}'"})
        if jwt.header["alg"] != credential.algorithm:
            return _refuse({"message": "Invalid algorithm"})
        if not _signature_ok(jwt, credential):
            return _refuse({"message": "Invalid signature"})

        errors: dict[str, str] = {}
        for claim in self.config.get("claims_to_verify") or []:
            value: Any = jwt.claims.get(claim)
            if not _is_number(value):
                errors[claim] = "must be a number"
            elif claim == "exp" and value <= now:
                errors[claim] = "token expired"
            elif claim == "nbf" and value > now:
                errors[claim] = "token not valid yet"
        if errors:
            return _refuse(errors)
        maximum = self.config.get("maximum_expiration", 0)
        if maximum > 0:
            exp = jwt.claims.get("exp")
            if exp is None or exp - now > maximum:
                return _refuse({"exp": "exceeds maximum allowed expiration"})

        return Verdict(200, None, {"X-Consumer-Username": self.consumer_username, "X-Credential-Identifier": credential.key})
