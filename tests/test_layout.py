import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from shipml.atomic import WRITEBACK_STEP
from shipml.errors import DigestMismatchError, FormatError, NotFoundError, StoreError
from shipml.layout import Store, default_root
from shipml.oci.descriptor import REF_NAME, Descriptor
from shipml.oci.digest import Digest
from shipml.oci.reference import Reference
from shipml.testing.images import flip_byte, random_image, random_index
from shipml.testing.validate import InvalidImageError, validate_image, validate_index


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "store")


def _blob_files(store: Store) -> list[Path]:
    return sorted((store.root / "blobs" / "sha256").iterdir())


def test_new_store_is_an_oci_layout(store: Store) -> None:
    assert json.loads((store.root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((store.root / "index.json").read_text())
    assert index == {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [],
    }


def test_default_root_follows_shipml_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHIPML_HOME", str(tmp_path))
    assert default_root() == tmp_path / "store"
    monkeypatch.delenv("SHIPML_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert default_root() == tmp_path / "c" / "shipml" / "store"


def test_write_then_read_back_by_ref_digest_and_prefix(store: Store, tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    descriptor = store.write(image, ref=Reference.parse("demo:1"))
    assert descriptor.annotations[REF_NAME] == "docker.io/library/demo:1"
    for text in ("demo:1", "docker.io/library/demo:1", str(image.digest()), image.digest().short):
        read = store.image(text)
        assert read.digest() == image.digest()
        validate_image(read)
    assert store.image("demo:1").raw_manifest() == image.raw_manifest()


def test_skopeo_reads_the_store(store: Store, tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    store.write(image, ref=Reference.parse("demo:1"))
    out = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{store.root}:docker.io/library/demo:1"],
        check=True,
        capture_output=True,
    ).stdout
    assert Digest.of(out) == image.digest()


def test_retag_moves_the_ref_and_untagged_images_stay_by_digest(
    store: Store, tmp_path: Path
) -> None:
    first, second = random_image(tmp_path, seed=1), random_image(tmp_path, seed=2)
    store.write(first, ref=Reference.parse("demo:latest"))
    store.write(second, ref=Reference.parse("demo"))
    assert store.image("demo").digest() == second.digest()
    assert [r.descriptor.digest for r in store.refs()] == [second.digest()]
    store.write(first)
    assert {r.ref for r in store.refs()} == {Reference.parse("demo"), None}


def test_index_round_trip(store: Store, tmp_path: Path) -> None:
    index = random_index(tmp_path)
    store.write(index, ref=Reference.parse("multi:1"))
    read = store.image_index("multi:1")
    assert read.digest() == index.digest()
    validate_index(read)
    with pytest.raises(FormatError, match="multi-platform"):
        store.image("multi:1")


def test_unknown_refs_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no image nothing:1"):
        store.image("nothing:1")
    with pytest.raises(NotFoundError, match="no image sha256:"):
        store.image(str(Digest.of(b"x")))


def test_corrupt_blobs_are_refused(store: Store, tmp_path: Path) -> None:
    image = random_image(tmp_path)
    store.write(image, ref=Reference.parse("demo:1"))
    layer = image.layers()[0]
    blob = store.blob_path(layer.digest())
    flip_byte(blob)
    stored = store.image("demo:1").layers()[0]
    with pytest.raises(DigestMismatchError, match="refusing"), stored.compressed() as stream:
        stream.read()
    with pytest.raises(InvalidImageError, match="layer 0: unreadable"):
        validate_image(store.image("demo:1"))
    config = store.blob_path(image.manifest().config.digest)
    config.write_bytes(config.read_bytes().replace(b"amd64", b"arm64"))
    with pytest.raises(DigestMismatchError, match="image config"):
        store.image("demo:1").config_file()


def test_write_blob_refuses_wrong_content(store: Store) -> None:
    claimed = Descriptor.of(b"good", "application/octet-stream")
    with pytest.raises(DigestMismatchError, match="nothing was written"):
        store.write_blob(io.BytesIO(b"evil"), claimed)
    assert not store.has_blob(claimed.digest)
    assert _blob_files(store) == []


def test_a_large_blob_written_with_early_writeback_is_intact(store: Store) -> None:
    data = os.urandom(WRITEBACK_STEP * 2 + 12345)  # two writeback steps and a tail
    descriptor = Descriptor.of(data, "application/octet-stream")
    store.write_blob(io.BytesIO(data), descriptor)
    assert store.blob_path(descriptor.digest).read_bytes() == data


def test_rm_then_gc_frees_only_unreferenced_blobs(store: Store, tmp_path: Path) -> None:
    kept, dropped = random_image(tmp_path, seed=1), random_image(tmp_path, seed=2)
    store.write(kept, ref=Reference.parse("keep:1"))
    store.write(dropped, ref=Reference.parse("drop:1"))
    store.write(kept, ref=Reference.parse("alias:1"))
    assert [d.digest for d in store.remove("drop:1")] == [dropped.digest()]
    assert [d.digest for d in store.remove("alias:1")] == [kept.digest()]
    report = store.gc()
    assert report.blobs == 4  # manifest, config, 2 layers
    assert report.bytes > 0
    validate_image(store.image("keep:1"))
    assert store.gc().blobs == 0
    names = {p.name for p in _blob_files(store)}
    assert dropped.digest().encoded not in names


def test_rm_by_digest_drops_every_ref_to_it(store: Store, tmp_path: Path) -> None:
    image = random_image(tmp_path)
    store.write(image, ref=Reference.parse("a:1"))
    store.write(image, ref=Reference.parse("b:1"))
    assert len(store.remove(str(image.digest()))) == 2
    assert store.refs() == []


def test_concurrent_writers_all_land_in_the_index(store: Store, tmp_path: Path) -> None:
    images = [random_image(tmp_path, seed=i, layers=1) for i in range(6)]
    threads = [
        threading.Thread(target=store.write, args=(img,), kwargs={"ref": Reference.parse(f"t:{i}")})
        for i, img in enumerate(images)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {str(r.ref) for r in store.refs()} == {f"docker.io/library/t:{i}" for i in range(6)}


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not an image store"):
        Store(tmp_path).refs()


_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from shipml.layout import Store
    from shipml.mutate import append_layers, scratch
    from shipml.oci.platform import Platform
    from shipml.oci.reference import Reference
    from shipml.testing.images import random_layer

    class Slow:
        def __init__(self, inner):
            self._inner = inner
        def read(self, size=-1):
            time.sleep(0.02)
            return self._inner.read(65536)
        def close(self):
            self._inner.close()
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.close()

    class SlowLayer:  # not a FileLayer, so the store streams it in
        def __init__(self, inner):
            self._inner = inner
        def __getattr__(self, name):
            return getattr(self._inner, name)
        def compressed(self):
            return Slow(self._inner.compressed())

    layer = SlowLayer(random_layer(Path(sys.argv[2]), files=1, size=8 << 20))
    image = append_layers(scratch(Platform.parse("linux/amd64")), layer)
    Store.open(Path(sys.argv[1])).write(image, ref=Reference.parse("killed:1"))
    """
)


def _partial_blob(store: Store) -> bool:
    """Whether a temp blob has started to fill (tolerating files renamed meanwhile)."""
    for path in _blob_files(store):
        try:
            if path.name.startswith(".tmp-") and path.stat().st_size:
                return True
        except FileNotFoundError:
            continue
    return False


def test_a_write_killed_midway_leaves_the_store_consistent(store: Store, tmp_path: Path) -> None:
    good = random_image(tmp_path / "good")
    store.write(good, ref=Reference.parse("good:1"))
    before = set(_blob_files(store))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(store.root), str(tmp_path / "src")]
    )
    try:
        deadline = time.monotonic() + 60
        while not _partial_blob(store):
            assert proc.poll() is None, "the writer finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    reopened = Store.open(store.root)
    assert [str(r.ref) for r in reopened.refs()] == ["docker.io/library/good:1"]
    validate_image(reopened.image("good:1"))
    for path in set(_blob_files(store)) - before:
        assert path.name.startswith(".tmp"), f"a partial blob {path.name} is visible"
    reopened.gc()
    assert set(_blob_files(store)) == before


def test_a_copied_store_still_reads(store: Store, tmp_path: Path) -> None:
    image = random_image(tmp_path)
    store.write(image, ref=Reference.parse("demo:1"))
    copy = shutil.copytree(store.root, tmp_path / "copy")
    validate_image(Store.open(copy).image("demo:1"))


def test_file_layers_are_linked_in_not_copied(store: Store, tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    store.write(image, ref=Reference.parse("demo:1"))
    layer = image.layers()[0]
    assert store.blob_path(layer.digest()).stat().st_ino == layer.path.stat().st_ino  # type: ignore[attr-defined]
    validate_image(store.image("demo:1"))


def test_a_corrupt_layer_copied_from_another_store_is_refused(
    store: Store, tmp_path: Path
) -> None:
    source = Store.open(tmp_path / "source")
    image = random_image(tmp_path / "src")
    source.write(image, ref=Reference.parse("demo:1"))
    flip_byte(source.blob_path(image.layers()[0].digest()))
    with pytest.raises(DigestMismatchError, match="refusing"):
        store.write(source.image("demo:1"), ref=Reference.parse("demo:1"))
    assert store.refs() == []
    assert not store.has_blob(image.layers()[0].digest())
    assert not any(p.name.startswith(".tmp") for p in _blob_files(store))


def test_a_corrupt_file_layer_is_not_linked_in(store: Store, tmp_path: Path) -> None:
    image = random_image(tmp_path / "src")
    path = image.layers()[0].path  # type: ignore[attr-defined]
    flip_byte(path)
    with pytest.raises(DigestMismatchError, match="nothing was written"):
        store.write(image, ref=Reference.parse("demo:1"))
    assert store.refs() == []
    assert not store.has_blob(image.layers()[0].digest())
    assert not any(p.name.startswith(".tmp") for p in _blob_files(store))


def test_layouts_written_by_skopeo_resolve_bare_tags(tmp_path: Path) -> None:
    src = Store.open(tmp_path / "src-store")
    image = random_image(tmp_path / "src")
    src.write(image, ref=Reference.parse("demo:1"))
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            f"oci:{src.root}:docker.io/library/demo:1",
            f"oci:{tmp_path / 'skopeo'}:bookworm",
        ],
        check=True,
        capture_output=True,
    )
    copied = Store(tmp_path / "skopeo").image("bookworm")
    validate_image(copied)
    assert copied.config_file().diff_ids == image.config_file().diff_ids
