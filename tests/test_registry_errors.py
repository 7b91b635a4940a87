"""Registry answers become errors with codes, a temporary flag and a hint."""

from __future__ import annotations

import httpx
import pytest

from shipml.errors import AuthError, RegistryError
from shipml.registry.errors import (
    Diagnostic,
    RegistryAuthError,
    RegistryHTTPError,
    connection_error,
    error_from_response,
    parse_diagnostics,
)


def answer(status: int, body: bytes = b"") -> httpx.Response:
    return httpx.Response(status, content=body, request=httpx.Request("GET", "http://r.io/v2/"))


def test_the_distribution_error_body_is_parsed() -> None:
    body = (
        b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown",'
        b'"detail":{"Tag":"x"}}]}'
    )
    assert parse_diagnostics(body) == (
        Diagnostic("MANIFEST_UNKNOWN", "manifest unknown", '{"Tag": "x"}'),
    )
    assert parse_diagnostics(b"<html>bad gateway</html>") == ()
    assert parse_diagnostics(b'{"errors": "nope"}') == ()


def test_codes_map_to_hints_and_permanence() -> None:
    error = error_from_response(
        answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'),
        action="get manifest app:v1",
    )
    assert isinstance(error, RegistryHTTPError) and not isinstance(error, AuthError)
    assert error.codes == {"MANIFEST_UNKNOWN"}
    assert not error.temporary
    assert str(error).startswith("get manifest app:v1: 404 Not Found (MANIFEST_UNKNOWN: manifest")
    assert error.hint == "no such tag or digest in this repository"


@pytest.mark.parametrize(
    ("status", "body", "temporary"),
    [
        (429, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}', True),
        (503, b"", True),
        (502, b"", True),
        (500, b'{"errors":[{"code":"UNKNOWN"}]}', True),
        (400, b'{"errors":[{"code":"BLOB_UPLOAD_INVALID"}]}', True),
        (400, b'{"errors":[{"code":"DIGEST_INVALID"}]}', False),
        (404, b"", False),
    ],
)
def test_which_failures_are_worth_retrying(status: int, body: bytes, temporary: bool) -> None:
    assert error_from_response(answer(status, body), action="x").temporary is temporary


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_auth_errors_and_never_temporary(status: int) -> None:
    error = error_from_response(answer(status), action="push")
    assert isinstance(error, RegistryAuthError) and isinstance(error, AuthError)
    assert not error.temporary
    denied = error_from_response(answer(400, b'{"errors":[{"code":"DENIED"}]}'), action="push")
    assert isinstance(denied, AuthError)


def test_connection_failures_are_temporary_and_name_the_action() -> None:
    error = connection_error(httpx.ConnectError("connection refused"), action="reach r.io")
    assert isinstance(error, RegistryError) and error.temporary
    assert "reach r.io" in str(error)
    tls = connection_error(httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER]"), action="reach")
    assert tls.hint is not None and "--insecure" in tls.hint
