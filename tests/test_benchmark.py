"""The benchmark compares like with like, and docs/benchmarks.md quotes only what the benchmark printed.

Correctness of the benchmark, not its timings: the programs run once each at a small N, and the page is read, not rerun.
"""

import importlib.util
import itertools
import re
import sys
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest

from testkit.mock_runtime import ROOT, Run


def _load_benchmark() -> ModuleType:
    # A script, not a package: loaded from its path, registered first so its dataclasses can find their module.
    spec = importlib.util.spec_from_file_location("component_cost", ROOT / "benchmarks" / "component_cost.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["component_cost"] = module
    spec.loader.exec_module(module)
    return module


bench: Any = _load_benchmark()
DOC = (ROOT / "docs" / "benchmarks.md").read_text()
N = 2


def result_block() -> str:
    _, begin, rest = DOC.partition(bench.DOC_BEGIN)
    block, end, _ = rest.partition(bench.DOC_END)
    assert begin and end, "docs/benchmarks.md has lost its benchmark-result markers"
    return block


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    """One run of each program at N=2 against a loopback JWKS."""
    with bench.loopback_jwks() as jwks:
        return {kind: bench.run_once(program, jwks)[1] for kind, program in bench.programs(N, jwks.url).items()}


@pytest.mark.parametrize("kind", ["nodes", "raw"])
def test_the_hand_written_programs_declare_exactly_what_the_components_declare(runs: dict[str, Run], kind: str) -> None:
    assert bench.mismatch(kind, runs["component"], runs[kind]) == []


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("raw", {"delete_before_replace": False}),
        ("raw", {"replace_on_changes": ["paths"]}),
        ("raw", {"dependencies": []}),
        ("raw", {"inputs": {"name": "api-000-route"}}),
        ("nodes", {"parent": "urn:pulumi:dev::kong-frontegg-jwt::pulumi:pulumi:Stack::kong-frontegg-jwt-dev"}),
    ],
    ids=["delete_before_replace", "replace_on_changes", "depends_on", "inputs", "parent"],
)
def test_a_route_declared_with_other_options_or_inputs_is_caught(runs: dict[str, Run], kind: str, change: dict[str, Any]) -> None:
    route = next(r for r in runs[kind].kong if r.name == "api-000-route")
    altered = Run(resources=[replace(route, **change) if r is route else r for r in runs[kind].resources])
    differences = bench.mismatch(kind, runs["component"], altered)
    assert len(differences) == 2 and all("api-000-route" in line for line in differences)


@pytest.mark.parametrize("kind", ["component", "nodes", "raw"])
def test_kong_resources_are_three_per_api_plus_the_consumer_and_a_credential_per_issuer(runs: dict[str, Run], kind: str) -> None:
    result = runs[kind]
    counts = {what: len(result.of(what)) for what in ("service", "plugin", "route", "consumer", "credential")}
    assert counts == {"service": N, "plugin": N, "route": N, "consumer": 1, "credential": bench.ISSUERS}
    assert len(result.kong) == bench.kong_resources(N) == 3 * N + 1 + bench.ISSUERS


def test_make_bench_reports_each_program_run_on_stderr_and_the_result_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    with bench.loopback_jwks() as jwks:
        row = bench.measure(1, 1, jwks, bench.Progress())
    out, err = capsys.readouterr()
    assert out == ""
    for kind in ("component", "nodes", "raw"):
        assert re.search(rf"^\[ *\d+\.\d s\] N=1 run 1/1 {kind} +\d+\.\d+ s$", err, re.M), err
    assert row.kong_resources == bench.kong_resources(1) and row.jwks_requests == {1}


def test_the_doc_quotes_the_table_the_script_prints_for_every_size() -> None:
    lines = result_block().splitlines()
    header = bench.table([]).splitlines()
    start = lines.index(header[0])
    assert lines[start + 1] == header[1]
    rows = [line.strip("| ").split(" | ") for line in itertools.takewhile(lambda line: line.startswith("|"), lines[start + 2 :])]
    assert all(len(cells) == len(bench.COLUMNS) for cells in rows)
    assert [int(cells[0]) for cells in rows] == list(bench.SIZES)
    assert [int(cells[1]) for cells in rows] == [bench.RUNS[n] for n in bench.SIZES]
    assert [int(cells[2]) for cells in rows] == [bench.kong_resources(n) for n in bench.SIZES]


# A measured quantity: a ratio (1.25x), a percentage, or a number with a unit of time or memory.
QUANTITY = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?:x\b|%|\s?(?:ms|s|seconds?|min|minutes?|MiB|GiB)\b)")


def test_every_number_the_docs_prose_quotes_is_in_the_generated_result() -> None:
    block = result_block()
    prose = DOC.replace(block, "")
    in_block = set(re.findall(r"\d+(?:\.\d+)?", block))
    quoted = {match.group(0) for match in QUANTITY.finditer(prose) if match.group(1) not in in_block}
    assert not quoted, f"docs/benchmarks.md quotes numbers the generated result does not hold: {sorted(quoted)}"


def test_writing_the_doc_replaces_the_result_and_nothing_else() -> None:
    block = result_block()
    assert bench.replace_block(DOC, block.removeprefix("\n")) == DOC
    head, tail = DOC.split(block)
    assert bench.replace_block(DOC, "fresh\n") == f"{head}\nfresh\n{tail}"
