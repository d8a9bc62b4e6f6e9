"""Write the `local` stack's config: a throwaway signing key stands in for a Frontegg workspace.

`python -m tools.local_stack [--rotate]` keeps the private key in .local/ (git-ignored, never in stack config)
and writes Pulumi.local.yaml with its public half, so the whole flow runs without a Frontegg account.
"""

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from components import stack_config
from components.public_key import PublicKey
from components.stack_schema import NAMESPACE

ROOT = Path(__file__).resolve().parent.parent
STACK = "local"
KEY_FILE = ROOT / ".local" / "local-signing-key.pem"
STACK_FILE = ROOT / f"Pulumi.{STACK}.yaml"
ISSUER = "http://localhost:9999"
"""Nothing listens there: it is only the `iss` the minted tokens carry (plain http is accepted for localhost only)."""
ADMIN_URI = "http://localhost:8001"
UPSTREAM_URL = "http://httpbin:8080"
"""The echo service of docker-compose.yml, as Kong reaches it on the compose network."""
SERVICE_NAME = "local-echo"
ROUTE_PATH = "/test"
"""What `make up` sends its requests to (scripts/local-env.sh's ROUTE_PATH)."""


def new_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA 2048 signing key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (a throwaway key for a local gateway)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """Read a PEM RSA private key."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit(f"{path}: not an RSA private key; delete it or run with --rotate")
    return key


def write_private_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    """Write the key readable by its owner only, via a temporary file, so a crash never leaves half a key behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem(key))
    tmp.replace(path)


def stack_settings(
    public_key_pem: str, *, issuer: str = ISSUER, admin_uri: str = ADMIN_URI, upstream_url: str = UPSTREAM_URL
) -> dict[str, Any]:
    """The config of a local stack, as `<namespace>:<key>` values (lists stay lists, as in a stack file)."""
    return {
        "kong:kongAdminUri": admin_uri,
        f"{NAMESPACE}:fronteggWorkspaceUrl": issuer,
        f"{NAMESPACE}:fronteggPublicKey": public_key_pem,
        # The local issuer publishes no JWKS, so the program must not go looking for one.
        f"{NAMESPACE}:fronteggKeyCheck": "off",
        f"{NAMESPACE}:upstreamUrl": upstream_url,
        f"{NAMESPACE}:serviceName": SERVICE_NAME,
        f"{NAMESPACE}:routePaths": [ROUTE_PATH],
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # A PEM reads (and diffs) best as a block literal with its real newlines.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def as_cli_strings(config: Mapping[str, Any]) -> dict[str, str]:
    """Config values as the Pulumi CLI hands them to a program: strings, and JSON for everything else."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def write_stack_file(path: Path, config: Mapping[str, Any]) -> None:
    """Set these config keys in a stack file, keeping everything else (Pulumi's encryptionsalt, other keys)."""
    document: dict[str, Any] = {}
    if path.exists():
        document = yaml.safe_load(path.read_text()) or {}
    merged = dict(document.get("config") or {})
    merged.update(config)
    document["config"] = merged
    header = "# Written by `python -m tools.local_stack`; the matching private key is in .local/ (never commit it).\n"
    path.write_text(header + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000))


@dataclass(frozen=True)
class LocalStack:
    """What was written: the key file, the stack file, the issuer tokens must carry."""

    key_file: Path
    stack_file: Path
    issuer: str
    public_key: PublicKey
    created_key: bool


def prepare(*, rotate: bool = False, key_file: Path = KEY_FILE, stack_file: Path = STACK_FILE, issuer: str = ISSUER) -> LocalStack:
    """Make sure the signing key exists (new one only when asked to rotate) and the stack file matches it."""
    created = rotate or not key_file.exists()
    key = new_private_key() if created else load_private_key(key_file)
    public_key = PublicKey.from_rsa(key.public_key())
    settings = stack_settings(public_key.pem, issuer=issuer)
    # Validate as the program will, so a bad --issuer fails here, before any file is written, not during `pulumi up`.
    stack_config.read(as_cli_strings(settings))
    if created:
        write_private_key(key_file, key)
    write_stack_file(stack_file, settings)
    return LocalStack(key_file=key_file, stack_file=stack_file, issuer=issuer, public_key=public_key, created_key=created)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.local_stack", description=__doc__.splitlines()[0])
    parser.add_argument("--rotate", action="store_true", help="replace the signing key with a new one")
    parser.add_argument("--issuer", default=ISSUER, help=f"the iss of local tokens (default {ISSUER})")
    parser.add_argument("--key-file", type=Path, default=KEY_FILE, help="where the private key lives")
    parser.add_argument("--stack-file", type=Path, default=STACK_FILE, help="the stack config file to write")
    args = parser.parse_args(argv)
    stack = prepare(rotate=args.rotate, key_file=args.key_file, stack_file=args.stack_file, issuer=args.issuer)
    verb = "created" if stack.created_key else "kept"
    print(f"signing key {verb}: {stack.key_file} (sha256 {stack.public_key.fingerprint[:16]}...)")
    print(f"stack config written: {stack.stack_file} (issuer {stack.issuer})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
