"""A real CNCF distribution registry (Debian's ``docker-registry``) on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shipml.testing.server import free_port

REGISTRY_BINARY = "/usr/bin/docker-registry"
# The access log's request line: "PATCH /v2/app/blobs/uploads/... HTTP/1.1"
_ACCESS = re.compile(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d{3})')


@dataclass(frozen=True, slots=True)
class Request:
    """One request the registry served, from its access log."""

    method: str
    path: str
    status: int


@dataclass(frozen=True, slots=True)
class LocalRegistry:
    """A running registry: ``host`` is ``127.0.0.1:PORT``; ``log`` its stdout and stderr."""

    host: str
    root: Path
    log: Path

    def requests(self) -> list[Request]:
        """Every request served so far, in order."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [Request(m[1], m[2], int(m[3])) for m in _ACCESS.finditer(text)]


def registry_available() -> bool:
    """Whether the docker-registry binary is installed."""
    return os.access(REGISTRY_BINARY, os.X_OK)


def htpasswd_line(user: str, password: str) -> str:
    """An htpasswd entry with a bcrypt hash, the only kind distribution accepts."""
    import bcrypt  # a test-only dependency

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return f"{user}:{hashed}\n"


@contextmanager
def local_registry(
    root: Path, *, users: Mapping[str, str] | None = None, timeout_s: float = 20.0
) -> Iterator[LocalRegistry]:
    """Run a registry storing under ``root``, with htpasswd basic auth when ``users`` is given."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    auth = ""
    if users:
        htpasswd = root / "htpasswd"
        htpasswd.write_text("".join(htpasswd_line(u, p) for u, p in users.items()))
        auth = f"auth:\n  htpasswd:\n    realm: shipml-test\n    path: {htpasswd}\n"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  formatter: text\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        "  delete:\n    enabled: true\n"
        "  maintenance:\n    uploadpurging:\n      enabled: false\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: shipml-test-secret\n" + auth
    )
    log = root / "registry.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [REGISTRY_BINARY, "serve", str(config)], stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/v2/", process, log, timeout_s)
        yield LocalRegistry(f"127.0.0.1:{port}", root, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # 401: up, and asking for credentials
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not answer on {url} in {timeout_s}s")
