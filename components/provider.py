"""Serve the components to every Pulumi language through Pulumi's component provider host, with readable errors.

`python provider` (what Pulumi runs for the plugin in provider/) serves them; `python -m tools.schema` prints the schema.
"""

import json
import sys
from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.errors import InputPropertyError
from pulumi.provider import main
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from . import __version__
from .errors import ConfigError
from .protected_api import ProtectedApi
from .schema import Spelling, calling_as
from .trust import FronteggTrust

NAME = "kong-frontegg-jwt"
"""The package name: resource tokens are kong-frontegg-jwt:index:<Component>, as in the Python program."""


class KongFronteggJwtProvider(ComponentProvider):
    """The stock component provider, but arguments are named in camelCase and bad ones come back as property errors."""

    def construct(
        self, name: str, resource_type: str, inputs: pulumi.Inputs, options: pulumi.ResourceOptions | None = None
    ) -> ConstructResult:
        with calling_as(Spelling.CAMEL):
            try:
                return super().construct(name, resource_type, inputs, options)
            except ComponentInitError as error:
                # Without this the engine shows "Unexpected <class 'Exception'>" and a traceback; a property error is
                # shown as "<property>: <reason>" against the resource that was given it.
                if isinstance(error.inner, ConfigError):
                    raise InputPropertyError(error.inner.key, error.inner.reason) from None
                raise


def provider() -> KongFronteggJwtProvider:
    """The provider, with the schema Pulumi's analyzer reads from the components' type annotations and docstrings."""
    return KongFronteggJwtProvider([FronteggTrust, ProtectedApi], NAME, version=__version__)


def schema() -> dict[str, Any]:
    """The package schema exactly as the provider serves it."""
    served = provider().schema
    assert served is not None
    loaded: dict[str, Any] = json.loads(served)
    return loaded


def serve(args: Sequence[str] | None = None) -> None:
    """Run the provider: the engine's address is the argument; the port goes to stdout (pulumi/provider/server.py)."""
    main(provider(), list(sys.argv[1:] if args is None else args))
