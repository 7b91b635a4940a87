"""An HTTP proxy on 127.0.0.1 that injects faults between a client and a real registry.

Faults are what networks do to registry traffic: a 503 or 429, a connection dropped in the
middle of an upload, a byte flipped in a downloaded blob. Each fault fires ``times`` times on
requests whose method matches and whose path contains ``path``.
"""

from __future__ import annotations

import http.client
import io
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import BinaryIO, Literal

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "proxy-connection"})
_CHUNK = 1 << 16


@dataclass(slots=True)
class Fault:
    """One kind of trouble: ``status`` answers instead of the registry, ``reset`` cuts a
    request body after ``after`` bytes, ``flip`` corrupts response byte number ``after``.
    The first ``skip`` matching requests pass untouched."""

    method: str
    path: str
    kind: Literal["status", "reset", "flip"]
    status: int = 503
    after: int = 0
    times: int = 1
    skip: int = 0


@dataclass(slots=True)
class FaultProxy:
    """A running proxy: send clients to ``host``; ``fired`` lists the faults that happened."""

    host: str
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    fired: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # A gate in front of the registry: given method, path and headers, the challenge headers
    # of a 401 to answer with, or None to let the request through.
    gate: Callable[[str, str, Mapping[str, str]], dict[str, str] | None] | None = None

    def take(self, method: str, path: str) -> Fault | None:
        """The fault to apply to this request, if any (consuming one of its ``times``)."""
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.path in path:
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    fault.times -= 1
                    self.fired.append((fault.kind, method, path))
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy: FaultProxy

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the registry logs every request itself."""

    def _forward(self) -> None:
        fault = self.proxy.take(self.command, self.path)
        length = int(self.headers.get("Content-Length") or 0)
        gate = self.proxy.gate
        headers = {k.lower(): v for k, v in self.headers.items()}
        challenge = gate(self.command, self.path, headers) if gate else None
        if challenge is not None:
            self.rfile.read(length)
            self._answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"gate"}]}', challenge)
            return
        if fault is not None and fault.kind == "status":
            self.rfile.read(length)
            self._answer(
                fault.status, b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
            )
            return
        upstream = http.client.HTTPConnection(self.proxy.upstream, timeout=60)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    upstream.putheader(key, value)
            upstream.endheaders()
            self._copy_body(upstream, length, fault)
            response = upstream.getresponse()
            self._send_response(response, fault)
        finally:
            upstream.close()

    def _answer(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _copy_body(
        self, upstream: http.client.HTTPConnection, length: int, fault: Fault | None
    ) -> None:
        sent = 0
        while sent < length:
            piece = self.rfile.read(min(_CHUNK, length - sent))
            if not piece:
                break
            if fault is not None and fault.kind == "reset" and sent + len(piece) > fault.after:
                upstream.send(piece[: max(0, fault.after - sent)])
                self._reset()
                raise ConnectionAbortedError("fault: connection reset mid-body")
            upstream.send(piece)
            sent += len(piece)

    def _send_response(self, response: http.client.HTTPResponse, fault: Fault | None) -> None:
        body: BinaryIO = response
        body_length = response.getheader("Content-Length")
        if body_length is None:  # read it whole to say how long it is
            data = response.read()
            body, body_length = io.BytesIO(data), str(len(data))
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", body_length)
        self.end_headers()
        if self.command == "HEAD":
            return
        flip_at = fault.after if fault is not None and fault.kind == "flip" else None
        offset = 0
        while piece := body.read(_CHUNK):
            if flip_at is not None and offset <= flip_at < offset + len(piece):
                at = flip_at - offset
                piece = piece[:at] + bytes([piece[at] ^ 0xFF]) + piece[at + 1 :]
            self.wfile.write(piece)
            offset += len(piece)

    def _reset(self) -> None:
        """Close with RST, as a dropped link looks to the client."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionAbortedError, ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


@contextmanager
def fault_proxy(
    upstream: str,
    *faults: Fault,
    gate: Callable[[str, str, Mapping[str, str]], dict[str, str] | None] | None = None,
) -> Iterator[FaultProxy]:
    """Run a proxy to ``upstream`` (``host:port``) on a free 127.0.0.1 port until the block ends."""
    proxy = FaultProxy("", upstream, list(faults), gate=gate)
    with serving(type("Handler", (_Handler,), {"proxy": proxy})) as port:
        proxy.host = f"127.0.0.1:{port}"
        yield proxy


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve ``handler`` on a free 127.0.0.1 port in a thread; yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=handler.__name__, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
