"""Key handling: turn the workspace's public key into the canonical PEM Kong verifies with."""

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigError, describe

MIN_RSA_BITS = 2048
_SMALL_PRIMES = tuple(n for n in range(3, 10_000, 2) if all(n % d for d in range(3, int(n**0.5) + 1, 2)))
"""Odd primes below 10,000: a real RSA modulus has no factor this small (a test key or a corrupted paste does)."""


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key, as Kong's credential wants it and as humans compare it."""

    pem: str
    """SPKI PEM (`BEGIN PUBLIC KEY`) with real newlines, as Kong's own fixtures use."""
    fingerprint: str
    """SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex."""
    bits: int

    @classmethod
    def from_rsa(cls, key: rsa.RSAPublicKey) -> "PublicKey":
        """Canonicalise an RSA key object."""
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(pem=pem.decode("ascii"), fingerprint=hashlib.sha256(der).hexdigest(), bits=key.key_size)


def check_rsa_key(key: rsa.RSAPublicKey, key_name: str, given: str) -> None:
    """Refuse RSA keys too short to trust, or whose modulus no real key generator produces."""
    fix = "use the workspace's current signing key from the Frontegg portal"
    if key.key_size < MIN_RSA_BITS:
        raise ConfigError(key_name, given, f"RSA key of {key.key_size} bits is too short (at least {MIN_RSA_BITS})", fix)
    modulus = key.public_numbers().n
    if modulus % 2 == 0 or any(modulus % prime == 0 for prime in _SMALL_PRIMES):
        raise ConfigError(key_name, given, "the RSA modulus has a small factor, so the key is broken or forged", fix)


def parse_public_key(value: object, key: str) -> PublicKey:
    """Accept an RSA public key in SPKI or PKCS#1 PEM and return it canonicalised."""
    fix = "paste the public key from Frontegg: Configurations > Security > JWT > JWT signature"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, describe(value), "expected a PEM public key", fix)
    text = value.strip()
    if "\n" not in text and "\\n" in text:
        # A PEM pasted into a one-line YAML string often arrives with literal "\n" escapes.
        text = text.replace("\\n", "\n")
    if "PRIVATE KEY" in text:
        # Never echo any of it: the value is a secret that must not be deployed or logged.
        raise ConfigError(
            key,
            "a PEM private key (contents not shown)",
            "this is a private key; it must never be deployed to Kong or kept in stack config",
            f"remove it from config, rotate it if it was shared, and {fix}",
        )
    summary = describe(text)
    if text.count("-----BEGIN") > 1:
        raise ConfigError(
            key, summary, "holds several PEM blocks; Kong's credential takes exactly one key", f"keep only the signing key: {fix}"
        )
    if text.startswith("{"):
        raise ConfigError(
            key, summary, "this is JSON (a JWK or a JWKS), not a PEM public key", f"leave it unset to use the published key, or {fix}"
        )
    if "BEGIN CERTIFICATE" in text:
        raise ConfigError(key, summary, "this is a certificate, not a public key", fix)
    try:
        loaded = serialization.load_pem_public_key(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError):
        raise ConfigError(key, summary, "not a PEM public key (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)", fix) from None
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ConfigError(
            key,
            summary,
            f"the key is {type(loaded).__name__.removesuffix('PublicKey')}, not RSA; Kong's RS256 credential needs RSA",
            "use the RS256 signing key of the workspace",
        )
    check_rsa_key(loaded, key, summary)
    return PublicKey.from_rsa(loaded)
