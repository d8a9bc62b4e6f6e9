"""Fetch a Frontegg workspace's published keys (its JWKS) within one deadline, and refuse a document that is not a safe public JWKS.

Worst case: one fetch, its connects, reads, retries and backoff sleeps included, ends by `FetchPolicy.deadline`
(25 s by default, `FetchPolicy.worst_case_seconds`). Two things no socket timeout reaches can add to it: the system
resolver's own name lookup, and, for a host with several addresses, the connect to each (each at most the time left).
"""

import contextlib
import contextvars
import functools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, ProxyManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NameResolutionError, ReadTimeoutError
from urllib3.response import HTTPResponse

JWKS_PATH = "/.well-known/jwks.json"
# JWK members that only a private or symmetric key has (RFC 7518 §6.3.2, §6.2.2, §6.4.1); a JWKS must never carry them.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_NAMES = ("kty", "kid", "alg", "use")  # short identifiers that callers show in messages
_MAX_NAME = 256
_CHUNK = 65_536
_HINT = "check the workspace URL and that it is the right environment (dev and prod keys differ)"


@dataclass(frozen=True)
class FetchPolicy:
    """How patiently the JWKS is fetched; `deadline` bounds the whole fetch, whatever the other numbers add up to."""

    connect_timeout: float = 3.05
    read_timeout: float = 6.0
    retries: int = 2
    backoff: float = 0.5  # seconds before the first retry, doubling for each further one
    max_bytes: int = 1_000_000
    deadline: float = 25.0

    def __post_init__(self) -> None:
        if min(self.connect_timeout, self.read_timeout, self.max_bytes, self.deadline) <= 0 or min(self.retries, self.backoff) < 0:
            raise ValueError(f"timeouts, max_bytes and deadline must be positive, retries and backoff not negative: {self}")

    @property
    def worst_case_seconds(self) -> float:
        """The longest one fetch takes (see the module docstring for what no timeout reaches)."""
        return self.deadline


DEFAULT_POLICY = FetchPolicy()


@dataclass(frozen=True)
class Jwk:
    """One published key, its members as published (`n` and `e` still base64url); private members are never kept."""

    kty: str
    kid: str | None = None
    alg: str | None = None
    use: str | None = None
    n: str | None = None
    e: str | None = None


class JwksError(Exception):
    """The JWKS could not be fetched, or is not a safe public JWKS; the message says why and what to check."""


class _AttemptError(Exception):
    """One attempt failed: how to finish the sentence "<url> ...", and whether another attempt could fix it."""

    def __init__(self, reason: str, *, retry: bool, advice: str = _HINT) -> None:
        super().__init__(reason)
        self.reason, self.retry, self.advice = reason, retry, advice


class _Watchdog:
    """Shuts down every socket of one fetch when its deadline passes, waking a TLS handshake or header read blocked in it."""

    # Per-operation timeouts cannot bound a server that trickles its headers or handshake a byte at a time, and a
    # blocked read can only be woken from another thread. It shuts down a dup of each socket: the dup is ours, so
    # its descriptor cannot have been closed and reused by then, and shutdown reaches the connection all fds share.

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._done = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            for sock in self._sockets:
                sock.close()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self._done:
                return
            self._sockets.append(sock.dup())
            if self.fired:
                _shut(self._sockets[-1])

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut down by the peer
        sock.shutdown(socket.SHUT_RDWR)


_WATCHDOG: contextvars.ContextVar[_Watchdog | None] = contextvars.ContextVar("jwks_watchdog", default=None)


def _watched(sock: socket.socket) -> socket.socket:
    watchdog = _WATCHDOG.get()
    if watchdog is not None:
        watchdog.watch(sock)
    return sock


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _watched(super()._new_conn())


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _watched(super()._new_conn())


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with no retries of its own, whose connections (direct or through an HTTP proxy) the watchdog sees."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # a SOCKS manager has pool classes of its own
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


@functools.cache
def fetch_jwks(
    workspace_url: str,
    policy: FetchPolicy = DEFAULT_POLICY,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Jwk, ...]:
    """The workspace's published public keys, fetched once per program run; `clock` and `sleep` are for tests."""
    url = workspace_url.rstrip("/") + JWKS_PATH
    deadline = clock() + policy.deadline
    attempts = 0
    last: _AttemptError | None = None
    with requests.Session() as session, _Watchdog(policy.deadline) as watchdog:
        session.mount("http://", _WatchedAdapter(max_retries=0))
        session.mount("https://", _WatchedAdapter(max_retries=0))
        token = _WATCHDOG.set(watchdog)
        try:
            while True:
                if attempts:
                    pause = min(policy.backoff * 2 ** (attempts - 1), deadline - clock())
                    if pause > 0:
                        sleep(pause)
                left = deadline - clock()
                if left <= 0:
                    raise JwksError(_out_of_time(url, policy, attempts, last))
                attempts += 1
                try:
                    body = _attempt(session, url, policy, left, deadline, clock)
                except _AttemptError as failure:
                    if watchdog.fired or clock() >= deadline:
                        raise JwksError(_out_of_time(url, policy, attempts, last, cut=True)) from None
                    if not failure.retry or attempts > policy.retries:
                        raise JwksError(f"{url} {failure.reason} after {_attempts(attempts)}; {failure.advice}") from None
                    last = failure
                    continue
                # A socket shut down by the watchdog can look like a short answer that ended normally.
                if watchdog.fired:
                    raise JwksError(_out_of_time(url, policy, attempts, last, cut=True))
                break
        finally:
            _WATCHDOG.reset(token)
    return _validated(body, url)


def _out_of_time(url: str, policy: FetchPolicy, attempts: int, last: _AttemptError | None, *, cut: bool = False) -> str:
    if cut:
        made = f"{_attempts(attempts)}, the last cut off" + (f"; the one before {last.reason}" if last else "")
    else:
        made = f"{_attempts(attempts)}; the last one {last.reason}" if last else _attempts(attempts)
    return f"{url} did not deliver its keys within the {policy.deadline:g} s limit for the whole fetch ({made}); {_HINT}"


def _attempt(session: requests.Session, url: str, policy: FetchPolicy, left: float, deadline: float, clock: Callable[[], float]) -> bytes:
    connect, read = min(policy.connect_timeout, left), min(policy.read_timeout, left)
    try:
        # No redirects: the keys must come from the workspace itself, never from wherever a redirect points.
        # Identity encoding: the byte cap then applies to what is parsed, and no decompression bomb can be sent.
        with session.get(
            url,
            timeout=(connect, read),
            allow_redirects=False,
            stream=True,
            headers={"Accept": "application/json", "Accept-Encoding": "identity"},
        ) as response:
            _check_status(response.status_code)
            return _read_body(response, policy, deadline, clock)
    except requests.exceptions.ConnectTimeout:
        raise _AttemptError(f"could not be reached: connecting timed out after {connect:g} s", retry=True) from None
    except requests.exceptions.ReadTimeout:
        raise _AttemptError(f"did not answer within {read:g} s", retry=False, advice=f"a slow answer is not retried; {_HINT}") from None
    except requests.exceptions.SSLError:
        advice = "check the workspace URL, and the CA certificates this machine trusts"
        raise _AttemptError("could not be reached: the TLS handshake failed", retry=False, advice=advice) from None
    except requests.exceptions.ConnectionError as error:
        cause = getattr(error.args[0], "reason", None) if error.args else None
        reason = "the host name does not resolve" if isinstance(cause, NameResolutionError) else "the connection failed"
        raise _AttemptError(f"could not be reached: {reason}", retry=True) from None
    except requests.exceptions.RequestException as error:
        raise _AttemptError(f"could not be fetched ({type(error).__name__})", retry=False) from None


def _check_status(status: int) -> None:
    if status == 200:
        return
    if 300 <= status < 400:
        advice = f"redirects are not followed, because the keys must come from the workspace itself; {_HINT}"
        raise _AttemptError(f"answered {status} (a redirect)", retry=False, advice=advice)
    if status >= 500:
        raise _AttemptError(f"answered {status}", retry=True, advice="try again later")
    raise _AttemptError("answered 404 Not Found" if status == 404 else f"answered {status} instead of 200", retry=False)


def _read_body(response: requests.Response, policy: FetchPolicy, deadline: float, clock: Callable[[], float]) -> bytes:
    too_big = _AttemptError(f"sent more than {policy.max_bytes} bytes", retry=False, advice=f"no JWKS is that large; {_HINT}")
    if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        raise _AttemptError("sent a compressed answer though none was asked for", retry=False)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_big
    raw: HTTPResponse = response.raw
    body = bytearray()
    try:
        # read1 returns what one socket read brings, so a server trickling a byte at a time meets the clock check.
        while chunk := raw.read1(min(_CHUNK, policy.max_bytes + 1 - len(body)), decode_content=False):
            body += chunk
            if len(body) > policy.max_bytes:
                raise too_big
            if clock() >= deadline:
                raise _AttemptError("was still sending its answer", retry=False)
    except ReadTimeoutError:
        raise _AttemptError("stalled mid-answer", retry=False, advice=f"a slow answer is not retried; {_HINT}") from None
    except Urllib3Error:
        raise _AttemptError("broke off its answer", retry=True) from None
    return bytes(body)


def _validated(body: bytes, url: str) -> tuple[Jwk, ...]:
    """The keys of a public JWKS; no message quotes the body, which may hold private key material."""
    try:
        # The C decoder raises RecursionError on deep nesting (`[` * 100000): an answer that is no JWKS.
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise JwksError(f"{url} answered with bytes that are not UTF-8 text, which is no JWKS; {_HINT}") from None
    except (ValueError, RecursionError):
        raise JwksError(f"{url} did not return JSON; {_HINT}") from None
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksError(f"{url} returned JSON without a 'keys' list; {_HINT}")
    for number, member in enumerate(keys, 1):
        if not isinstance(member, dict):
            raise JwksError(f"{url} returned a 'keys' list whose item {number} is not a JSON object; {_HINT}")
    for number, member in enumerate(keys, 1):
        if private := sorted(PRIVATE_MEMBERS & member.keys()):
            raise JwksError(
                f"{url} publishes private key material (member {', '.join(private)} of key {number}): anyone who fetched it "
                "can sign tokens. The workspace must rotate its signing keys and publish only public keys; until then, "
                "trust no token signed with them"
            )
    return _unique(tuple(_jwk(member, number, url) for number, member in enumerate(keys, 1)), url)


def _jwk(member: dict[str, Any], number: int, url: str) -> Jwk:
    for name in (*_NAMES, "n", "e"):
        if name in member and not isinstance(member[name], str):
            raise JwksError(f"{url} returned key {number} whose '{name}' is not a string; {_HINT}")
    for name in _NAMES:
        value = member.get(name)
        if value is not None and (len(value) > _MAX_NAME or not value.isprintable()):
            raise JwksError(f"{url} returned key {number} whose '{name}' is not a short printable string; {_HINT}")
    if "kty" not in member:
        raise JwksError(f"{url} returned key {number} without a 'kty'; {_HINT}")
    return Jwk(**{name: member[name] for name in (*_NAMES, "n", "e") if name in member})


def _unique(keys: tuple[Jwk, ...], url: str) -> tuple[Jwk, ...]:
    first: dict[str, int] = {}
    for number, key in enumerate(keys, 1):
        if key.kid is None:
            continue
        if key.kid in first:
            raise JwksError(
                f"{url} publishes keys {first[key.kid]} and {number} under the same kid, so which one signs tokens is ambiguous; {_HINT}"
            )
        first[key.kid] = number
    return keys
