"""Fetching a workspace's JWKS: each fault a hostile or broken server can show, played by a real loopback server."""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from components.jwks import DEFAULT_POLICY, JWKS_PATH, FetchPolicy, Jwk, JwksError, fetch_jwks

FAST = FetchPolicy(connect_timeout=0.5, read_timeout=0.3, retries=2, backoff=0.0, deadline=5.0)
# Per-read timeouts far longer than a trickler's pauses: only the deadline can stop such a server.
PATIENT = FetchPolicy(connect_timeout=0.5, read_timeout=0.5, retries=2, backoff=0.0, deadline=1.0)
HINT = "check the workspace URL and that it is the right environment (dev and prod keys differ)"
MARKER = "MARKER-must-never-be-shown-9f3a"
KEY = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri", "e": "AQAB"}


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """The JWKS is fetched once per program run; each test is a run of its own."""
    fetch_jwks.cache_clear()
    yield
    fetch_jwks.cache_clear()


def workspace(server: HTTPServer) -> str:
    return server.url_for("/").rstrip("/")


def jwks_requests(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path == JWKS_PATH)


def serve(server: HTTPServer, body: object) -> None:
    server.expect_request(JWKS_PATH).respond_with_data(body if isinstance(body, str | bytes) else json.dumps(body))


def failure(url: str, policy: FetchPolicy = FAST, **hooks: Any) -> str:
    with pytest.raises(JwksError) as error:
        fetch_jwks(url, policy, **hooks)
    return str(error.value)


def bounded_failure(url: str, policy: FetchPolicy, within: float = 8.0, **hooks: Any) -> str:
    """The fetch's error message; the test fails, rather than hangs, when the fetch outlives `within` seconds."""
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            fetch_jwks(url, policy, **hooks)
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(within)
    if worker.is_alive():
        pytest.fail(f"the fetch was still running after {within:g} s: its deadline does not bound it")
    assert len(outcome) == 1 and isinstance(outcome[0], JwksError), outcome
    return str(outcome[0])


class FakeTime:
    """A clock that moves when the fetch sleeps, and by `tick` each time it is read."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 0.0
        self.tick = tick
        self.sleeps: list[float] = []

    def clock(self) -> float:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Handler = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A loopback TCP server that plays one fault per connection and counts connections exactly."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept_until_stopped, daemon=True)
        self._acceptor.start()

    def _accept_until_stopped(self) -> None:
        while not self.stop.is_set():
            if select.select([self.listener], [], [], 0.05)[0]:
                self._take(self.listener.accept()[0])

    def _take(self, conn: socket.socket) -> None:
        self.connections += 1
        self._open.append(conn)
        thread = threading.Thread(target=self._play, args=(conn,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _play(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the client hung up: the fault has played out
            self.handler(conn, self.stop)

    def close(self) -> None:
        if self.stop.is_set():
            return
        self.stop.set()
        self._acceptor.join()
        # A connection the kernel completed but nobody accepted yet still counts as an attempt.
        self.listener.setblocking(False)
        while True:
            try:
                pending = self.listener.accept()[0]
            except BlockingIOError:
                break
            self.connections += 1
            pending.close()
        self.listener.close()
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked reading it, which close() alone does not
            conn.close()
        for thread in self._threads:
            thread.join()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], RawServer]]:
    servers: list[RawServer] = []

    def start(handler: Handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(4096)
        if not chunk:
            return
        received += chunk


def never_answer(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait()


def trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
    while not stop.wait(0.1):
        conn.sendall(b" ")


def trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not stop.wait(0.1):
        conn.sendall(b"a")


def slow_503(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    stop.wait(0.3)
    conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    conn.close()


def busy_then_silent() -> Handler:
    answered = threading.Event()

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        if answered.is_set():
            stop.wait()
            return
        answered.set()
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()

    return handler


def serve_jwks(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    body = json.dumps({"keys": [KEY]}).encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


def endless_body_without_length(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    for _ in range(40):
        conn.sendall(b"[" * 65_536)
    conn.close()


def attempts_in(message: str) -> int:
    found = re.search(r"\((\d+) attempts?", message)
    assert found, message
    return int(found.group(1))


# What a healthy workspace serves.


def test_a_good_jwks_gives_its_keys_with_their_published_members(httpserver: HTTPServer) -> None:
    serve(httpserver, {"keys": [KEY, {"kty": "EC", "kid": "ec1", "crv": "P-256", "x": "AA", "y": "AA"}]})
    keys = fetch_jwks(workspace(httpserver), FAST)
    assert keys == (Jwk(**KEY), Jwk(kty="EC", kid="ec1"))
    assert keys[0].n == KEY["n"] and keys[0].e == "AQAB" and keys[0].alg == "RS256" and keys[0].use == "sig"


def test_the_keys_are_fetched_once_per_workspace_per_run(httpserver: HTTPServer) -> None:
    serve(httpserver, {"keys": [KEY]})
    assert fetch_jwks(workspace(httpserver), FAST) == fetch_jwks(workspace(httpserver), FAST)
    assert jwks_requests(httpserver) == 1


# What a retry can fix, and what it cannot.


def test_a_500_is_retried_and_the_next_answer_is_used(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(JWKS_PATH).respond_with_data("busy", status=500)
    serve(httpserver, {"keys": [KEY]})
    assert fetch_jwks(workspace(httpserver), FAST) == (Jwk(**KEY),)
    assert jwks_requests(httpserver) == 2


@pytest.mark.parametrize("retries", [0, 2])
def test_503_forever_makes_exactly_retries_plus_one_requests_and_says_so(httpserver: HTTPServer, retries: int) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("down", status=503)
    policy = FetchPolicy(connect_timeout=0.5, read_timeout=0.3, retries=retries, backoff=0.0, deadline=5.0)
    message = failure(workspace(httpserver), policy)
    assert f"answered 503 after {retries + 1} attempt" in message and "try again later" in message
    assert jwks_requests(httpserver) == retries + 1


def test_a_refused_connection_is_retried_with_backoff_and_the_message_counts_the_attempts() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connect is refused, and no one else gets the port
    fake = FakeTime()
    policy = FetchPolicy(connect_timeout=0.5, read_timeout=0.3, retries=2, backoff=0.25, deadline=5.0)
    try:
        message = failure(f"http://127.0.0.1:{closed.getsockname()[1]}", policy, clock=fake.clock, sleep=fake.sleep)
    finally:
        closed.close()
    assert "the connection failed after 3 attempts" in message and HINT in message
    assert fake.sleeps == [0.25, 0.5]


def test_404_says_to_check_the_workspace_url_and_environment(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("not found", status=404)
    message = failure(workspace(httpserver))
    assert "answered 404 Not Found after 1 attempt;" in message and HINT in message
    assert jwks_requests(httpserver) == 1


def test_403_is_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("no", status=403)
    assert "answered 403 instead of 200 after 1 attempt" in failure(workspace(httpserver))
    assert jwks_requests(httpserver) == 1


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed(httpserver: HTTPServer, raw_server: Callable[[Handler], RawServer], status: int) -> None:
    elsewhere = raw_server(serve_jwks)
    httpserver.expect_request(JWKS_PATH).respond_with_data("", status=status, headers={"Location": elsewhere.url + JWKS_PATH})
    message = failure(workspace(httpserver))
    assert f"answered {status} (a redirect) after 1 attempt; redirects are not followed" in message
    elsewhere.close()
    assert elsewhere.connections == 0 and jwks_requests(httpserver) == 1


def test_a_server_that_never_answers_times_out_once_without_a_retry(raw_server: Callable[[Handler], RawServer]) -> None:
    silent = raw_server(never_answer)
    message = failure(silent.url)
    assert "did not answer within 0.3 s after 1 attempt; a slow answer is not retried" in message and HINT in message
    silent.close()
    assert silent.connections == 1


# One deadline for the whole fetch.


@pytest.mark.parametrize("fault", [trickle_body, trickle_headers], ids=["body", "headers"])
def test_a_server_trickling_its_answer_is_cut_off_at_the_deadline(raw_server: Callable[[Handler], RawServer], fault: Handler) -> None:
    trickler = raw_server(fault)
    # 8 s is a sanity bound, not a speed test: unbounded, this trickle would last 100 s or more.
    message = bounded_failure(trickler.url, PATIENT, within=8)
    assert "did not deliver its keys within the 1 s limit for the whole fetch (1 attempt, the last cut off)" in message
    trickler.close()
    assert trickler.connections == 1


def test_a_trickled_body_is_held_against_the_clock_chunk_by_chunk(raw_server: Callable[[Handler], RawServer]) -> None:
    trickler = raw_server(trickle_body)
    ticking = FakeTime(tick=10.0)  # every look at the clock is 10 s later: the 60 s deadline passes within a few chunks
    policy = FetchPolicy(connect_timeout=0.5, read_timeout=0.5, retries=0, backoff=0.0, deadline=60.0)
    message = bounded_failure(trickler.url, policy, within=20, clock=ticking.clock, sleep=ticking.sleep)
    assert "did not deliver its keys within the 60 s limit for the whole fetch (1 attempt, the last cut off)" in message


def test_the_deadline_stops_retries_whose_timeouts_would_add_up_to_more(raw_server: Callable[[Handler], RawServer]) -> None:
    slow = raw_server(slow_503)
    policy = FetchPolicy(connect_timeout=0.5, read_timeout=1.0, retries=10, backoff=0.0, deadline=1.0)
    message = bounded_failure(slow.url, policy)
    assert "1 s limit for the whole fetch" in message and "the one before answered 503" in message
    slow.close()
    # Eleven attempts of 0.3 s each would take 3.3 s; the deadline stops them, and the message counts the ones made.
    assert attempts_in(message) == slow.connections < policy.retries + 1


def test_backoff_sleeps_are_cut_to_the_time_left_and_no_attempt_starts_after_the_deadline(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data("down", status=503)
    fake = FakeTime()
    policy = FetchPolicy(connect_timeout=0.5, read_timeout=0.3, retries=5, backoff=4.0, deadline=10.0)
    message = failure(workspace(httpserver), policy, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == [4.0, 6.0]  # the second backoff would be 8 s; only 6 s were left
    assert jwks_requests(httpserver) == 2
    assert "within the 10 s limit for the whole fetch (2 attempts; the last one answered 503)" in message


def test_a_late_attempt_waits_no_longer_than_the_time_left(raw_server: Callable[[Handler], RawServer]) -> None:
    server = raw_server(busy_then_silent())
    fake = FakeTime()
    policy = FetchPolicy(connect_timeout=0.5, read_timeout=5.0, retries=1, backoff=9.5, deadline=10.0)
    message = bounded_failure(server.url, policy, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == [9.5]
    assert "did not answer within 0.5 s after 2 attempts" in message


def test_the_default_policy_states_a_worst_case_under_30_seconds() -> None:
    assert DEFAULT_POLICY.worst_case_seconds == DEFAULT_POLICY.deadline < 30
    # Without the deadline, the per-attempt timeouts and backoff alone could add up to more.
    attempts = DEFAULT_POLICY.retries + 1
    assert attempts * (DEFAULT_POLICY.connect_timeout + DEFAULT_POLICY.read_timeout) + DEFAULT_POLICY.backoff > DEFAULT_POLICY.deadline


@pytest.mark.parametrize("field", [{"deadline": 0.0}, {"read_timeout": -1.0}, {"retries": -1}, {"max_bytes": 0}])
def test_a_policy_that_could_never_fetch_is_refused(field: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        FetchPolicy(**field)


# What the body may be.


def test_a_body_declared_over_the_size_cap_is_refused(httpserver: HTTPServer) -> None:
    serve(httpserver, b" " * (DEFAULT_POLICY.max_bytes + 1))
    assert f"sent more than {DEFAULT_POLICY.max_bytes} bytes after 1 attempt; no JWKS is that large" in failure(workspace(httpserver))


def test_a_body_without_a_length_is_refused_once_past_the_size_cap(raw_server: Callable[[Handler], RawServer]) -> None:
    endless = raw_server(endless_body_without_length)
    policy = FetchPolicy(connect_timeout=0.5, read_timeout=1.0, retries=2, backoff=0.0, max_bytes=100_000, deadline=5.0)
    assert "sent more than 100000 bytes after 1 attempt; no JWKS is that large" in failure(endless.url, policy)


def test_a_compressed_answer_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request(JWKS_PATH).respond_with_data(b"\x1f\x8b", headers={"Content-Encoding": "gzip"})
    assert "sent a compressed answer though none was asked for" in failure(workspace(httpserver))


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 100_000], ids=["arrays", "objects"])
def test_hostile_nesting_is_a_clear_error_not_a_crash(httpserver: HTTPServer, body: str) -> None:
    serve(httpserver, body)
    assert f"did not return JSON; {HINT}" in failure(workspace(httpserver))


def test_a_body_that_is_not_json_is_a_clear_error_that_does_not_quote_it(httpserver: HTTPServer) -> None:
    serve(httpserver, f"<html>login {MARKER}</html>")
    message = failure(workspace(httpserver))
    assert "did not return JSON" in message and MARKER not in message


@pytest.mark.parametrize(
    "body", [b'{"keys": [{"kty": "RSA", "kid": "\xff\xfe"}]}', json.dumps({"keys": [KEY]}).encode("utf-16")], ids=["latin", "utf16"]
)
def test_a_body_that_is_not_utf8_is_a_clear_error(httpserver: HTTPServer, body: bytes) -> None:
    serve(httpserver, body)
    assert "answered with bytes that are not UTF-8 text" in failure(workspace(httpserver))


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"issuer": "x"}, "without a 'keys' list"),
        ([KEY], "without a 'keys' list"),
        ({"keys": {"k1": KEY}}, "without a 'keys' list"),
        ({"keys": "k1"}, "without a 'keys' list"),
        ({"keys": [KEY, "k1"]}, "item 2 is not a JSON object"),
        ({"keys": [[KEY]]}, "item 1 is not a JSON object"),
        ({"keys": [{"kid": "k1", "n": "AA", "e": "AQAB"}]}, "key 1 without a 'kty'"),
        ({"keys": [{**KEY, "kid": 7}]}, "key 1 whose 'kid' is not a string"),
        ({"keys": [{**KEY, "n": ["AA"]}]}, "key 1 whose 'n' is not a string"),
        ({"keys": [{**KEY, "kid": "k1\x1b[2J"}]}, "key 1 whose 'kid' is not a short printable string"),
        ({"keys": [{**KEY, "alg": "R" * 300}]}, "key 1 whose 'alg' is not a short printable string"),
    ],
)
def test_json_that_is_not_a_list_of_public_keys_is_a_clear_error(httpserver: HTTPServer, document: object, problem: str) -> None:
    serve(httpserver, document)
    message = failure(workspace(httpserver))
    assert problem in message and HINT in message


# What the keys may be.


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k"])
def test_a_published_private_member_is_refused_without_showing_it(httpserver: HTTPServer, member: str) -> None:
    leaked = {"kty": "oct", "kid": MARKER, "k": MARKER} if member == "k" else {**KEY, "kid": MARKER, member: MARKER}
    serve(httpserver, {"keys": [KEY | {"kid": "k0"}, leaked]})
    message = failure(workspace(httpserver))
    assert f"publishes private key material (member {member} of key 2)" in message
    assert "must rotate its signing keys" in message
    assert MARKER not in message


def test_two_keys_with_one_kid_are_refused_as_ambiguous(httpserver: HTTPServer) -> None:
    serve(httpserver, {"keys": [{**KEY, "kid": MARKER}, {"kty": "RSA", "kid": "other"}, {**KEY, "kid": MARKER, "n": "AQAB"}]})
    message = failure(workspace(httpserver))
    assert "publishes keys 1 and 3 under the same kid, so which one signs tokens is ambiguous" in message
    assert MARKER not in message
