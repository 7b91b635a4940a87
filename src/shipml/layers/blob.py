"""Layers backed by a compressed blob file, read through streams that verify their digest."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import TracebackType
from typing import IO, Self, cast

import zstandard

from shipml.errors import DigestMismatchError, NotFoundError
from shipml.oci.descriptor import Descriptor
from shipml.oci.digest import Digest
from shipml.oci.image import BlobStream
from shipml.oci.mediatypes import Compression, layer_compression


class Closing:
    """Context-manager behaviour for anything with ``close()``."""

    def close(self) -> None:
        """Release what the object holds."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class VerifyingStream(Closing):
    """Pass ``inner`` through, hashing it; at end of stream a wrong digest or size raises.

    Like go-containerregistry's verify.ReadCloser: content is only trusted once fully read.
    """

    def __init__(self, inner: BlobStream, digest: Digest, size: int | None, *, what: str) -> None:
        self._inner = inner
        self._digest = digest
        self._size = size
        self._hasher = digest.hasher()
        self._what = what
        self._checked = False

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes (all when negative); DigestMismatchError at a bad end."""
        data = self._inner.read(size)
        self._hasher.update(data)
        if self._size is not None and self._hasher.size > self._size:
            self._fail(f"is larger than the {self._size} bytes its descriptor declares")
        # A reader that stops at the declared size (tarfile does) never sees EOF: check there.
        at_size = self._size is not None and self._hasher.size == self._size
        if (not data and size != 0) or size < 0 or at_size:
            self._check()
        return data

    def checks(self, descriptor: Descriptor) -> bool:
        """Whether this stream refuses all but ``descriptor``'s content (its digest and size)."""
        return self._digest == descriptor.digest and self._size == descriptor.size

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        if self._size is not None and self._hasher.size != self._size:
            self._fail(f"has {self._hasher.size} bytes, its descriptor declares {self._size}")
        actual = self._hasher.digest()
        if actual != self._digest:
            self._fail(f"hashes to {actual}")

    def _fail(self, problem: str) -> None:
        raise DigestMismatchError(
            f"{self._what} {self._digest} {problem}; refusing it",
            hint="the content is corrupt or was tampered with: fetch or rebuild it",
        )

    def close(self) -> None:
        """Close the inner stream."""
        self._inner.close()


def decompressing(stream: BlobStream, compression: Compression) -> BlobStream:
    """A stream of the uncompressed bytes of ``stream``; closing it closes ``stream``."""
    if compression is Compression.GZIP:
        return _ClosesSource(gzip.GzipFile(fileobj=cast(IO[bytes], stream), mode="rb"), stream)
    if compression is Compression.ZSTD:
        reader = zstandard.ZstdDecompressor().stream_reader(
            cast(IO[bytes], stream), closefd=True, read_across_frames=True
        )
        return _ClosesSource(reader, stream)
    return stream


class _ClosesSource(Closing):
    """A reader that closes its source too (GzipFile leaves a passed fileobj open)."""

    def __init__(self, reader: BlobStream, source: BlobStream) -> None:
        self._reader = reader
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        return self._reader.read(size)

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._source.close()


class DescribedLayer:
    """A Layer known by its descriptor and diff_id; subclasses say how to open the raw blob.

    Every read verifies: the blob against digest and size, the tar against the diff_id.
    """

    def __init__(self, descriptor: Descriptor, diff_id: Digest) -> None:
        self.descriptor = descriptor
        self._diff_id = diff_id

    def open_raw(self) -> BlobStream:
        """An unverified stream of the compressed blob."""
        raise NotImplementedError

    def digest(self) -> Digest:
        """The digest of the compressed blob."""
        return self.descriptor.digest

    def diff_id(self) -> Digest:
        """The digest of the uncompressed tar."""
        return self._diff_id

    def size(self) -> int:
        """The compressed size in bytes."""
        return self.descriptor.size

    def media_type(self) -> str:
        """The layer media type."""
        return self.descriptor.media_type

    def compressed(self) -> BlobStream:
        """A stream of the blob, verified against its digest and size."""
        d = self.descriptor
        return VerifyingStream(self.open_raw(), d.digest, d.size, what="layer blob")

    def uncompressed(self) -> BlobStream:
        """A stream of the tar, verified against the diff_id (and the blob against its digest)."""
        tar = decompressing(self.compressed(), layer_compression(self.descriptor.media_type))
        return VerifyingStream(tar, self._diff_id, None, what="layer diff_id")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.descriptor.digest})"


class FileLayer(DescribedLayer):
    """A layer whose compressed blob is the file at ``path``."""

    def __init__(self, path: Path, descriptor: Descriptor, diff_id: Digest) -> None:
        super().__init__(descriptor, diff_id)
        self.path = path

    def open_raw(self) -> BlobStream:
        """The blob file, opened for reading."""
        try:
            return self.path.open("rb")
        except FileNotFoundError as e:
            raise NotFoundError(f"layer blob {self.digest()} is missing at {self.path}") from e
