"""Key discovery: choosing the signing key from a real JWKS served on loopback, and the program around it.

How the JWKS is fetched (deadline, retries, hostile documents) is tests/test_jwks.py.
"""

import base64
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer

from components import FronteggTrust
from components.errors import ConfigError
from components.jwks import JWKS_PATH, FetchPolicy
from components.key_discovery import discover
from components.public_key import PublicKey
from testkit.mock_runtime import cli_config, run
from tests.keys import ec_key, rsa_key, spki_pem

FAST = FetchPolicy(connect_timeout=0.5, read_timeout=0.3, retries=2, backoff=0.0, deadline=5.0)
P = "kong-frontegg-jwt:"


def NAME(argument: str) -> str:  # noqa: N802 - stands for the trust's own naming: Python callers see Python names
    return argument


def b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "n": b64(numbers.n), "e": b64(numbers.e), **extra}


def workspace(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def serve(server: HTTPServer, keys: list[dict[str, Any]]) -> None:
    server.expect_request(JWKS_PATH).respond_with_json({"keys": keys})


def jwks_requests(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path == JWKS_PATH)


def test_the_fetched_key_is_the_published_one_and_verifies_its_tokens(httpserver: HTTPServer) -> None:
    key = rsa_key()
    serve(httpserver, [jwk(key, "k1", alg="RS256", use="sig")])
    found = discover(workspace(httpserver), None, NAME, FAST)
    assert found.kid == "k1"
    assert found.public_key == PublicKey.from_rsa(key.public_key())
    token = jwt.encode({"iss": workspace(httpserver), "exp": int(time.time()) + 300}, key, algorithm="RS256")
    assert jwt.decode(token, found.public_key.pem, algorithms=["RS256"])["iss"] == workspace(httpserver)


def test_the_configured_kid_selects_among_several_keys(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key("old"), "old"), jwk(rsa_key(), "current")])
    found = discover(workspace(httpserver), "current", NAME, FAST)
    assert found.public_key.pem == spki_pem(rsa_key())


def test_several_keys_without_a_kid_is_an_error_listing_the_kids(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key("old"), "old"), jwk(rsa_key(), "current")])
    with pytest.raises(ConfigError) as error:
        discover(workspace(httpserver), None, NAME, FAST)
    message = str(error.value)
    assert message.startswith("key_id") and "'old'" in message and "'current'" in message


def test_an_unknown_kid_lists_what_was_found(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "current")])
    with pytest.raises(ConfigError, match="'current'") as error:
        discover(workspace(httpserver), "gone", NAME, FAST)
    assert str(error.value).startswith("key_id")


def test_keys_for_other_uses_and_algorithms_are_not_candidates(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key("enc"), "enc", use="enc"), jwk(rsa_key("ps"), "ps", alg="PS256"), jwk(rsa_key(), "sig")])
    assert discover(workspace(httpserver), None, NAME, FAST).kid == "sig"


def test_an_ec_only_jwks_has_no_usable_key(httpserver: HTTPServer) -> None:
    serve(httpserver, [{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": "AA", "y": "AA"}])
    with pytest.raises(ConfigError, match="no usable RS256 signing key") as error:
        discover(workspace(httpserver), None, NAME, FAST)
    assert "'ec1' (EC/" in str(error.value)


def test_a_short_published_key_is_refused(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key("short", 1024), "short")])
    with pytest.raises(ConfigError, match="1024 bits is too short"):
        discover(workspace(httpserver), None, NAME, FAST)


def test_a_fetch_failure_names_the_workspace_url_and_the_way_out(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("not found", status=404)
    with pytest.raises(ConfigError, match="404") as error:
        discover(workspace(httpserver), None, NAME, FAST)
    assert error.value.key == "workspace_url" and "pin the public key in public_key_pem" in error.value.fix


# The whole program under the mock runtime, fetching from the loopback server.


def discovery_config(server: HTTPServer, **overrides: Any) -> dict[str, str]:
    base = {P + "fronteggWorkspaceUrl": workspace(server), P + "fronteggPublicKey": "", P + "fronteggKeyCheck": "warn"}
    return cli_config(overrides={**base, **{P + k: v for k, v in overrides.items()}})


def test_a_stack_with_only_the_workspace_url_deploys_the_published_key(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1", alg="RS256", use="sig")])
    result = run(discovery_config(httpserver))
    assert result.error is None
    credential = result.one("credential")
    assert credential.inputs["rsaPublicKey"] == spki_pem(rsa_key())
    assert credential.inputs["key"] == workspace(httpserver)
    assert result.outputs["publicKeyId"] == "k1"
    assert result.outputs["publicKeyFingerprint"] == PublicKey.from_rsa(rsa_key().public_key()).fingerprint
    assert jwks_requests(httpserver) == 1


def test_a_discovery_failure_stops_the_program_before_any_kong_resource(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("not found", status=404)
    result = run(discovery_config(httpserver))
    assert isinstance(result.error, ConfigError) and "404" in str(result.error)
    assert result.kong == []


def test_a_pinned_key_that_is_published_passes_silently(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1")])
    result = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key())))
    assert result.error is None and result.warnings == []
    assert result.outputs["publicKeyId"] == "k1"


def test_a_pinned_key_that_is_no_longer_published_warns_with_both_fingerprints(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key("rotated"), "k2")])
    result = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key())))
    assert result.error is None
    pinned = PublicKey.from_rsa(rsa_key().public_key()).fingerprint
    published = PublicKey.from_rsa(rsa_key("rotated").public_key()).fingerprint
    [warning] = [w for w in result.warnings if "pinned key" in w]
    assert pinned in warning and published in warning and "refused" in warning
    assert result.one("credential").inputs["rsaPublicKey"] == spki_pem(rsa_key())


def test_key_drift_fails_the_run_when_the_check_is_fail(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key("rotated"), "k2")])
    result = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key()), fronteggKeyCheck="fail"))
    assert isinstance(result.error, ConfigError) and str(result.error).startswith(P + "fronteggPublicKey")
    assert result.kong == []


def test_a_failed_fetch_while_a_key_is_pinned_warns_when_the_check_is_warn(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("not found", status=404)
    result = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key()), fronteggKeyCheck="warn"))
    assert result.error is None
    assert any("the pinned key stands" in w for w in result.warnings)
    assert len(result.of("credential")) == 1


def test_a_failed_fetch_fails_the_run_when_the_check_is_fail(httpserver: HTTPServer) -> None:
    # A drift check that cannot read the published keys has checked nothing: it must not pass.
    httpserver.expect_request(JWKS_PATH).respond_with_data("not found", status=404)
    result = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key()), fronteggKeyCheck="fail"))
    assert isinstance(result.error, ConfigError) and result.kong == []
    assert result.error.key == P + "fronteggKeyCheck" and "could not be compared" in result.error.problem


def test_the_check_off_makes_no_request(httpserver: HTTPServer) -> None:
    result = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key()), fronteggKeyCheck="off"))
    assert result.error is None and jwks_requests(httpserver) == 0


def test_two_components_on_one_workspace_make_exactly_one_request(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1")])
    url = workspace(httpserver)

    def program() -> None:
        FronteggTrust("a", {"issuers": [url], "workspace_url": url})
        FronteggTrust("b", {"issuers": ["https://login.example.com"], "workspace_url": url})

    result = run({}, program=program)
    assert result.error is None
    assert [c.inputs["rsaPublicKey"] for c in result.of("credential")] == [spki_pem(rsa_key())] * 2
    assert jwks_requests(httpserver) == 1


@pytest.mark.parametrize(("key", "value"), [("fronteggKeyCheck", "loud"), ("fronteggKeyId", " k1")])
def test_bad_key_discovery_settings_name_their_key(httpserver: HTTPServer, key: str, value: str) -> None:
    result = run(discovery_config(httpserver, **{key: value}))
    assert isinstance(result.error, ConfigError) and str(result.error).startswith(P + key)
    assert result.kong == [] and jwks_requests(httpserver) == 0


def test_an_ec_key_in_a_trust_without_discovery_is_refused() -> None:
    result = run({}, program=lambda: FronteggTrust("t", {"issuers": ["https://login.example.com"], "public_key_pem": spki_pem(ec_key())}))
    assert isinstance(result.error, ConfigError) and result.kong == []


def test_the_same_key_published_twice_is_one_key(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "a"), jwk(rsa_key(), "b")])
    assert discover(workspace(httpserver), None, NAME, FAST).public_key.pem == spki_pem(rsa_key())


def test_several_keys_without_kids_ask_for_the_key_to_be_pinned_not_for_a_kid(httpserver: HTTPServer) -> None:
    keys = [jwk(rsa_key(), "x"), jwk(rsa_key("other"), "y")]
    for key in keys:
        del key["kid"]
    serve(httpserver, keys)
    with pytest.raises(ConfigError, match="not all with a kid") as error:
        discover(workspace(httpserver), None, NAME, FAST)
    assert error.value.key == "workspace_url" and "public_key_pem" in error.value.fix and "None" not in str(error.value)


def test_a_pinned_key_published_under_another_kid_than_configured_is_drift(httpserver: HTTPServer) -> None:
    serve(httpserver, [jwk(rsa_key(), "k1")])
    warned = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key()), fronteggKeyId="k2"))
    assert warned.error is None and any("under kid 'k1'" in w for w in warned.warnings)
    assert warned.outputs["publicKeyId"] == "k1", "the export tells the truth, not what was typed"
    failed = run(discovery_config(httpserver, fronteggPublicKey=spki_pem(rsa_key()), fronteggKeyId="k2", fronteggKeyCheck="fail"))
    assert isinstance(failed.error, ConfigError) and failed.error.key == P + "fronteggKeyId" and failed.kong == []
