"""Check that a Kong route really refuses requests without a trusted JWT, by sending some.

    python -m tools.verify_gateway --proxy-url http://localhost:8000 --path /test \\
        [--host HOST] [--token TOKEN] [--private-key FILE --issuer ISS]

Exit status: 0 when every request got the answer a protected route gives, 1 when any did not
(UNPROTECTED: a request that must be refused got through), 2 when the gateway could not be reached.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

OK, FAIL, UNPROTECTED, REJECTED, NO_ROUTE = "ok", "FAIL", "UNPROTECTED", "REJECTED", "NO ROUTE"
EXIT_OK, EXIT_UNPROTECTED, EXIT_UNREACHABLE = 0, 1, 2
DEFAULT_TIMEOUT = 5.0
_REFUSED = (401, 403)
_NO_ROUTE = "no Route matched with those values"
_FORGED_ISSUER = "https://verify-gateway.invalid"
"""The `iss` of the forged token when no issuer is known: no Kong credential matches it."""


@dataclass(frozen=True)
class Probe:
    """One request to send, and what a protected route must answer."""

    name: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    expect_status: int | None = 401
    """The exact status expected; None means any answer but 401/403 (a token that must be let through)."""
    expect_body: Mapping[str, Any] | None = None
    """Keys that must appear with these values in the JSON body (Kong's error message), when given."""

    @property
    def expected(self) -> str:
        text = "not 401/403" if self.expect_status is None else str(self.expect_status)
        if self.expect_body:
            text += " " + ", ".join(f"{key}={value!r}" for key, value in self.expect_body.items())
        return text


@dataclass(frozen=True)
class Result:
    """One row of the report."""

    probe: Probe
    status: int
    body: str
    verdict: str

    @property
    def got(self) -> str:
        return f"{self.status} {self.body}".strip()


class UnreachableError(Exception):
    """The gateway did not answer (connection refused, DNS, timeout)."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rs256(claims: Mapping[str, Any], key: rsa.RSAPrivateKey) -> str:
    return jwt.encode(dict(claims), key, algorithm="RS256")


def throwaway_key() -> rsa.RSAPrivateKey:
    """A key nobody trusts: tokens it signs must be refused."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def unverified_issuer(token: str) -> str | None:
    """The `iss` a token claims, read without verifying it (used only to aim the forged token at the same credential)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def fixed_probes(*, issuer: str | None, token: str | None, now: int, forge_key: rsa.RSAPrivateKey | None = None) -> list[Probe]:
    """The requests every protected route must refuse, plus the real token when one is given."""
    forged_iss = issuer or (unverified_issuer(token) if token else None) or _FORGED_ISSUER
    forged = rs256({"iss": forged_iss, "sub": "verify-gateway", "iat": now, "exp": now + 300}, forge_key or throwaway_key())
    probes = [
        Probe("no token"),
        Probe("malformed token", headers=bearer("not-a-jwt")),
        Probe(f"token signed by an untrusted key (iss {forged_iss})", headers=bearer(forged)),
    ]
    if token:
        probes.append(Probe("the given token (--token)", headers=bearer(token), expect_status=None))
    return probes


def scenario_probes(private_key: rsa.RSAPrivateKey, issuer: str, now: int) -> list[Probe]:
    """The rows of the token scenario table that apply to the default plugin config and can be minted here."""
    from tools import token_scenarios

    probes = []
    for scenario in token_scenarios.load_scenarios():
        if scenario.jwt:
            continue  # the row needs plugin overrides; the deployed route runs the default config
        minted = token_scenarios.mint(scenario, private_key=private_key, issuer=issuer, now=now)
        if minted is None:
            continue
        probes.append(
            Probe(
                scenario.id,
                method=minted.method,
                headers=minted.headers,
                params=minted.params,
                cookies=minted.cookies,
                expect_status=scenario.expect_status,
                expect_body=scenario.expect_body,
            )
        )
    return probes


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def judge(probe: Probe, status: int, body: Any) -> str:
    """ok, or why not: UNPROTECTED when a request that must be refused got past the plugin."""
    if status == 404 and isinstance(body, dict) and body.get("message") == _NO_ROUTE:
        return NO_ROUTE  # Kong matched no route: wrong --path or --host, so nothing was tested
    if probe.expect_status is None:
        return REJECTED if status in _REFUSED else OK
    if status != probe.expect_status:
        return UNPROTECTED if probe.expect_status in _REFUSED and status not in _REFUSED else FAIL
    if probe.expect_body and not (isinstance(body, dict) and all(body.get(k) == v for k, v in probe.expect_body.items())):
        return FAIL
    return OK


def send(session: requests.Session, url: str, probe: Probe, *, host: str | None, timeout: float) -> Result:
    headers = dict(probe.headers)
    if host:
        headers["Host"] = host
    try:
        response = session.request(
            probe.method,
            url,
            headers=headers,
            params=dict(probe.params),
            cookies=dict(probe.cookies),
            timeout=timeout,
            allow_redirects=False,
        )
    except (requests.ConnectionError, requests.Timeout) as error:
        raise UnreachableError(f"{url}: {error}") from error
    body = _json(response)
    shown = response.text.strip().replace("\n", " ")
    return Result(probe, response.status_code, shown[:60] + ("..." if len(shown) > 60 else ""), judge(probe, response.status_code, body))


def run(proxy_url: str, path: str, probes: Sequence[Probe], *, host: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> list[Result]:
    """Send each probe once; raises UnreachableError when the gateway does not answer."""
    url = proxy_url.rstrip("/") + "/" + path.lstrip("/")
    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment would test the wrong gateway
        return [send(session, url, probe, host=host, timeout=timeout) for probe in probes]


def report(results: Sequence[Result], out: TextIO) -> None:
    rows = [("request", "expected", "got", "verdict")] + [(r.probe.name, r.probe.expected, r.got, r.verdict) for r in results]
    widths = [min(max(len(row[i]) for row in rows), 70) for i in range(3)]
    for row in rows:
        print("  ".join(cell[:70].ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3], file=out)


def exit_code(results: Sequence[Result]) -> int:
    return EXIT_OK if all(r.verdict == OK for r in results) else EXIT_UNPROTECTED


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout, clock: Callable[[], float] = time.time) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.verify_gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--proxy-url", required=True, help="Kong's proxy, e.g. http://localhost:8000")
    parser.add_argument("--path", required=True, help="a path the protected route matches, e.g. /test")
    parser.add_argument("--host", help="Host header, for routes that match on hosts")
    parser.add_argument("--token", help="a real token from the workspace: it must be let through")
    parser.add_argument("--private-key", type=Path, help="PEM private key whose public half the stack trusts (local stacks)")
    parser.add_argument("--issuer", help="the trusted issuer; with --private-key, replays the token scenario table")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help=f"seconds per request (default {DEFAULT_TIMEOUT})")
    args = parser.parse_args(argv)
    if args.private_key and not args.issuer:
        parser.error("--private-key needs --issuer (the iss the stack trusts)")

    now = int(clock())
    probes = fixed_probes(issuer=args.issuer, token=args.token, now=now)
    if args.private_key:
        key = serialization.load_pem_private_key(args.private_key.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            parser.error(f"{args.private_key} is not an RSA private key")
        probes += scenario_probes(key, args.issuer, now)
    try:
        results = run(args.proxy_url, args.path, probes, host=args.host, timeout=args.timeout)
    except UnreachableError as error:
        print(f"UNREACHABLE: the gateway did not answer ({error})", file=out)
        return EXIT_UNREACHABLE
    report(results, out)
    code = exit_code(results)
    if code == EXIT_OK:
        print(f"\nProtected: all {len(results)} requests got the expected answer.", file=out)
    else:
        failed = sum(r.verdict != OK for r in results)
        print(f"\nNOT PROTECTED AS EXPECTED: {failed} of {len(results)} requests got a wrong answer (see verdicts above).", file=out)
    return code


if __name__ == "__main__":
    sys.exit(main())
