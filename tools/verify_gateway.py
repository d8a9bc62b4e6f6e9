"""Check that a Kong route refuses requests without a trusted JWT, and lets a valid one through, by sending some.

    python -m tools.verify_gateway --proxy-url http://localhost:8000 --path /test \\
        [--host HOST] [--token TOKEN] [--private-key FILE --issuer ISS] [--deadline SECONDS]

What it sends, what each verdict means and what it cannot check: docs/verifier.md.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

import jwt
import requests
import urllib3.exceptions
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PROG = "python -m tools.verify_gateway"

# Row verdicts.
OK = "ok"
UNPROTECTED = "UNPROTECTED"
"""A request that must be refused got through."""
REFUSED = "REFUSED"
"""A request with a valid token was refused."""
NO_ROUTE = "NO ROUTE"
"""Kong matched no route: the request tested nothing."""
FAIL = "FAIL"
"""Any other unexpected answer."""
NO_ANSWER = "NO ANSWER"
"""The connection failed, or no whole answer came before the deadline."""
NOT_SENT = "NOT SENT"
"""The deadline passed before the request was sent."""

EXIT_OK, EXIT_WRONG, EXIT_NOT_CHECKED = 0, 1, 2
EXIT_CODES = f"""exit status:
  {EXIT_OK}  every request got the answer a protected route gives
  {EXIT_WRONG}  some did not: UNPROTECTED (a request that must be refused got through), REFUSES VALID TOKENS,
     NO ROUTE, FAIL (another answer), NO ANSWER or NOT SENT (the deadline passed) for some of the requests
  {EXIT_NOT_CHECKED}  nothing could be checked: a usage error, a bad key file, the gateway unreachable or answering
     nothing before the deadline, or Kong's "no Route matched" for every request (wrong --path or --host)"""

DEFAULT_TIMEOUT = 5.0
DEFAULT_DEADLINE = 60.0
MAX_BODY = 64 * 1024
"""Bytes of a body read at most: Kong's answers are short, and a gateway streaming forever must not fill memory."""
_GRACE = 0.5
"""Seconds past the deadline the run waits for the request in flight to be judged on what it has read."""
_REFUSAL = (401, 403)
_NO_ROUTE_MESSAGE = "no Route matched with those values"  # kong/runloop/handler.lua:1197
# Kong adds this header only once the access phase, jwt plugin included, has let the request through and Kong set out to
# proxy it (ctx.KONG_PROXIED, kong/init.lua:1240, kong/runloop/handler.lua:1542-1544): a 401 carrying it came from the upstream.
_UPSTREAM_LATENCY = "X-Kong-Upstream-Latency"
_FORGED_ISSUER = "https://verify-gateway.invalid"
"""The `iss` of the junk token when no issuer is known: no Kong credential matches it."""
_COOKIE_NAMES = ("jwt", "fe_access_token")
"""Cookies the junk token travels in: the query parameter's name, and the one the scenario table uses."""


@dataclass(frozen=True)
class Probe:
    """One request to send, and what a protected route must answer."""

    name: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    expect_status: int | None = 401
    """The exact status a refusal must have; None means the request must be let through (anything but 401/403 from Kong)."""
    expect_body: Mapping[str, Any] | None = None
    """Keys that must appear with these values in the JSON body (Kong's error message), when given."""
    no_route_ok: bool = False
    """Kong's no-route 404 also passes: a route limited to some methods never matches OPTIONS, so nothing gets through."""
    cause: str = ""
    """What a wrong answer most likely means, for the summary."""

    @property
    def must_refuse(self) -> bool:
        return self.expect_status is not None

    @property
    def expected(self) -> str:
        text = "let through" if self.expect_status is None else str(self.expect_status)
        if self.expect_body:
            text += " " + ", ".join(f"{key}={value!r}" for key, value in self.expect_body.items())
        return text


@dataclass(frozen=True)
class Result:
    """One row of the report: the probe, what came back and the verdict."""

    probe: Probe
    verdict: str
    status: int | None = None
    """None when no answer came."""
    body: str = ""
    note: str = ""
    """Why there is no (whole) answer, or where a refusal came from."""
    no_route: bool = False

    @property
    def got(self) -> str:
        if self.status is None:
            return self.note
        text = f"{self.status} {self.body}".strip()
        return f"{text} ({self.note})" if self.note else text


class UsageError(Exception):
    """The check cannot be made as asked: the message is the one line the operator sees."""


@dataclass(frozen=True)
class Deadline:
    """One monotonic end time for the whole run."""

    end: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def left(self) -> float:
        return self.end - time.monotonic()


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
    return issuer if isinstance(issuer, str) and issuer else None


def junk_token(issuer: str, now: int) -> str:
    """Token-shaped (three base64url segments, RS256 header) but its signature is zero bytes no key produces."""

    def segment(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode()
    claims = json.dumps({"iss": issuer, "sub": "verify-gateway", "iat": now, "exp": now + 300}, separators=(",", ":")).encode()
    return ".".join((segment(header), segment(claims), segment(bytes(256))))


def fixed_probes(*, issuer: str | None, token: str | None, now: int, forge_key: rsa.RSAPrivateKey | None = None) -> list[Probe]:
    """The requests every protected route must refuse, plus the given token, which it must let through."""
    known_issuer = issuer or (unverified_issuer(token) if token else None)
    junk = junk_token(known_issuer or _FORGED_ISSUER, now)
    # The handler answers "Unauthorized" only when it found no token at all (kong/plugins/jwt/handler.lua:89-90, 164-165):
    # any other refusal of a token sent in the query or a cookie means Kong read it there.
    unread = {"message": "Unauthorized"}
    probes = [
        Probe("no token", cause="the jwt plugin is not on this route, or is disabled"),
        Probe(
            "OPTIONS, no token",
            method="OPTIONS",
            no_route_ok=True,
            # A bare OPTIONS (no Origin) passes the cors plugin (kong/plugins/cors/handler.lua:194-198) and reaches jwt.
            cause="the jwt plugin skips every OPTIONS request: run_on_preflight is false (kong/plugins/jwt/handler.lua:308)",
        ),
        Probe("junk token in Authorization", headers=bearer(junk), cause="the gateway lets through tokens it cannot verify"),
        Probe(
            "junk token in ?jwt=",
            params={"jwt": junk},
            expect_body=unread,
            cause='Kong reads tokens from ?jwt=: set jwt.uriParamNames to [] (Kong\'s default is ["jwt"])',
        ),
        Probe(
            f"junk token in cookies {', '.join(_COOKIE_NAMES)}",
            cookies=dict.fromkeys(_COOKIE_NAMES, junk),
            expect_body=unread,
            cause="Kong reads tokens from cookies: jwt.cookieNames is not []",
        ),
    ]
    if known_issuer:
        forged = rs256({"iss": known_issuer, "sub": "verify-gateway", "iat": now, "exp": now + 300}, forge_key or throwaway_key())
        probes.append(
            Probe(
                f"token signed by an untrusted key (iss {known_issuer})",
                headers=bearer(forged),
                cause="the gateway does not check signatures",
            )
        )
    if token:
        probes += [
            Probe(
                "the given token (--token)",
                headers=bearer(token),
                expect_status=None,
                cause="the stack does not trust this token: compare its iss and signing key with the stack's issuers and key",
            ),
            Probe(
                "the given token in ?jwt=",
                params={"jwt": token},
                expect_body=unread,
                cause="Kong accepts tokens in URLs, which end up in access logs: set jwt.uriParamNames to []",
            ),
        ]
    return probes


def scenario_probes(private_key: rsa.RSAPrivateKey, issuer: str, now: int) -> list[Probe]:
    """The rows of the token scenario table that apply to the default plugin config and can be minted here."""
    from tools import token_scenarios

    probes = []
    for scenario in token_scenarios.load_scenarios():
        if scenario.jwt or getattr(scenario, "cors", None):
            continue  # the row needs plugin settings the deployed route, on the default config, does not have
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
                # 200 in the table means "reaches the upstream"; a real upstream may answer anything else.
                expect_status=None if scenario.expect_status == 200 else scenario.expect_status,
                expect_body=scenario.expect_body,
                no_route_ok=minted.method == "OPTIONS",
                cause=scenario.description,
            )
        )
    return probes


def judge(probe: Probe, status: int, body: Any, *, proxied: bool = False) -> str:
    """The row's verdict from the status, the body (parsed JSON, else text) and whether the upstream answered."""
    if _is_no_route(status, body, proxied):
        return OK if probe.no_route_ok and probe.must_refuse else NO_ROUTE
    if not probe.must_refuse:
        if status in _REFUSAL and not proxied:
            return REFUSED
        return FAIL if status >= 500 and not proxied else OK  # a 5xx from Kong does not say whether it let the token through
    if proxied or 200 <= status < 300:
        return UNPROTECTED
    if status != probe.expect_status:
        return FAIL
    if probe.expect_body and not (isinstance(body, dict) and all(body.get(k) == v for k, v in probe.expect_body.items())):
        return FAIL
    return OK


def _is_no_route(status: int, body: Any, proxied: bool) -> bool:
    message = body.get("message") if isinstance(body, dict) else body
    return status == 404 and not proxied and isinstance(message, str) and _NO_ROUTE_MESSAGE in message


def _why(error: BaseException) -> str:
    """A few words for a failed connection, found in the chain requests and urllib3 wrap it in."""
    if isinstance(error, requests.ConnectTimeout):
        return "connection timed out"
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, http.client.RemoteDisconnected):  # a subclass of ConnectionResetError: test it first
            return "connection closed without an answer"
        for kind, words in (
            (ConnectionRefusedError, "connection refused"),
            (ConnectionResetError, "connection reset"),
            (socket.gaierror, "host name not resolved"),
            (TimeoutError, "read timed out"),
            (urllib3.exceptions.ReadTimeoutError, "read timed out"),
            (http.client.IncompleteRead, "connection closed mid-answer"),
        ):
            if isinstance(current, kind):
                return words
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args)
        stack.extend(item for item in linked if isinstance(item, BaseException))
    return type(error).__name__


def _read_body(response: requests.Response, deadline: Deadline) -> tuple[bytes, str]:
    """Up to MAX_BODY bytes of the body, and why it was cut short ("" when whole)."""
    data = bytearray()
    try:
        while len(data) < MAX_BODY:
            if deadline.left() <= 0:
                return bytes(data), "body cut at the deadline"
            # read1 returns after one socket read, so a body trickled byte by byte cannot hold the loop past the deadline.
            chunk = response.raw.read1(MAX_BODY - len(data), decode_content=False)
            if not chunk:
                return bytes(data), ""
            data += chunk
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as error:
        return bytes(data), f"body cut: {_why(error)}"
    return bytes(data), f"body cut at {MAX_BODY} bytes"


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def send(session: requests.Session, url: str, probe: Probe, *, host: str | None, timeout: float, deadline: Deadline) -> Result:
    """Send one probe and judge the answer; a failed connection is the row's NO ANSWER, never an exception."""
    # Kong picks the error format from Accept (kong/tools/http.lua:453-487); identity keeps bodies readable as they arrive.
    headers = {"Accept": "application/json", "Accept-Encoding": "identity", **probe.headers}
    if host:
        headers["Host"] = host
    wait = max(min(timeout, deadline.left()), 0.01)
    session.cookies.clear()  # a cookie one answer set must not travel with the next probe
    try:
        response = session.request(
            probe.method,
            url,
            headers=headers,
            params=dict(probe.params),
            cookies=dict(probe.cookies),
            timeout=(wait, wait),
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as error:
        return Result(probe, NO_ANSWER, note=f"no answer: {_why(error)}")
    with response:
        raw, cut = _read_body(response, deadline)
    text = raw.decode("utf-8", "replace")
    body = _parsed(text)
    proxied = _UPSTREAM_LATENCY in response.headers
    notes = [cut, "refused by the upstream, after Kong let it through" if proxied and response.status_code in _REFUSAL else ""]
    shown = " ".join(text.split())
    return Result(
        probe,
        judge(probe, response.status_code, body, proxied=proxied),
        status=response.status_code,
        body=shown[:60] + ("..." if len(shown) > 60 else ""),
        note="; ".join(note for note in notes if note),
        no_route=_is_no_route(response.status_code, body, proxied),
    )


def run(
    proxy_url: str,
    path: str,
    probes: Sequence[Probe],
    *,
    host: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
) -> list[Result]:
    """Send each probe once, all within `deadline` seconds; one row per probe, whatever happens."""
    url = proxy_url.rstrip("/") + "/" + path.lstrip("/")
    until = Deadline.after(deadline)
    done: list[Result] = []
    in_flight: list[int] = []
    lock = threading.Lock()
    gave_up = threading.Event()
    crashed: list[Exception] = []

    def send_all() -> None:
        try:
            send_each()
        except Exception as error:  # a bug: raise it in the caller now, rather than wait for the deadline
            crashed.append(error)

    def send_each() -> None:
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment would test the wrong gateway
            for index, probe in enumerate(probes):
                with lock:
                    if gave_up.is_set() or until.left() <= 0:
                        return
                    in_flight[:] = [index]
                result = send(session, url, probe, host=host, timeout=timeout, deadline=until)
                with lock:
                    if gave_up.is_set():
                        return
                    done.append(result)
                    in_flight.clear()

    # Socket timeouts bound each read, not the run: a gateway trickling one header byte at a time answers every read
    # in time and never finishes. So the requests go out on a worker thread, and the run stops waiting at the deadline;
    # the worker, blocked on that socket, is abandoned (a daemon thread: it never holds the process open).
    worker = threading.Thread(target=send_all, name="verify-gateway-probes", daemon=True)
    worker.start()
    worker.join(max(until.left(), 0) + _GRACE)
    if crashed:
        raise crashed[0]
    with lock:
        gave_up.set()
        results = list(done)
        stuck = list(in_flight)
    for index in range(len(results), len(probes)):
        if index in stuck:
            results.append(Result(probes[index], NO_ANSWER, note=f"no answer before the deadline ({deadline:g} s)"))
        else:
            results.append(Result(probes[index], NOT_SENT, note=f"not sent: the deadline ({deadline:g} s) passed"))
    return results


def report(results: Sequence[Result], out: TextIO) -> None:
    rows = [("request", "expected", "got", "verdict")] + [(r.probe.name, r.probe.expected, r.got, r.verdict) for r in results]
    widths = [min(max(len(row[i]) for row in rows), 70) for i in range(3)]
    for row in rows:
        print("  ".join(cell[:70].ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3], file=out)


def _listed(results: Sequence[Result]) -> list[str]:
    lines = []
    for r in results:
        cause = f": {r.probe.cause}" if r.probe.cause else ""
        lines.append(f"  - {r.probe.name}: got {r.got}{cause}")
    return lines


def summarize(results: Sequence[Result], not_checked: Sequence[str], *, target: str) -> tuple[int, list[str]]:
    """The exit code and the summary lines: one headline per kind of wrong answer, then what was not checked."""
    answered = [r for r in results if r.status is not None]
    if not answered:
        reasons = sorted({r.note for r in results if r.verdict == NO_ANSWER}) or ["nothing was sent"]
        return EXIT_NOT_CHECKED, [f"UNREACHABLE: no request to {target} got an answer ({'; '.join(reasons)}); nothing was checked."]
    if all(r.no_route for r in answered):
        return EXIT_NOT_CHECKED, [
            f"NO ROUTE: Kong matched no route for {target}, so nothing was tested; "
            "give a path of the route as --path (routePaths), and --host when the route matches on hosts (routeHosts)."
        ]

    lines: list[str] = []

    def headline(verdict: str, text: str) -> None:
        rows = [r for r in results if r.verdict == verdict]
        if rows:
            lines.append(text.format(n=len(rows), s="" if len(rows) == 1 else "s"))
            lines.extend(_listed(rows))

    headline(UNPROTECTED, "UNPROTECTED: {n} request{s} that must be refused got through:")
    headline(REFUSED, "REFUSES VALID TOKENS: {n} request{s} with a valid token got refused:")
    headline(NO_ROUTE, "NO ROUTE: {n} request{s} matched no route in Kong, so they tested nothing:")
    headline(FAIL, "FAIL: {n} request{s} got an unexpected answer:")
    headline(NO_ANSWER, "NO ANSWER: {n} request{s} got no answer:")
    unsent = [r for r in results if r.verdict == NOT_SENT]
    if unsent:
        lines.append(f"INCOMPLETE: {len(unsent)} of {len(results)} requests were not sent before the deadline (listed under Not checked).")

    refusals = sum(r.probe.must_refuse for r in results)
    accepted = sum(not r.probe.must_refuse for r in results)
    if lines:
        code = EXIT_WRONG
    elif accepted:
        code = EXIT_OK
        lines.append(f"Protected: all {len(results)} requests got the expected answer ({refusals} refused, {accepted} let through).")
    else:
        code = EXIT_OK
        lines.append(
            f"Refusals verified, acceptance NOT checked: all {refusals} requests that must be refused were refused, "
            "but no valid token was tried, so a gateway that refuses everything passes this too."
        )
    unchecked = [*not_checked, *(f"{r.probe.name} ({r.note})" for r in unsent)]
    lines.append("Not checked:" if unchecked else "Not checked: nothing this tool can check was left out (see docs/verifier.md).")
    lines.extend(f"  - {item}" for item in unchecked)
    return code, lines


# ---- the command line ----


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive, finite number of seconds")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description=(__doc__ or "").splitlines()[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--proxy-url", required=True, metavar="URL", help="Kong's proxy, e.g. http://localhost:8000")
    parser.add_argument("--path", required=True, help="a path the protected route matches, e.g. /test")
    parser.add_argument("--host", metavar="HOST", help="Host header, for routes that match on hosts")
    parser.add_argument("--token", metavar="TOKEN", help="a real, unexpired token from the workspace: it must be let through")
    parser.add_argument(
        "--private-key", type=Path, metavar="FILE", help="PEM private key whose public half the stack trusts (local stacks)"
    )
    parser.add_argument("--issuer", metavar="ISS", help="the trusted issuer; with --private-key, replays the token scenario table")
    parser.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", default=DEFAULT_TIMEOUT, help=f"seconds per request (default {DEFAULT_TIMEOUT:g})"
    )
    parser.add_argument(
        "--deadline",
        type=_seconds,
        metavar="SECONDS",
        default=DEFAULT_DEADLINE,
        help=f"seconds for the whole run (default {DEFAULT_DEADLINE:g})",
    )
    return parser


def _checked_url(url: str) -> str:
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UsageError(f"--proxy-url {url!r} contains whitespace or a control character")
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise UsageError(f"--proxy-url {url!r} has a bad port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--proxy-url {url!r} is not an http:// or https:// URL with a host, e.g. http://localhost:8000")
    if parts.query or parts.fragment:
        raise UsageError(f"--proxy-url {url!r} has a query or fragment: give the proxy's base URL, and the route's path as --path")
    return url


def _checked_text(flag: str, value: str | None, *, ascii_only: bool = False) -> None:
    if value is None:
        return
    if not value:
        raise UsageError(f"{flag} is empty")  # e.g. --token "$(cat missing-file)": checking nothing must not pass
    bad = next((ch for ch in value if ord(ch) < 0x20 or ord(ch) == 0x7F), None)
    if bad is not None:
        raise UsageError(f"{flag} contains the control character {bad!r} (CR, LF and the like cannot go into a request)")
    if ascii_only and not value.isascii():
        raise UsageError(f"{flag} {value!r} is not ASCII (a header value; give a host name in its xn-- form)")


def _checked_token(token: str, now: int) -> None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise UsageError(f"--token is not a JWT ({error})") from None
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp <= now:
        raise UsageError(f"--token expired {now - int(exp)} s ago: get a fresh one (Kong refuses it, so it cannot show acceptance)")


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key in a PEM file, or a UsageError saying why not."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"--private-key {path}: cannot read it ({error.strerror or error})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(f"--private-key {path} is encrypted: give an unencrypted PEM key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"--private-key {path} is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UsageError(f"--private-key {path} is not an RSA private key")
    return key


def not_checked(*, token: str | None, key_given: bool, issuer_known: bool, skipped_rows: int) -> list[str]:
    """What the run leaves unchecked, each with the flag that would check it."""
    items = []
    if not token and not key_given:
        items.append("acceptance of a valid token (give --token, or --private-key with --issuer)")
    if not issuer_known:
        items.append("a token for the trusted issuer with a forged signature (give --issuer, or a --token that carries iss)")
    if not key_given:
        items.append("the scenario table (expired, wrong algorithm, wrong issuer, alg none, ...): give --private-key and --issuer")
    elif skipped_rows:
        items.append(f"{skipped_rows} scenario rows that need plugin settings or a custom domain the default route does not have")
    return items


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    clock: Callable[[], float] = time.time,
    err: TextIO = sys.stderr,
) -> int:
    now = int(clock())
    try:
        args = _parser().parse_args(argv)
        _checked_url(args.proxy_url)
        _checked_text("--host", args.host, ascii_only=True)
        _checked_text("--path", args.path)
        _checked_text("--token", args.token, ascii_only=True)
        _checked_text("--issuer", args.issuer)
        if args.private_key and not args.issuer:
            raise UsageError("--private-key needs --issuer (the iss the stack trusts)")
        if args.token:
            _checked_token(args.token, now)
        key = load_private_key(args.private_key) if args.private_key else None
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=err)
        return EXIT_NOT_CHECKED

    probes = fixed_probes(issuer=args.issuer, token=args.token, now=now)
    skipped = 0
    if key is not None:
        from tools import token_scenarios

        table = scenario_probes(key, args.issuer, now)
        skipped = len(token_scenarios.load_scenarios()) - len(table)
        probes += table
    issuer_known = bool(args.issuer or (args.token and unverified_issuer(args.token)))
    target = args.proxy_url.rstrip("/") + "/" + args.path.lstrip("/") + (f" (Host: {args.host})" if args.host else "")

    print(f"Checking {target}: {len(probes)} requests, deadline {args.deadline:g} s.", file=out)
    results = run(args.proxy_url, args.path, probes, host=args.host, timeout=args.timeout, deadline=args.deadline)
    code, summary = summarize(
        results, not_checked(token=args.token, key_given=key is not None, issuer_known=issuer_known, skipped_rows=skipped), target=target
    )
    if code != EXIT_NOT_CHECKED:
        print(file=out)
        report(results, out)
        print(file=out)
    print("\n".join(summary), file=out)
    return code


if __name__ == "__main__":
    sys.exit(main())
