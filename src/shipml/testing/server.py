"""A real model-server process on 127.0.0.1 for tests: start, wait until ready, stop by SIGTERM."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

READY_TIMEOUT_S = 90.0  # how long start() waits for the server to answer ready


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ok(url: str, timeout_s: float, *, gave_up: Callable[[], bool] = lambda: False) -> bool:
    """Whether GET ``url`` answers 200 within ``timeout_s``; False early once ``gave_up()``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not gave_up():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        # Not listening yet, reset by a port forwarder, or an error status (HTTPError): not yet.
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    return False


class ServerProcess:
    """``python -m shipml.runtime PROJECT`` as a child process; ``url`` is its base URL."""

    def __init__(self, project: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.project = project
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
        self.log_path = Path(tempfile.mkdtemp(prefix="shipml-server-")) / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        """Start the server and wait until /v2/health/ready answers 200."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "shipml.runtime",
                    str(self.project),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = self.process
        if wait_ok(f"{self.url}/v2/health/ready", READY_TIMEOUT_S,
                   gave_up=lambda: process.poll() is not None):
            return self
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{self.log()}")
        self.stop()
        raise RuntimeError(f"server not ready after {READY_TIMEOUT_S}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def terminate(self) -> None:
        """Send SIGTERM (the drain signal) without waiting."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait for the drain; returns the exit code (SIGKILL after ``timeout``)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
