"""The Frontegg trust: one Kong consumer for the workspace and one RS256 credential per issuer."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kong as kong
import pulumi_random as random

from . import key_discovery, urls
from .errors import ConfigError, describe
from .key_discovery import KeyCheck, SigningKey
from .public_key import PublicKey, parse_public_key
from .schema import Field, Schema, one_of, string_list, text

DEFAULT_CONSUMER_USERNAME = "frontegg"
TYPE = "kong-frontegg-jwt:index:FronteggTrust"


class FronteggTrustArgs(TypedDict):
    """What Kong must know to accept a Frontegg workspace's tokens."""

    workspace_url: NotRequired[str]
    """Frontegg workspace URL, e.g. https://app-abc123.frontegg.com: the default issuer, and where the signing key is published."""
    issuers: NotRequired[Sequence[str]]
    """Exact `iss` values to trust, no trailing slash, one RS256 credential each; default: the workspace URL."""
    public_key_pem: NotRequired[pulumi.Input[str]]
    """RSA public key to pin, PEM (SPKI or PKCS#1); without it the key is fetched from <workspace_url>/.well-known/jwks.json."""
    key_id: NotRequired[str]
    """kid of the signing key to use when the workspace publishes several."""
    key_check: NotRequired[KeyCheck]
    """With a pinned key and a workspace URL, compare the two: warn (default), fail (for drift checks) or off."""
    consumer_username: NotRequired[str]
    """The Kong consumer (username and custom_id) that stands for the workspace; default "frontegg"."""


def _issuers(value: object, key: str) -> list[str]:
    found = string_list(value, key, f'["{urls.ISSUER_EXAMPLE}"]', urls.issuer, unique_as="issuer (Kong allows one credential per issuer)")
    if not found:
        raise ConfigError(
            key, "[]", "at least one issuer is needed, or no token can pass", "list the issuer, or leave it unset to use the workspace URL"
        )
    return found


def _key_id(value: object, key: str) -> str:
    return text(value, key, '"a1b2c3"', empty_ok=True)


def _consumer(value: object, key: str) -> str:
    return text(value, key, f'"{DEFAULT_CONSUMER_USERNAME}"')


TRUST_SCHEMA = Schema(
    "FronteggTrust argument",
    (
        Field("workspace_url", urls.workspace_url, None, config_name="fronteggWorkspaceUrl"),
        Field("issuers", _issuers, None),
        Field("public_key_pem", parse_public_key, None, deploy_time=True, config_name="fronteggPublicKey"),
        Field("key_id", _key_id, "", config_name="fronteggKeyId"),
        Field("key_check", lambda value, key: one_of(KeyCheck, value, key), KeyCheck.WARN, config_name="fronteggKeyCheck"),
        Field("consumer_username", _consumer, DEFAULT_CONSUMER_USERNAME),
    ),
)


@dataclass(frozen=True)
class TrustSettings:
    """A trust's arguments, checked and with defaults filled in."""

    workspace_url: str | None
    issuers: list[str]
    public_key: PublicKey | pulumi.Output[PublicKey] | None
    key_id: str | None
    key_check: KeyCheck
    consumer_username: str


def trust_settings(args: object, name_prefix: str = "<name>-") -> TrustSettings:
    """Check a trust's arguments (no network): every problem is a ConfigError naming the argument as the caller wrote it."""
    values: dict[str, Any] = TRUST_SCHEMA.normalise(args)
    issuers = values["issuers"] if values["issuers"] is not None else [values["workspace_url"]] if values["workspace_url"] else None
    if issuers is None:
        key = TRUST_SCHEMA.key("issuers")
        raise ConfigError(key, "nothing", "no issuer to trust", f"set {key}, or {TRUST_SCHEMA.key('workspace_url')} to trust its tokens")
    slugs = [_slug(issuer) for issuer in issuers]
    for index, slug in enumerate(slugs):
        if slug in slugs[:index]:
            key = TRUST_SCHEMA.key("issuers")
            raise ConfigError(
                f"{key}[{index}]",
                describe(issuers[index]),
                f"names the same Pulumi resources as {describe(issuers[slugs.index(slug)])} ({name_prefix}{slug})",
                "trust one of the two: they differ only in punctuation, so only one can be the workspace's issuer",
            )
    if values["public_key_pem"] is None and values["workspace_url"] is None:
        key = TRUST_SCHEMA.key("public_key_pem")
        raise ConfigError(key, "nothing", "no signing key", f"set {key}, or {TRUST_SCHEMA.key('workspace_url')} to fetch it")
    return TrustSettings(
        values["workspace_url"],
        issuers,
        values["public_key_pem"],
        values["key_id"] or None,
        values["key_check"],
        values["consumer_username"],
    )


def signing_key(settings: TrustSettings) -> pulumi.Output[SigningKey]:
    """The key Kong gets: the pinned one (compared with the published keys unless key_check is off) or the published one."""
    name = TRUST_SCHEMA.key
    if settings.public_key is None:
        assert settings.workspace_url is not None  # trust_settings refuses neither
        return pulumi.Output.from_input(key_discovery.discover(settings.workspace_url, settings.key_id, name))
    if settings.workspace_url is None:
        return pulumi.Output.from_input(settings.public_key).apply(lambda key: SigningKey(key, settings.key_id))
    workspace = settings.workspace_url

    def compared(key: PublicKey) -> SigningKey:
        return key_discovery.check_pinned(key, settings.key_id, workspace, settings.key_check, name)

    if isinstance(settings.public_key, PublicKey):
        return pulumi.Output.from_input(compared(settings.public_key))
    return settings.public_key.apply(compared)


def _slug(issuer: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", issuer.removeprefix("https://")).strip("-")


class FronteggTrust(pulumi.ComponentResource):
    """A Kong consumer plus one RS256 credential per trusted issuer. Declare one per Kong: credential keys are unique there."""

    consumer_id: pulumi.Output[str]
    """The Kong consumer's id."""
    credential_ids: pulumi.Output[list[str]]
    """The ids of the jwt credentials, one per issuer, in the order of issuers."""
    issuers: pulumi.Output[list[str]]
    """The issuers Kong trusts, exactly as tokens must carry them."""
    public_key_fingerprint: pulumi.Output[str]
    """SHA-256 of the signing key's DER SubjectPublicKeyInfo, lower-case hex."""
    public_key_pem: pulumi.Output[str]
    """The signing key as Kong verifies with it (SPKI PEM)."""
    public_key_id: pulumi.Output[str]
    """The signing key's kid in the workspace's JWKS; empty when not known."""

    def __init__(self, name: str, args: FronteggTrustArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings = trust_settings(args, f"{name}-")
        key = signing_key(settings)
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # custom_id set explicitly: the provider sends custom_id "" on update when it is unset, which Kong refuses.
        consumer = kong.Consumer(f"{name}-consumer", username=settings.consumer_username, custom_id=settings.consumer_username, opts=child)
        pem = key.apply(lambda k: k.public_key.pem)
        credentials = []
        for iss in settings.issuers:
            # RS256 ignores the secret, but Kong requires one and it would become the forgery key if the algorithm
            # were ever switched to HS*: random, and kept in state so previews stay stable.
            secret = random.RandomPassword(f"{name}-{_slug(iss)}-secret", length=48, special=False, opts=child)
            credentials.append(
                kong.ConsumerJwtAuth(
                    f"{name}-{_slug(iss)}",
                    consumer_id=consumer.id,
                    key=iss,
                    algorithm="RS256",
                    rsa_public_key=pem,
                    secret=secret.result.apply(pulumi.Output.secret),
                    opts=child,
                )
            )

        self.consumer_id = consumer.id
        self.credential_ids = pulumi.Output.all(*(c.id for c in credentials))
        self.issuers = pulumi.Output.from_input(list(settings.issuers))
        self.public_key_fingerprint = key.apply(lambda k: k.public_key.fingerprint)
        self.public_key_pem = pem
        self.public_key_id = key.apply(lambda k: k.kid or "")
        self.register_outputs(
            {
                "consumer_id": self.consumer_id,
                "credential_ids": self.credential_ids,
                "issuers": self.issuers,
                "public_key_fingerprint": self.public_key_fingerprint,
                "public_key_pem": self.public_key_pem,
                "public_key_id": self.public_key_id,
            }
        )
