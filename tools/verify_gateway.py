"""Check that a Kong route refuses requests without a trusted JWT, and lets a valid one through, by sending some.

    python -m tools.verify_gateway --proxy-url http://localhost:8000 --path /test \\
        [--host HOST] [--token TOKEN] [--private-key FILE --issuer ISS] [--deadline SECONDS]

What it sends, what each verdict means and what it cannot check: docs/verifier.md.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import math
import re
import socket
import stat
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
"""A request with a valid token was refused by Kong's jwt plugin."""
UNPROVEN = "UNPROVEN"
"""A 401/403 that Kong's jwt plugin did not give: whether Kong refused the request or let it through is not shown."""
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
  {EXIT_OK}  every request got the answer a protected route gives, refusals from Kong's jwt plugin itself
  {EXIT_WRONG}  some did not: UNPROTECTED (a request that must be refused got through), REFUSES VALID TOKENS,
     UNPROVEN (a refusal the jwt plugin did not give), NO ROUTE, FAIL (another answer), NO ANSWER or NOT SENT
     (the deadline passed) for some of the requests
  {EXIT_NOT_CHECKED}  nothing could be checked: a usage error, a bad key file, the gateway unreachable or answering
     nothing before the deadline, Kong's "no Route matched" for every request (wrong --path or --host), or
     NO JWT PLUGIN SEEN: no answer came from Kong's jwt plugin and nothing got through"""

DEFAULT_TIMEOUT = 5.0
DEFAULT_DEADLINE = 60.0
MAX_SECONDS = 86400.0
"""A day: a longer --timeout or --deadline is a typo, and past ~9e9 s threading's waits overflow."""
MAX_BODY = 64 * 1024
"""Bytes of a body read at most: Kong's answers are short, and a gateway streaming forever must not fill memory."""
MAX_KEY_FILE = 1024 * 1024
"""Bytes of a --private-key file read at most: a PEM RSA key is a few KiB; /dev/zero would never end."""
_GRACE = 0.5
"""Seconds past the deadline the run waits for the request in flight to be judged on what it has read."""
_REFUSAL = (401, 403)
_NO_ROUTE_MESSAGE = "no Route matched with those values"  # kong/runloop/handler.lua:1197
# Kong sets these only on a response it proxied: after the access phase, jwt plugin included, let the request through
# (ctx.KONG_PROXIED, kong/init.lua:1240; kong/runloop/handler.lua:1482-1485, 1510-1517, 1542-1571). A 401 carrying one came
# from the upstream. Each depends on Kong's `headers` setting (latency_tokens, server_tokens): absent proves nothing.
_PROXIED_HEADERS = ("x-kong-upstream-latency", "x-kong-proxy-latency", "x-kong-upstream-status")
_KONG_VIA = re.compile(r"(?:^|[\s,])(?:[\w.]+/)?[\d.]+ kong/", re.IGNORECASE)
"""Kong's Via element on a proxied response, `1.1 kong/3.9.3` (handler.lua:1567-1570)."""
_KONG_SERVER = re.compile(r"(?:^|[\s,])kong/", re.IGNORECASE)
"""Server: kong/3.9.3 (handler.lua:1573-1594, kong/meta.lua `_SERVER_TOKENS`)."""
# The jwt plugin refuses with 401, `WWW-Authenticate: Bearer` (realm="..." when set) when it found no token, and the same
# plus ` error="invalid_token"` for every other refusal (kong/plugins/jwt/handler.lua:149-151, 160-170, 301).
_JWT_CHALLENGE = re.compile(r'Bearer(?: realm=".*?")?(?P<invalid> error="invalid_token")?')
# Its messages (handler.lua:165-227); claim checks answer with their errors instead ({"exp": "token expired"}, 231-241).
_JWT_MESSAGE = re.compile(
    r"Unauthorized|Multiple tokens provided|Unrecognizable token|Bad token; .+|No mandatory '.+' in claims|Invalid '.+' in claims"
    r"|No credentials found for given '.+'|Invalid algorithm|Invalid key/secret|Invalid signature",
    re.DOTALL,
)
_CLAIM_ERRORS = frozenset({"exp", "nbf"})  # kong/plugins/jwt/jwt_parser.lua registered_claims
NO_TOKEN_FOUND = "no token found"
"""The jwt plugin's answer when it found no token where it reads them (handler.lua:164-165)."""
TOKEN_REFUSED = "token refused"
"""The jwt plugin's answer to a token it read and refused (handler.lua:166-241)."""
_FORGED_ISSUER = "https://verify-gateway.invalid"
"""The `iss` of the junk token when no issuer is known: no Kong credential matches it."""
_COOKIE_NAMES = ("jwt", "fe_access_token")
"""Cookies the junk token travels in: the query parameter's name, and the one the scenario table uses."""
_JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?")
"""A JWT (its header is a JSON object, so its base64url starts with eyJ): never printed, whoever echoes it."""


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
    reads_token: bool = False
    """The refusal must show Kong read the token it carries: any jwt refusal but the no-token one."""
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
        if self.reads_token:
            text += " token read"
        if self.expect_body:
            text += " " + ", ".join(f"{key}={value!r}" for key, value in self.expect_body.items())
        return text

    @property
    def secrets(self) -> list[str]:
        """The token values this request carries: an answer that echoes them must not print them."""
        values = [*self.params.values(), *self.cookies.values(), *(v.partition(" ")[2] or v for v in self.headers.values())]
        return [value for value in values if len(value) >= 8]


@dataclass(frozen=True)
class Answer:
    """What came back for one request, reduced to what its verdict rests on."""

    status: int
    body: Any = ""
    """The parsed JSON, else the text."""
    whole: bool = True
    """The body was read to its end."""
    challenge: str | None = None
    """The WWW-Authenticate header, if any."""
    proxied: bool = False
    """Kong's marks of a proxied response: the upstream gave this answer, after Kong let the request through."""
    kong: bool = False
    """Kong's own response headers (Server, Via, X-Kong-*): a Kong answered, or proxied."""

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str], text: str, *, whole: bool = True) -> Answer:
        lowered = {name.lower(): value for name, value in headers.items()}
        via = lowered.get("via", "")
        proxied = any(name in lowered for name in _PROXIED_HEADERS) or bool(_KONG_VIA.search(via))
        kong = proxied or any(name.startswith("x-kong-") for name in lowered) or bool(_KONG_SERVER.search(lowered.get("server", "")))
        return cls(status, _parsed(text), whole, lowered.get("www-authenticate"), proxied, kong)

    @property
    def jwt(self) -> str | None:
        """NO_TOKEN_FOUND or TOKEN_REFUSED when this is Kong's jwt plugin refusing the request itself, else None.

        Its challenge and its message must agree: "Unauthorized" comes only with the bare `Bearer` challenge. A body cut
        short is judged on the challenge alone.
        """
        if self.status != 401 or self.challenge is None or self.proxied:
            return None
        match = _JWT_CHALLENGE.fullmatch(self.challenge.strip())
        if match is None:
            return None
        challenged = TOKEN_REFUSED if match["invalid"] else NO_TOKEN_FOUND
        if not self.whole:
            return challenged
        body = self.body
        if isinstance(body, dict) and set(body) == {"message"} and isinstance(body["message"], str):
            if not _JWT_MESSAGE.fullmatch(body["message"]):
                return None
            said = NO_TOKEN_FOUND if body["message"] == "Unauthorized" else TOKEN_REFUSED
        elif isinstance(body, dict) and body and set(body) <= _CLAIM_ERRORS:
            said = TOKEN_REFUSED
        else:
            return None
        return challenged if said == challenged else None

    @property
    def no_route(self) -> bool:
        message = self.body.get("message") if isinstance(self.body, dict) else self.body
        return self.status == 404 and not self.proxied and isinstance(message, str) and _NO_ROUTE_MESSAGE in message


@dataclass(frozen=True)
class Result:
    """One row of the report: the probe, what came back and the verdict."""

    probe: Probe
    verdict: str
    answer: Answer | None = None
    """None when no answer came."""
    body: str = ""
    """The body as shown: printable, tokens hidden, cut to 60 characters."""
    note: str = ""
    """Why there is no (whole) answer, or where a refusal came from."""
    why: str = ""
    """What the wrong answer most likely means."""

    @property
    def status(self) -> int | None:
        return self.answer.status if self.answer else None

    @property
    def no_route(self) -> bool:
        return self.answer is not None and self.answer.no_route

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


def printable(text: str, limit: int | None = None) -> str:
    """Text safe to print: control and other unprintable characters escaped (no terminal escapes from a gateway)."""
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return shown[:limit] + "..." if limit is not None and len(shown) > limit else shown


def quoted(text: str, limit: int = 60) -> str:
    """A value the operator gave, quoted for a message: printable and cut short."""
    return f"'{printable(text, limit)}'"


def hidden(text: str, secrets: Sequence[str] = ()) -> str:
    """Text with every JWT and each of `secrets` (6 characters or more: shorter ones would blank out ordinary words)
    replaced: a token must never be printed, whoever echoes it."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 6:
            text = text.replace(secret, "<token>")
    return _JWT_SHAPED.sub("<token>", text)


def without_userinfo(url: str) -> str:
    """The URL with anything before an `@` in its authority replaced, parseable or not."""
    return re.sub(r"//[^\s'\"]*@", "//***@", url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rs256(claims: Mapping[str, Any], key: rsa.RSAPrivateKey) -> str:
    return jwt.encode(dict(claims), key, algorithm="RS256")


def throwaway_key() -> rsa.RSAPrivateKey:
    """A key nobody trusts: tokens it signs must be refused."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _claims(token: str) -> dict[str, Any]:
    """The claims, unverified; jwt.PyJWTError (or the JSON parser's own errors) when it is not a JWT."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def unverified_issuer(token: str) -> str | None:
    """The `iss` a token claims, read without verifying it (used only to aim the forged token at the same credential)."""
    try:
        issuer = _claims(token).get("iss")
    except (jwt.PyJWTError, ValueError, RecursionError):
        return None
    return issuer if isinstance(issuer, str) and issuer else None


def junk_token(issuer: str, now: int) -> str:
    """Token-shaped (three base64url segments, RS256 header) but its signature is zero bytes no key produces."""

    def segment(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode()
    claims = json.dumps({"iss": issuer, "sub": "verify-gateway", "iat": now, "exp": now + 300}, separators=(",", ":")).encode()
    return ".".join((segment(header), segment(claims), segment(bytes(256))))


def fixed_probes(*, issuer: str | None, token: str | None, now: int, forge_key: rsa.RSAPrivateKey | None = None) -> list[Probe]:
    """The requests every protected route must refuse, plus the given token, which it must let through.

    The given token travels only in Authorization: a valid token in a URL lands in access logs. The junk token in ?jwt=
    shows whether Kong reads the query at all, which is what would let a real token in.
    """
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
        Probe(
            "junk token in Authorization",
            headers=bearer(junk),
            reads_token=True,
            cause="the gateway lets through tokens it cannot verify",
        ),
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
                f"token signed by an untrusted key (iss {printable(known_issuer, 60)})",
                headers=bearer(forged),
                reads_token=True,
                cause="the gateway does not check signatures",
            )
        )
    if token:
        probes.append(
            Probe(
                "the given token (--token)",
                headers=bearer(token),
                expect_status=None,
                cause="the stack does not trust this token: compare its iss and signing key with the stack's issuers and key",
            )
        )
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


def judge(probe: Probe, answer: Answer) -> tuple[str, str]:
    """The row's verdict, and what a wrong answer most likely means ("" when the verdict says it all)."""
    if answer.no_route:
        return (OK, "") if probe.no_route_ok and probe.must_refuse else (NO_ROUTE, "")
    if not probe.must_refuse:
        if answer.status in _REFUSAL and not answer.proxied:
            # Only the jwt plugin's own refusal says Kong refused the token; any other 401/403 may be the API's, after Kong
            # let the token through, with Kong's proxy headers turned off.
            return (REFUSED, probe.cause) if answer.jwt else (UNPROVEN, "")
        if answer.status >= 500 and not answer.proxied:
            return FAIL, "Kong failed on the request, which does not say whether it would let the token through"
        return OK, ""
    if answer.proxied or 200 <= answer.status < 300:
        return UNPROTECTED, probe.cause
    if answer.status != probe.expect_status:
        return FAIL, probe.cause
    if probe.expect_status == 401 and answer.jwt is None:
        return UNPROVEN, ""
    if probe.reads_token and answer.jwt == NO_TOKEN_FOUND:
        return FAIL, 'Kong found no token in this request ("Unauthorized"): it does not read tokens where this one was sent'
    if probe.expect_body and not (isinstance(answer.body, dict) and all(answer.body.get(k) == v for k, v in probe.expect_body.items())):
        return FAIL, probe.cause
    return OK, ""


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
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as error:
        return bytes(data), f"body cut: {_why(error)}"
    return bytes(data), f"body cut at {MAX_BODY} bytes"


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: a gateway answering "[[[[..." 64 KiB deep
        return text


# A failure of one request, however the URL, the socket or the answer went wrong, is that row's NO ANSWER, never a crash:
# requests wraps most, but urllib3's host parsing (LocationParseError, a ValueError) and the IDNA codec (UnicodeError)
# can escape it.
_SEND_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError)


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
    except _SEND_ERRORS as error:
        return Result(probe, NO_ANSWER, note=f"no answer: {_why(error)}")
    with response:
        raw, cut = _read_body(response, deadline)
    text = raw.decode("utf-8", "replace")
    answer = Answer.of(response.status_code, response.headers, text, whole=not cut)
    verdict, why = judge(probe, answer)
    notes = [cut]
    if answer.proxied and answer.status in _REFUSAL:
        notes.append("refused by the upstream, after Kong let it through")
    elif verdict == UNPROVEN:
        notes.append(f"WWW-Authenticate: {printable(hidden(answer.challenge), 40)}" if answer.challenge else "no WWW-Authenticate")
    shown = printable(hidden(" ".join(text.split()), probe.secrets))
    return Result(
        probe,
        verdict,
        answer,
        body=shown[:60] + ("..." if len(shown) > 60 else ""),
        note="; ".join(note for note in notes if note),
        why=why,
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
    return [f"  - {r.probe.name}: got {r.got}" + (f": {r.why}" if r.why else "") for r in results]


@dataclass(frozen=True)
class Summary:
    code: int
    lines: list[str]
    table: bool = True
    """Whether the table of requests is worth printing: not when nothing answered, or nothing matched a route."""


def summarize(results: Sequence[Result], not_checked: Sequence[str], *, target: str) -> Summary:
    """The exit code and the summary lines: one headline per kind of wrong answer, then what was not checked."""
    answered = [r for r in results if r.answer is not None]
    if not answered:
        reasons = sorted({r.note for r in results if r.verdict == NO_ANSWER}) or ["nothing was sent"]
        return Summary(
            EXIT_NOT_CHECKED, [f"UNREACHABLE: no request to {target} got an answer ({'; '.join(reasons)}); nothing was checked."], False
        )
    if all(r.no_route for r in answered):
        return Summary(
            EXIT_NOT_CHECKED,
            [
                f"NO ROUTE: Kong matched no route for {target}, so nothing was tested; "
                "give a path of the route as --path (routePaths), and --host when the route matches on hosts (routeHosts)."
            ],
            False,
        )
    # Every verdict below rests on telling Kong's refusal from the API's: with no answer from the jwt plugin, none can be
    # told, and a plain server answering 401 to everything would pass. Only a request that got through still says something.
    if not any(r.answer and r.answer.jwt for r in answered) and not any(r.verdict == UNPROTECTED for r in results):
        kong = any(r.answer and r.answer.kong for r in answered)
        return Summary(
            EXIT_NOT_CHECKED,
            [
                f"NO JWT PLUGIN SEEN: none of the {len(answered)} answers from {target} came from Kong's jwt plugin "
                "(its refusals are 401 with WWW-Authenticate: Bearer and one of its messages, kong/plugins/jwt/handler.lua:149-170), "
                "and none got through; so nothing shows that Kong refused these requests rather than the API behind it, "
                "and nothing was checked.",
                "  Kong's own headers were on the answers: Kong answered, but not its jwt plugin: is the plugin on this route?"
                if kong
                else "  Nothing showed Kong at all: is --proxy-url Kong's proxy, not the API itself?",
                "  Something in front of Kong that rewrites 401 answers or drops WWW-Authenticate hides the plugin too.",
            ],
        )

    lines: list[str] = []

    def headline(verdict: str, text: str) -> None:
        rows = [r for r in results if r.verdict == verdict]
        if rows:
            lines.append(text.format(n=len(rows), s="" if len(rows) == 1 else "s", them="it" if len(rows) == 1 else "them"))
            lines.extend(_listed(rows))

    headline(UNPROTECTED, "UNPROTECTED: {n} request{s} that must be refused got through:")
    headline(REFUSED, "REFUSES VALID TOKENS: {n} request{s} with a valid token got refused:")
    headline(
        UNPROVEN,
        "UNPROVEN: {n} request{s} got a 401/403 that Kong's jwt plugin did not give (no WWW-Authenticate: Bearer with one of "
        "its messages), so it is not shown whether Kong refused {them} or let {them} through to an API that did:",
    )
    headline(NO_ROUTE, "NO ROUTE: {n} request{s} matched no route in Kong, so they tested nothing:")
    headline(FAIL, "FAIL: {n} request{s} got an unexpected answer:")
    headline(NO_ANSWER, "NO ANSWER: {n} request{s} got no answer:")
    unsent = [r for r in results if r.verdict == NOT_SENT]
    if unsent:
        lines.append(f"INCOMPLETE: {len(unsent)} of {len(results)} requests were not sent before the deadline (listed under Not checked).")

    refusals = sum(r.probe.must_refuse for r in results)
    accepted = sum(not r.probe.must_refuse for r in results)
    evidence = f"{sum(bool(r.answer and r.answer.jwt) for r in results)} with the jwt plugin's own challenge and message"
    if lines:
        code = EXIT_WRONG
    elif accepted:
        code = EXIT_OK
        lines.append(
            f"Protected: all {len(results)} requests got the expected answer ({refusals} refused, {evidence}; {accepted} let through)."
        )
    else:
        code = EXIT_OK
        lines.append(
            f"Refusals verified, acceptance NOT checked: all {refusals} requests that must be refused were refused ({evidence}), "
            "but no valid token was tried, so a gateway that refuses everything passes this too."
        )
    unchecked = [*not_checked, *(f"{r.probe.name} ({r.note})" for r in unsent)]
    lines.append("Not checked:" if unchecked else "Not checked: nothing this tool can check was left out (see docs/verifier.md).")
    lines.extend(f"  - {item}" for item in unchecked)
    return Summary(code, lines)


# ---- the command line ----


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _seconds(text: str) -> float:
    shown = quoted(text, 30)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{shown}: give a positive, finite number of seconds")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{shown}: give at most {MAX_SECONDS:g} seconds (a day)")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description=(__doc__ or "").splitlines()[0],
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--proxy-url", required=True, metavar="URL", help="Kong's proxy, e.g. http://localhost:8000 (no user:password@)")
    parser.add_argument("--path", required=True, help="a path the protected route matches, e.g. /test")
    parser.add_argument("--host", metavar="HOST", help="Host header, for routes that match on hosts")
    parser.add_argument(
        "--token", metavar="TOKEN", help="a real, unexpired token from the workspace: it must be let through (sent in Authorization only)"
    )
    parser.add_argument(
        "--private-key", type=Path, metavar="FILE", help="PEM private key whose public half the stack trusts (local stacks)"
    )
    parser.add_argument("--issuer", metavar="ISS", help="the trusted issuer; with --private-key, replays the token scenario table")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        default=DEFAULT_TIMEOUT,
        help=f"seconds per request (default {DEFAULT_TIMEOUT:g}, at most {MAX_SECONDS:g})",
    )
    parser.add_argument(
        "--deadline",
        type=_seconds,
        metavar="SECONDS",
        default=DEFAULT_DEADLINE,
        help=f"seconds for the whole run (default {DEFAULT_DEADLINE:g}, at most {MAX_SECONDS:g})",
    )
    return parser


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    args, extra = _parser().parse_known_args(argv)
    if extra:
        # argparse would quote them all, and a mistyped flag's value may be a token: name the flags only.
        flags = [printable(item.partition("=")[0], 30) for item in extra if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", item, re.DOTALL)]
        values = len(extra) - len(flags)
        unshown = f"{values} value{'s' if values > 1 else ''} (not shown: one may be a token)" if values else ""
        raise UsageError("unrecognized arguments: " + " and ".join(part for part in (" ".join(flags), unshown) if part))
    return args


def _redacted(message: str, argv: Sequence[str]) -> str:
    """A usage error without the --token's value, a URL's credentials or any JWT, whatever the parser quoted."""
    secrets = []
    for index, item in enumerate(argv):
        flag, eq, value = item.partition("=")
        if len(flag) >= 3 and "--token".startswith(flag):  # --token and the abbreviations argparse accepts for it
            secrets.append(value if eq else (argv[index + 1] if index + 1 < len(argv) else ""))
    return without_userinfo(hidden(message, secrets))


def _checked_text(flag: str, value: str | None, *, ascii_only: bool = False, secret: bool = False) -> None:
    if value is None:
        return
    if not value:
        raise UsageError(f"{flag} is empty")  # e.g. --token "$(cat missing-file)": checking nothing must not pass
    bad = next((ch for ch in value if not ch.isprintable()), None)
    if bad is not None:
        raise UsageError(
            f"{flag} contains {bad!r}, which is not printable (control characters, CR and LF, format characters and bytes "
            "that are not UTF-8 cannot go into a request)"
        )
    if ascii_only and not value.isascii():
        shown = "" if secret else f" {quoted(value)}"
        raise UsageError(
            f"{flag}{shown} is not ASCII (it goes into a header" + ("" if secret else "; give a host name in its xn-- form") + ")"
        )


_HOST = re.compile(r"(?P<name>[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+(?:%25[\w.~-]+)?\])(?::(?P<port>\d{1,5}))?")


def _checked_host(host: str | None) -> None:
    _checked_text("--host", host, ascii_only=True)
    if host is None:
        return
    match = _HOST.fullmatch(host)
    if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise UsageError(f"--host {quoted(host)} is not a host name with an optional port, e.g. api.example.com or api.example.com:8443")


def _checked_path(path: str) -> None:
    _checked_text("--path", path)
    if "?" in path or "#" in path:
        raise UsageError(f"--path {quoted(path)} has a query or fragment: give the route's path only, e.g. /orders")


def _checked_url(url: str) -> str:
    shown = quoted(without_userinfo(url), 80)
    if not url:
        raise UsageError("--proxy-url is empty")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise UsageError(f"--proxy-url {shown} contains whitespace or an unprintable character")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
        hostname = parts.hostname
    except ValueError:  # e.g. http://[::1 (unclosed bracket), http://h:99999, http://a＃b (NFKC gives a '#')
        raise UsageError(
            f"--proxy-url {shown} is not a URL: a bad port, or a host that is not a name or a [bracketed] IPv6 address"
        ) from None
    if "@" in parts.netloc:
        # Never printed, never sent: requests would turn them into an Authorization: Basic header, overwriting the probes' own.
        raise UsageError(
            "--proxy-url carries a user name or password (user:password@host): give Kong's proxy URL without them; "
            "the requests carry their own Authorization header"
        )
    if parts.scheme not in ("http", "https") or not hostname:
        raise UsageError(f"--proxy-url {shown} is not an http:// or https:// URL with a host, e.g. http://localhost:8000")
    if not _HOST.fullmatch(parts.netloc) and not re.fullmatch(r"[^\[\]:@]+(:\d{1,5})?", parts.netloc):
        raise UsageError(f"--proxy-url {shown} has a bad host or port")
    if port == 0:
        raise UsageError(f"--proxy-url {shown} has port 0")
    if not hostname.startswith("[") and ":" not in hostname:
        try:
            hostname.encode("idna")
        except UnicodeError:
            raise UsageError(f"--proxy-url {shown}: the host is not a DNS name (a label empty or over 63 characters)") from None
    if parts.query or parts.fragment:
        raise UsageError(f"--proxy-url {shown} has a query or fragment: give the proxy's base URL, and the route's path as --path")
    return url


def _checked_token(token: str, now: int) -> None:
    try:
        claims = _claims(token)
    except (jwt.PyJWTError, ValueError, RecursionError) as error:
        raise UsageError(f"--token is not a JWT ({printable(hidden(str(error), token.split('.')), 100)})") from None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return  # Kong answers a non-numeric exp itself, and the token's row shows it
    if isinstance(exp, float) and not math.isfinite(exp):
        raise UsageError("--token has an exp that is not a finite number (NaN or infinity): give a real token from the workspace")
    if exp <= now:
        ago = f"{int(now - exp)} s ago" if now - exp < 10**9 else "long ago"
        raise UsageError(f"--token expired {ago}: get a fresh one (Kong refuses it, so it cannot show acceptance)")


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key in a PEM file, or a UsageError saying why not."""
    shown = printable(str(path), 200)
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise UsageError(f"--private-key {shown} is not a regular file")
        with path.open("rb") as file:
            data = file.read(MAX_KEY_FILE + 1)
    except OSError as error:
        raise UsageError(f"--private-key {shown}: cannot read it ({error.strerror or error})") from None
    except ValueError:  # an embedded NUL
        raise UsageError(f"--private-key {shown} is not a file name") from None
    if len(data) > MAX_KEY_FILE:
        raise UsageError(f"--private-key {shown} is over {MAX_KEY_FILE} bytes: not a PEM key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(f"--private-key {shown} is encrypted: give an unencrypted PEM key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"--private-key {shown} is not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UsageError(f"--private-key {shown} is not an RSA private key")
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
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return _verify(arguments, out, clock, err)
    except Exception as error:  # the exit-code contract holds even for a bug: 2, one line, no traceback, no secret
        message = _redacted(f"{type(error).__name__}: {error}", arguments)
        print(f"{PROG}: error: internal error, nothing was checked: {printable(message, 200)}", file=err)
        return EXIT_NOT_CHECKED


def _verify(arguments: list[str], out: TextIO, clock: Callable[[], float], err: TextIO) -> int:
    now = int(clock())
    try:
        args = _parse(arguments)
        _checked_url(args.proxy_url)
        _checked_host(args.host)
        _checked_path(args.path)
        _checked_text("--token", args.token, ascii_only=True, secret=True)
        _checked_text("--issuer", args.issuer)
        if args.private_key and not args.issuer:
            raise UsageError("--private-key needs --issuer (the iss the stack trusts)")
        if args.token:
            _checked_token(args.token, now)
        key = load_private_key(args.private_key) if args.private_key else None
    except UsageError as error:
        print(f"{PROG}: error: {_redacted(str(error), arguments)}", file=err)
        return EXIT_NOT_CHECKED

    probes = fixed_probes(issuer=args.issuer, token=args.token, now=now)
    skipped = 0
    if key is not None:
        from tools import token_scenarios

        table = scenario_probes(key, args.issuer, now)
        skipped = len(token_scenarios.load_scenarios()) - len(table)
        probes += table
    issuer_known = bool(args.issuer or (args.token and unverified_issuer(args.token)))
    target = without_userinfo(args.proxy_url.rstrip("/") + "/" + args.path.lstrip("/")) + (f" (Host: {args.host})" if args.host else "")

    print(f"Checking {target}: {len(probes)} requests, deadline {args.deadline:g} s.", file=out)
    results = run(args.proxy_url, args.path, probes, host=args.host, timeout=args.timeout, deadline=args.deadline)
    summary = summarize(
        results, not_checked(token=args.token, key_given=key is not None, issuer_known=issuer_known, skipped_rows=skipped), target=target
    )
    if summary.table:
        print(file=out)
        report(results, out)
        print(file=out)
    print("\n".join(summary.lines), file=out)
    return summary.code


if __name__ == "__main__":
    for stream in (sys.stdout, sys.stderr):  # a C locale's ASCII stdout must not turn a printed host name into a traceback
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    sys.exit(main())
