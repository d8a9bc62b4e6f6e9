"""Check a stack's config without the Pulumi CLI: every problem at once, each naming its key, as the program would see it.

    python -m tools.validate_stack STACK [--offline] [--root DIR]        (make validate STACK=<name> [OFFLINE=1])

Exit status: 0 no problems, 1 problems (one line each), 2 the check could not run (one line). What it checks and what
it cannot: docs/validate.md.
"""

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import yaml

from components import key_discovery, stack_config, urls
from components.errors import ConfigError, describe
from components.jwks import JWKS_PATH
from components.plugin_json import go_json, go_key
from components.stack_schema import KEYS, NAMESPACE, config_name
from components.trust import TRUST_SCHEMA, trust_settings

ROOT = Path(__file__).resolve().parent.parent
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")

# How the Pulumi CLI builds the config it hands a program, as read in pulumi/pulumi (sdk/go/common/...):
# - workspace/loaders.go: Pulumi.yaml and Pulumi.<stack>.yaml are read with gopkg.in/yaml.v2 (YAML 1.1 scalars: yes/no
#   are booleans; a timestamp decoded into interface{} stays text). A missing stack file is an empty config there;
#   here it is almost always a misspelt stack name, so it stops the check.
# - workspace/project.go RewriteShorthandConfigValues: a bare value in Pulumi.yaml's config block is a `default` for a key
#   of the project, a `value` for a key of another namespace (kong:kongAdminUri: ...); Project.Validate refuses a type or
#   default on another namespace's key, and `default` with `value`. Bare keys there belong to the project (parseConfigKey).
# - resource/config/key.go ParseKey: stack file keys are `<namespace>:<name>` (or the old `<namespace>:config:<name>`);
#   any other key makes the CLI refuse the whole stack file.
# - resource/config/object.go and value.go: a stack value that is a string is passed as is; a boolean or number as its
#   JSON text ("true", "3600"); an empty value as the text null; a list or map (what `config set --path` writes) as JSON,
#   written by Go's encoding/json (sorted keys, compact, <>& escaped); `{secure: v1:...}` is ciphertext, at the top or
#   nested (`config set --secret --path`), and a value holding one anywhere is a secret key (map.go SecureKeys).
# - workspace/config.go mergeConfig: a declared key missing from the stack gets its default (or value), a primitive as
#   fmt's %v ("true", "3600"), anything else as JSON; a project key with neither, missing from the stack, stops the CLI
#   ("Stack 'dev' is missing configuration value 'k'"); validateStackConfigValue then checks each typed key's value
#   (ValidateConfigValue) and that `secret: true` keys are encrypted, before the program runs.


class StackFileError(Exception):
    """The check cannot run: no such stack file, YAML that does not parse, a Pulumi.yaml the CLI would refuse."""


@dataclass
class MergedConfig:
    """The config the CLI would hand the program (strings by `<namespace>:<key>`), and what the CLI itself refuses."""

    config: dict[str, str] = field(default_factory=dict)
    secret_keys: set[str] = field(default_factory=set)
    opaque: set[str] = field(default_factory=set)
    """Keys holding encrypted values: present, never decrypted, so not checked."""
    problems: list[ConfigError] = field(default_factory=list)
    """What stops the CLI before the program runs: a missing required key, a value of the wrong type, a key it cannot read."""
    notes: list[str] = field(default_factory=list)


class _Secret:
    """An encrypted leaf: decrypted, it is some string."""


_SECRET = _Secret()


class _PulumiYaml(yaml.SafeLoader):
    """YAML 1.1 as gopkg.in/yaml.v2 decodes it into interface{}: a timestamp stays the text it was written as."""


_PulumiYaml.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_PulumiYaml)  # a SafeLoader: no Python objects
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise StackFileError(f"{name} is not valid YAML ({problem}{where})") from None


def _secure(value: object) -> str | None:
    """The ciphertext of a `{secure: ...}` value (config/value.go isSecureValue), else None."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("secure"), str):
        return str(value["secure"])
    return None


def _holds_secure(value: object) -> bool:
    if _secure(value) is not None:
        return True
    if isinstance(value, dict):
        return any(_holds_secure(item) for item in value.values())
    return isinstance(value, list) and any(_holds_secure(item) for item in value)


def _go_json(value: object, where: str) -> str:
    """JSON as Go's json.Marshal writes a YAML value (config/value.go), or why the Pulumi CLI cannot read it."""
    try:
        return go_json(value)
    except ValueError as error:
        raise StackFileError(f"{where}: {error}, so the Pulumi CLI cannot read it as config") from None


def _stack_value(value: object, where: str) -> str:
    """A stack file value as the program receives it (object.go MarshalString)."""
    if isinstance(value, str):
        return value
    if (ciphertext := _secure(value)) is not None:
        return ciphertext
    return _go_json(value, where)


def _parse_key(text: str) -> str | None:
    """A stack file key as config/key.go ParseKey reads it, or None when the CLI cannot."""
    parts = text.split(":")
    if len(parts) == 2 and all(parts):
        return text
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    return None


def _type_name(declaration: Mapping[str, Any]) -> str:
    items = declaration.get("items")
    return f"array<{_type_name(items)}>" if isinstance(items, dict) else str(declaration["type"])


def _is_of_type(declaration: Mapping[str, Any], content: object) -> bool:
    """workspace/project.go ValidateConfigValue; an encrypted leaf is some string, so only a string or array verdict is sure."""
    kind, items = declaration.get("type"), declaration.get("items")
    if isinstance(content, _Secret):
        return kind != "array"
    if kind == "string":
        return isinstance(content, str)
    if kind == "integer":
        if isinstance(content, str):
            return re.fullmatch(r"[+-]?[0-9]+", content) is not None
        return not isinstance(content, bool) and (isinstance(content, int) or (isinstance(content, float) and content.is_integer()))
    if kind == "boolean":
        return content in ("true", "false") or isinstance(content, bool)
    if not isinstance(content, list) or not isinstance(items, dict):
        return False
    return all(_is_of_type(items, item) for item in content)


def _content(value: object) -> object:
    """What the CLI type-checks: a string as is, anything else as the JSON it was turned into, secrets still sealed."""
    if _secure(value) is not None:
        return _SECRET
    if isinstance(value, dict):
        return {key: _content(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_content(item) for item in value]
    return value if isinstance(value, str) or value is None else json.loads(_go_json(value, "value"))


def _declarations(project: object) -> tuple[str, dict[str, tuple[str, dict[str, Any]]], str]:
    """The project name, its declared keys (full key: (key as written, declaration)) and where stack files live."""
    if not isinstance(project, dict) or not isinstance(project.get("name"), str) or not project["name"]:
        raise StackFileError("Pulumi.yaml has no project name, so the Pulumi CLI cannot load it")
    name: str = project["name"]
    block: object = project.get("config") or {}
    stack_dir = str(project.get("stackConfigDir") or "")
    if isinstance(block, str):  # the old spelling of stackConfigDir (project.go RewriteConfigPathIntoStackConfigDir)
        stack_dir, block = block, {}
    if not isinstance(block, dict):
        raise StackFileError("Pulumi.yaml: its config block is not a map of keys, so the Pulumi CLI cannot load it")
    declared: dict[str, tuple[str, dict[str, Any]]] = {}
    for written, declaration in block.items():
        written = go_key(written)
        ours = ":" not in written or written.startswith(f"{name}:")
        if isinstance(declaration, (str, bool, int, list)):
            declaration = {"default": declaration} if ours else {"value": declaration}
        elif declaration is None:
            declaration = {}
        if not isinstance(declaration, dict):
            raise StackFileError(f"Pulumi.yaml: config.{written} is neither a value nor a declaration the Pulumi CLI reads")
        has = {attribute for attribute in ("type", "default", "value") if declaration.get(attribute) is not None}
        if {"default", "value"} <= has:
            raise StackFileError(f"Pulumi.yaml: project config '{written}' cannot have both a 'default' and 'value' attribute")
        if not ours and (has & {"type", "default"} or "value" not in has):
            raise StackFileError(f"Pulumi.yaml: config key '{written}' of another namespace takes a 'value' only (no type, no default)")
        full = written if ":" in written else f"{name}:{written}"
        declared[_parse_key(full) or full] = (written, declaration)
    return name, declared, stack_dir


def merge(project_text: str, stack_text: str, stack: str, *, stack_file: str = "") -> MergedConfig:
    """Pulumi.yaml + Pulumi.<stack>.yaml merged as the Pulumi CLI hands them to the program (see the notes at the top)."""
    stack_file = stack_file or f"Pulumi.{stack}.yaml"
    project_name, declared, _ = _declarations(_yaml(project_text, "Pulumi.yaml"))
    document = _yaml(stack_text, stack_file) or {}
    if not isinstance(document, dict):
        raise StackFileError(f"{stack_file} is not a map of settings (config:, environment:, ...)")
    values = document.get("config") or {}
    if not isinstance(values, dict):
        raise StackFileError(f"{stack_file}: its config: is not a map of keys")

    merged = MergedConfig()
    given = _stack_values(values, project_name, stack_file, merged)
    _apply_declarations(declared, given, project_name, stack, merged)
    for full in sorted(merged.opaque):
        held = "is encrypted" if _secure(given[full]) is not None else "holds encrypted values"
        if full.startswith(f"{project_name}:"):
            merged.notes.append(f"{full} {held}: present, not checked")
    others = sorted(key for key in merged.config if not key.startswith(f"{project_name}:"))
    if others:
        merged.notes.append(f"not checked here (their providers read them): {', '.join(others)}")
    if document.get("environment"):
        merged.notes.append(f"{stack_file} imports Pulumi ESC environments: the values they set are not seen here")
    return merged


def _stack_values(values: Mapping[object, object], project_name: str, stack_file: str, merged: MergedConfig) -> dict[str, object]:
    """The stack file's values by full key, each also put into `merged` as the program gets it; keys the CLI cannot read are problems."""
    given: dict[str, object] = {}
    spelled: dict[str, str] = {}
    for key, value in values.items():
        written = go_key(key)
        full = _parse_key(written)
        if full is None:
            merged.problems.append(
                ConfigError(
                    written,
                    "a key without a namespace" if ":" not in written else describe(written),
                    "the Pulumi CLI cannot read this key and refuses the whole stack file: stack file keys are <namespace>:<name>",
                    f"write it as {project_name}:{written}" if ":" not in written else "write it as <namespace>:<name>",
                )
            )
            continue
        if full in given:
            merged.problems.append(
                ConfigError(full, f"{spelled[full]} and {written}", "set twice: which one the Pulumi CLI uses is not defined", "keep one")
            )
            continue
        given[full], spelled[full] = value, written
        merged.config[full] = _stack_value(value, f"{stack_file}: {written}")
        if _holds_secure(value):
            merged.secret_keys.add(full)
            merged.opaque.add(full)
        if value is None:
            merged.notes.append(f"{full} has no value in {stack_file}: the Pulumi CLI hands the program the text null; write '' for empty")
    return given


def _apply_declarations(
    declared: Mapping[str, tuple[str, dict[str, Any]]], given: Mapping[str, object], project_name: str, stack: str, merged: MergedConfig
) -> None:
    """Pulumi.yaml's defaults for the keys the stack leaves out, and what the CLI refuses before the program runs."""
    for full, (written, declaration) in sorted(declared.items(), key=lambda item: item[1][0]):
        if full not in given:
            fallback = declaration.get("default", declaration.get("value"))
            if fallback is not None:
                merged.config[full] = fallback if isinstance(fallback, str) else _go_json(fallback, f"Pulumi.yaml: config.{written}")
            elif full.startswith(f"{project_name}:"):
                merged.problems.append(
                    ConfigError(
                        full,
                        "nothing",
                        f"required (Pulumi.yaml declares it without a default): the Pulumi CLI stops with "
                        f"\"Stack '{stack}' is missing configuration value '{written}'\"",
                        f"pulumi config set {written} <value> --stack {stack}",
                    )
                )
            continue
        value = given[full]
        if declaration.get("secret") and not _holds_secure(value):
            merged.problems.append(
                ConfigError(
                    full,
                    describe(merged.config[full]),
                    f"Pulumi.yaml marks it secret: the Pulumi CLI stops with \"Stack '{stack}' with configuration key '{written}' "
                    "must be encrypted as it's secret\"",
                    f"pulumi config set --secret {written} <value> --stack {stack}",
                )
            )
        elif declaration.get("type") is not None and not _is_of_type(declaration, _content(value)):
            kind = _type_name(declaration)
            merged.problems.append(
                ConfigError(
                    full,
                    "an encrypted value" if full in merged.opaque else describe(merged.config[full]),
                    f"the Pulumi CLI stops with \"Stack '{stack}' with configuration key '{written}' must be of type '{kind}'\"",
                    f"set it as {kind}"
                    + (", in YAML: a list under the key, or with pulumi config set --path" if kind.startswith("array") else ""),
                )
            )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # the CLI strips a UTF-8 byte-order mark (loaders.go)
    except FileNotFoundError:
        known = sorted(found.name[len("Pulumi.") : -len(".yaml")] for found in path.parent.glob("Pulumi.*.yaml"))
        stacks = f" (stacks here: {', '.join(known) or 'none'})" if path.name != "Pulumi.yaml" else ""
        raise StackFileError(f"no file {path}{stacks}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError(f"{path} cannot be read ({getattr(error, 'strerror', None) or error})") from None


def load(root: Path, stack: str) -> MergedConfig:
    """merge() on the project's files: Pulumi.<stack>.yaml beside Pulumi.yaml, or under its stackConfigDir."""
    name = stack.rsplit("/", 1)[-1]  # org/project/dev keeps its config in Pulumi.dev.yaml
    if not _STACK_NAME.fullmatch(name):
        raise StackFileError(f"{stack!r} is not a stack name (letters, digits, '-', '_' and '.')")
    project = _read(root / "Pulumi.yaml")
    _, _, stack_dir = _declarations(_yaml(project, "Pulumi.yaml"))
    path = root / stack_dir / f"Pulumi.{name}.yaml"
    return merge(project, _read(path), name, stack_file=path.name)


def _root_key(key: str) -> str:
    return re.split(r"[.\[]", key, maxsplit=1)[0]


def _check_signing_key(merged: MergedConfig, problems: list[ConfigError], offline: bool, say: Callable[[str], None]) -> list[ConfigError]:
    """With no pinned key, fetch the JWKS and select the key as the program would (unless offline); the problems found."""
    with stack_config.as_configured():
        pem, check = TRUST_SCHEMA.key("public_key_pem"), TRUST_SCHEMA.key("key_check")
        if pem in merged.opaque or merged.config.get(pem):
            say(
                f"note: {pem} is pinned: not compared with the keys the workspace publishes here; the program does that "
                f"at preview ({check}: {merged.config.get(check, 'warn')})"
            )
            return []
        trust = {f"{NAMESPACE}:{config_name(key)}" for key in KEYS if key.feeds == "trust"}
        blocked = sorted({problem.key for problem in problems if _root_key(problem.key) in trust})
        workspace = TRUST_SCHEMA.key("workspace_url")
        url = f"the workspace's {JWKS_PATH}"
        if workspace not in blocked and merged.config.get(workspace):
            with contextlib.suppress(ConfigError):  # stack_config stops early at a misspelt namespace: not checked yet
                url = urls.workspace_url(merged.config[workspace], workspace) + JWKS_PATH
        if offline:
            say(f"note: {pem} is not set, so the program fetches the signing key from {url}: skipped (--offline)")
            return []
        if blocked:
            say(f"note: {pem} is not set, so the program fetches the signing key: not fetched until these are fixed: {', '.join(blocked)}")
            return []
        try:
            settings = trust_settings(stack_config.trust_args(merged.config))
        except ConfigError as error:
            return [error]
        assert settings.workspace_url is not None  # fronteggWorkspaceUrl is required, and it is not blocked
        say(f"fetching the signing key from {url} (pin {pem} to skip)")
        try:
            # What FronteggTrust's signing_key() does for a key that is not pinned.
            found = key_discovery.discover(settings.workspace_url, settings.key_id, TRUST_SCHEMA.key)
        except ConfigError as error:
            return [error]
    kid = f"kid {found.kid!r}" if found.kid else "no kid"
    say(f"note: the workspace publishes the signing key ({kid}, SHA-256 {found.public_key.fingerprint}): the program would deploy it")
    return []


def check(stack: str, root: Path = ROOT, *, offline: bool = False, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print every problem of the stack's config, each naming its key; 0 when clean, 1 with problems, 2 when it cannot run."""
    out, err = out or sys.stdout, err or sys.stderr

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        merged = load(root, stack)
    except StackFileError as error:
        print(f"validate_stack: {error}", file=err)
        return 2
    except (RecursionError, ValueError) as error:
        # A YAML alias that contains itself, or nesting thousands deep: the CLI could not serialise it either.
        print(f"validate_stack: Pulumi.{stack}.yaml nests too deeply or refers to itself ({type(error).__name__})", file=err)
        return 2
    name = stack.rsplit("/", 1)[-1]
    say(f"stack {name}: Pulumi.yaml + Pulumi.{name}.yaml, merged as the Pulumi CLI hands them to the program")
    for note in merged.notes:
        say(f"note: {note}")
    stopped_cli = {problem.key for problem in merged.problems}
    found = merged.problems + [
        problem
        for problem in stack_config.problems(merged.config, merged.secret_keys, merged.opaque)
        if _root_key(problem.key) not in stopped_cli  # the CLI stops first, with its own message
    ]
    found += _check_signing_key(merged, found, offline, say)
    for problem in found:
        say(str(problem))
    count = f"{len(found)} problem{'s' if len(found) != 1 else ''}" if found else "no problems"
    say(f"stack {name}: {count}")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.validate_stack", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("stack", metavar="STACK", help="the stack whose Pulumi.<STACK>.yaml to check, e.g. dev")
    parser.add_argument("--offline", action="store_true", help="do not fetch the workspace's signing keys (no network at all)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project directory (default: this checkout)")
    args = parser.parse_args(argv)
    return check(args.stack, args.root, offline=args.offline)


if __name__ == "__main__":
    sys.exit(main())
