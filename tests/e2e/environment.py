"""What the end-to-end suite needs from the machine, and the one check that names whatever is missing.

`python -m tests.e2e.environment` prints the missing prerequisites and exits 1 (scripts/e2e.sh runs it before
pytest); the suite's fixture refuses with the same list. Standard library only, so it runs before ./venv exists.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("KONG_ADMIN_ADDR", "http://localhost:8001").rstrip("/")
"""Kong's Admin API: the stack's kong:kongAdminUri, and where the suite reads what Kong really holds."""
PROXY_URL = os.environ.get("KONG_PROXY_URL", "http://localhost:8000").rstrip("/")
UPSTREAM_URL = os.environ.get("E2E_UPSTREAM_URL", "http://httpbin:8080").rstrip("/")
"""The upstream's origin as Kong reaches it; the default is docker-compose.yml's httpbin on the compose network."""
VENV_PYTHON = ROOT / "venv" / "bin" / "python"
COMPOSE = ("docker", "compose", "--file", str(ROOT / "docker-compose.yml"))
_LOOPBACK = ("localhost", "::1")
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""A proxy from the environment would probe the wrong gateway."""


def _runs(*command: str) -> subprocess.CompletedProcess[str] | None:
    """The finished command, or None when it could not be started or did not end in time."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _get(url: str) -> tuple[int, object] | str:
    """(status, JSON body or None) of a GET, or why nothing answered."""
    try:
        with _NO_PROXY.open(url, timeout=5) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in _LOOPBACK or host.startswith("127.")


def _docker() -> list[str]:
    if shutil.which("docker") is None:
        return ["Docker: https://docs.docker.com/engine/install/ (or Docker Desktop)"]
    missing = []
    version = _runs("docker", "compose", "version")
    if version is None or version.returncode != 0:
        missing.append("the Docker Compose v2 plugin (`docker compose`): https://docs.docker.com/compose/install/")
    info = _runs("docker", "info")
    if info is None or info.returncode != 0:
        missing.append("a reachable Docker engine: start Docker Desktop or the docker service (`sudo systemctl start docker`)")
    if missing:
        return missing
    kong = _runs(*COMPOSE, "ps", "--status", "running", "--quiet", "kong")
    if kong is None or kong.returncode != 0 or not kong.stdout.strip():
        # The fault phase restarts this container, so a Kong started some other way is not enough.
        return ["the Kong of docker-compose.yml, running: `docker compose up -d --wait` (or `make up`)"]
    return []


def _kong() -> list[str]:
    missing = []
    for name, url in (("KONG_ADMIN_ADDR", ADMIN_URL), ("KONG_PROXY_URL", PROXY_URL)):
        if not _is_loopback(url):
            missing.append(f"{name}={url} on a loopback address: the project's tests may resolve loopback hosts only (tests/conftest.py)")
    status = _get(f"{ADMIN_URL}/status")
    if isinstance(status, str):
        missing.append(f"Kong's Admin API at {ADMIN_URL} ({status}): `docker compose up -d --wait`, or set KONG_ADMIN_ADDR")
    elif status[0] != 200 or not isinstance(status[1], dict) or "database" not in status[1]:
        missing.append(f"Kong's Admin API at {ADMIN_URL}: /status answered {status[0]}, not as Kong does; set KONG_ADMIN_ADDR")
    else:
        root = _get(f"{ADMIN_URL}/")
        configuration = root[1].get("configuration", {}) if not isinstance(root, str) and isinstance(root[1], dict) else {}
        if isinstance(configuration, dict) and configuration.get("database") == "off":
            missing.append(
                f"a Kong with a database at {ADMIN_URL}: this one is DB-less, so every Admin API write fails (docker-compose.yml)"
            )
    proxy = _get(PROXY_URL)
    if isinstance(proxy, str):
        missing.append(f"Kong's proxy at {PROXY_URL} ({proxy}): `docker compose up -d --wait`, or set KONG_PROXY_URL")
    if urlsplit(UPSTREAM_URL).path not in ("", "/"):
        missing.append(f"E2E_UPSTREAM_URL={UPSTREAM_URL} without a path: the suite adds /anything to it and removes it again")
    return missing


def missing() -> list[str]:
    """Every prerequisite of the suite that this machine lacks, each with where to get it; empty when it can run."""
    found = []
    if not os.access(VENV_PYTHON, os.X_OK):
        found.append(f"the project virtualenv ({VENV_PYTHON}, the program's runtime in Pulumi.yaml): `make install`")
    if shutil.which("pulumi") is None:
        found.append("the Pulumi CLI: https://www.pulumi.com/docs/iac/download-install/ (no account needed)")
    if shutil.which("pgrep") is None:
        found.append("pgrep, to interrupt the Pulumi CLI the way Ctrl-C does: `apt-get install procps` (macOS has it)")
    return found + _docker() + _kong()


def report(items: list[str]) -> str:
    """The refusal: every missing prerequisite on a line of its own."""
    lines = [f"  - {item}" for item in items]
    return "\n".join(["The end-to-end suite cannot run; missing prerequisites:", *lines, "See docs/end-to-end.md."])


def main() -> int:
    items = missing()
    if items:
        print(report(items), file=sys.stderr)
        return 1
    print(f"Prerequisites found: Pulumi CLI, Docker, Kong's Admin API at {ADMIN_URL} and proxy at {PROXY_URL}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
