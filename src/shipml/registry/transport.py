"""httpx's transport for registries, whose TLS half is built only when an https URL comes up.

Loading the CA certificates for TLS takes ~30 ms, a fifth of a CLI verb's start: a plain-HTTP
registry (localhost, ``--insecure``) never needs it, unless it redirects a blob to https.
"""

from __future__ import annotations

import threading

import httpx


class TlsOnDemand(httpx.BaseTransport):
    """Plain-HTTP requests on one pool; https ones on a verifying pool made at their first use."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        self._limits = limits
        # This pool only ever opens http:// connections, so there is nothing for it to verify;
        # proxies from the environment are mounted beside it by httpx.Client, not through it.
        self._plain = httpx.HTTPTransport(limits=limits, verify=False)
        self._tls: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the pool for its scheme."""
        if request.url.scheme == "http":
            return self._plain.handle_request(request)
        return self._verifying().handle_request(request)

    def _verifying(self) -> httpx.HTTPTransport:
        with self._lock:
            if self._tls is None:
                self._tls = httpx.HTTPTransport(limits=self._limits)
            return self._tls

    def close(self) -> None:
        """Close both pools."""
        self._plain.close()
        with self._lock:
            if self._tls is not None:
                self._tls.close()
