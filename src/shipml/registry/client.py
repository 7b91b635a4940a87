"""One method per distribution-spec endpoint, over one pooled ``httpx.Client`` per registry.

Temporary failures (429, 5xx, resets; see ``registry.errors``) are retried with exponential
backoff when the request body can be replayed; 4xx answers, auth ones above all, never are.
Streamed bodies are not retried here: ``registry.push`` resumes those from the upload's offset.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass

import httpx

from shipml.errors import RegistryError
from shipml.layers.blob import Closing
from shipml.oci.descriptor import Descriptor
from shipml.oci.digest import Digest
from shipml.oci.mediatypes import MediaType
from shipml.registry.auth import RegistryAuth
from shipml.registry.credentials import Credential
from shipml.registry.errors import (
    TEMPORARY_STATUSES,
    RegistryAuthError,
    connection_error,
    error_from_response,
)
from shipml.registry.transport import TlsOnDemand

MANIFEST_ACCEPT = ", ".join(
    [
        MediaType.OCI_MANIFEST,
        MediaType.OCI_INDEX,
        MediaType.DOCKER_MANIFEST,
        MediaType.DOCKER_MANIFEST_LIST,
    ]
)
# Docker Hub's API lives on another host than its name.
_API_HOSTS = {"docker.io": "registry-1.docker.io"}
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
_MAX_BACKOFF_S = 20.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently temporary failures are retried."""

    attempts: int = 5
    base_delay_s: float = 0.5


@dataclass(frozen=True, slots=True)
class Upload:
    """An upload session: where to send the next bytes, and how many the registry holds."""

    location: str
    offset: int = 0


def api_base(registry: str, *, insecure: Collection[str] = ()) -> str:
    """``https://host`` for a registry; plain ``http`` only for localhost or an insecure one."""
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    local = host in _LOCAL_HOSTS or host.endswith(".localhost")
    scheme = "http" if local or registry in insecure else "https"
    return f"{scheme}://{_API_HOSTS.get(registry, registry)}"


class RegistryClient:
    """The distribution API of one registry; use as a context manager to close its connections."""

    def __init__(
        self,
        registry: str,
        *,
        credential: Credential | None = None,
        insecure: Collection[str] = (),
        retry: RetryPolicy = RetryPolicy(),
        timeout_s: float = 60.0,
        max_connections: int = 16,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.registry = registry
        self.auth = RegistryAuth(credential)
        self._retry = retry
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=api_base(registry, insecure=insecure),
            auth=self.auth,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
            transport=TlsOnDemand(limits=httpx.Limits(max_connections=max_connections)),
            headers={"User-Agent": "shipml"},
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def ping(self) -> None:
        """``GET /v2/``: check the registry speaks the API and our credentials are accepted."""
        self._send("GET", "/v2/", ok=(200,), action=f"reach registry {self.registry}")

    def blob_size(self, repository: str, digest: Digest) -> int | None:
        """``HEAD`` a blob: its size when the repository has it, else None."""
        response = self._send(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            ok=(200, 404),
            action=f"check blob {digest.short} in {repository}",
            follow_redirects=True,
        )
        if response.status_code == 404:
            return None
        return int(response.headers.get("content-length", "0"))

    def open_blob(self, repository: str, digest: Digest) -> BlobReader:
        """``GET`` a blob as a readable stream (unverified: wrap it to check the digest)."""
        action = f"download blob {digest.short} from {repository}"
        response = self._send(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            ok=(200,),
            action=action,
            stream=True,
            follow_redirects=True,
        )
        return BlobReader(response, action=action)

    def start_upload(
        self, repository: str, *, mount: Digest | None = None, mount_from: str | None = None
    ) -> Upload | None:
        """``POST`` an upload session, or mount ``mount`` from ``mount_from``: None when mounted."""
        params = {"mount": str(mount), "from": mount_from} if mount and mount_from else None
        response = self._send(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            ok=(201, 202),
            action=f"start an upload to {repository}",
            params=params,
        )
        if response.status_code == 201:
            return None
        return Upload(self._location(response), 0)

    def upload_chunk(self, upload: Upload, chunk: bytes | Iterable[bytes], length: int) -> Upload:
        """``PATCH`` ``length`` bytes at the upload's offset; returns the upload's next state."""
        end = upload.offset + length - 1
        response = self._send(
            "PATCH",
            upload.location,
            ok=(202,),
            action="upload a chunk",
            content=chunk,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(length),
                # spec.md "Pushing a blob in chunks": Content-Range is <start>-<end>, inclusive.
                "Content-Range": f"{upload.offset}-{end}",
            },
        )
        return Upload(self._location(response), _range_end(response, upload.offset + length))

    def upload_status(self, upload: Upload) -> Upload:
        """``GET`` the upload session: how many bytes the registry has, to resume from there."""
        response = self._send("GET", upload.location, ok=(204,), action="query an upload")
        return Upload(self._location(response), _range_end(response, 0))

    def finish_upload(
        self, upload: Upload, digest: Digest, chunk: bytes | Iterable[bytes] = b"", length: int = 0
    ) -> None:
        """``PUT ?digest=`` to close the upload, with the last ``length`` bytes (monolithic)."""
        url = httpx.URL(upload.location).copy_merge_params({"digest": str(digest)})
        self._send(
            "PUT",
            str(url),
            ok=(201,),
            action=f"finish uploading blob {digest.short}",
            content=chunk,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(length)},
        )

    def cancel_upload(self, upload: Upload) -> None:
        """``DELETE`` an upload session (best effort: a registry also expires them)."""
        with suppress(RegistryError):
            self._send("DELETE", upload.location, ok=(204, 404), action="cancel an upload")

    def manifest_descriptor(self, repository: str, identifier: str) -> Descriptor | None:
        """``HEAD`` a manifest by tag or digest: its descriptor, or None when absent."""
        response = self._send(
            "HEAD",
            f"/v2/{repository}/manifests/{identifier}",
            ok=(200, 404),
            action=f"check manifest {repository}:{identifier}",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if response.status_code == 404 or "docker-content-digest" not in response.headers:
            return None
        return Descriptor(
            media_type=response.headers.get("content-type", MediaType.OCI_MANIFEST),
            digest=Digest.parse(response.headers["docker-content-digest"]),
            size=int(response.headers.get("content-length", "0")),
        )

    def manifest(self, repository: str, identifier: str) -> tuple[bytes, str]:
        """``GET`` a manifest or index by tag or digest: its raw bytes and media type."""
        response = self._send(
            "GET",
            f"/v2/{repository}/manifests/{identifier}",
            ok=(200,),
            action=f"get manifest {repository}:{identifier}",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return response.content, media_type

    def put_manifest(self, repository: str, identifier: str, body: bytes, media_type: str) -> None:
        """``PUT`` a manifest or index under a tag or its digest."""
        self._send(
            "PUT",
            f"/v2/{repository}/manifests/{identifier}",
            ok=(201,),
            action=f"put manifest {repository}:{identifier}",
            content=body,
            headers={"Content-Type": media_type},
        )

    def tags(self, repository: str) -> list[str]:
        """``GET /tags/list``, following ``Link: <...>; rel="next"`` pagination."""
        url: str | None = f"/v2/{repository}/tags/list"
        found: list[str] = []
        while url:
            response = self._send("GET", url, ok=(200,), action=f"list tags of {repository}")
            found += response.json().get("tags") or []
            url = response.links.get("next", {}).get("url")
        return found

    def _location(self, response: httpx.Response) -> str:
        location = response.headers.get("location")
        if not location:
            raise error_from_response(response, action="upload: the registry sent no Location")
        return str(response.url.join(location))

    def _send(
        self,
        method: str,
        url: str,
        *,
        ok: tuple[int, ...],
        action: str,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send with retries of temporary failures while the body can be replayed."""
        replayable = content is None or isinstance(content, bytes)
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self._retry.attempts or not replayable
            request = self._http.build_request(
                method, url, content=content, headers=headers, params=params
            )
            try:
                response = self._http.send(
                    request, stream=stream, follow_redirects=follow_redirects
                )
            except httpx.TransportError as e:
                if last:
                    raise connection_error(e, action=action) from e
                self._backoff(attempt, None)
                continue
            except RegistryAuthError as e:  # the token server refused us, inside the auth flow
                raise _refused(e, self.registry, self.auth.credential) from e
            if response.status_code in ok:
                return response
            error = error_from_response(response, action=action)
            response.close()
            if isinstance(error, RegistryAuthError):
                error = _refused(error, self.registry, self.auth.credential)
            if last or response.status_code not in TEMPORARY_STATUSES:
                raise error
            self._backoff(attempt, response.headers.get("retry-after"))

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        delay = self._retry.base_delay_s * 2 ** (attempt - 1) * (0.5 + random.random())
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        self._sleep(min(delay, _MAX_BACKOFF_S))


def _range_end(response: httpx.Response, default: int) -> int:
    """The next offset from a ``Range: 0-<last>`` header (``0-0`` may mean empty on some)."""
    value = response.headers.get("range", "").split("=")[-1]
    first, _, last = value.partition("-")
    if not (first.isdigit() and last.isdigit()):
        return default
    if value == "0-0":  # distribution answers 0-0 for an empty upload and for one byte alike
        return min(default, 1)
    return int(last) + 1


def _refused(
    error: RegistryAuthError, registry: str, credential: Credential | None
) -> RegistryAuthError:
    """The auth error, saying whose credentials were refused (never the secret itself)."""
    if credential is None:
        who, hint = "anonymous access", f"log in first: `shipml login {registry}`"
    else:
        who = f"user {credential.username!r}" if credential.username else "the identity token"
        hint = f"check the password, or run `shipml login {registry}` again"
    verb = "denied" if error.status == 403 else "refused"
    return RegistryAuthError(
        f"{registry} {verb} {who}: {error.message}",
        status=error.status or 401,
        diagnostics=error.diagnostics,
        hint=hint,
    )


class BlobReader(Closing):
    """A streamed response body as a ``BlobStream``; a dropped connection is a temporary error."""

    def __init__(self, response: httpx.Response, *, action: str) -> None:
        self._response = response
        self._chunks = response.iter_raw()
        self._buffer = b""
        self._action = action

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that remain when negative); ``b""`` at the end."""
        try:
            if size < 0:
                data = self._buffer + b"".join(self._chunks)
                self._buffer = b""
                return data
            while not self._buffer:
                self._buffer = next(self._chunks, b"")
                if not self._buffer:
                    return b""
        except httpx.TransportError as e:
            raise connection_error(e, action=self._action) from e
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def close(self) -> None:
        """Close the response and free its connection."""
        self._response.close()
