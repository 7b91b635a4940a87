"""The registry transport: plain HTTP without TLS set-up, and https always verified."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from shipml.registry.transport import TlsOnDemand


class _Handler(http.server.BaseHTTPRequestHandler):
    """``/to?url=U`` redirects to U; anything else answers 200 ``ok``."""

    def do_GET(self) -> None:
        if self.path.startswith("/to?url="):
            self.send_response(307)
            self.send_header("Location", self.path.removeprefix("/to?url="))
            self.send_header("Content-Length", "0")
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
        self.end_headers()
        if self.path == "/blob":
            self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextmanager
def _server(context: ssl.SSLContext | None = None) -> Iterator[str]:
    """A server on a free 127.0.0.1 port (TLS with ``context``); yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    scheme = "http"
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def self_signed(tmp_path: Path) -> ssl.SSLContext:
    """A server context with a certificate no CA vouches for."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_plain_http_works_and_a_redirect_to_https_is_still_verified(
    self_signed: ssl.SSLContext,
) -> None:
    transport = TlsOnDemand(limits=httpx.Limits(max_connections=4))
    with (
        _server() as plain,
        _server(self_signed) as secure,
        httpx.Client(transport=transport, follow_redirects=True, trust_env=False) as client,
    ):
        assert client.get(f"{plain}/blob").text == "ok"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(f"{plain}/to?url={secure}/blob")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(f"{secure}/blob")
