"""A token service after distribution's token.md, and a gate that demands its bearer tokens.

Put the gate in a ``fault_proxy`` before a real registry to make it behave like Docker Hub,
GHCR or Harbor: a 401 with ``WWW-Authenticate: Bearer realm,service,scope``, tokens scoped per
repository and action, expiring after ``expires_in`` seconds.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from shipml.testing.faults import serving

_REPO = re.compile(r"^/v2/(.+?)/(?:blobs|manifests|tags)/")


@dataclass
class TokenService:
    """Issues opaque tokens to ``users`` (anonymous callers may only pull)."""

    users: Mapping[str, str]
    expires_in: int = 300
    service: str = "shipml-test"
    realm: str = ""
    requests: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    _tokens: dict[str, tuple[frozenset[str], float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def gate(self, method: str, path: str, headers: Mapping[str, str]) -> dict[str, str] | None:
        """None when the request carries a token that covers it, else the 401 challenge."""
        needed = _needed(method, path)
        value = headers.get("authorization", "")
        granted, expires = self._tokens.get(value.removeprefix("Bearer "), (frozenset(), 0.0))
        if value.startswith("Bearer ") and needed <= granted and time.monotonic() < expires:
            return None
        scope = " ".join(sorted(_as_scopes(needed)))
        challenge = f'Bearer realm="{self.realm}",service="{self.service}"'
        return {"WWW-Authenticate": challenge + (f',scope="{scope}"' if scope else "")}

    def issue(self, user: str | None, scopes: list[str]) -> str:
        """A token for what ``user`` may do of ``scopes``."""
        grants: set[str] = set()
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            for action in actions.split(","):
                if kind == "repository" and (user is not None or action == "pull"):
                    grants.add(f"{name}:{action}")
        token = secrets.token_hex(16)
        with self._lock:
            self._tokens[token] = (frozenset(grants), time.monotonic() + self.expires_in)
            self.requests.append((user or "", "token", tuple(scopes)))
        return token


def _needed(method: str, path: str) -> frozenset[str]:
    match = _REPO.match(path)
    if match is None:
        return frozenset()
    name = match[1]
    needed = {f"{name}:pull"} if method in ("GET", "HEAD") else {f"{name}:pull", f"{name}:push"}
    source = parse_qs(urlsplit(path).query).get("from")
    if source:
        needed.add(f"{source[0]}:pull")
    return frozenset(needed)


def _as_scopes(grants: frozenset[str]) -> set[str]:
    by_repo: dict[str, list[str]] = {}
    for grant in sorted(grants):
        name, _, action = grant.rpartition(":")
        by_repo.setdefault(name, []).append(action)
    return {f"repository:{name}:{','.join(actions)}" for name, actions in by_repo.items()}


class _TokenHandler(BaseHTTPRequestHandler):
    service: TokenService

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        user: str | None = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if self.service.users.get(name) != password:
                self._reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad login"}]})
                return
            user = name
        self._grant(user, query.get("scope", []))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        user = self.service.refresh_tokens.get(form.get("refresh_token", [""])[0])
        if form.get("grant_type") != ["refresh_token"] or user is None:
            self._reply(401, {"error": "invalid_grant"})
            return
        self._grant(user, " ".join(form.get("scope", [])).split())

    def _grant(self, user: str | None, scopes: list[str]) -> None:
        token = self.service.issue(user, scopes)
        self._reply(200, {"token": token, "expires_in": self.service.expires_in})

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def token_service(users: Mapping[str, str], *, expires_in: int = 300) -> Iterator[TokenService]:
    """Run a token service on a free 127.0.0.1 port; ``realm`` is its URL."""
    service = TokenService(users, expires_in=expires_in)
    with serving(type("TokenHandler", (_TokenHandler,), {"service": service})) as port:
        service.realm = f"http://127.0.0.1:{port}/token"
        yield service
