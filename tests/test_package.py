"""The package as others get it: the wheel holds only kong_frontegg_jwt and works installed, away from this repository;
the examples for other languages and the documented consumer test agree with the schema they are written against."""

import ast
import email
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime.proto import provider_pb2

from components import __version__
from components.provider import NAME, schema
from testkit.mock_runtime import ROOT
from tests import fake_engine

PACKAGE = "kong_frontegg_jwt"
EXPORTS = (
    "FronteggTrust",
    "FronteggTrustArgs",
    "ProtectedApi",
    "ProtectedApiArgs",
    "JwtSettings",
    "CorsSettings",
    "KeyCheck",
    "ConfigError",
)
RELEASE = f"https://github.com/<org>/kong-frontegg-jwt/provider@v{__version__}"
"""What `pulumi package add` is given, and records, for this release (the organisation is the reader's)."""
_NOT_SOURCES = ("venv", ".git", "__pycache__", ".*_cache", "build", "*.egg-info", "node_modules", "sdks", ".local", ".pulumi-state")


@dataclass(frozen=True)
class Built:
    """The wheel built from this repository, and where it is unpacked as an installed copy."""

    names: list[str]
    metadata: Message
    site: Path
    outside: Path
    """An empty directory away from the repository, to run the installed copy from."""


def _build_artefacts() -> set[str]:
    return {path.name for path in ROOT.iterdir() if path.name == "build" or path.name.endswith(".egg-info")}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One wheel per session, built offline as `pip wheel --no-build-isolation --no-deps .` does at the repository root.

    It is built from a copy of the working tree: setuptools writes build/ and *.egg-info beside the sources, and
    those must not appear in the repository (nor race another build running there).
    """
    work = tmp_path_factory.mktemp("package")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCES))
    before = _build_artefacts()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--quiet", "-w", str(work / "dist"), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert _build_artefacts() == before, "building left build/ or *.egg-info in the repository"
    (wheel,) = (work / "dist").glob("*.whl")
    site = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = email.message_from_bytes(archive.read(f"{PACKAGE}-{__version__}.dist-info/METADATA"))
        archive.extractall(site)
    outside = work / "elsewhere"
    outside.mkdir()
    yield Built(names, metadata, site, outside)


def run_installed(built: Built, *args: str) -> subprocess.CompletedProcess[str]:
    """The venv's Python (so the dependencies resolve) with only the unpacked wheel added, run away from the repository."""
    env = {**os.environ, "PYTHONPATH": str(built.site)}
    return subprocess.run([sys.executable, *args], cwd=built.outside, env=env, capture_output=True, text=True, timeout=300)


def installed(built: Built, code: str) -> Any:
    """What `code` (which prints one JSON value) prints, run against the installed copy."""
    result = run_installed(built, "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


KNOWN_GAPS: dict[str, str] = {}
"""Gaps in files these tests do not own, by test case. Strict: once a gap is closed its case passes, fails as XPASS,
and its entry here must go."""


def with_known_gaps(cases: list[Any]) -> list[Any]:
    """The cases as pytest params, those in KNOWN_GAPS expected to fail."""
    params = []
    for case in cases:
        name = case.name if isinstance(case, Path) else str(case)
        gap = [pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name])] if name in KNOWN_GAPS else []
        params.append(pytest.param(case, id=name, marks=gap))
    return params


# --- the wheel ------------------------------------------------------------------------------------------------------


def test_the_wheel_holds_only_the_package_and_its_metadata(built: Built) -> None:
    tops = {name.split("/")[0] for name in built.names}
    assert tops == {PACKAGE, f"{PACKAGE}-{__version__}.dist-info"}
    assert f"{PACKAGE}/py.typed" in built.names, "type hints ship with the package"
    assert f"{PACKAGE}/provider.py" in built.names


def test_the_wheel_is_the_version_the_components_say(built: Built) -> None:
    assert built.metadata["Name"] == "kong-frontegg-jwt"
    assert built.metadata["Version"] == __version__ == "0.2.0"


def _imported_distributions() -> dict[str, set[str]]:
    """Third-party distributions the components import, each with the modules that import it."""
    found: dict[str, set[str]] = {}
    owners = importlib.metadata.packages_distributions()
    for module in sorted((ROOT / "components").glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in sys.stdlib_module_names and top != "__future__":
                    for distribution in owners.get(top, [top]):
                        found.setdefault(_distribution(distribution), set()).add(module.name)
    return found


def _declared(built: Built) -> set[str]:
    names = set()
    for requirement in built.metadata.get_all("Requires-Dist") or []:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert name, requirement
        names.add(_distribution(name[0]))
    return names


_IMPORTED = _imported_distributions()


@pytest.mark.parametrize("distribution", with_known_gaps(sorted(_IMPORTED)))
def test_every_distribution_the_components_import_is_a_declared_dependency(built: Built, distribution: str) -> None:
    assert distribution in _declared(built), f"{sorted(_IMPORTED[distribution])} import {distribution}, which the wheel does not require"


def test_every_declared_dependency_is_one_the_components_import(built: Built) -> None:
    assert _declared(built) <= set(_IMPORTED), "a dependency no component imports"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert len(built.metadata.get_all("Requires-Dist") or []) == len(project["dependencies"])


# --- the installed copy ---------------------------------------------------------------------------------------------


def test_the_installed_package_imports_with_its_public_names_only(built: Built) -> None:
    found = installed(
        built,
        "import importlib.util, json, kong_frontegg_jwt as k\n"
        "try:\n    import components\n    repo = components.__file__\nexcept ModuleNotFoundError:\n    repo = None\n"
        "print(json.dumps({'file': k.__file__, 'version': k.__version__, 'all': sorted(k.__all__),\n"
        "    'missing': [n for n in " + repr(EXPORTS) + " if not hasattr(k, n)],\n"
        "    'nested': importlib.util.find_spec('kong_frontegg_jwt.components') is not None, 'components': repo}))",
    )
    assert Path(found["file"]).is_relative_to(built.site), "the installed copy, not this repository, was imported"
    assert found["version"] == __version__
    assert found["missing"] == [] and set(EXPORTS) <= set(found["all"])
    assert found["nested"] is False, "kong_frontegg_jwt.components must not exist"
    assert found["components"] is None, "the repository's `components` must not be importable where the package is installed"


def test_the_installed_provider_serves_the_same_schema(built: Built) -> None:
    # Pulumi's analyzer reads annotations and docstrings from the installed sources: this is what other languages get.
    served = installed(built, "import json; from kong_frontegg_jwt.provider import schema; print(json.dumps(schema()))")
    assert _differences(served, schema()) == []


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as paths with both values: readable where a deep equality is not."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [found for key in sorted(set(left) | set(right)) for found in _differences(left.get(key), right.get(key), f"{path}/{key}")]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [found for index, pair in enumerate(zip(left, right, strict=True)) for found in _differences(*pair, f"{path}[{index}]")]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


def test_the_plugin_entry_serves_the_installed_package(built: Built) -> None:
    # What Pulumi runs for `pulumi package add .../provider`: provider/__main__.py, in a venv where the package is installed.
    env = {**os.environ, "PYTHONPATH": str(built.site)}
    with (
        fake_engine.engine() as (_, address),
        fake_engine.start_provider(address, [str(ROOT / "provider")], cwd=built.outside, env=env) as plugin,
    ):
        served = json.loads(plugin.GetSchema(provider_pb2.GetSchemaRequest(), timeout=60).schema)
    assert served == schema()


def _future_annotations(module: Path) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__" and any(a.name == "annotations" for a in node.names)
        for node in ast.parse(module.read_text()).body
    )


_MODULES = sorted((ROOT / "components").glob("*.py"))


@pytest.mark.parametrize("module", with_known_gaps(_MODULES))
def test_no_module_postpones_annotations(module: Path) -> None:
    # The analyzer would read strings instead of types, and on Python 3.11 NotRequired keys would become required.
    assert not _future_annotations(module)


def test_no_module_imports_the_package_by_its_repository_name() -> None:
    # Installed, the package is kong_frontegg_jwt: `components.` does not exist there (and in the repository a second
    # import path would make the analyzer see every type twice).
    absolute = [
        f"{module.name}:{node.lineno}"
        for module in _MODULES
        for node in ast.walk(ast.parse(module.read_text()))
        if (isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] in ("components", PACKAGE))
        or (isinstance(node, ast.Import) and any(a.name.split(".")[0] in ("components", PACKAGE) for a in node.names))
    ]
    assert absolute == []


# --- the examples for other languages -------------------------------------------------------------------------------


def _token(type_: str) -> str:
    """A YAML type as the schema spells it: `pkg:Component` is short for `pkg:index:Component`."""
    parts = type_.split(":")
    return f"{parts[0]}:index:{parts[1]}" if len(parts) == 2 else type_


def _unknown_keys(given: dict[str, Any], properties: dict[str, Any], served: dict[str, Any], where: str) -> list[str]:
    """Keys not among the properties, recursively into object-typed properties (against their schema types)."""
    unknown = []
    for key, value in given.items():
        if key not in properties:
            unknown.append(f"{where}{key}")
            continue
        ref = properties[key].get("$ref", "")
        nested = served["types"].get(ref.removeprefix("#/types/"), {})
        if nested.get("type") == "object":
            assert isinstance(value, dict), f"{where}{key} must be an object"
            unknown += _unknown_keys(value, nested["properties"], served, f"{where}{key}.")
        elif "enum" in nested and isinstance(value, str) and "${" not in value:
            assert value in [member["value"] for member in nested["enum"]], f"{where}{key}: {value!r} is not a {ref}"
    return unknown


def _keys(value: Any) -> Any:
    """The shape of an argument object: its keys, objects nested as dicts, other values as None."""
    return {key: _keys(item) for key, item in value.items()} if isinstance(value, dict) else None


def yaml_components() -> dict[str, tuple[str, Any]]:
    """The components the YAML example declares: name -> (token, shape of its properties)."""
    program = yaml.safe_load((ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    return {
        name: (_token(resource["type"]), _keys(resource.get("properties", {})))
        for name, resource in program["resources"].items()
        if resource["type"].startswith(f"{NAME}:")
    }


def test_the_yaml_example_uses_only_what_the_schema_has() -> None:
    served = schema()
    program = yaml.safe_load((ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text())
    ours = {name: r for name, r in program["resources"].items() if r["type"].startswith(f"{NAME}:")}
    assert sorted(_token(r["type"]) for r in ours.values()) == sorted([f"{NAME}:index:FronteggTrust", *[f"{NAME}:index:ProtectedApi"] * 2])
    (gateway,) = [name for name, r in program["resources"].items() if r["type"] == "pulumi:providers:kong"]
    for name, resource in ours.items():
        component = served["resources"][_token(resource["type"])]
        properties = resource.get("properties", {})
        assert _unknown_keys(properties, component["inputProperties"], served, f"{name}.") == []
        assert set(component["requiredInputs"]) <= set(properties), f"{name} lacks a required input"
        for key, value in properties.items():
            # A plain input must be known when the program runs: config, not another resource's output.
            if component["inputProperties"][key].get("plain"):
                assert not re.search(r"\$\{(" + "|".join(program["resources"]) + r")\.", json.dumps(value)), f"{name}.{key}"
        assert resource["options"]["providers"] == {"kong": f"${{{gateway}}}"}, f"{name} must get the kong provider"
    assert any("cors" in r.get("properties", {}) for r in ours.values())
    references = set(re.findall(r"\$\{(\w+)", (ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text()))
    assert references <= set(program["config"]) | set(program["resources"]), "a ${...} naming neither config nor a resource"


def test_the_examples_pin_this_release() -> None:
    for example in ("yaml", "typescript"):
        project = yaml.safe_load((ROOT / "examples" / example / "Pulumi.yaml").read_text())
        assert project["packages"] == {NAME: RELEASE}, example
        assert f"pulumi package add {RELEASE}" in (ROOT / "examples" / example / "README.md").read_text(), example
        assert "pulumi up" in (ROOT / "examples" / example / "README.md").read_text(), example
    assert f"pulumi package add {RELEASE}" in (ROOT / "docs" / "components.md").read_text()


def _skip_value(source: str, at: int) -> int:
    """The index just past the TypeScript expression starting at `at` (up to a `,` or closing bracket at its level)."""
    depth, quote = 0, ""
    while at < len(source):
        char = source[at]
        if quote:
            at += 2 if char == "\\" else 1
            quote = "" if char == quote else quote
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return at
            depth -= 1
        elif char == "," and depth == 0:
            return at
        at += 1
    raise AssertionError("unterminated expression")


_BETWEEN_KEYS = re.compile(r"(?:[\s,]|//[^\n]*)*")
_KEY = re.compile(r"""(["']?)(\w+)\1\s*:\s*""")


def _ts_object(source: str, at: int) -> tuple[dict[str, Any], int]:
    """The keys of the object literal whose `{` is at `at` (nested object literals as dicts), and the index after it."""
    assert source[at] == "{"
    keys: dict[str, Any] = {}
    at += 1
    while True:
        between = _BETWEEN_KEYS.match(source, at)
        assert between is not None  # it matches the empty string too
        at = between.end()
        if source[at] == "}":
            return keys, at + 1
        key = _KEY.match(source, at)
        assert key, f"not a plain key at: {source[at : at + 40]!r}"
        at = key.end()
        if source[at] == "{":
            keys[key[2]], at = _ts_object(source, at)
        else:
            keys[key[2]], at = None, _skip_value(source, at)


def ts_components(source: str, alias: str) -> dict[str, tuple[str, Any]]:
    """Each `new <alias>.<Component>("name", {...}, ...)`: name -> (token, shape of the args object literal).

    A small scanner, not a TypeScript parser: it reads object literals with plain keys (what index.ts is written with),
    and checks names only; the values are for the TypeScript compiler once the SDK is generated.
    """
    found = {}
    for match in re.finditer(rf"new\s+{alias}\.(\w+)\(\s*\"([^\"]+)\"\s*,\s*", source):
        assert source[match.end()] == "{", f"{match[2]}: pass the args as an object literal"
        found[match[2]] = (f"{NAME}:index:{match[1]}", _ts_object(source, match.end())[0])
    return found


def test_the_typescript_example_imports_the_sdk_package_add_generates() -> None:
    served = schema()
    # pulumi package add prints `import * as <camelCase name> from "@pulumi/<name>"` when the schema names neither a
    # namespace nor a nodejs package name (pkg/cmd/pulumi/packagecmd: getNodeJSPkgName, printNodeJsImportInstructions).
    assert "namespace" not in served and "packageName" not in served["language"]["nodejs"]
    source = (ROOT / "examples" / "typescript" / "index.ts").read_text()
    assert 'import * as kongFronteggJwt from "@pulumi/kong-frontegg-jwt";' in source
    package = json.loads((ROOT / "examples" / "typescript" / "package.json").read_text())
    assert package["dependencies"]["@pulumi/kong-frontegg-jwt"] == "file:sdks/kong-frontegg-jwt"
    pinned = {
        name: version
        for name, version in {**package["dependencies"], **package["devDependencies"]}.items()
        if not version.startswith("file:")
    }
    assert {"@pulumi/pulumi", "@pulumi/kong", "typescript"} <= set(pinned)
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", version) for version in pinned.values()), pinned


def test_the_typescript_example_uses_only_what_the_schema_has() -> None:
    served = schema()
    declared = ts_components((ROOT / "examples" / "typescript" / "index.ts").read_text(), "kongFronteggJwt")
    assert len(declared) == 3
    for name, (token, args) in declared.items():
        component = served["resources"][token]
        assert _unknown_keys(args, component["inputProperties"], served, f"{name}.") == []
        assert set(component["requiredInputs"]) <= set(args), f"{name} lacks a required input"


def test_the_typescript_and_yaml_examples_are_the_same_program() -> None:
    typescript = ts_components((ROOT / "examples" / "typescript" / "index.ts").read_text(), "kongFronteggJwt")
    assert typescript == yaml_components()


# --- the documented consumer test -----------------------------------------------------------------------------------


def documented_example(marker: str) -> str:
    """The python block that follows `<!-- example: marker -->` in the README."""
    match = re.search(rf"<!-- example: {marker} -->\s*```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert match, f"README.md has no example '{marker}'"
    return match.group(1)


def test_the_documented_consumer_test_passes_against_the_installed_package(built: Built) -> None:
    code = documented_example("consumer-test")
    tests = [node.name for node in ast.parse(code).body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    assert len(tests) >= 2
    assert not re.search(r"^\s*(from|import) (components|testkit)\b", code, re.M), "public names only"
    (built.outside / "test_gateway.py").write_text(code)
    result = run_installed(built, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_gateway.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(tests)} passed" in result.stdout, result.stdout


def test_the_components_page_names_every_argument_in_both_spellings() -> None:
    text = (ROOT / "docs" / "components.md").read_text()
    served = schema()
    names = [name for resource in served["resources"].values() for name in resource["inputProperties"]]
    names += [name for type_ in served["types"].values() for name in type_.get("properties", {})]
    missing = []
    for camel in names:
        snake = re.sub(r"[A-Z]", lambda upper: "_" + upper[0].lower(), camel)
        missing += [name for name in {camel, snake} if f"`{name}`" not in text]
    assert missing == [], "docs/components.md: add these arguments to the tables"
