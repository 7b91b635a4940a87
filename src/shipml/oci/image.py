"""Read-only protocols of layers, images and indexes, after go-containerregistry's pkg/v1.

API in brief (everything is a value; transforms return new objects, see ``shipml.mutate``):

- ``Digest.parse("sha256:…")``, ``Digest.of(data)``, ``Hasher`` for streams (``oci.digest``).
- ``MediaType`` / ``Compression`` enums and predicates (``oci.mediatypes``).
- ``Descriptor``, ``Manifest``, ``Index`` with ``to_bytes()`` / ``from_bytes()``; the image digest
  is ``Digest.of(manifest.to_bytes())`` (``oci.descriptor``).
- ``ImageConfig`` (+ ``ContainerConfig``, ``History``) with ``to_bytes()`` / ``from_bytes()``
  (``oci.config``); ``Platform.parse("linux/arm64/v8")`` (``oci.platform``).
- ``Layer``: ``digest()`` (of the compressed blob), ``diff_id()`` (of the uncompressed tar),
  ``size()`` (compressed bytes), ``media_type()``, ``compressed()`` / ``uncompressed()`` open a
  fresh ``BlobStream`` each call (use ``with``; implementations verify digests at end of stream).
- ``Image``: ``layers()``, ``config_file()`` / ``raw_config_file()``, ``manifest()`` /
  ``raw_manifest()``, ``digest()``, ``descriptor()`` and ``layer_by_digest()``.
- ``ImageIndex``: ``index_manifest()`` / ``raw_manifest()``, ``digest()``, ``image(d)``,
  ``image_index(d)``; ``image_for_platform(index, platform)`` picks one.

Producers (outside ``oci``, which does no I/O):

- ``shipml.layers``: ``write_layer(entries, out_dir, compression=, level=, mtime=)`` streams
  ``tree_entries(src, "/dest", owner=Owner(uid, gid))`` / ``file_entry`` / ``bytes_entry`` into a
  content-addressed ``FileLayer`` (tar, diff_id, compressor, digest in one pass).
- ``shipml.mutate``: ``scratch(platform)``, ``append_layers(img, Addition(layer, History(...)))``,
  ``with_config``, ``with_config_file``, ``with_annotations``, ``canonical(img, epoch=)``,
  ``index_of(*images)``; all lazy, none in place.
- ``shipml.layout.Store``: ``Store.open(root)`` (``Store(root)`` reads any layout without
  creating one), ``write(img_or_index, ref=)``, ``image(text)``, ``open_any(text)``, ``refs()``,
  ``remove(text)``, ``gc()``.
- ``shipml.archive``: ``write_oci_archive``, ``write_docker_archive``, ``OciArchive(path).open()``
  (keep the archive open while its images are read).
- ``shipml.testing``: ``random_image`` / ``random_index`` and ``validate_image`` /
  ``validate_index``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from shipml.errors import NotFoundError
from shipml.oci.config import ImageConfig
from shipml.oci.descriptor import Descriptor, Index, Manifest
from shipml.oci.digest import Digest
from shipml.oci.mediatypes import is_index
from shipml.oci.platform import Platform


class BlobStream(Protocol):
    """A readable, closable byte stream that works as a context manager."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> object: ...


@runtime_checkable
class Layer(Protocol):
    """One filesystem changeset of an image, as a compressed blob and its uncompressed tar."""

    def digest(self) -> Digest:
        """The digest of the compressed blob (what manifests and registries name)."""
        ...

    def diff_id(self) -> Digest:
        """The digest of the uncompressed tar (what the config's rootfs lists)."""
        ...

    def size(self) -> int:
        """The size of the compressed blob in bytes."""
        ...

    def media_type(self) -> str:
        """The layer media type, which names its compression."""
        ...

    def compressed(self) -> BlobStream:
        """A fresh stream of the compressed blob."""
        ...

    def uncompressed(self) -> BlobStream:
        """A fresh stream of the uncompressed tar."""
        ...


@runtime_checkable
class Image(Protocol):
    """A single-platform image: a manifest, its config and its layers, bottom first."""

    def layers(self) -> tuple[Layer, ...]:
        """The layers in manifest order, bottom first."""
        ...

    def media_type(self) -> str:
        """The manifest media type."""
        ...

    def raw_config_file(self) -> bytes:
        """The config blob bytes exactly as the manifest's config descriptor hashes them."""
        ...

    def config_file(self) -> ImageConfig:
        """The parsed config."""
        ...

    def raw_manifest(self) -> bytes:
        """The manifest bytes exactly as the image digest hashes them."""
        ...

    def manifest(self) -> Manifest:
        """The parsed manifest."""
        ...

    def digest(self) -> Digest:
        """The digest of ``raw_manifest()``: the image's identity."""
        ...

    def descriptor(self) -> Descriptor:
        """A descriptor of the manifest (media type, digest, size, platform)."""
        ...

    def layer_by_digest(self, digest: Digest) -> Layer:
        """The layer with that compressed digest; NotFoundError when absent."""
        ...


@runtime_checkable
class ImageIndex(Protocol):
    """A multi-platform image: an index of image manifests (or of nested indexes)."""

    def media_type(self) -> str:
        """The index media type."""
        ...

    def raw_manifest(self) -> bytes:
        """The index bytes exactly as its digest hashes them."""
        ...

    def index_manifest(self) -> Index:
        """The parsed index."""
        ...

    def digest(self) -> Digest:
        """The digest of ``raw_manifest()``."""
        ...

    def image(self, digest: Digest) -> Image:
        """The child image with that manifest digest; NotFoundError when absent."""
        ...

    def image_index(self, digest: Digest) -> ImageIndex:
        """The child index with that digest; NotFoundError when absent."""
        ...


def find_layer(layers: Iterable[Layer], digest: Digest) -> Layer:
    """The layer of ``layers`` whose compressed digest is ``digest``; NotFoundError otherwise."""
    for layer in layers:
        if layer.digest() == digest:
            return layer
    raise NotFoundError(f"the image has no layer {digest}")


def open_child(index: ImageIndex, child: Descriptor) -> Image | ImageIndex:
    """The image or nested index that ``child``, one of ``index``'s manifests, names."""
    if is_index(child.media_type):
        return index.image_index(child.digest)
    return index.image(child.digest)


def image_for_platform(index: ImageIndex, platform: Platform) -> Image:
    """The image of ``index`` (searched depth-first) that serves ``platform``."""
    for child in index.index_manifest().manifests:
        if is_index(child.media_type):
            try:
                return image_for_platform(index.image_index(child.digest), platform)
            except NotFoundError:
                continue
        if child.platform is not None and child.platform.satisfies(platform):
            return index.image(child.digest)
    offered = sorted(str(c.platform) for c in index.index_manifest().manifests if c.platform)
    raise NotFoundError(
        f"index {index.digest()} has no image for {platform}", hint=f"it offers {offered}"
    )


def compressed_size(image: Image | ImageIndex) -> int:
    """Bytes a registry or store holds for ``image``: manifests, configs and layer blobs."""
    if isinstance(image, Image):
        manifest = image.manifest()
        return (
            len(image.raw_manifest()) + manifest.config.size + sum(d.size for d in manifest.layers)
        )
    children = image.index_manifest().manifests
    return len(image.raw_manifest()) + sum(compressed_size(open_child(image, c)) for c in children)
