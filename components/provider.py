"""Serve the components to every Pulumi language through Pulumi's component provider host, with readable errors.

`python provider` (what Pulumi runs for the plugin in provider/) serves them; `python -m tools.schema` prints the schema.
"""

import json
import re
import sys
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.errors import InputPropertyError
from pulumi.provider import main
from pulumi.provider.experimental.analyzer import ComponentDefinition, PropertyDefinition
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
                result = super().construct(name, resource_type, inputs, options)
            except ComponentInitError as error:
                # Without this the engine shows "Unexpected <class 'Exception'>" and a traceback; a property error is
                # shown as "<property>: <reason>" against the resource that was given it.
                if isinstance(error.inner, ConfigError):
                    raise _property_error(error.inner) from None
                raise
        return ConstructResult(_checked_urn(result, inputs), result.state)

    def map_inputs(self, inputs: pulumi.Inputs, component_def: ComponentDefinition) -> pulumi.Inputs:
        """camelCase names to Python names, and nothing else: the component's own schema checks every value.

        The SDK's mapping drops names the schema does not know (a misspelled `jwt.runOnPreflght: false` would vanish
        and the default apply), turns a nested object that is not an object into {}, and answers a bad enum or integer
        with "<class 'str'>" or a traceback (pulumi 3.272, provider/experimental/component.py).
        """
        mapped = self._python_names(inputs, component_def.inputs, component_def.inputs_mapping, "")
        assert isinstance(mapped, Mapping)
        return mapped

    def _python_names(self, values: object, properties: Mapping[str, PropertyDefinition], names: Mapping[str, str], prefix: str) -> object:
        if not isinstance(values, Mapping):
            return values  # not an object: the component says what was expected
        mapped: dict[str, object] = {}
        for given, value in values.items():
            if given in properties:
                nested = self.get_type_definition(properties[given]) if properties[given].ref else None
                if nested is not None and not nested.enum:
                    value = self._python_names(value, nested.properties, nested.properties_mapping, f"{prefix}{given}.")
                mapped[names[given]] = value
            elif given in names.values():
                # The Python spelling would be read as the argument (and could silently replace the camelCase one).
                spelled = next(schema_name for schema_name, python in names.items() if python == given)
                error = ConfigError(
                    prefix + given, "a Python (snake_case) name", "outside Python, names are camelCase", f"did you mean {prefix}{spelled}?"
                )
                raise _property_error(error)
            else:
                mapped[given] = value  # unknown: kept, so the component names it and the closest known name
        return mapped


def _property_error(error: ConfigError) -> InputPropertyError:
    return InputPropertyError(error.key, error.reason)


def _config_error(error: BaseException | None) -> ConfigError | None:
    """The ConfigError behind an error, if any: the SDK wraps one raised in an apply in a ValueError per resource."""
    while error is not None and not isinstance(error, ConfigError):
        error = error.__cause__ or error.__context__
    return error


def _checked_urn(result: ConstructResult, inputs: pulumi.Inputs) -> pulumi.Output[str]:
    """The component's URN once its outputs resolve: a value checked at deployment (an upstreamUrl or publicKeyPem sent
    as a secret) that fails then comes back as a property error, not as "Unexpected <class 'Exception'>" and a traceback."""

    async def checked() -> str:
        for value in result.state.values():
            try:
                # future(), as pulumi/provider/server.py awaits the URN (pulumi 3.272): the only way to see the error.
                await pulumi.Output.from_input(value).future()
            except Exception as error:
                found = _config_error(error)
                if found is None:
                    raise
                refused = await _without_secret(found, inputs)
                raise refused from None
        urn = await pulumi.Output.from_input(result.urn).future()
        assert urn is not None
        return urn

    return pulumi.Output.from_input(checked())


async def _without_secret(error: ConfigError, inputs: pulumi.Inputs) -> InputPropertyError:
    """The property error; when the argument was sent as a secret, without the value given."""
    given = inputs.get(re.split(r"[.\[]", error.key, maxsplit=1)[0])
    if isinstance(given, pulumi.Output) and await given.is_secret():
        error = ConfigError(error.key, "a secret, not shown", error.problem, error.fix)
    return _property_error(error)


def provider() -> KongFronteggJwtProvider:
    """The provider, with the schema Pulumi's analyzer reads from the components' type annotations and docstrings."""
    return KongFronteggJwtProvider([FronteggTrust, ProtectedApi], NAME, version=__version__)


def schema() -> dict[str, Any]:
    """The package schema exactly as the provider serves it."""
    served = provider().schema
    assert served is not None
    loaded: dict[str, Any] = json.loads(served)
    return loaded


def serve() -> None:
    """Run the provider as Pulumi does: the engine's address is the command line's argument, the port goes to stdout.

    Pulumi's `main` reads the address from sys.argv whatever it is passed (pulumi 3.272, pulumi/provider/server.py).
    """
    main(provider(), sys.argv[1:])
