"""Frontegg key discovery: fetch the workspace's published signing key, and notice when a pinned key drifts from it."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.adapters import HTTPAdapter
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, ReadTimeoutError
from urllib3.util.retry import Retry

from components.errors import ConfigError, shown
from components.public_key import PublicKey, check_rsa_size

JWKS_PATH = "/.well-known/jwks.json"
KeyCheck = Literal["warn", "fail", "off"]
KEY_CHECKS: tuple[KeyCheck, ...] = ("warn", "fail", "off")
_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class FetchPolicy:
    """How patiently the JWKS is fetched; the defaults bound a whole fetch, retries included, to about half a minute."""

    connect_timeout: float = 3.05
    read_timeout: float = 6.0
    retries: int = 2
    backoff: float = 0.5

    @property
    def worst_case_seconds(self) -> float:
        """Upper bound of one fetch: every attempt times out, plus the backoff sleeps between them."""
        sleeps = sum(self.backoff * 2**attempt for attempt in range(self.retries))
        return float((self.retries + 1) * (self.connect_timeout + self.read_timeout) + sleeps)


DEFAULT_POLICY = FetchPolicy()


@dataclass(frozen=True)
class SigningKey:
    """The key Kong will verify with, and the `kid` it was published under (when known)."""

    public_key: PublicKey
    kid: str | None


@dataclass(frozen=True)
class KeyNames:
    """The config keys (or argument names) that errors and warnings point the user to."""

    workspace_url: str
    public_key: str
    key_id: str


class JwksFetchError(Exception):
    """The JWKS could not be fetched or read; the message says why and what to check."""


def _session(policy: FetchPolicy) -> requests.Session:
    # Retry only what a retry can fix: connection failures and 5xx answers; a slow read is not retried.
    retry = Retry(
        total=policy.retries,
        connect=policy.retries,
        read=0,
        status=policy.retries,
        other=0,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        backoff_factor=policy.backoff,
        respect_retry_after_header=False,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


@functools.cache
def fetch_jwks(workspace_url: str, policy: FetchPolicy = DEFAULT_POLICY) -> tuple[Mapping[str, Any], ...]:
    """The workspace's published keys; fetched once per program run, however many components ask."""
    url = workspace_url + JWKS_PATH
    hint = "check the workspace URL and that it is the right environment (dev and prod keys differ)"
    try:
        # No redirects: the key must come from the workspace itself, never from wherever a redirect points.
        response = _session(policy).get(url, timeout=(policy.connect_timeout, policy.read_timeout), allow_redirects=False, stream=True)
        body = response.raw.read(_MAX_BYTES + 1, decode_content=True)
    except requests.exceptions.ConnectTimeout:
        raise JwksFetchError(f"connecting to {url} timed out after {policy.retries + 1} attempts; {hint}") from None
    except (requests.exceptions.ReadTimeout, ReadTimeoutError, TimeoutError):
        raise JwksFetchError(f"{url} did not answer within {policy.read_timeout:g} s; {hint}") from None
    except requests.exceptions.RetryError as error:
        raise JwksFetchError(f"{url} kept failing ({error}); {hint}") from None
    except requests.exceptions.ConnectionError as error:
        cause = getattr(error.args[0], "reason", None) if error.args else None
        if isinstance(cause, ReadTimeoutError):
            raise JwksFetchError(f"{url} did not answer within {policy.read_timeout:g} s; {hint}") from None
        reason = "the host name does not resolve" if isinstance(cause, NameResolutionError) else "the connection failed"
        raise JwksFetchError(f"cannot reach {url}: {reason} after {policy.retries + 1} attempts; {hint}") from None
    except (requests.exceptions.RequestException, Urllib3Error) as error:
        raise JwksFetchError(f"fetching {url} failed ({type(error).__name__}); {hint}") from None
    if response.status_code == 404:
        raise JwksFetchError(f"{url} answered 404 Not Found; {hint}")
    if response.status_code >= 500:
        raise JwksFetchError(f"{url} answered {response.status_code} after {policy.retries + 1} attempts; try again later")
    if response.status_code != 200:
        raise JwksFetchError(f"{url} answered {response.status_code} instead of 200; {hint}")
    if len(body) > _MAX_BYTES:
        raise JwksFetchError(f"{url} sent more than {_MAX_BYTES} bytes, which is no JWKS; {hint}")
    try:
        document = json.loads(body)
    except ValueError:
        raise JwksFetchError(f"{url} did not return JSON; {hint}") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
        raise JwksFetchError(f"{url} returned JSON without a 'keys' list; {hint}")
    return tuple(keys)


def _is_rs256_signing_key(jwk: Mapping[str, Any]) -> bool:
    return jwk.get("kty") == "RSA" and jwk.get("alg") in (None, "RS256") and jwk.get("use") in (None, "sig")


def _b64_int(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _to_public_key(jwk: Mapping[str, Any], names: KeyNames, url: str) -> PublicKey:
    try:
        loaded = rsa.RSAPublicNumbers(_b64_int(jwk.get("e")), _b64_int(jwk.get("n"))).public_key()
    except (ValueError, binascii.Error) as error:
        raise ConfigError(
            names.workspace_url,
            url,
            f"the published key {jwk.get('kid')!r} is not a valid RSA key ({error})",
            f"pin the key from the Frontegg portal in {names.public_key}",
        ) from None
    check_rsa_size(loaded, names.workspace_url, f"key {jwk.get('kid')!r} published at {url}")
    return PublicKey.from_rsa(loaded)


def _describe(keys: tuple[Mapping[str, Any], ...]) -> str:
    return ", ".join(f"{k.get('kid')!r} ({k.get('kty')}/{k.get('alg', 'no alg')})" for k in keys) or "none"


def select_key(keys: tuple[Mapping[str, Any], ...], key_id: str | None, names: KeyNames, url: str) -> SigningKey:
    """Pick the RS256 signing key: the one with the configured kid, or the only candidate."""
    candidates = [key for key in keys if _is_rs256_signing_key(key)]
    if key_id:
        chosen = [key for key in candidates if key.get("kid") == key_id]
        if not chosen:
            raise ConfigError(
                names.key_id,
                shown(key_id),
                f"no RS256 signing key with this kid is published at {url} (found: {_describe(keys)})",
                "set it to one of the kids found, or unset it",
            )
        return SigningKey(_to_public_key(chosen[0], names, url), key_id)
    if not candidates:
        raise ConfigError(
            names.workspace_url,
            url,
            f"no usable RS256 signing key is published there (found: {_describe(keys)})",
            f"check the workspace's JWT signature settings (RS256), or pin the key in {names.public_key}",
        )
    if len(candidates) > 1:
        raise ConfigError(
            names.key_id,
            "nothing",
            f"{len(candidates)} signing keys are published at {url}: {_describe(tuple(candidates))}",
            f"set {names.key_id} to the kid of the key tokens are signed with",
        )
    only = candidates[0]
    kid = only.get("kid")
    return SigningKey(_to_public_key(only, names, url), kid if isinstance(kid, str) else None)


def discover(workspace_url: str, key_id: str | None, names: KeyNames, policy: FetchPolicy = DEFAULT_POLICY) -> SigningKey:
    """Fetch the JWKS and select the signing key; any failure is a ConfigError naming what to check."""
    try:
        keys = fetch_jwks(workspace_url, policy)
    except JwksFetchError as error:
        raise ConfigError(
            names.workspace_url, shown(workspace_url), str(error), f"fix the URL, or pin the public key in {names.public_key}"
        ) from None
    return select_key(keys, key_id, names, workspace_url + JWKS_PATH)


def check_pinned(
    pinned: PublicKey, key_id: str | None, workspace_url: str, check: KeyCheck, names: KeyNames, policy: FetchPolicy = DEFAULT_POLICY
) -> SigningKey:
    """Compare a pinned key with the published ones: warn (or fail) on drift; a failed fetch only warns."""
    if check == "off":
        return SigningKey(pinned, key_id or None)
    url = workspace_url + JWKS_PATH
    try:
        keys = fetch_jwks(workspace_url, policy)
    except JwksFetchError as error:
        pulumi.log.warn(f"{names.public_key}: could not compare the pinned key with the published keys ({error}); the pinned key stands.")
        return SigningKey(pinned, key_id or None)
    published: dict[str, str | None] = {}
    for jwk in keys:
        if _is_rs256_signing_key(jwk):
            try:
                published[_to_public_key(jwk, names, url).fingerprint] = jwk.get("kid")
            except ConfigError:
                continue
    if pinned.fingerprint in published:
        return SigningKey(pinned, key_id or published[pinned.fingerprint])
    message = (
        f"the pinned key (SHA-256 {pinned.fingerprint}) is not among the keys published at {url} "
        f"(SHA-256 {', '.join(sorted(published)) or 'none usable'}). Frontegg has likely rotated its signing key: "
        f"tokens signed with the new key will be rejected by Kong after the rotation. Update {names.public_key} "
        "(or unset it to use the published key)."
    )
    if check == "fail":
        raise ConfigError(names.public_key, f"key SHA-256 {pinned.fingerprint}", message, f"update {names.public_key}")
    pulumi.log.warn(f"{names.public_key}: {message}")
    return SigningKey(pinned, key_id or None)


def key_check(value: object, key: str) -> KeyCheck:
    """One of warn, fail, off."""
    if value not in KEY_CHECKS:
        raise ConfigError(
            key, shown(value), f"expected one of {list(KEY_CHECKS)}", 'set "warn" (default), "fail" (CI drift checks) or "off"'
        )
    return value


def key_id(value: object, key: str) -> str | None:
    """An optional kid: a non-empty string, or empty for none."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or value != value.strip():
        raise ConfigError(key, shown(value), "expected the kid as a string without spaces", "copy the kid from the workspace's JWKS")
    return value
