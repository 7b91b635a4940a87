"""Image tarballs: oci-archive (an image layout in a tar) both ways, docker-archive for export.

Both are written atomically (temp file beside the target, fsync, rename) with sorted entries,
numeric owners and a fixed mtime, so the same image gives the same archive bytes.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from shipml.atomic import atomic_file
from shipml.errors import FormatError, NotFoundError, StoreError
from shipml.layers.blob import Closing
from shipml.layers.sourced import SourcedImage, SourcedIndex
from shipml.oci.descriptor import OCI_LAYOUT, REF_NAME, Descriptor, Index
from shipml.oci.digest import Digest
from shipml.oci.image import BlobStream, Image, ImageIndex, open_child
from shipml.oci.mediatypes import is_index
from shipml.oci.reference import Reference


class _TarOut:
    """Add members with fixed metadata to a tar being written."""

    def __init__(self, out: IO[bytes]) -> None:
        self._tar = tarfile.TarFile(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)
        self._names: set[str] = set()

    def dir(self, name: str) -> None:
        info = self._info(name)
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        self._tar.addfile(info)

    def file(self, name: str, size: int, body: BlobStream) -> None:
        if name in self._names:
            return  # the same blob shared by two images of an index goes in once
        self._names.add(name)
        info = self._info(name)
        info.size = size
        self._tar.addfile(info, body)

    def bytes(self, name: str, data: bytes) -> None:
        self.file(name, len(data), io.BytesIO(data))

    @staticmethod
    def _info(name: str) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.mtime, info.mode, info.uname, info.gname = 0, 0o644, "", ""
        return info

    def close(self) -> None:
        self._tar.close()


@contextmanager
def _writing(target: Path) -> Iterator[BinaryIO]:
    """``atomic_file(target)``, its OS errors (disk full, no permission) as StoreErrors."""
    try:
        with atomic_file(target) as out:
            yield out
    except OSError as e:
        raise StoreError(f"cannot write {target}: {e.strerror or e}") from e


def _tag_only(ref: Reference) -> Reference:
    if ref.tag is None:
        raise FormatError(f"{ref} has no tag to name the archive's image by")
    return ref.with_tag(ref.tag)


def _blob_name(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.encoded}"


Progress = Callable[[int], None]
"""Called with the number of layer bytes just written, for progress bars."""


class _Counted(Closing):
    """Report every chunk read through it."""

    def __init__(self, stream: BlobStream, progress: Progress | None) -> None:
        self._stream = stream
        self._progress = progress

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        if self._progress is not None:
            self._progress(len(data))
        return data

    def close(self) -> None:
        self._stream.close()


def write_oci_archive(
    image: Image | ImageIndex,
    target: Path,
    *,
    ref: Reference | None = None,
    progress: Progress | None = None,
) -> Descriptor:
    """Write ``image`` as an oci-archive at ``target``; returns the index.json entry.

    ``progress`` hears of the compressed layer bytes as they go in.
    """
    with _writing(target) as out:
        tar = _TarOut(out)
        tar.bytes("oci-layout", OCI_LAYOUT)
        for name in ("blobs", "blobs/sha256"):
            tar.dir(name)
        descriptor = _add_tree(tar, image, progress)
        if ref is not None:
            descriptor = descriptor.with_annotations(**{REF_NAME: str(_tag_only(ref))})
        tar.bytes("index.json", Index((descriptor,)).to_bytes())
        tar.close()
    return descriptor


def _add_tree(tar: _TarOut, image: Image | ImageIndex, progress: Progress | None) -> Descriptor:
    if isinstance(image, Image):
        manifest = image.manifest()
        tar.bytes(_blob_name(manifest.config.digest), image.raw_config_file())
        for layer in image.layers():
            with layer.compressed() as stream:
                tar.file(_blob_name(layer.digest()), layer.size(), _Counted(stream, progress))
        descriptor = image.descriptor()
    else:
        for child in image.index_manifest().manifests:
            _add_tree(tar, open_child(image, child), progress)
        descriptor = Descriptor.of(image.raw_manifest(), image.media_type())
    tar.bytes(_blob_name(descriptor.digest), image.raw_manifest())
    return descriptor


def write_docker_archive(
    image: Image,
    target: Path,
    *,
    ref: Reference | None = None,
    progress: Progress | None = None,
) -> None:
    """Write ``image`` in the ``docker save`` format that ``docker load``/``podman load`` read.

    Layers go in uncompressed as ``<diff_id>/layer.tar`` (the diff_ids then hash them
    directly); each is first inflated to a temp file beside ``target`` to learn its size.
    ``progress`` hears of the uncompressed layer bytes as they are inflated.
    """
    config_name = f"{image.manifest().config.digest.encoded}.json"
    layer_names = [f"{layer.diff_id().encoded}/layer.tar" for layer in image.layers()]
    manifest = [
        {
            "Config": config_name,
            "RepoTags": [ref.with_tag(ref.tag).familiar()] if ref and ref.tag else [],
            "Layers": layer_names,
        }
    ]
    with _writing(target) as out:
        tar = _TarOut(out)
        tar.bytes(config_name, image.raw_config_file())
        for layer, name in zip(image.layers(), layer_names, strict=True):
            tar.dir(name.split("/")[0])
            with tempfile.TemporaryFile(dir=target.parent) as tmp:
                with layer.uncompressed() as stream:
                    shutil.copyfileobj(_Counted(stream, progress), tmp, 1 << 20)
                size = tmp.tell()
                tmp.seek(0)
                tar.file(name, size, tmp)
        tar.bytes("manifest.json", json.dumps(manifest).encode())
        tar.close()


class OciArchive(Closing):
    """A readable oci-archive: its index.json entries as images, blobs read from the tar."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, mode="r:")  # noqa: SIM115 (closed by close())
        except (OSError, tarfile.TarError) as e:
            raise FormatError(f"{path} is not a readable tar archive: {e}") from e
        self._members = {m.name.removeprefix("./"): m for m in self._tar if m.isfile()}
        try:
            with self._member("index.json") as f:
                self.index = Index.from_bytes(f.read(), f"{path}: index.json")
        except NotFoundError as e:
            self._tar.close()
            raise FormatError(f"{path} is not an oci-archive (no index.json)") from e

    def _member(self, name: str) -> BlobStream:
        member = self._members.get(name)
        stream = self._tar.extractfile(member) if member is not None else None
        if stream is None:
            raise NotFoundError(f"{self.path} has no {name}")
        return stream

    def open_blob(self, descriptor: Descriptor) -> BlobStream:
        """A raw stream of a blob of the archive (the BlobSource protocol)."""
        return self._member(_blob_name(descriptor.digest))

    def open(self, name: str | None = None) -> Image | ImageIndex:
        """The entry whose ref name is ``name``, or the only entry when ``name`` is None."""
        entries = self.index.manifests
        if name is not None:
            entries = tuple(d for d in entries if d.annotations.get(REF_NAME) == name)
        if len(entries) != 1:
            names = [d.annotations.get(REF_NAME, str(d.digest)) for d in self.index.manifests]
            raise NotFoundError(
                f"{self.path}: {len(entries)} images match {name or 'no name'}",
                hint=f"the archive holds {names}",
            )
        if is_index(entries[0].media_type):
            return SourcedIndex(self, entries[0])
        return SourcedImage(self, entries[0])

    def close(self) -> None:
        """Close the tar file."""
        self._tar.close()
