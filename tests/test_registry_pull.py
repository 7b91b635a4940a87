"""Pulling from a real docker-registry: platform choice, verification, and the layer cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipml.errors import DigestMismatchError, NotFoundError
from shipml.layout import Store
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.registry.client import RegistryClient
from shipml.registry.progress import Outcome
from shipml.registry.pull import host_platform, pull
from shipml.registry.push import push
from shipml.testing.faults import Fault, fault_proxy
from shipml.testing.images import random_image, random_index
from shipml.testing.registry import LocalRegistry

pytestmark = pytest.mark.registry


def test_pull_picks_the_platform_from_an_index(registry: LocalRegistry, tmp_path: Path) -> None:
    index = random_index(tmp_path / "blobs", seed=20, platforms=("linux/amd64", "linux/arm64"))
    ref = Reference.parse(f"{registry.host}/pull/multi:v1")
    with RegistryClient(registry.host) as client:
        push(client, ref.repository, index, tag="v1")
        store = Store.open(tmp_path / "store")
        arm = pull(client, ref, store, platform=Platform.parse("linux/arm64"))
        everything = pull(client, ref, Store.open(tmp_path / "all"), all_platforms=True)
        with pytest.raises(NotFoundError, match="no image for linux/s390x"):
            pull(client, ref, store, platform=Platform.parse("linux/s390x"))
    children = {str(d.platform): d.digest for d in index.index_manifest().manifests}
    assert arm.descriptor.digest == children["linux/arm64"]
    assert everything.descriptor.digest == index.digest()
    assert host_platform().os == "linux"


def test_pulling_every_platform_reads_each_manifest_and_config_once(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    index = random_index(tmp_path / "blobs", seed=23, platforms=("linux/amd64", "linux/arm64"))
    ref = Reference.parse(f"{registry.host}/pull/once:v1")
    with RegistryClient(registry.host) as client:
        push(client, ref.repository, index, tag="v1")
        before = len(registry.requests())
        pull(client, ref, Store.open(tmp_path / "store"), all_platforms=True)
    gets = [r.path for r in registry.requests()[before:] if r.method == "GET"]
    children = index.index_manifest().manifests
    documents = [str(c.digest) for c in children]
    documents += [str(index.image(c.digest).manifest().config.digest) for c in children]
    for digest in documents:
        assert sum(path.endswith(digest) for path in gets) == 1, (digest, gets)


def test_layers_already_in_the_store_are_not_downloaded(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=21)
    ref = Reference.parse(f"{registry.host}/pull/cached:v1")
    store = Store.open(tmp_path / "store")
    with RegistryClient(registry.host) as client:
        push(client, ref.repository, image, tag="v1")
        first = pull(client, ref, store)
        before = len(registry.requests())
        again = pull(client, ref, store)
    assert set(first.outcomes.values()) == {Outcome.PULLED}
    assert set(again.outcomes.values()) == {Outcome.CACHED}
    blob_gets = [r for r in registry.requests()[before:] if "/blobs/" in r.path]
    assert [r.path.rsplit("/", 1)[1] for r in blob_gets] == [str(image.manifest().config.digest)]


def test_a_blob_corrupted_on_the_wire_is_caught_and_nothing_is_stored(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=22, layers=1, size=200_000)
    layer = image.layers()[0]
    ref_text = "pull/corrupt:v1"
    with RegistryClient(registry.host) as client:
        push(client, "pull/corrupt", image, tag="v1")
    flip = Fault("GET", f"/blobs/{layer.digest()}", "flip", after=100_000)
    store = Store.open(tmp_path / "store")
    with (
        fault_proxy(registry.host, flip) as proxy,
        RegistryClient(proxy.host) as client,
        pytest.raises(DigestMismatchError, match=str(layer.digest())),
    ):
        pull(client, Reference.parse(f"{proxy.host}/{ref_text}"), store)
    assert proxy.fired and proxy.fired[0][0] == "flip"
    assert not store.has_blob(layer.digest())
    assert store.refs() == []
    assert [p.name for p in (tmp_path / "store" / "blobs" / "sha256").iterdir()] == []


def test_a_pinned_digest_that_the_registry_does_not_honour_is_refused(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    image = random_image(tmp_path / "blobs", seed=23)
    with RegistryClient(registry.host) as client:
        push(client, "pull/pinned", image, tag="v1")
        pinned = Reference.parse(f"{registry.host}/pull/pinned@{image.digest()}")
        got = pull(client, pinned, Store.open(tmp_path / "store"))
    assert got.descriptor.digest == image.digest()
    flip = Fault("GET", "/manifests/", "flip", after=40)
    with fault_proxy(registry.host, flip) as proxy, RegistryClient(proxy.host) as client:
        moved = Reference.parse(f"{proxy.host}/pull/pinned@{image.digest()}")
        with pytest.raises(DigestMismatchError, match="hashing to"):
            pull(client, moved, Store.open(tmp_path / "other"))
