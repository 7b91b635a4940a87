"""Registry failures as data: the distribution error codes, the status and a ``temporary`` flag.

Modelled on go-containerregistry ``remote/transport/error.go``: a response outside the expected
statuses becomes a ``RegistryHTTPError`` carrying the ``{"errors": [...]}`` body of
distribution spec "Error Codes"; 401/403 and the UNAUTHORIZED/DENIED codes become
``RegistryAuthError``. Connection failures become temporary ``RegistryError``s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from shipml.errors import AuthError, RegistryError

# spec.md "Error Codes" (+ TOOMANYREQUESTS, UNAVAILABLE from distribution's registry/api/errcode).
_HINTS = {
    "BLOB_UNKNOWN": "the blob is not in this repository",
    "BLOB_UPLOAD_INVALID": "the upload was rejected; it is retried from the start",
    "BLOB_UPLOAD_UNKNOWN": "the upload session expired or was cancelled; push again",
    "DIGEST_INVALID": "the uploaded content did not match its digest",
    "MANIFEST_BLOB_UNKNOWN": "a blob the manifest points at is missing; push it first",
    "MANIFEST_INVALID": "the registry rejected the manifest's content or media type",
    "MANIFEST_UNKNOWN": "no such tag or digest in this repository",
    "NAME_INVALID": "the repository name is not valid for this registry",
    "NAME_UNKNOWN": "no such repository (or no permission to see it)",
    "SIZE_INVALID": "the uploaded length did not match the declared size",
    "UNAUTHORIZED": "log in with `shipml login REGISTRY`",
    "DENIED": "these credentials may not do this; check the repository's permissions",
    "UNSUPPORTED": "the registry does not support this operation",
    "TOOMANYREQUESTS": "rate limited by the registry; wait and retry",
}
# error.go temporaryErrorCodes and temporaryStatusCodes.
_TEMPORARY_CODES = frozenset({"BLOB_UPLOAD_INVALID", "TOOMANYREQUESTS", "UNKNOWN", "UNAVAILABLE"})
TEMPORARY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_AUTH_CODES = frozenset({"UNAUTHORIZED", "DENIED"})


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One entry of a registry's ``errors`` array."""

    code: str
    message: str = ""
    detail: str = ""


class RegistryHTTPError(RegistryError):
    """A registry answered with an unexpected status; ``diagnostics`` holds its error codes."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        diagnostics: tuple[Diagnostic, ...] = (),
        hint: str | None = None,
        temporary: bool = False,
    ) -> None:
        super().__init__(message, hint=hint, status=status, temporary=temporary)
        self.diagnostics = diagnostics

    @property
    def codes(self) -> frozenset[str]:
        """The distribution error codes in the body, e.g. ``{"MANIFEST_UNKNOWN"}``."""
        return frozenset(d.code for d in self.diagnostics)


class RegistryAuthError(RegistryHTTPError, AuthError):
    """The registry refused our credentials (or their absence) for this request."""


def parse_diagnostics(body: bytes) -> tuple[Diagnostic, ...]:
    """The ``errors`` array of a distribution error body; empty when the body is not one."""
    try:
        document = json.loads(body)
    except ValueError:
        return ()
    entries = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return ()
    return tuple(
        Diagnostic(
            code=str(e.get("code", "UNKNOWN")),
            message=str(e.get("message", "")),
            detail="" if e.get("detail") is None else json.dumps(e["detail"], sort_keys=True),
        )
        for e in entries
        if isinstance(e, dict)
    )


def error_from_response(response: httpx.Response, *, action: str) -> RegistryHTTPError:
    """The error for an unexpected ``response``; ``action`` says what we tried, for the message."""
    response.read()
    diagnostics = parse_diagnostics(response.content)
    codes = {d.code for d in diagnostics}
    status = response.status_code
    summary = "; ".join(f"{d.code}: {d.message}" if d.message else d.code for d in diagnostics)
    message = f"{action}: {status} {response.reason_phrase}" + (f" ({summary})" if summary else "")
    hint = next((_HINTS[d.code] for d in diagnostics if d.code in _HINTS), None)
    if status in (401, 403) or codes & _AUTH_CODES:
        hint = hint or _HINTS["UNAUTHORIZED" if status == 401 else "DENIED"]
        return RegistryAuthError(message, status=status, diagnostics=diagnostics, hint=hint)
    temporary = status in TEMPORARY_STATUSES or bool(codes & _TEMPORARY_CODES)
    return RegistryHTTPError(
        message, status=status, diagnostics=diagnostics, hint=hint, temporary=temporary
    )


def connection_error(exc: httpx.TransportError, *, action: str) -> RegistryError:
    """A temporary error for a failed connection, timeout or reset (no headers, so no secrets)."""
    hint = "check the registry address and that it is reachable"
    if isinstance(exc, httpx.ConnectError) and "SSL" in str(exc):
        hint = "the registry's TLS failed; for a plain-HTTP registry pass --insecure REGISTRY"
    return RegistryError(f"{action}: {type(exc).__name__}: {exc}", hint=hint, temporary=True)
