"""The auth flow: challenge parsing, scopes, basic auth on a real registry, bearer tokens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from shipml.errors import AuthError
from shipml.oci.digest import Digest
from shipml.registry.auth import parse_challenge, request_scopes
from shipml.registry.client import RegistryClient
from shipml.registry.credentials import Credential
from shipml.registry.push import push
from shipml.testing.bearer import token_service
from shipml.testing.faults import fault_proxy
from shipml.testing.images import random_image
from shipml.testing.registry import LocalRegistry

USER = Credential("alice", "wonderland")


def test_parse_challenge() -> None:
    bearer = parse_challenge(
        'Bearer realm="https://auth.io/token",service="registry.io",'
        'scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"'
    )
    assert bearer is not None and bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "https://auth.io/token",
        "service": "registry.io",
        "scope": "repository:a/b:pull,push repository:c:pull",
        "error": "insufficient_scope",
    }
    basic = parse_challenge('Basic realm="basic-realm"')
    assert basic is not None and (basic.scheme, basic.params) == ("basic", {"realm": "basic-realm"})
    assert parse_challenge("") is None


@pytest.mark.parametrize(
    ("method", "url", "scopes"),
    [
        ("GET", "/v2/", ()),
        ("HEAD", "/v2/team/app/blobs/sha256:ab", ("repository:team/app:pull",)),
        ("GET", "/v2/app/manifests/v1", ("repository:app:pull",)),
        ("PUT", "/v2/app/manifests/v1", ("repository:app:pull,push",)),
        ("PATCH", "/v2/a/b/c/blobs/uploads/x", ("repository:a/b/c:pull,push",)),
        (
            "POST",
            "/v2/dst/blobs/uploads/?mount=sha256:ab&from=src/repo",
            ("repository:dst:pull,push", "repository:src/repo:pull"),
        ),
    ],
)
def test_scopes_follow_the_endpoint(method: str, url: str, scopes: tuple[str, ...]) -> None:
    request = httpx.Request(method, "http://r.io" + url)
    assert request_scopes(request) == scopes


@pytest.mark.registry
def test_basic_auth_challenges_once_then_authorises_up_front(
    auth_registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=40)
    before = len(auth_registry.requests())
    with RegistryClient(auth_registry.host, credential=USER) as client:
        push(client, "auth/app", image, tag="v1", jobs=1)
    seen = auth_registry.requests()[before:]
    assert [r.status for r in seen].count(401) == 1  # the first request only
    assert seen[-1].method == "PUT" and seen[-1].status == 201


@pytest.mark.registry
def test_a_wrong_password_fails_at_once_with_a_clear_message(
    auth_registry: LocalRegistry,
) -> None:
    before = len(auth_registry.requests())
    with (
        RegistryClient(auth_registry.host, credential=Credential("alice", "nope")) as client,
        pytest.raises(AuthError) as info,
    ):
        client.ping()
    assert "refused user 'alice'" in str(info.value)
    assert "shipml login" in str(info.value)
    assert "nope" not in str(info.value)
    assert len(auth_registry.requests()[before:]) == 2  # the challenge and one try, no retries


@pytest.mark.registry
def test_anonymous_access_to_a_private_registry_says_to_log_in(
    auth_registry: LocalRegistry,
) -> None:
    with RegistryClient(auth_registry.host) as client, pytest.raises(AuthError) as info:
        client.blob_size("auth/app", Digest.of(b"anything"))
    assert "anonymous" in str(info.value)
    assert f"shipml login {auth_registry.host}" in str(info.value)


@pytest.mark.registry
def test_bearer_tokens_scoped_per_repository_and_cached(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=41)
    with (
        token_service({"alice": "wonderland"}) as tokens,
        fault_proxy(registry.host, gate=tokens.gate) as gated,
        RegistryClient(gated.host, credential=USER) as client,
    ):
        push(client, "bearer/app", image, tag="v1", jobs=1)
        push(client, "bearer/copy", image, tag="v1", mount_from=["bearer/app"], jobs=1)
        raw, _ = client.manifest("bearer/copy", "v1")
    assert raw == image.raw_manifest()
    scopes = [scope for _, _, scope in tokens.requests]
    # One token per scope set, reused across requests: pull, then pull+push, then the mount's.
    assert scopes == [
        ("repository:bearer/app:pull",),
        ("repository:bearer/app:pull,push",),
        ("repository:bearer/copy:pull",),
        ("repository:bearer/copy:pull,push", "repository:bearer/app:pull"),
    ]
    assert {user for user, _, _ in tokens.requests} == {"alice"}


@pytest.mark.registry
def test_bearer_anonymous_pull_identity_tokens_and_refused_logins(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=42)
    with (
        token_service({"alice": "wonderland"}) as tokens,
        fault_proxy(registry.host, gate=tokens.gate) as gated,
    ):
        tokens.refresh_tokens["refresh-123"] = "alice"
        with RegistryClient(gated.host, credential=Credential(identity_token="refresh-123")) as c:
            push(c, "bearer/idtoken", image, tag="v1", jobs=1)
        with RegistryClient(gated.host) as anonymous:
            assert anonymous.manifest("bearer/idtoken", "v1")[0] == image.raw_manifest()
            with pytest.raises(AuthError):
                push(anonymous, "bearer/anon", image, tag="v1", jobs=1)
        with (
            RegistryClient(gated.host, credential=Credential("alice", "bad")) as wrong,
            pytest.raises(AuthError, match="refused user 'alice'"),
        ):
            wrong.manifest("bearer/idtoken", "v1")
