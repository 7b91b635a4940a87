"""The layer cache: a hit needs the same inputs, and an interrupted build leaves no entry."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shipml.build import cache as cache_module
from shipml.build.cache import LayerCache
from shipml.layers import Entry, bytes_entry
from shipml.oci.mediatypes import Compression

GZ = Compression.GZIP


def _entries(_scratch: Path) -> list[Entry]:
    return [bytes_entry("srv/a.txt", b"a" * 1000)]


def test_hit_only_for_same_inputs_compression_and_mtime(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    key = cache.key("inputs", compression=GZ, mtime=5)
    assert cache.lookup(key) is None
    built = cache.build(key, _entries, compression=GZ, mtime=5)
    hit = cache.lookup(key)
    assert hit is not None and hit.digest() == built.digest() and hit.diff_id() == built.diff_id()
    assert key != cache.key("inputs", compression=Compression.ZSTD, mtime=5)
    assert key != cache.key("inputs", compression=GZ, mtime=6)
    assert key != cache.key("other", compression=GZ, mtime=5)


def test_missing_blob_is_a_miss(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    key = cache.key("inputs", compression=GZ, mtime=0)
    built = cache.build(key, _entries, compression=GZ, mtime=0)
    Path(built.path).unlink()
    assert cache.lookup(key) is None


def test_interrupted_build_leaves_nothing(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    key = cache.key("inputs", compression=GZ, mtime=0)

    def failing(_scratch: Path) -> Iterator[Entry]:
        yield bytes_entry("srv/a.txt", b"a")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.build(key, failing, compression=GZ, mtime=0)
    assert cache.lookup(key) is None
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []


def test_prune_keeps_what_is_used_and_base_layers(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)

    def entries(text: bytes) -> Callable[[Path], list[Entry]]:
        return lambda _scratch: [bytes_entry("srv/f", text)]

    used = cache.build(cache.key("used", compression=GZ, mtime=0), entries(b"1"),
                       compression=GZ, mtime=0)
    gone = cache.build(cache.key("gone", compression=GZ, mtime=0), entries(b"2"),
                       compression=GZ, mtime=0)
    base = cache.build(cache.key("base", compression=GZ, mtime=0), entries(b"3"),
                       compression=GZ, mtime=0, name="base")
    (tmp_path / "scratch-killed" / "site").mkdir(parents=True)  # what a killed build leaves
    (tmp_path / "layers" / ".tmp-layer-killed").write_bytes(b"partial")
    assert cache.prune(lambda d: d == used.digest(), grace_s=3600).layers == 0  # all recent
    report = cache.prune(lambda d: d == used.digest(), grace_s=-1)
    assert report.layers == 1 and report.bytes == gone.size() + len(b"partial")
    assert cache.lookup(cache.key("used", compression=GZ, mtime=0)) is not None
    assert cache.lookup(cache.key("base", compression=GZ, mtime=0)) is not None
    assert cache.lookup(cache.key("gone", compression=GZ, mtime=0)) is None
    assert not (tmp_path / "scratch-killed").exists()
    assert base.path.exists() and not gone.path.exists()


def test_file_digests_read_a_big_unchanged_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    real = cache_module.sha256_file
    monkeypatch.setattr(cache_module, "sha256_file", lambda p: reads.append(p) or real(p))
    model = tmp_path / "model.bin"
    model.write_bytes(b"a" * (2 << 20))
    os.utime(model, (1_000_000_000, 1_000_000_000))  # settled long ago
    digests = LayerCache(tmp_path / "cache").file_digests()
    assert digests(model) == hashlib.sha256(model.read_bytes()).digest()
    assert digests(model) == hashlib.sha256(model.read_bytes()).digest()
    digests.save()
    again = LayerCache(tmp_path / "cache").file_digests()
    assert again(model) == hashlib.sha256(model.read_bytes()).digest()
    assert reads == [model]  # the memo answered the second and third time
    with model.open("r+b") as f:
        f.write(b"b")  # same size; ctime moves even if mtime is put back
    os.utime(model, (1_000_000_000, 1_000_000_000))
    assert again(model) == hashlib.sha256(model.read_bytes()).digest()
    assert len(reads) == 2
