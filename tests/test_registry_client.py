"""The endpoint client against a real docker-registry: uploads, manifests, tags, schemes."""

from __future__ import annotations

import pytest

from shipml.errors import RegistryError
from shipml.oci.digest import Digest
from shipml.oci.mediatypes import MediaType
from shipml.registry.client import RegistryClient, api_base
from shipml.testing.registry import LocalRegistry

pytestmark = pytest.mark.registry
DATA = bytes(range(256)) * 4096  # 1 MiB


def test_https_unless_local_or_named_insecure() -> None:
    assert api_base("ghcr.io") == "https://ghcr.io"
    assert api_base("docker.io") == "https://registry-1.docker.io"
    assert api_base("localhost:5000") == "http://localhost:5000"
    assert api_base("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert api_base("[::1]:5000") == "http://[::1]:5000"
    assert api_base("lab.internal:5000") == "https://lab.internal:5000"
    assert api_base("lab.internal:5000", insecure=["lab.internal:5000"]) == "http://lab.internal:5000"


def test_chunked_upload_with_status_then_pull_back(registry: LocalRegistry) -> None:
    digest = Digest.of(DATA)
    with RegistryClient(registry.host) as client:
        assert client.blob_size("client/blobs", digest) is None
        upload = client.start_upload("client/blobs")
        assert upload is not None and upload.offset == 0
        upload = client.upload_chunk(upload, DATA[:300_000], 300_000)
        assert upload.offset == 300_000
        assert client.upload_status(upload).offset == 300_000
        upload = client.upload_chunk(upload, iter([DATA[300_000:]]), len(DATA) - 300_000)
        client.finish_upload(upload, digest)
        assert client.blob_size("client/blobs", digest) == len(DATA)
        with client.open_blob("client/blobs", digest) as stream:
            assert stream.read(10) == DATA[:10]
            assert stream.read() == DATA[10:]
            assert stream.read(1) == b""


def test_a_wrong_digest_is_refused_by_the_registry(registry: LocalRegistry) -> None:
    with RegistryClient(registry.host) as client:
        upload = client.start_upload("client/bad")
        assert upload is not None
        with pytest.raises(RegistryError, match="DIGEST_INVALID"):
            client.finish_upload(upload, Digest.of(b"other"), b"content", 7)


def test_manifests_and_paginated_tags(registry: LocalRegistry) -> None:
    config = b"{}"
    manifest = (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'
        + str(Digest.of(config)).encode()
        + b'","size":2},"layers":[]}'
    )
    with RegistryClient(registry.host) as client:
        upload = client.start_upload("client/tags")
        assert upload is not None
        client.finish_upload(upload, Digest.of(config), config, len(config))
        for tag in ("a", "b", "c"):
            client.put_manifest("client/tags", tag, manifest, MediaType.OCI_MANIFEST)
        found = client.manifest_descriptor("client/tags", "b")
        assert found is not None and found.digest == Digest.of(manifest)
        assert client.manifest("client/tags", str(found.digest)) == (
            manifest,
            MediaType.OCI_MANIFEST,
        )
        assert client.manifest_descriptor("client/tags", "zzz") is None
        assert sorted(client.tags("client/tags")) == ["a", "b", "c"]
        with pytest.raises(RegistryError, match="MANIFEST_UNKNOWN"):
            client.manifest("client/tags", "zzz")


def test_an_unreachable_registry_is_a_temporary_error() -> None:
    with (
        RegistryClient("127.0.0.1:9", sleep=lambda s: None) as client,
        pytest.raises(RegistryError, match=r"reach registry 127\.0\.0\.1:9") as info,
    ):
        client.ping()
    assert info.value.temporary
