"""The layer cache: a hit needs the same inputs, and an interrupted build leaves no entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
