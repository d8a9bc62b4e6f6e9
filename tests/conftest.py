import socket
from collections.abc import Iterator
from typing import Any

import pytest

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests need no network beyond loopback: resolving any other host fails at once."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in _LOOPBACK and not name.startswith("127."):
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {name!r} (loopback only)")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield


@pytest.fixture(autouse=True)
def fresh_jwks_cache() -> Iterator[None]:
    """The JWKS is fetched once per program run; each test is a run of its own."""
    from components.jwks import fetch_jwks

    fetch_jwks.cache_clear()
    yield
    fetch_jwks.cache_clear()
