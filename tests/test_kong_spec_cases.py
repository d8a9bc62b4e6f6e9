"""Kong 3.9.3's own test cases, restated as data (tests/kong_spec_cases.json) and run against the model.

Ported from the jwt plugin: 57 of the 65 cases in spec/03-plugins/16-jwt/03-access_spec.lua and 34 of the 35 in
01-jwt_parser_spec.lua, 91 in all, each citing its spec lines. Skipped (the data file's `skipped` says why, case by
case): the two gRPC cases (the model judges HTTP only), the parser's non-string argument check (a Lua API misuse the
handler never makes), and the six logical AND/OR cases whose answer comes from the key-auth plugin. Kong's fixture keys
are replaced by keys generated here (RSA 2048, EC P-256/P-384/P-521, Ed25519, Ed448), its generated credential keys and
secrets by our own. From the cors plugin: the 129 origin-matching cases of spec/03-plugins/13-cors/01-access_spec.lua
(13 origin lists), which pin down how the model's cors answers a preflight from each origin.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.keys import rsa_key
from tests.kong_jwt_model import (
    BadToken,
    Consumer,
    Credential,
    HttpRequest,
    JwtConfig,
    KongJwtPlugin,
    decode_token,
    verify_registered_claims,
    verify_signature,
)

CASES = json.loads(Path(__file__).with_name("kong_spec_cases.json").read_text())
NOW = 1_750_000_000
"""os.time() / ngx.time() in the spec; claims' "+N"/"-N" are relative to it."""
SPEC_IT_BLOCKS = {"03-access_spec.lua": 65, "01-jwt_parser_spec.lua": 35}
"""`it(...)` blocks in each spec file at Kong 3.9.3: every one is ported or listed as skipped."""

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
_CURVES: dict[str, ec.EllipticCurve] = {"ec-p256": ec.SECP256R1(), "ec-p384": ec.SECP384R1(), "ec-p521": ec.SECP521R1()}
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


@functools.cache
def private_key(name: str) -> PrivateKey:
    """The key standing in for Kong's fixtures.<name>_private_key."""
    kind = CASES["keys"][name]
    if kind == "rsa-2048":
        return rsa_key(f"kong-spec-{name}")
    if kind in _CURVES:
        return ec.generate_private_key(_CURVES[kind])
    return ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else ed448.Ed448PrivateKey.generate()


def public_pem(name: str) -> str:
    """fixtures.<name>_public_key: SPKI PEM, as Kong's fixtures have it."""
    key = private_key(name).public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def credential_key(name: str) -> str:
    return str(CASES["credentials"][name]["key"])


def resolve(value: Any, token: str = "", claim: str = "") -> Any:
    """{token} and {key:<credential>} in strings; "+N"/"-N" for exp, nbf and iat."""
    if isinstance(value, dict):
        return {k: resolve(v, token, k) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(item, token) for item in value]
    if not isinstance(value, str):
        return value
    if claim in ("exp", "nbf", "iat") and value[:1] in "+-" and value[1:].isdigit():
        return NOW + int(value)
    for name in CASES["credentials"]:
        value = value.replace(f"{{key:{name}}}", credential_key(name))
    return value.replace("{token}", token)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signature(alg: str, key: Any, data: bytes) -> bytes:
    if alg.startswith("HS"):
        return hmac.new(key.encode(), data, _HMAC[alg]).digest()
    if alg == "EdDSA":
        assert isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        return key.sign(data)
    digest = _HASHES[alg[2:]]()
    if alg.startswith("ES"):  # JWS wants raw r || s, each as wide as the curve (RFC 7518 section 3.4)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        width = (key.curve.key_size + 7) // 8
        return r.to_bytes(width, "big") + s.to_bytes(width, "big")
    assert isinstance(key, rsa.RSAPrivateKey)
    if alg.startswith("PS"):
        return key.sign(data, padding.PSS(padding.MGF1(digest), digest.digest_size), digest)
    return key.sign(data, padding.PKCS1v15(), digest)


def signing_key(ref: Any) -> Any:
    """A case's signing key: {"text": secret}, a credential (its secret, or its key pair) or a key pair name."""
    if isinstance(ref, dict):
        return ref["text"]
    if ref in CASES["credentials"]:
        credential = CASES["credentials"][ref]
        return credential["secret"] if "secret" in credential else private_key(credential["public_key"])
    return private_key(ref)


def mint(token: dict[str, Any]) -> str:
    """Like jwt_parser.encode (jwt_parser.lua:293-323): header {typ, alg} unless given, compact JSON, base64url, signed."""
    header = resolve(token.get("header", {"typ": "JWT", "alg": token["alg"]}))
    claims = resolve(token["claims"])
    signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = _signature(token["alg"], signing_key(token["key"]), signing_input.encode())
    return str(token.get("prefix", "")) + f"{signing_input}.{_b64url(signature)}"


@functools.cache
def consumers() -> dict[str, Consumer]:
    return {c["username"]: Consumer(c["id"], c["username"]) for c in CASES["consumers"]}


def credentials() -> list[Credential]:
    return [
        Credential(
            key=data["key"],
            algorithm=data.get("algorithm", "HS256"),
            rsa_public_key=public_pem(data["public_key"]) if "public_key" in data else None,
            secret=data.get("secret", "kong-generated-secret"),
            consumer=consumers()[data["consumer"]],
        )
        for data in CASES["credentials"].values()
    ]


def route(host: str) -> KongJwtPlugin:
    """The jwt plugin on one of the spec's routes, with every credential and consumer the spec inserts."""
    return KongJwtPlugin(JwtConfig.from_kong(CASES["routes"][host]["config"]), credentials(), list(consumers().values()))


def first(lines: tuple[tuple[str, str], ...], name: str) -> str | None:
    return next((value for key, value in lines if key.lower() == name.lower()), None)


@pytest.mark.parametrize("case", CASES["access"], ids=[c["spec"] for c in CASES["access"]])
def test_kongs_access_spec_case(case: dict[str, Any]) -> None:
    token = mint(case["token"]) if "token" in case else ""
    request = HttpRequest(
        method=case.get("method", "GET"),
        headers=tuple((name, resolve(value, token)) for name, value in case.get("headers", [])),
        query=tuple((name, resolve(value, token)) for name, value in case.get("query", [])),
    )
    verdict = route(case["route"]).access(request, now=NOW)
    expect = resolve(case["expect"], token)
    assert verdict.status == expect["status"], (case["it"], verdict)
    if "body" in expect:
        assert verdict.body == expect["body"]
    for name, value in expect.get("headers", {}).items():
        assert verdict.header(name) == value, name
    for name, value in expect.get("upstream", {}).items():
        assert verdict.upstream_headers.get(name) == value, name
    for name, value in expect.get("forwarded", {}).items():
        assert first(verdict.forwarded_headers, name) == value, name
    if "authenticated_jwt_token" in expect:
        assert verdict.authenticated_jwt_token == expect["authenticated_jwt_token"]


def verification_key(ref: dict[str, str]) -> str:
    return ref["text"] if "text" in ref else public_pem(ref["public"])


@pytest.mark.parametrize("case", CASES["parser"], ids=[c["spec"] for c in CASES["parser"]])
def test_kongs_parser_spec_case(case: dict[str, Any]) -> None:
    expect = case["expect"]
    for _ in range(expect.get("repeat", 1)):  # the spec repeats ES/PS cases: their signatures vary per run
        token = mint(case["token"])
        if "decode_error" in expect:
            with pytest.raises(BadToken, match=f"^{expect['decode_error']}$"):
                decode_token(token)
            continue
        jwt = decode_token(token)
        for check in expect.get("verify", []):
            assert verify_signature(jwt, verification_key(check["key"])) is check["result"], check
        for check in expect.get("claims", []):
            assert verify_registered_claims(jwt, check["verify"], NOW) == check["errors"], check


def test_every_spec_case_is_ported_or_skipped_with_a_reason() -> None:
    ported = [c["spec"] for c in CASES["access"] + CASES["parser"]]
    skipped = [c["spec"] for c in CASES["skipped"]]
    assert len(set(ported + skipped)) == len(ported + skipped), "a spec case is listed twice"
    assert all(c["why"] for c in CASES["skipped"])
    for spec_file, count in SPEC_IT_BLOCKS.items():
        assert sum(spec.startswith(spec_file) for spec in ported + skipped) == count, spec_file
    assert (len(CASES["access"]), len(CASES["parser"]), len(skipped)) == (57, 34, 9)


CORS_ORIGIN_CASES = [
    (group["spec"], group["origins"], origin, allowed)
    for group in CASES["cors_origins"]["cases"]
    for origin, allowed in group["preflight_from"].items()
]


@pytest.mark.parametrize(("spec", "origins", "origin", "allowed"), CORS_ORIGIN_CASES, ids=[f"{c[0]} {c[2]}" for c in CORS_ORIGIN_CASES])
def test_kongs_cors_origin_case(spec: str, origins: list[str], origin: str, allowed: str | None) -> None:
    gateway = route("jwt1.test").with_cors({"origins": origins})
    preflight = HttpRequest("OPTIONS", (("Origin", origin), ("Access-Control-Request-Method", "GET")))
    verdict = gateway.access(preflight, now=NOW)
    assert (verdict.status, verdict.answered_by, verdict.header("Access-Control-Allow-Origin")) == (200, "cors", allowed)
    if allowed is not None:
        assert verdict.header("Access-Control-Allow-Methods") == "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
        for absent in (
            "Access-Control-Allow-Headers",
            "Access-Control-Expose-Headers",
            "Access-Control-Allow-Credentials",
            "Access-Control-Max-Age",
        ):
            assert verdict.header(absent) is None, absent


# --- Rules read from the source that Kong's specs do not exercise ------------------------------------------------------


def signed_request(alg: str, key: Any, iss: str, header: dict[str, Any] | None = None) -> HttpRequest:
    token = mint({"claims": {"iss": iss, "exp": "+60"}, "alg": alg, "key": key, **({"header": header} if header else {})})
    return HttpRequest(headers=(("Authorization", f"Bearer {token}"),))


def test_a_ps256_token_signed_by_a_4096_bit_key_makes_kong_fail() -> None:
    # jwt_parser.lua:173: assert(#signature == 256) raises for any other RSA size: Kong answers 500, not 401.
    big = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    pem = big.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    gateway = KongJwtPlugin({}, [Credential("big", "PS256", pem, None, consumers()["no-body"])])
    token_header = _b64url(json.dumps({"typ": "JWT", "alg": "PS256"}).encode())
    claims = _b64url(json.dumps({"iss": "big"}).encode())
    digest = hashes.SHA256()
    signature = big.sign(f"{token_header}.{claims}".encode(), padding.PSS(padding.MGF1(digest), 32), digest)
    request = HttpRequest(headers=(("Authorization", f"Bearer {token_header}.{claims}.{_b64url(signature)}"),))
    assert gateway.access(request, now=NOW).status == 500


def test_an_es256_token_with_a_der_signature_makes_kong_fail() -> None:
    # jwt_parser.lua:139: assert(#signature == 64); a DER-encoded ECDSA signature (70-72 bytes) raises: 500.
    key = private_key("es256")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    gateway = KongJwtPlugin({}, [Credential("ec", "ES256", public_pem("es256"), None, consumers()["no-body"])])
    signing_input = f"{_b64url(json.dumps({'alg': 'ES256'}).encode())}.{_b64url(json.dumps({'iss': 'ec'}).encode())}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    request = HttpRequest(headers=(("Authorization", f"Bearer {signing_input}.{_b64url(der)}"),))
    assert gateway.access(request, now=NOW).status == 500
    assert route("jwt1.test").access(signed_request("ES256", "es256", "nobody"), now=NOW).status == 401  # raw r||s decodes fine


def test_secret_is_base64_reads_the_secret_as_base64url() -> None:
    # handler.lua:211-212 uses the parser's base64url decoder: a standard-base64 secret with "+" or "/" decodes to nil.
    gateway = KongJwtPlugin({"secret_is_base64": True}, [Credential("k", "HS256", None, "ab+/", consumers()["no-body"])])
    verdict = gateway.access(signed_request("HS256", {"text": "anything"}, "k"), now=NOW)
    assert verdict.body == {"message": "Invalid key/secret"}


def test_a_500_still_carries_the_cors_headers() -> None:
    gateway = route("jwt1.test").with_cors({"origins": ["https://app.example.com"]})
    request = HttpRequest(headers=(("Authorization", f"Bearer {mint({'claims': 42, 'alg': 'HS256', 'key': 'jwt_secret'})}"),))
    verdict = gateway.access(request, now=NOW)
    assert (verdict.status, verdict.header("Access-Control-Allow-Origin")) == (500, "https://app.example.com")
