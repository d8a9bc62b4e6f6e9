"""The stack config keys: the components' arguments under their stack config names, plus `apis` for many APIs."""

from dataclasses import dataclass
from typing import Any, Literal

from .errors import ConfigError, describe
from .protected_api import API_SCHEMA
from .schema import REQUIRED, Field, Schema, Spelling
from .trust import TRUST_SCHEMA

NAMESPACE = "kong-frontegg-jwt"
ConfigType = Literal["string", "boolean", "integer", "array", "object"]


def _optional(rule: Any) -> Any:
    """Stack config has no "unset" for a declared key with a default: its empty value stands for it."""
    return lambda value, key: None if value in ("", []) else rule(value, key)


# One entry of `apis`: a ProtectedApi's arguments, the Kong service name as `name`.
ENTRY_SCHEMA = Schema(
    "apis entry key",
    (
        API_SCHEMA.field("service_name").but(default=REQUIRED, config_name="name"),
        *(field for field in API_SCHEMA.fields if field.name != "service_name"),
    ),
)


def _apis(value: object, key: str) -> list[dict[str, Any]]:
    if isinstance(value, (str, bytes)) or not isinstance(value, list):
        raise ConfigError(
            key,
            type(value).__name__,
            "expected a list of API objects",
            f"set it with pulumi config set --path '{key.split(':')[-1]}[0].upstreamUrl' <url>",
        )
    entries = [ENTRY_SCHEMA.normalise(entry, prefix=f"{key}[{index}].") for index, entry in enumerate(value)]
    names = [entry["service_name"] for entry in entries]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ConfigError(
                f"{key}[{index}].name",
                repr(name),
                f"the same name as {key}[{names.index(name)}].name; Kong service and route names are unique",
                "give every API its own name",
            )
    if not entries:
        raise ConfigError(key, "[]", "no API to protect", "add an entry, or unset apis and use upstreamUrl")
    seen: dict[tuple[str, tuple[str, ...], tuple[str, ...]], int] = {}
    for index, entry in enumerate(entries):
        for number, path in enumerate(entry["route_paths"]):
            matcher = (path, tuple(sorted(entry["route_hosts"])), tuple(sorted(entry["route_methods"])))
            if matcher in seen and seen[matcher] != index:
                raise ConfigError(
                    f"{key}[{index}].routePaths[{number}]",
                    describe(path),
                    f"{key}[{seen[matcher]}] matches the same path, hosts and methods, so one route would hide the other",
                    "give the two APIs different paths, hosts or methods",
                )
            seen.setdefault(matcher, index)
    return entries


@dataclass(frozen=True)
class StackKey:
    """One stack config key: the argument it sets, its config type, and where it lives in Pulumi.yaml."""

    field: Field
    type: ConfigType
    declared: bool
    """Declared (with its default) in Pulumi.yaml; keys that must be told apart from "unset" are not."""
    feeds: Literal["trust", "api", "stack"]


KEYS: tuple[StackKey, ...] = (
    StackKey(TRUST_SCHEMA.field("workspace_url").but(default=REQUIRED), "string", True, "trust"),
    StackKey(
        TRUST_SCHEMA.field("public_key_pem").but(default="", rule=_optional(TRUST_SCHEMA.field("public_key_pem").rule)),
        "string",
        True,
        "trust",
    ),
    StackKey(TRUST_SCHEMA.field("key_id"), "string", True, "trust"),
    StackKey(TRUST_SCHEMA.field("key_check").but(default="warn"), "string", True, "trust"),
    StackKey(TRUST_SCHEMA.field("issuers").but(default=[], rule=_optional(TRUST_SCHEMA.field("issuers").rule)), "array", True, "trust"),
    StackKey(TRUST_SCHEMA.field("consumer_username"), "string", True, "trust"),
    StackKey(API_SCHEMA.field("upstream_url").but(default=None, config_name="upstreamUrl"), "string", False, "api"),
    StackKey(API_SCHEMA.field("service_name").but(config_name="serviceName"), "string", False, "api"),
    StackKey(API_SCHEMA.field("route_paths").but(default=None), "array", False, "api"),
    StackKey(API_SCHEMA.field("route_hosts").but(default=None), "array", False, "api"),
    StackKey(API_SCHEMA.field("route_methods").but(default=None), "array", False, "api"),
    StackKey(API_SCHEMA.field("strip_path").but(default=None), "boolean", False, "api"),
    StackKey(API_SCHEMA.field("jwt").but(default=None), "object", False, "api"),
    StackKey(API_SCHEMA.field("cors"), "object", False, "api"),
    StackKey(Field("apis", _apis, None), "array", False, "stack"),
)
"""In the order `pulumi config` users meet them; single-API keys default to None so that "set" can be told from "unset"."""

STACK_SCHEMA = Schema("stack config key", tuple(key.field for key in KEYS))
SINGLE_API_KEYS = tuple(key for key in KEYS if key.feeds == "api")


def config_name(key: StackKey) -> str:
    """The key as `pulumi config set` takes it (without the namespace)."""
    return key.field.spelled(Spelling.CONFIG)
