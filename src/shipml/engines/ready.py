"""Start a container and wait until its server is ready, or say why it never got there."""

from __future__ import annotations

import contextlib
import errno
import http.client
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from shipml.engines.base import Engine, Publish, RunOptions
from shipml.errors import EngineError

READY_PATH = "/v2/health/ready"
# The server stays up when its model fails to load, answering 500 here (so an orchestrator's
# liveness probe restarts it): no point waiting for readiness then.
LIVE_PATH = "/v2/health/live"
LOG_LINES = 30
_STATE_EVERY_S = 0.5  # `inspect` costs a process start; the HTTP probe is cheap
# The container is on this machine: never through an HTTP(S)_PROXY from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True, slots=True)
class Started:
    """A container that answered ready: its base URL and seconds from start to ready."""

    name: str
    id: str
    url: str
    seconds: float


def check_port_free(publish: Publish) -> None:
    """EngineError when something on this machine already listens on the host address."""
    family = socket.AF_INET6 if ":" in publish.host_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: a socket in TIME_WAIT is no obstacle, only a listener is.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((publish.host_ip, publish.host_port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                return  # e.g. an address not of this host: let the engine judge it
            raise EngineError(
                f"port {publish.host_ip}:{publish.host_port} is already in use on this machine",
                hint=f"pick another host port, e.g. -p {publish.host_ip}:"
                f"{publish.host_port + 1}:{publish.container_port}",
            ) from e


def last_logs(engine: Engine, name: str, lines: int = LOG_LINES) -> str:
    """The container's last ``lines`` lines of output (empty when they cannot be read)."""
    try:
        return b"".join(engine.logs(name, tail=lines)).decode(errors="replace").rstrip()
    except EngineError:
        return ""


def _status(url: str) -> int | None:
    """The HTTP status of GET ``url``; None when nothing answered (refused, reset, timeout)."""
    try:
        with _DIRECT.open(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, http.client.HTTPException):
        return None


def _failure(engine: Engine, name: str, what: str, hint: str | None = None) -> EngineError:
    logs = last_logs(engine, name)
    tail = f"; its last log lines:\n{logs}" if logs else " (it wrote no log lines)"
    return EngineError(f"container {name} {what}{tail}", hint=hint)


def wait_ready(
    engine: Engine,
    name: str,
    url: str,
    *,
    timeout_s: float,
    began: float,
    live_url: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    interval_s: float = 0.02,
) -> float:
    """Seconds from ``began`` until GET ``url`` answers 200; EngineError if the container
    stops, or ``live_url`` answers 500 (its model failed to load)."""
    checked = began
    while True:
        if _status(url) == 200:
            return clock() - began
        now = clock()
        if now - checked >= _STATE_EVERY_S:
            checked = now
            state = engine.state(name)
            if not state.running:
                raise _failure(engine, name, f"{state.why()} before it was ready")
            if live_url is not None and _status(live_url) == 500:
                raise _failure(engine, name, "runs, but its model failed to load")
        if now - began > timeout_s:
            raise _failure(
                engine, name, f"was not ready after {timeout_s:.0f} s",
                hint="a large model may need longer: raise --timeout",
            )
        time.sleep(interval_s)


def start(
    engine: Engine,
    options: RunOptions,
    *,
    timeout_s: float = 120.0,
    path: str = READY_PATH,
    live_path: str | None = LIVE_PATH,
    clock: Callable[[], float] = time.monotonic,
) -> Started:
    """Run ``options`` and wait for ``path`` on its first published port (``live_path``
    answering 500 means it never will); a failed container is removed after its logs are read
    into the error."""
    if not options.publish:
        raise EngineError("publish a port (-p) so shipml can tell when the server is ready")
    for publish in options.publish:
        check_port_free(publish)
    url = options.publish[0].url
    began = clock()
    container_id = engine.run(options)
    try:
        live = url + live_path if live_path else None
        seconds = wait_ready(engine, options.name, url + path, timeout_s=timeout_s,
                             began=began, live_url=live, clock=clock)
    except BaseException:
        with contextlib.suppress(EngineError):
            engine.remove(options.name)
        raise
    return Started(options.name, container_id, url, seconds)
