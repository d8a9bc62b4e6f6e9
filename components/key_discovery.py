"""Key discovery: choose the workspace's signing key from its published JWKS, and notice when a pinned key drifts from it."""

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import pulumi
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigError, describe
from .jwks import DEFAULT_POLICY, JWKS_PATH, FetchPolicy, Jwk, JwksError, fetch_jwks
from .public_key import PublicKey, check_rsa_key

KeyName = Callable[[str], str]
"""How the caller names an argument of the trust (workspace_url, public_key_pem, key_id, key_check)."""


class KeyCheck(Enum):
    """What to do when the pinned key is not among the keys the workspace publishes."""

    WARN = "warn"
    """Warn in the preview (the default)."""
    FAIL = "fail"
    """Fail the run, also when the published keys cannot be read: for drift checks in CI."""
    OFF = "off"
    """Do not compare (no network)."""


@dataclass(frozen=True)
class SigningKey:
    """The key Kong will verify with, and the `kid` it was published under (when known)."""

    public_key: PublicKey
    kid: str | None


def _is_rs256_signing_key(jwk: Jwk) -> bool:
    return jwk.kty == "RSA" and jwk.alg in (None, "RS256") and jwk.use in (None, "sig")


def _b64_int(value: object) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError("missing")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _to_public_key(jwk: Jwk, name: KeyName, url: str) -> PublicKey:
    where = f"{_named(jwk)} published at {url}"
    try:
        loaded = rsa.RSAPublicNumbers(_b64_int(jwk.e), _b64_int(jwk.n)).public_key()
    except (ValueError, binascii.Error):
        raise ConfigError(
            name("workspace_url"),
            url,
            f"the published {where} is not a valid RSA key",
            f"pin the key from the Frontegg portal in {name('public_key_pem')}",
        ) from None
    check_rsa_key(loaded, name("workspace_url"), where)
    return PublicKey.from_rsa(loaded)


def _named(jwk: Jwk) -> str:
    return f"key {describe(jwk.kid)}" if jwk.kid is not None else "a key without a kid"


def _describe(keys: Sequence[Jwk]) -> str:
    return ", ".join(f"{describe(k.kid) if k.kid is not None else 'no kid'} ({k.kty}/{k.alg or 'no alg'})" for k in keys) or "none"


def select_key(keys: Sequence[Jwk], key_id: str | None, name: KeyName, url: str) -> SigningKey:
    """Pick the RS256 signing key: the one with the configured kid, or the only candidate."""
    # The same key published twice (under two kids, or none) is still one key.
    candidates = list({(key.n, key.e): key for key in keys if _is_rs256_signing_key(key)}.values())
    if key_id:
        chosen = [key for key in candidates if key.kid == key_id]
        if not chosen:
            raise ConfigError(
                name("key_id"),
                describe(key_id),
                f"no RS256 signing key with this kid is published at {url} (found: {_describe(keys)})",
                "set it to one of the kids found, or unset it",
            )
        return SigningKey(_to_public_key(chosen[0], name, url), key_id)
    if not candidates:
        raise ConfigError(
            name("workspace_url"),
            url,
            f"no usable RS256 signing key is published there (found: {_describe(keys)})",
            f"check the workspace's JWT signature settings (RS256), or pin the key in {name('public_key_pem')}",
        )
    if len(candidates) > 1 and any(key.kid is None for key in candidates):
        raise ConfigError(
            name("workspace_url"),
            url,
            f"{len(candidates)} signing keys are published there, not all with a kid, so none can be chosen: {_describe(candidates)}",
            f"pin the key tokens are signed with in {name('public_key_pem')}",
        )
    if len(candidates) > 1:
        raise ConfigError(
            name("key_id"),
            "nothing",
            f"{len(candidates)} signing keys are published at {url}: {_describe(candidates)}",
            f"set {name('key_id')} to the kid of the key tokens are signed with",
        )
    only = candidates[0]
    return SigningKey(_to_public_key(only, name, url), only.kid)


def discover(workspace_url: str, key_id: str | None, name: KeyName, policy: FetchPolicy | None = None) -> SigningKey:
    """Fetch the JWKS and select the signing key; any failure is a ConfigError naming what to check."""
    try:
        keys = fetch_jwks(workspace_url, policy or DEFAULT_POLICY)
    except JwksError as error:
        raise ConfigError(
            name("workspace_url"), workspace_url, str(error), f"fix the URL, or pin the public key in {name('public_key_pem')}"
        ) from None
    return select_key(keys, key_id, name, workspace_url + JWKS_PATH)


def check_pinned(
    pinned: PublicKey, key_id: str | None, workspace_url: str, check: KeyCheck, name: KeyName, policy: FetchPolicy | None = None
) -> SigningKey:
    """Compare a pinned key with the published ones: warn (or fail) on drift, and with `fail` also when they cannot be read."""
    if check is KeyCheck.OFF:
        return SigningKey(pinned, key_id)
    url = workspace_url + JWKS_PATH
    try:
        keys = fetch_jwks(workspace_url, policy or DEFAULT_POLICY)
    except JwksError as error:
        if check is KeyCheck.FAIL:
            raise ConfigError(
                name("key_check"),
                '"fail"',
                f"the pinned key could not be compared with the published keys: {error}",
                f"fix {name('workspace_url')}, or set {name('key_check')} to warn while the workspace is unreachable",
            ) from None
        pulumi.log.warn(
            f"{name('public_key_pem')}: could not compare the pinned key with the published keys ({error}); the pinned key stands."
        )
        return SigningKey(pinned, key_id)
    published: dict[str, str | None] = {}
    for jwk in keys:
        if _is_rs256_signing_key(jwk):
            try:
                published[_to_public_key(jwk, name, url).fingerprint] = jwk.kid
            except ConfigError:
                continue
    if pinned.fingerprint in published and key_id in (None, published[pinned.fingerprint]):
        return SigningKey(pinned, key_id or published[pinned.fingerprint])
    if pinned.fingerprint in published:
        message = (
            f"the pinned key is published at {url} under kid {describe(published[pinned.fingerprint])}, "
            f"not under the configured {name('key_id')} {describe(key_id)}"
        )
        if check is KeyCheck.FAIL:
            raise ConfigError(name("key_id"), describe(key_id), message, f"set {name('key_id')} to the published kid, or unset it")
        pulumi.log.warn(f"{name('key_id')}: {message}; the pinned key stands.")
        return SigningKey(pinned, published[pinned.fingerprint])
    message = (
        f"the pinned key (SHA-256 {pinned.fingerprint}) is not among the keys published at {url} "
        f"(SHA-256 {', '.join(sorted(published)) or 'none usable'}). Frontegg has likely rotated its signing key: "
        f"tokens signed with the new key will be refused by Kong after the rotation"
    )
    if check is KeyCheck.FAIL:
        raise ConfigError(
            name("public_key_pem"),
            f"key SHA-256 {pinned.fingerprint}",
            message,
            f"update {name('public_key_pem')} (or unset it to use the published key)",
        )
    pulumi.log.warn(f"{name('public_key_pem')}: {message}. Update it (or unset it to use the published key).")
    return SigningKey(pinned, key_id)
