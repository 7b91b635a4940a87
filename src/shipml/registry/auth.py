"""The registry auth dance as an ``httpx.Auth`` flow: anonymous, basic, and scoped bearer tokens.

distribution's token auth (docs/spec/auth/token.md): a 401 carries ``WWW-Authenticate: Bearer
realm=...,service=...,scope=...``; we fetch a token for the request's scope from the realm (with
basic credentials, or an OAuth2 refresh token) and retry. Once a registry's scheme is known,
later requests are authorised up front, so streamed upload bodies are never sent twice.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx

from shipml.errors import RegistryError
from shipml.registry.credentials import Credential
from shipml.registry.errors import error_from_response

# token.md: "If no expires_in is given the token should be assumed to live 60 seconds".
_DEFAULT_TOKEN_LIFE_S = 60
_EXPIRY_SLACK_S = 10
_AUTH_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
# spec.md endpoints: /v2/<name>/(blobs|manifests|tags)/... ; <name> may contain slashes.
_REPO_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?:blobs|manifests|tags)/")


@dataclass(frozen=True, slots=True)
class Challenge:
    """A parsed ``WWW-Authenticate`` header: the scheme (lowercase) and its parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Token:
    value: str = field(repr=False)
    expires_at: float


def parse_challenge(header: str) -> Challenge | None:
    """The first challenge of a ``WWW-Authenticate`` value; None when there is none."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {}
    for m in _AUTH_PARAM.finditer(rest):
        quoted = m.group(2)
        params[m.group(1).lower()] = m.group(3) if quoted is None else quoted.replace('\\"', '"')
    return Challenge(scheme.lower(), params)


def request_scopes(request: httpx.Request) -> tuple[str, ...]:
    """The token scopes a request needs: pull to read, pull+push to write, pull on mount sources."""
    match = _REPO_PATH.match(request.url.path)
    if match is None:
        return ()
    action = "pull" if request.method in ("GET", "HEAD") else "pull,push"
    scopes = [f"repository:{match['name']}:{action}"]
    source = parse_qs(request.url.query.decode()).get("from")
    if source:
        scopes.append(f"repository:{source[0]}:pull")
    return tuple(scopes)


class RegistryAuth(httpx.Auth):
    """Authorises requests to one registry, caching one bearer token per scope set (sync only)."""

    def __init__(
        self, credential: Credential | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.credential = credential
        self._clock = clock
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], _Token] = {}

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Send ``request`` authorised as far as we know how; on a 401, authenticate and resend."""
        scopes = request_scopes(request)
        authorised = yield from self._authorise(request, scopes)
        response = yield request
        if response.status_code != 401:
            return
        challenge = parse_challenge(response.headers.get("www-authenticate", ""))
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            return
        # A challenge that asks for more scope (insufficient_scope) earns one more token.
        extra = challenge.params.get("scope", "")
        wanted = tuple(dict.fromkeys([*scopes, *extra.split()]))
        first_time = self._challenge != challenge
        if authorised and not first_time and wanted == scopes:
            return  # our credentials were refused: the caller reports the 401
        if not isinstance(request.stream, httpx.ByteStream):
            return  # a streamed body cannot be sent twice; the 401 goes to the caller
        self._challenge = challenge
        self._tokens.pop(wanted, None)
        if (yield from self._authorise(request, wanted)):
            yield request

    def _authorise(
        self, request: httpx.Request, scopes: tuple[str, ...]
    ) -> Generator[httpx.Request, httpx.Response, bool]:
        """Set the Authorization header for ``scopes``, fetching a token if needed."""
        challenge = self._challenge
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            if self.credential is None or not self.credential.username:
                return False
            request.headers["Authorization"] = _basic(self.credential)
            return True
        token = self._cached(scopes)
        if token is None:
            token_response = yield self._token_request(challenge, scopes)
            token = self._accept_token(token_response, scopes)
        request.headers["Authorization"] = f"Bearer {token.value}"
        return True

    def _cached(self, scopes: tuple[str, ...]) -> _Token | None:
        """A live token whose scopes cover ``scopes`` (pull,push covers pull)."""
        now = self._clock()
        wanted = _grants(scopes)
        for key, token in list(self._tokens.items()):
            if wanted <= _grants(key) and token.expires_at - _EXPIRY_SLACK_S > now:
                return token
        return None

    def _token_request(self, challenge: Challenge, scopes: tuple[str, ...]) -> httpx.Request:
        realm = challenge.params.get("realm")
        if not realm:
            raise RegistryError("the registry sent a bearer challenge without a token realm")
        service = challenge.params.get("service", "")
        cred = self.credential
        if cred is not None and cred.identity_token:
            # token.md OAuth2: POST grant_type=refresh_token with the identity token.
            form = {
                "grant_type": "refresh_token",
                "refresh_token": cred.identity_token,
                "service": service,
                "scope": " ".join(scopes),
                "client_id": "shipml",
            }
            return httpx.Request("POST", realm, data=form)
        params: list[tuple[str, str | int | float | bool | None]] = [("service", service)]
        params += [("scope", s) for s in scopes]
        headers = {"Authorization": _basic(cred)} if cred is not None and cred.username else {}
        return httpx.Request("GET", realm, params=params, headers=headers)

    def _accept_token(self, response: httpx.Response, scopes: tuple[str, ...]) -> _Token:
        response.read()
        if response.status_code != 200:
            raise error_from_response(response, action=f"get a token from {response.url.host}")
        try:
            body = response.json()
            value = body.get("token") or body.get("access_token")
            life = int(body.get("expires_in") or _DEFAULT_TOKEN_LIFE_S)
        except (ValueError, AttributeError, TypeError):
            value = None
        if not isinstance(value, str) or not value:
            raise RegistryError(f"the token server {response.url.host} sent no token")
        token = _Token(value, self._clock() + max(life, _DEFAULT_TOKEN_LIFE_S))
        self._tokens[scopes] = token
        return token


def _grants(scopes: tuple[str, ...]) -> frozenset[str]:
    """``repository:a:pull,push`` as ``{"repository:a:pull", "repository:a:push"}``."""
    found: set[str] = set()
    for scope in scopes:
        resource, _, actions = scope.rpartition(":")
        found.update(f"{resource}:{action}" for action in actions.split(","))
    return frozenset(found)


def _basic(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
