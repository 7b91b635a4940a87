"""The local image store: an OCI image-layout directory (image-layout.md) with atomic writes.

    <root>/oci-layout        {"imageLayoutVersion": "1.0.0"}
    <root>/index.json        one descriptor per stored ref (org.opencontainers.image.ref.name)
    <root>/blobs/sha256/...  content-addressed blobs

Blobs are written to a temp file beside their final name, fsynced, verified, then renamed;
index.json is replaced the same way under an exclusive lock. Writers hold a shared lock that
``gc`` takes exclusively, so gc never sweeps the blobs of an image being written. Every read is
verified against its digest (see ``shipml.layers.sourced``).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shipml.atomic import WRITEBACK_STEP, atomic_file, fsync_dir, start_writeback
from shipml.errors import DigestMismatchError, FormatError, NotFoundError, StoreError
from shipml.layers.blob import FileLayer, VerifyingStream
from shipml.layers.sourced import SourcedImage, SourcedIndex, read_verified
from shipml.oci.descriptor import OCI_LAYOUT, REF_NAME, Descriptor, Index, Manifest
from shipml.oci.digest import Digest, Hasher
from shipml.oci.image import BlobStream, Image, ImageIndex, open_child
from shipml.oci.mediatypes import is_index, is_manifest
from shipml.oci.reference import Reference
from shipml.paths import shipml_home

_CHUNK = 1 << 20
_HEX_PREFIX = re.compile(r"^[0-9a-f]{4,64}$")


def default_root() -> Path:
    """``store`` under ``shipml_home()``: $SHIPML_HOME, else the user's cache directory."""
    return shipml_home() / "store"


@dataclass(frozen=True, slots=True)
class StoredRef:
    """One index.json entry: the ref it is stored under (None when stored by digest only)."""

    ref: Reference | None
    descriptor: Descriptor


@dataclass(frozen=True, slots=True)
class GcReport:
    """What ``gc`` removed."""

    blobs: int
    bytes: int


class Store:
    """An OCI image-layout directory; create or open it with ``Store.open``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def open(cls, root: Path | None = None) -> Store:
        """Open the store at ``root`` (default: ``default_root()``), creating an empty one."""
        store = cls(root or default_root())
        try:
            (store.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            if not (store.root / "oci-layout").exists():
                with atomic_file(store.root / "oci-layout") as f:
                    f.write(OCI_LAYOUT)
            with store._index_lock():
                if not store._index_path.exists():
                    store._write_index(Index(()))
        except OSError as e:
            raise StoreError(f"cannot create the image store at {store.root}: {e}") from e
        return store

    # -- blobs ---------------------------------------------------------------------------------

    def blob_path(self, digest: Digest) -> Path:
        """Where the blob with ``digest`` lives (whether or not it is there)."""
        return self.root / "blobs" / digest.algorithm / digest.encoded

    def has_blob(self, digest: Digest) -> bool:
        """Whether the blob is present (its content is verified on read, not here)."""
        return self.blob_path(digest).is_file()

    def open_blob(self, descriptor: Descriptor) -> BlobStream:
        """A raw stream of a blob (the BlobSource protocol); NotFoundError when absent."""
        try:
            return self.blob_path(descriptor.digest).open("rb")
        except FileNotFoundError as e:
            raise NotFoundError(
                f"blob {descriptor.digest} is missing from the store at {self.root}",
                hint="the store is damaged: remove the image and build or pull it again",
            ) from e

    def write_blob(self, stream: BlobStream, descriptor: Descriptor) -> None:
        """Copy ``stream`` in as the blob ``descriptor`` names; refused unless it matches.

        Until an index.json entry reaches it, a ``gc`` may remove it again (never mid-write).
        """
        target = self.blob_path(descriptor.digest)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._gc_lock(fcntl.LOCK_SH), atomic_file(target) as out:
            _copy_verified(stream, out, descriptor)

    def _link_blob(self, source: Path, descriptor: Descriptor) -> bool:
        """Hard-link ``source`` in as the blob, verified; False where links cannot reach.

        A multi-GB model layer from the build cache then costs one read, not a second copy.
        """
        target = self.blob_path(descriptor.digest)
        tmp = target.with_name(f".tmp-link-{secrets.token_hex(8)}")
        try:
            os.link(source, tmp)
        except OSError:
            return False
        try:
            with tmp.open("rb") as f:
                _copy_verified(f, None, descriptor)
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)
        return True

    def _write_bytes(self, data: bytes, descriptor: Descriptor) -> None:
        self.write_blob(io.BytesIO(data), descriptor)

    # -- images --------------------------------------------------------------------------------

    def write(self, image: Image | ImageIndex, *, ref: Reference | None = None) -> Descriptor:
        """Store ``image`` (all its blobs, then the index.json entry) and return its descriptor."""
        with self._gc_lock(fcntl.LOCK_SH):
            descriptor = self._write_tree(image)
            if ref is not None:
                descriptor = descriptor.with_annotations(**{REF_NAME: str(_tag_only(ref))})
            self._add_to_index(descriptor)
        return descriptor

    def _write_tree(self, image: Image | ImageIndex) -> Descriptor:
        if isinstance(image, Image):
            for layer in image.layers():
                if self.has_blob(layer.digest()):
                    continue
                d = Descriptor(layer.media_type(), layer.digest(), layer.size())
                if isinstance(layer, FileLayer) and self._link_blob(layer.path, d):
                    continue
                with layer.compressed() as stream:
                    self.write_blob(stream, d)
            manifest = image.manifest()
            self._write_bytes(image.raw_config_file(), manifest.config)
            descriptor = image.descriptor()
            self._write_bytes(image.raw_manifest(), descriptor)
            return descriptor
        for child in image.index_manifest().manifests:
            self._write_tree(open_child(image, child))
        raw = image.raw_manifest()
        descriptor = Descriptor.of(raw, image.media_type())
        self._write_bytes(raw, descriptor)
        return descriptor

    def refs(self) -> list[StoredRef]:
        """Every index.json entry, in file order."""
        return [StoredRef(_ref_of(d), d) for d in self._read_index().manifests]

    def resolve(self, text: str) -> Descriptor:
        """The descriptor ``text`` names: a stored ref name, a ref, a digest or a unique prefix."""
        entries = self._read_index().manifests
        if text.startswith(("sha256:", "sha512:")) or _HEX_PREFIX.match(text):
            hits = {
                d.digest: d
                for d in entries
                if str(d.digest).startswith(text) or d.digest.encoded.startswith(text)
            }
            if len(hits) > 1:
                raise NotFoundError(f"{text!r} matches {len(hits)} images; give more digits")
            if hits:
                return next(iter(hits.values())).with_annotations(**{REF_NAME: None})
            if text.startswith(("sha256:", "sha512:")):
                raise NotFoundError(f"no image {text} in the store at {self.root}")
        # Layouts written by other tools often name entries by a bare tag ("latest").
        named = [d for d in entries if d.annotations.get(REF_NAME) == text]
        if named:
            return named[-1]
        ref = Reference.parse(text)
        for d in entries:
            if ref.digest is not None and d.digest == ref.digest:
                return d
            if ref.digest is None and d.annotations.get(REF_NAME) == str(ref):
                return d
        raise NotFoundError(
            f"no image {ref.familiar()} in the store at {self.root}",
            hint="`shipml images` lists what is there",
        )

    def image(self, text: str) -> Image:
        """The single-platform image ``text`` names (see ``resolve``)."""
        descriptor = self.resolve(text)
        if not is_manifest(descriptor.media_type):
            raise FormatError(f"{text} is a multi-platform index; pick one of its platforms")
        return SourcedImage(self, descriptor)

    def image_index(self, text: str) -> ImageIndex:
        """The image index ``text`` names (see ``resolve``)."""
        descriptor = self.resolve(text)
        if not is_index(descriptor.media_type):
            raise FormatError(f"{text} is a single-platform image, not an index")
        return SourcedIndex(self, descriptor)

    def open_any(self, text: str) -> Image | ImageIndex:
        """The image or index ``text`` names."""
        return self.load(self.resolve(text))

    def load(self, descriptor: Descriptor) -> Image | ImageIndex:
        """The image or index a descriptor of this store points at (read lazily, verified)."""
        if is_index(descriptor.media_type):
            return SourcedIndex(self, descriptor)
        return SourcedImage(self, descriptor)

    def remove(self, text: str) -> list[Descriptor]:
        """Drop the index.json entries ``text`` names; blobs stay until ``gc``."""
        with self._index_lock():
            target = self.resolve(text)
            by_digest = target.annotations.get(REF_NAME) is None
            entries = self._read_index().manifests
            gone = [d for d in entries if (d.digest == target.digest if by_digest else d == target)]
            self._write_index(Index(tuple(d for d in entries if d not in gone)))
        return gone

    def gc(self) -> GcReport:
        """Delete every blob (and leftover temp file) no index.json entry reaches."""
        with self._gc_lock(fcntl.LOCK_EX):
            keep: set[Path] = set()
            for entry in self._read_index().manifests:
                self._mark(entry, keep)
            count = size = 0
            for path in sorted((self.root / "blobs").glob("*/*")):
                if path not in keep and path.is_file():
                    size += path.stat().st_size
                    path.unlink()
                    count += 1
            fsync_dir(self.root / "blobs" / "sha256")
        return GcReport(count, size)

    def _mark(self, descriptor: Descriptor, keep: set[Path]) -> None:
        keep.add(self.blob_path(descriptor.digest))
        if not self.has_blob(descriptor.digest):
            return
        if is_manifest(descriptor.media_type):
            manifest = Manifest.from_bytes(read_verified(self, descriptor, what="manifest"))
            keep.update(self.blob_path(d.digest) for d in (manifest.config, *manifest.layers))
        elif is_index(descriptor.media_type):
            index = Index.from_bytes(read_verified(self, descriptor, what="index"))
            for child in index.manifests:
                self._mark(child, keep)

    # -- index.json ----------------------------------------------------------------------------

    @property
    def _index_path(self) -> Path:
        return self.root / "index.json"

    def _read_index(self) -> Index:
        try:
            data = self._index_path.read_bytes()
        except FileNotFoundError as e:
            raise StoreError(
                f"{self.root} is not an image store (no index.json)",
                hint="point --store or SHIPML_HOME at a shipml store",
            ) from e
        return Index.from_bytes(data, str(self._index_path))

    def _write_index(self, index: Index) -> None:
        with atomic_file(self._index_path) as f:
            f.write(json.dumps(index.to_json(), indent=2).encode() + b"\n")

    def _add_to_index(self, descriptor: Descriptor) -> None:
        name = descriptor.annotations.get(REF_NAME)
        with self._index_lock():
            kept = [
                d
                for d in self._read_index().manifests
                if (d.annotations.get(REF_NAME) != name if name else d != descriptor)
            ]
            self._write_index(Index((*kept, descriptor)))

    @contextmanager
    def _index_lock(self) -> Iterator[None]:
        with _flock(self.root / ".index.lock", fcntl.LOCK_EX):
            yield

    @contextmanager
    def _gc_lock(self, mode: int) -> Iterator[None]:
        with _flock(self.root / ".gc.lock", mode):
            yield


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    """Hold a lock on ``path``; OS errors of the work inside become StoreErrors here."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StoreError(f"cannot lock the image store at {path.parent}: {e}") from e
    try:
        fcntl.flock(fd, mode)
        yield
    except OSError as e:
        raise StoreError(
            f"the image store at {path.parent} failed: {e}",
            hint="check free space and permissions; `shipml gc` clears leftovers",
        ) from e
    finally:
        os.close(fd)


def _copy_verified(stream: BlobStream, out: BinaryIO | None, descriptor: Descriptor) -> None:
    """Copy ``stream`` to ``out`` (or just read it); DigestMismatchError unless it matches.

    A layer's ``compressed()`` stream already verifies this very digest and size as it is read
    to its end: hashing it a second time here would only double the CPU cost.
    """
    if isinstance(stream, VerifyingStream) and stream.checks(descriptor):
        hasher = None
    else:
        hasher = Hasher(descriptor.digest.algorithm)
    written = started = 0
    while chunk := stream.read(_CHUNK):
        if hasher is not None:
            hasher.update(chunk)
        if out is not None:
            out.write(chunk)
            written += len(chunk)
            if written - started >= WRITEBACK_STEP:
                start_writeback(out, started, written)
                started = written
    if hasher is None:
        return
    if hasher.digest() != descriptor.digest or hasher.size != descriptor.size:
        raise DigestMismatchError(
            f"blob {descriptor.digest} ({descriptor.size} bytes) arrived as "
            f"{hasher.digest()} ({hasher.size} bytes); nothing was written"
        )


def _tag_only(ref: Reference) -> Reference:
    if ref.tag is None:
        raise FormatError(f"{ref} has no tag to store it under")
    return Reference(ref.registry, ref.repository, ref.tag)


def _ref_of(descriptor: Descriptor) -> Reference | None:
    name = descriptor.annotations.get(REF_NAME)
    return Reference.parse(name) if name else None
