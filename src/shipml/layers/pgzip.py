"""Parallel gzip in the manner of pigz: the same bytes whatever the number of threads.

The input is cut into fixed 1 MiB blocks; each is deflated on its own thread, primed with the
32 KiB before it (``zdict``) and ended with a sync flush, and the raw deflate pieces are joined
under one gzip header and trailer (RFC 1952). The cut points depend only on the input, so the
output is a function of the input and the level; zlib releases the GIL while it deflates.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

BLOCK = 1 << 20
_WINDOW = 32 * 1024
# RFC 1952 2.3: magic, CM=deflate, no flags, MTIME=0, XFL=0, OS=255 (unknown).
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


class Sink(Protocol):
    """Where compressed bytes go: anything with ``write``."""

    def write(self, data: bytes, /) -> int: ...


def _deflate(block: bytes, primer: bytes, level: int, last: bool) -> bytes:
    if primer:
        z = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=primer)
    else:
        z = zlib.compressobj(level, zlib.DEFLATED, -15)
    return z.compress(block) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzipWriter:
    """A write-only gzip stream over ``sink``; ``close()`` ends it but leaves ``sink`` open."""

    def __init__(self, sink: Sink, *, level: int = 6, threads: int | None = None) -> None:
        self._sink = sink
        self._level = level
        self._threads = threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="shipml-gzip")
        self._pending: deque[Future[bytes]] = deque()
        self._buffer = bytearray()
        self._primer = b""
        self._crc = 0
        self._size = 0
        self._closed = False
        sink.write(_HEADER)

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        """Buffer ``data``; full blocks go to the threads."""
        self._buffer += data
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        while len(self._buffer) > BLOCK:  # keep one byte back: the last block must finish
            block = bytes(self._buffer[:BLOCK])
            del self._buffer[:BLOCK]
            self._submit(block, last=False)
        return len(data)

    def _submit(self, block: bytes, *, last: bool) -> None:
        self._pending.append(self._pool.submit(_deflate, block, self._primer, self._level, last))
        self._primer = block[-_WINDOW:]
        # Bound memory: at most two blocks per thread in flight.
        while len(self._pending) > 2 * self._threads:
            self._sink.write(self._pending.popleft().result())

    def flush(self) -> None:
        """Nothing to do before close: blocks are cut at fixed sizes."""

    def close(self) -> None:
        """Deflate the rest, then write the CRC-32 and size trailer."""
        if self._closed:
            return
        self._closed = True
        try:
            self._submit(bytes(self._buffer), last=True)
            while self._pending:
                self._sink.write(self._pending.popleft().result())
            self._sink.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        finally:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> ParallelGzipWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self._closed = True
            self._pool.shutdown(cancel_futures=True)
