"""Registry credentials from Docker's and Podman's auth files and docker-credential-* helpers.

Lookup follows containers-auth.json(5) and Docker's cli/config: ``$REGISTRY_AUTH_FILE``, then
``$XDG_RUNTIME_DIR/containers/auth.json``, ``~/.config/containers/auth.json``, then
``$DOCKER_CONFIG/config.json`` (default ``~/.docker``). In a file, ``credHelpers[host]`` wins,
then ``credsStore``, then ``auths``. Secrets never appear in reprs, messages or logs.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipml.errors import AuthError

# Docker keeps Docker Hub under its legacy v1 index URL.
_HUB = "docker.io"
_HUB_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_HELPER_TIMEOUT_S = 30


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and secret (password or token); ``identity_token`` is an OAuth2 refresh token."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)


def auth_files() -> list[Path]:
    """The auth files consulted, most specific first (only those that exist are read)."""
    paths: list[Path] = []
    if env := os.environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(env))
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(runtime) / "containers" / "auth.json")
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    paths.append(config_home / "containers" / "auth.json")
    paths.append(docker_config_file())
    return paths


def docker_config_file() -> Path:
    """Docker's config.json: ``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``."""
    return Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"


def lookup(registry: str, repository: str = "") -> Credential | None:
    """The credential for ``registry`` (and optionally a repository-scoped entry), or None."""
    for path in auth_files():
        document = _read(path)
        if document and (found := _lookup_in(path, document, registry, repository)):
            return found
    return None


def store(path: Path, registry: str, credential: Credential) -> None:
    """Save ``credential`` in the auth file at ``path`` (or its helper), file mode 0600."""
    document = _read(path) or {}
    helper = _helper_for(document, registry)
    if helper:
        secret = credential.identity_token or credential.password
        user = "<token>" if credential.identity_token else credential.username
        payload = {"ServerURL": _server_url(registry), "Username": user, "Secret": secret}
        _run_helper(helper, "store", json.dumps(payload), path=path)
        return
    auths = document.setdefault("auths", {})
    for key in list(_matching_keys(auths, registry, "")):
        del auths[key]
    entry: dict[str, str] = {
        "auth": base64.b64encode(f"{credential.username}:{credential.password}".encode()).decode()
    }
    if credential.identity_token:
        entry["identitytoken"] = credential.identity_token
    auths[_server_url(registry)] = entry
    _write_private(path, document)


def erase(path: Path, registry: str) -> bool:
    """Remove the credential for ``registry`` from ``path`` (or its helper); False if none was."""
    document = _read(path)
    if document is None:
        return False
    helper = _helper_for(document, registry)
    if helper:
        _run_helper(helper, "erase", _server_url(registry), path=path)
        return True
    auths = document.get("auths", {})
    keys = list(_matching_keys(auths, registry, ""))
    for key in keys:
        del auths[key]
    if keys:
        _write_private(path, document)
    return bool(keys)


def normalize_host(key: str) -> str:
    """An auths key (``https://host/v1/``, ``host``, ``host/repo``) as ``host[/repo]``."""
    host = key.split("://", 1)[-1].rstrip("/")
    host = host.removesuffix("/v1").removesuffix("/v2")
    first, slash, rest = host.partition("/")
    return (_HUB if first in _HUB_HOSTS else first) + (slash + rest if rest else "")


def _server_url(registry: str) -> str:
    return _HUB_KEY if registry in _HUB_HOSTS else registry


def _lookup_in(
    path: Path, document: dict[str, Any], registry: str, repository: str
) -> Credential | None:
    helper = _helper_for(document, registry)
    if helper:
        found = _helper_get(helper, registry, path=path)
        if found:
            return found
    auths = document.get("auths", {})
    for key in _matching_keys(auths, registry, repository):
        entry = auths[key]
        if isinstance(entry, dict) and (entry.get("auth") or entry.get("identitytoken")):
            return _decode_entry(path, key, entry)
    return None


def _matching_keys(auths: Any, registry: str, repository: str) -> Iterator[str]:
    """Keys of ``auths`` for this registry, the most specific (``host/ns/repo``) first."""
    if not isinstance(auths, dict):
        return
    by_host = {normalize_host(k): k for k in auths}
    parts = repository.split("/") if repository else []
    for n in range(len(parts), -1, -1):
        scoped = "/".join([normalize_host(registry), *parts[:n]])
        if scoped in by_host:
            yield by_host[scoped]


def _decode_entry(path: Path, key: str, entry: dict[str, Any]) -> Credential:
    username, password = "", ""
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode()
            username, _, password = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError) as e:
            raise AuthError(f"{path}: auths[{key!r}].auth is not base64 of user:password") from e
    return Credential(username, password, str(entry.get("identitytoken") or ""))


def _helper_for(document: dict[str, Any], registry: str) -> str | None:
    helpers = document.get("credHelpers") or {}
    for key, name in helpers.items():
        if normalize_host(key) == normalize_host(registry):
            return str(name)
    store_name = document.get("credsStore")
    return str(store_name) if store_name else None


def _helper_get(helper: str, registry: str, *, path: Path) -> Credential | None:
    """Ask ``docker-credential-<helper> get``; None when it has nothing for the registry."""
    result = _run_helper(helper, "get", _server_url(registry), path=path, missing_ok=True)
    if result is None:
        return None
    try:
        answer = json.loads(result)
        user, secret = str(answer.get("Username", "")), str(answer.get("Secret", ""))
    except (ValueError, AttributeError) as e:
        raise AuthError(f"docker-credential-{helper} answered something that is not JSON") from e
    if user == "<token>":  # the credential helper protocol's marker for identity tokens
        return Credential(identity_token=secret)
    return Credential(user, secret)


def _run_helper(
    helper: str, action: str, stdin: str, *, path: Path, missing_ok: bool = False
) -> str | None:
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, action],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=_HELPER_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as e:
        raise AuthError(
            f"{path} names credential helper {program!r}, which is not on PATH",
            hint=f"install {program} or remove it from {path}",
        ) from e
    except subprocess.TimeoutExpired as e:
        raise AuthError(f"{program} {action} did not answer in {_HELPER_TIMEOUT_S}s") from e
    if done.returncode != 0:
        if missing_ok:
            return None  # helpers exit 1 with "credentials not found" for unknown servers
        # stderr of a helper describes the failure; stdout could hold a secret, so it is dropped.
        raise AuthError(f"{program} {action} failed: {done.stderr.strip()[:200]}")
    return done.stdout


def _read(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise AuthError(f"cannot read auth file {path}: {e.strerror}") from e
    try:
        document = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise AuthError(f"auth file {path} is not valid JSON", hint="fix or remove it") from e
    if not isinstance(document, dict):
        raise AuthError(f"auth file {path} is not a JSON object", hint="fix or remove it")
    return document


def _write_private(path: Path, document: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``document``; never readable by others, even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp creates it 0600
            json.dump(document, f, indent="\t")
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
