"""The offline stack check (tools/validate_stack.py): config merged as the Pulumi CLI does, every problem at once, the key."""

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from components.jwks import JWKS_PATH
from testkit.mock_runtime import ROOT, cli_config
from tests.keys import rsa_key, spki_pem
from tests.test_key_discovery import jwk, jwks_requests, serve, workspace
from tools.validate_stack import StackFileError, check, load, merge

P = "kong-frontegg-jwt:"
# The dev stack's API, so that a stack written by a test has nothing wrong but what the test puts there.
API = f"""\
  {P}upstreamUrl: https://orders.internal
  {P}serviceName: orders
  {P}routePaths: [/orders]
"""


def project(tmp_path: Path, **stacks: str) -> Path:
    """A copy of the real project (its Pulumi.yaml) with these stack files."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    for name, text in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(textwrap.dedent(text))
    return tmp_path


def validate(root: Path, stack: str, *, offline: bool = True) -> tuple[int, list[str], str]:
    """Exit status, stdout lines and stderr of one check."""
    out, err = io.StringIO(), io.StringIO()
    code = check(stack, root, offline=offline, out=out, err=err)
    return code, out.getvalue().splitlines(), err.getvalue()


def problem_keys(lines: list[str]) -> list[str]:
    """The key each problem line names (every line that is not a note, the header, the summary or the fetch notice)."""
    skipped = ("note: ", "stack ", "fetching ")
    return [line.split(": ", 1)[0] for line in lines if not line.startswith(skipped)]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The tool as `make validate` runs it: its own process, so exit status and stderr are the real ones."""
    return subprocess.run([sys.executable, "-m", "tools.validate_stack", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


# The real repository.


def test_make_validate_on_the_dev_stack_passes_offline() -> None:
    done = cli("dev", "--offline")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "stack dev: no problems"
    assert f"note: {P}fronteggPublicKey is pinned" in done.stdout and done.stderr == ""


def test_the_merge_hands_the_dev_stack_to_the_program_as_the_test_harness_does() -> None:
    # testkit's cli_config turns the key comparison off for tests; the stack itself leaves it at the default.
    assert load(ROOT, "dev").config == cli_config("dev", overrides={P + "fronteggKeyCheck": "warn"})


# Every problem at once.


def test_a_stack_file_with_several_problems_lists_each_with_its_key(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        bad=f"""\
        config:
          {P}fronteggWorkspaceUrl: http://app-x.frontegg.com
          {P}upstreamUrl: https://orders.internal
          {P}serviceName: orders api
          {P}routePaths: [orders]
          {P}issuers: https://app-x.frontegg.com
          {P}jwt:
            claimsToVerfy: [exp]
        """,
    )
    code, lines, err = validate(root, "bad")
    assert code == 1 and err == ""
    assert problem_keys(lines) == [
        P + "issuers",
        P + "fronteggWorkspaceUrl",
        P + "serviceName",
        P + "routePaths[0]",
        P + "jwt.claimsToVerfy",
    ]
    assert lines[-1] == "stack bad: 5 problems"
    assert all(". Fix: " in line for line in lines if line.split(": ", 1)[0] in problem_keys(lines))


def test_a_missing_required_key_is_reported_as_the_cli_stops_once(tmp_path: Path) -> None:
    root = project(tmp_path, nourl=f"config:\n{API}")
    code, lines, _ = validate(root, "nourl")
    assert code == 1
    assert problem_keys(lines) == [P + "fronteggWorkspaceUrl"]
    assert "Stack 'nourl' is missing configuration value 'fronteggWorkspaceUrl'" in lines[-2]


def test_a_value_of_the_wrong_type_is_reported_as_the_cli_stops(tmp_path: Path) -> None:
    root = project(tmp_path, typed=f"config:\n{API}  {P}fronteggWorkspaceUrl: https://app-x.frontegg.com\n  {P}issuers: [1]\n")
    code, lines, _ = validate(root, "typed")
    assert code == 1 and problem_keys(lines) == [P + "issuers"]
    assert "Stack 'typed' with configuration key 'issuers' must be of type 'array<string>'" in lines[-2]


# Encrypted values.


def test_encrypted_values_count_as_set_and_are_never_decrypted(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        sealed=f"""\
        config:
          {P}fronteggWorkspaceUrl: https://app-x.frontegg.com
          {P}upstreamUrl:
            secure: v1:not-decryptable-upstream
          {P}serviceName: orders
          {P}routePaths: [/orders]
          {P}fronteggPublicKey:
            secure: v1:not-decryptable-key
        """,
    )
    code, lines, _ = validate(root, "sealed")
    assert code == 0, lines
    assert f"note: {P}upstreamUrl is encrypted: present, not checked" in lines
    assert f"note: {P}fronteggPublicKey is encrypted: present, not checked" in lines
    assert not any("not-decryptable" in line for line in lines)


def test_a_required_key_missing_but_encrypted_is_present(tmp_path: Path) -> None:
    # Without upstreamUrl the program has no API to protect; encrypted, it has one.
    base = f"config:\n  {P}fronteggWorkspaceUrl: https://app-x.frontegg.com\n  {P}serviceName: orders\n  {P}routePaths: [/orders]\n"
    root = project(tmp_path, without=base, sealed=base + f"  {P}upstreamUrl:\n    secure: v1:abc\n")
    assert problem_keys(validate(root, "without")[1]) == [P + "upstreamUrl"]
    assert validate(root, "sealed")[0] == 0


def test_a_key_that_cannot_stay_secret_given_encrypted_is_refused_as_the_program_would(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        leaky=f"""\
        config:
          {P}fronteggWorkspaceUrl: https://app-x.frontegg.com
          {P}upstreamUrl: https://orders.internal
          {P}serviceName:
            secure: v1:abc
          {P}routePaths: [/orders]
        """,
    )
    code, lines, _ = validate(root, "leaky")
    assert code == 1 and problem_keys(lines) == [P + "serviceName"]
    assert "cannot stay secret" in lines[-2]


def test_an_encrypted_value_nested_in_apis_makes_apis_opaque_with_a_note(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        many=f"""\
        config:
          {P}fronteggWorkspaceUrl: https://app-x.frontegg.com
          {P}apis:
            - name: orders
              upstreamUrl:
                secure: v1:abc
              routePaths: [orders-without-a-slash]
        """,
    )
    merged = load(root, "many")
    assert merged.opaque == {P + "apis"} and merged.secret_keys == {P + "apis"}
    code, lines, _ = validate(root, "many")
    assert code == 0, lines
    assert f"note: {P}apis holds encrypted values: present, not checked" in lines


def test_an_array_key_given_as_one_encrypted_string_is_refused_as_the_cli_does(tmp_path: Path) -> None:
    # Decrypted, a top-level secure value is a string, and the CLI type-checks it against Pulumi.yaml's array<string>.
    root = project(
        tmp_path, sealed=f"config:\n{API}  {P}fronteggWorkspaceUrl: https://app-x.frontegg.com\n  {P}issuers:\n    secure: v1:x\n"
    )
    code, lines, _ = validate(root, "sealed")
    assert code == 1 and problem_keys(lines) == [P + "issuers"]
    assert "must be of type 'array<string>'" in lines[-2] and "given: an encrypted value" in lines[-2]


# Namespaces.


def test_a_key_without_a_namespace_is_a_problem_naming_it_and_the_fix(tmp_path: Path) -> None:
    root = project(tmp_path, bare=f"config:\n  {P}fronteggWorkspaceUrl: https://app-x.frontegg.com\n{API}  consumerUsername: gw\n")
    code, lines, _ = validate(root, "bare")
    assert code == 1 and problem_keys(lines) == ["consumerUsername"]
    assert "refuses the whole stack file" in lines[-2] and f"write it as {P}consumerUsername" in lines[-2]


def test_the_old_namespace_config_key_form_is_read_as_the_cli_reads_it(tmp_path: Path) -> None:
    root = project(tmp_path, old=f"config:\n  kong-frontegg-jwt:config:fronteggWorkspaceUrl: https://app-x.frontegg.com\n{API}")
    assert load(root, "old").config[P + "fronteggWorkspaceUrl"] == "https://app-x.frontegg.com"
    assert validate(root, "old")[0] == 0


def test_keys_of_other_namespaces_reach_the_program_unchecked(tmp_path: Path) -> None:
    root = project(
        tmp_path, kong=f"config:\n  kong:kongAdminUri: http://localhost:8001\n  {P}fronteggWorkspaceUrl: https://a.example\n{API}"
    )
    assert load(root, "kong").config["kong:kongAdminUri"] == "http://localhost:8001"
    code, lines, _ = validate(root, "kong")
    assert code == 0 and "note: not checked here (their providers read them): kong:kongAdminUri" in lines


def test_a_misspelt_project_namespace_is_caught(tmp_path: Path) -> None:
    root = project(tmp_path, typo=f"config:\n  {P}fronteggWorkspaceUrl: https://a.example\n{API}  kong-frontegg-jtw:consumerUsername: gw\n")
    code, lines, _ = validate(root, "typo")
    assert code == 1 and problem_keys(lines) == ["kong-frontegg-jtw:consumerUsername"]
    assert f"did you mean {P}consumerUsername?" in lines[-2]


# The check cannot run: one line on stderr, exit 2.


@pytest.mark.parametrize(
    ("files", "stack", "says"),
    [
        ({}, "prod", "no file"),
        ({"broken": "config:\n  a: [\n"}, "broken", "Pulumi.broken.yaml is not valid YAML"),
        ({"listy": "- config\n"}, "listy", "Pulumi.listy.yaml is not a map of settings"),
        ({"dev": "config: {}\n"}, "dev stack", "is not a stack name"),
    ],
)
def test_a_check_that_cannot_run_says_why_in_one_line_and_exits_2(tmp_path: Path, files: dict[str, str], stack: str, says: str) -> None:
    root = project(tmp_path, **files)
    done = cli(stack, "--offline", "--root", str(root))
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_stack_file_names_the_stacks_there(tmp_path: Path) -> None:
    root = project(tmp_path, dev="config: {}\n", prod="config: {}\n")
    assert "(stacks here: dev, prod)" in validate(root, "staging")[2]


# The signing key.


def discovery_stack(tmp_path: Path, server: HTTPServer, extra: str = "") -> Path:
    return project(tmp_path, disc=f"config:\n{API}  {P}fronteggWorkspaceUrl: {workspace(server)}\n{extra}")


def test_offline_makes_no_request_and_says_the_fetch_was_skipped(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1")])
    code, lines, _ = validate(discovery_stack(tmp_path, httpserver), "disc", offline=True)
    assert code == 0 and jwks_requests(httpserver) == 0
    url = workspace(httpserver) + JWKS_PATH
    assert f"note: {P}fronteggPublicKey is not set, so the program fetches the signing key from {url}: skipped (--offline)" in lines


def test_online_key_discovery_fetches_once_and_says_from_where(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1", alg="RS256", use="sig")])
    code, lines, _ = validate(discovery_stack(tmp_path, httpserver), "disc", offline=False)
    assert code == 0, lines
    assert jwks_requests(httpserver) == 1
    assert f"fetching the signing key from {workspace(httpserver)}{JWKS_PATH} (pin {P}fronteggPublicKey to skip)" in lines
    assert any(line.startswith("note: the workspace publishes the signing key (kid 'k1', SHA-256 ") for line in lines)


def test_a_jwks_that_cannot_be_fetched_is_a_problem_naming_the_workspace_url(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("not found", status=404)
    code, lines, _ = validate(discovery_stack(tmp_path, httpserver), "disc", offline=False)
    assert code == 1 and problem_keys(lines) == [P + "fronteggWorkspaceUrl"]
    assert "404" in lines[-2] and f"pin the public key in {P}fronteggPublicKey" in lines[-2]


def test_a_kid_the_workspace_does_not_publish_is_a_problem_naming_the_key_id(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "current")])
    code, lines, _ = validate(discovery_stack(tmp_path, httpserver, f"  {P}fronteggKeyId: gone\n"), "disc", offline=False)
    assert code == 1 and problem_keys(lines) == [P + "fronteggKeyId"]


def test_a_pinned_key_is_never_fetched_even_online(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1")])
    pem = "".join(f"    {line}\n" for line in spki_pem(rsa_key()).splitlines())
    code, lines, _ = validate(discovery_stack(tmp_path, httpserver, f"  {P}fronteggPublicKey: |\n{pem}"), "disc", offline=False)
    assert code == 0, lines
    assert jwks_requests(httpserver) == 0
    assert any(line.startswith(f"note: {P}fronteggPublicKey is pinned: not compared") for line in lines)


def test_the_key_is_not_fetched_while_the_workspace_url_is_wrong(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1")])
    root = discovery_stack(tmp_path, httpserver, f"  {P}issuers: [https://app-x.frontegg.com/]\n")
    code, lines, _ = validate(root, "disc", offline=False)
    assert code == 1 and jwks_requests(httpserver) == 0
    assert problem_keys(lines) == [P + "issuers[0]"]
    assert lines[-3].endswith(f"not fetched until these are fixed: {P}issuers[0]")


# The merge on its own: (Pulumi.yaml, stack file) -> what the program receives.

PROJECT = "name: p\nruntime: python\n"


@pytest.mark.parametrize(
    ("project_yaml", "stack_yaml", "expected"),
    [
        pytest.param("config:\n  a:\n    type: string\n    default: x\n", "", {"p:a": "x"}, id="a declared default fills a missing key"),
        pytest.param("config:\n  a:\n    type: string\n    default: x\n", "config:\n  p:a: y\n", {"p:a": "y"}, id="the stack wins"),
        pytest.param("config:\n  a: x\n  kong:uri: http://k\n", "", {"p:a": "x", "kong:uri": "http://k"}, id="shorthand default and value"),
        pytest.param("config:\n  kong:uri: http://k\n", "config:\n  kong:uri: http://s\n", {"kong:uri": "http://s"}, id="stack over value"),
        pytest.param("config:\n  p:a:\n    default: 1\n", "", {"p:a": "1"}, id="a namespaced project key"),
        pytest.param("config:\n  n:\n    default: 3600\n  b:\n    default: true\n", "", {"p:n": "3600", "p:b": "true"}, id="fmt %v"),
        pytest.param("config:\n  i:\n    type: array\n    items: {type: string}\n    default: []\n", "", {"p:i": "[]"}, id="array default"),
        pytest.param(
            "",
            "config:\n  p:t: true\n  p:y: yes\n  p:n: 3600\n  p:f: 1.50\n  p:w: 3600.0\n  p:s: 'true'\n",
            {"p:t": "true", "p:y": "true", "p:n": "3600", "p:f": "1.5", "p:w": "3600", "p:s": "true"},
            id="booleans and numbers as JSON text",
        ),
        pytest.param("", "config:\n  p:l: [/a, /b]\n", {"p:l": '["/a","/b"]'}, id="a list as compact JSON"),
        pytest.param("", "config:\n  p:o:\n    z: 1\n    a: [true]\n", {"p:o": '{"a":[true],"z":1}'}, id="an object, keys sorted"),
        pytest.param("", "config:\n  p:o:\n    u: a<b&c\n", {"p:o": '{"u":"a\\u003cb\\u0026c"}'}, id="Go escapes <>&"),
        pytest.param("", "config:\n  p:d: 2024-01-31\n", {"p:d": "2024-01-31"}, id="a date stays text"),
        pytest.param("", "config:\n  p:e:\n", {"p:e": "null"}, id="an empty value is null"),
        pytest.param("", "config:\n  p:config:k: v\n", {"p:k": "v"}, id="the old namespace:config:key form"),
        pytest.param("", "config:\n  p:s:\n    secure: v1:abc\n", {"p:s": "v1:abc"}, id="a secure value stays ciphertext"),
        pytest.param("config: stacks\n", "config:\n  p:a: x\n", {"p:a": "x"}, id="config as the old stackConfigDir"),
    ],
)
def test_the_merge_hands_the_program_what_the_cli_would(project_yaml: str, stack_yaml: str, expected: dict[str, str]) -> None:
    merged = merge(PROJECT + project_yaml, stack_yaml, "s")
    assert merged.config == expected and merged.problems == []


def test_a_secret_declared_key_given_in_plain_text_stops_the_cli() -> None:
    merged = merge(PROJECT + "config:\n  token:\n    type: string\n    secret: true\n", "config:\n  p:token: plain\n", "s")
    assert [problem.key for problem in merged.problems] == ["p:token"]
    assert "must be encrypted as it's secret" in str(merged.problems[0])
    assert merge(PROJECT + "config:\n  token:\n    secret: true\n", "config:\n  p:token:\n    secure: v1:x\n", "s").problems == []


def test_only_a_project_key_without_default_is_required() -> None:
    merged = merge(PROJECT + "config:\n  need:\n    type: string\n  kong:uri:\n    value: http://k\n", "", "s")
    assert [problem.key for problem in merged.problems] == ["p:need"]
    assert "Stack 's' is missing configuration value 'need'" in str(merged.problems[0])


@pytest.mark.parametrize(
    ("project_yaml", "says"),
    [
        ("config:\n  kong:uri:\n    type: string\n", "takes a 'value' only"),
        ("config:\n  a:\n    default: x\n    value: y\n", "cannot have both a 'default' and 'value'"),
        ("config:\n  a: 1.5\n", "neither a value nor a declaration"),
    ],
)
def test_a_pulumi_yaml_the_cli_refuses_stops_the_check(project_yaml: str, says: str) -> None:
    with pytest.raises(StackFileError, match=says):
        merge(PROJECT + project_yaml, "", "s")


@pytest.mark.parametrize(
    "stack_file",
    ["config:\n  kong-frontegg-jwt:routePaths: &a [*a]\n", "config:\n  kong-frontegg-jwt:routePaths: " + "[" * 3000 + "]" * 3000 + "\n"],
    ids=["alias-that-contains-itself", "nested-3000-deep"],
)
def test_a_stack_file_that_nests_without_end_cannot_be_checked_and_says_so_in_one_line(tmp_path: Path, stack_file: str) -> None:
    code, _out, err = validate(project(tmp_path, hostile=stack_file), "hostile")
    assert code == 2 and "nests too deeply or refers to itself" in err and "Traceback" not in err
