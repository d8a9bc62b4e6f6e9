"""Key handling: what users paste from the Frontegg portal, and what Kong receives."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization

from components.errors import ConfigError
from components.public_key import parse_public_key
from tests.keys import ec_key, pkcs1_pem, private_pem, rsa_key, spki_pem

KEY = "kong-frontegg-jwt:fronteggPublicKey"


def test_spki_and_pkcs1_give_the_same_canonical_spki_pem() -> None:
    key = rsa_key()
    assert parse_public_key(spki_pem(key), KEY).pem == spki_pem(key)
    assert parse_public_key(pkcs1_pem(key), KEY).pem == spki_pem(key)


def test_surrounding_whitespace_and_one_line_escaped_newlines_are_tolerated() -> None:
    key = rsa_key()
    assert parse_public_key("\n\n   " + spki_pem(key) + "  \n", KEY).pem == spki_pem(key)
    assert parse_public_key(spki_pem(key).replace("\n", "\\n"), KEY).pem == spki_pem(key)


def test_the_fingerprint_is_sha256_of_the_der_spki() -> None:
    key = rsa_key()
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert parse_public_key(pkcs1_pem(key), KEY).fingerprint == hashlib.sha256(der).hexdigest()


def test_a_private_key_is_refused_without_echoing_it() -> None:
    pem = private_pem(rsa_key())
    with pytest.raises(ConfigError) as error:
        parse_public_key(pem, KEY)
    message = str(error.value)
    assert message.startswith(KEY) and "private key" in message and "never" in message
    body = pem.splitlines()[1]
    assert body not in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "expected a PEM public key"),
        ("not a key", "not a PEM public key"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a PEM public key"),
        (None, "expected a PEM public key"),
    ],
)
def test_what_is_not_a_key_is_refused(value: object, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_public_key(value, KEY)


def test_a_non_rsa_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="not RSA"):
        parse_public_key(spki_pem(ec_key()), KEY)


def test_rsa_under_2048_bits_is_refused() -> None:
    with pytest.raises(ConfigError, match="1024 bits is too short"):
        parse_public_key(spki_pem(rsa_key("short", 1024)), KEY)
