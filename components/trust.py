"""The Frontegg trust: one Kong consumer for the workspace and one RS256 credential per issuer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kong as kong
import pulumi_random as random

from components import issuer, key_discovery
from components.errors import ConfigError, shown
from components.inputs import checked, is_plain, known
from components.public_key import PublicKey, parse_public_key

DEFAULT_CONSUMER_USERNAME = "frontegg"


class FronteggTrustArgs(TypedDict):
    """What Kong must know to accept a Frontegg workspace's tokens."""

    issuers: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Exact `iss` values to trust, e.g. https://app-abc123.frontegg.com (no trailing slash); one credential each."""
    public_key_pem: NotRequired[pulumi.Input[str]]
    """The workspace's RSA signing public key, PEM (SPKI or PKCS#1); without it, it is fetched from `workspace_url`."""
    workspace_url: NotRequired[pulumi.Input[str]]
    """Frontegg workspace URL whose published JWKS supplies the key, or is compared with the pinned key."""
    key_id: NotRequired[pulumi.Input[str]]
    """kid of the signing key to select from the JWKS (needed when several are published)."""
    key_check: NotRequired[pulumi.Input[str]]
    """With a pinned key and a workspace URL: warn (default), fail or off when the key is not published."""
    consumer_username: NotRequired[pulumi.Input[str]]
    """The Kong consumer that stands for the workspace; default `frontegg`."""


def consumer_username(value: object, key: str) -> str:
    """A Kong consumer username: non-empty, no surrounding whitespace."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise ConfigError(
            key, shown(value), "expected a non-empty name without surrounding spaces", f'set it like "{DEFAULT_CONSUMER_USERNAME}"'
        )
    return value


def _signing_key(args: FronteggTrustArgs) -> tuple[pulumi.Output[PublicKey], str | None]:
    """The key from the args: pinned (and checked against the JWKS when a workspace URL is given) or discovered."""
    names = key_discovery.KeyNames("workspace_url", "public_key_pem", "key_id")
    kid = key_discovery.key_id(known(args.get("key_id", ""), "key_id"), "key_id")
    workspace = args.get("workspace_url")
    if workspace is not None:
        workspace = issuer.workspace_url(known(workspace, "workspace_url"), "workspace_url")
    pinned = args.get("public_key_pem")
    if pinned is None:
        if workspace is None:
            raise ConfigError("public_key_pem", "nothing", "no key was given", "pass public_key_pem, or workspace_url to fetch it")
        found = key_discovery.discover(workspace, kid, names)
        return pulumi.Output.from_input(found.public_key), found.kid
    if workspace is None or not is_plain(pinned):
        return pulumi.Output.from_input(checked(pinned, "public_key_pem", parse_public_key)), kid
    check = key_discovery.key_check(known(args.get("key_check", "warn"), "key_check"), "key_check")
    found = key_discovery.check_pinned(parse_public_key(pinned, "public_key_pem"), kid, workspace, check, names)
    return pulumi.Output.from_input(found.public_key), found.kid


def _slug(issuer_url: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", issuer_url.removeprefix("https://")).strip("-")


class FronteggTrust(pulumi.ComponentResource):
    """Kong consumer plus RS256 credentials keyed by issuer; share one per Kong, since credential keys are unique."""

    consumer_id: pulumi.Output[str]
    credential_ids: pulumi.Output[list[str]]
    issuers: pulumi.Output[list[str]]
    public_key_fingerprint: pulumi.Output[str]
    public_key_pem: pulumi.Output[str]
    public_key_id: pulumi.Output[str | None]

    def __init__(self, name: str, args: FronteggTrustArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        issuers = issuer.issuers(known(args["issuers"], "issuers"), "issuers")
        username = consumer_username(
            known(args.get("consumer_username", DEFAULT_CONSUMER_USERNAME), "consumer_username"), "consumer_username"
        )
        key, kid = _signing_key(args)
        super().__init__("kong-frontegg-jwt:index:FronteggTrust", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        consumer = kong.Consumer(f"{name}-consumer", username=username, opts=child)
        pem = key.apply(lambda k: k.pem)
        credentials = []
        for iss in issuers:
            # RS256 ignores the secret, but Kong requires one and it would become the forgery key if the
            # algorithm were ever switched to HS*: random, and kept in state so previews stay stable.
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
        self.issuers = pulumi.Output.from_input(list(issuers))
        self.public_key_fingerprint = key.apply(lambda k: k.fingerprint)
        self.public_key_pem = pem
        self.public_key_id = pulumi.Output.from_input(kid)
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
