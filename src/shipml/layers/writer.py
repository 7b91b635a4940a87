"""Write a layer in one streaming pass: tar, diff_id hash, compressor, digest hash, temp file."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import zstandard

from shipml.atomic import atomic_file_in
from shipml.layers.blob import FileLayer
from shipml.layers.pgzip import ParallelGzipWriter, Sink
from shipml.layers.tar import Entry, source_date_epoch, write_tar
from shipml.oci.descriptor import Descriptor
from shipml.oci.digest import Hasher
from shipml.oci.mediatypes import Compression, oci_layer_type

# Fixed levels, so the same entries compress to the same bytes: gzip's and zstd's defaults.
DEFAULT_LEVELS = {Compression.GZIP: 6, Compression.ZSTD: 3, Compression.NONE: 0}


class _HashingWriter:
    """Hash and count what passes to ``sink``; ``tell`` is the byte count (tarfile asks for it)."""

    def __init__(self, sink: Sink) -> None:
        self.hasher = Hasher()
        self._sink = sink

    def write(self, data: bytes, /) -> int:
        self.hasher.update(data)
        self._sink.write(data)
        return len(data)

    def tell(self) -> int:
        return self.hasher.size

    def flush(self) -> None:
        """Nothing is buffered here."""


def write_layer(
    entries: Iterable[Entry],
    out_dir: Path,
    *,
    compression: Compression = Compression.GZIP,
    level: int | None = None,
    mtime: int | None = None,
) -> FileLayer:
    """Write ``entries`` as a layer blob named ``out_dir/sha256-<hex>`` and return it.

    Reproducible: the same entries, compression, level and ``mtime`` (default
    SOURCE_DATE_EPOCH, else 0) give the same bytes, whatever the number of CPUs: gzip is
    deflated in parallel in fixed blocks (``pgzip``), zstd in its multi-worker mode. Nothing is
    held whole in memory; the blob appears under its final name only once complete
    (``atomic.atomic_file_in``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    level = DEFAULT_LEVELS[compression] if level is None else level
    mtime = source_date_epoch() if mtime is None else mtime
    with atomic_file_in(out_dir, prefix="layer") as pending:
        blob = _HashingWriter(pending.file)
        tar = _compress(entries, blob, compression, level, mtime)
        digest = blob.hasher.digest()
        pending.name = name = f"{digest.algorithm}-{digest.encoded}"
    descriptor = Descriptor(oci_layer_type(compression), digest, blob.hasher.size)
    return FileLayer(out_dir / name, descriptor, tar.digest())


def _compress(
    entries: Iterable[Entry], blob: _HashingWriter, compression: Compression, level: int, mtime: int
) -> Hasher:
    """Stream the tar of ``entries`` through ``compression`` into ``blob``; the tar's hasher."""
    threads = os.cpu_count() or 1
    if compression is Compression.GZIP:
        with ParallelGzipWriter(blob, level=level, threads=threads) as z:
            return _tar_into(entries, z, mtime)
    if compression is Compression.ZSTD:
        # zstd's output is the same for any number of workers >= 1 (but not for 0).
        compressor = zstandard.ZstdCompressor(level=level, threads=threads)
        with compressor.stream_writer(blob, closefd=False) as z:  # type: ignore[arg-type]
            return _tar_into(entries, z, mtime)
    return _tar_into(entries, blob, mtime)


def _tar_into(entries: Iterable[Entry], sink: Sink, mtime: int) -> Hasher:
    tar = _HashingWriter(sink)
    write_tar(entries, tar, mtime=mtime)  # type: ignore[arg-type]
    return tar.hasher
