"""Images and indexes read from any blob source (a store, an archive, a registry), verified."""

from __future__ import annotations

from typing import Protocol, TypeVar

from shipml.errors import FormatError, NotFoundError
from shipml.layers.blob import DescribedLayer, VerifyingStream
from shipml.oci.config import ImageConfig
from shipml.oci.descriptor import Descriptor, Index, Manifest
from shipml.oci.digest import Digest
from shipml.oci.image import BlobStream, Image, ImageIndex, Layer, find_layer
from shipml.oci.mediatypes import is_index, is_manifest

# distribution spec: registries should accept manifests up to 4 MiB; configs are of that order.
MAX_DOCUMENT = 4 << 20


class BlobSource(Protocol):
    """Where blobs come from: an unverified stream per descriptor, NotFoundError when absent."""

    def open_blob(self, descriptor: Descriptor) -> BlobStream:
        """A raw stream of the blob ``descriptor`` names."""
        ...


def read_verified(source: BlobSource, descriptor: Descriptor, *, what: str) -> bytes:
    """The whole blob, refused unless it matches digest and size (and is a sane JSON size)."""
    if descriptor.size > MAX_DOCUMENT:
        raise FormatError(f"{what} {descriptor.digest} is {descriptor.size} bytes, over 4 MiB")
    with VerifyingStream(
        source.open_blob(descriptor), descriptor.digest, descriptor.size, what=what
    ) as stream:
        return stream.read()


class SourcedLayer(DescribedLayer):
    """A layer whose blob a BlobSource opens."""

    def __init__(self, source: BlobSource, descriptor: Descriptor, diff_id: Digest) -> None:
        super().__init__(descriptor, diff_id)
        self._source = source

    def open_raw(self) -> BlobStream:
        """The source's stream of the blob."""
        return self._source.open_blob(self.descriptor)


class SourcedImage:
    """An Image whose manifest, config and layers are blobs of a source; read lazily, verified."""

    def __init__(self, source: BlobSource, descriptor: Descriptor) -> None:
        if not is_manifest(descriptor.media_type):
            raise FormatError(f"{descriptor.digest} is a {descriptor.media_type}, not an image")
        self._source = source
        self._descriptor = descriptor
        self._raw_manifest: bytes | None = None
        self._raw_config: bytes | None = None

    def raw_manifest(self) -> bytes:
        """The verified manifest bytes."""
        if self._raw_manifest is None:
            self._raw_manifest = read_verified(self._source, self._descriptor, what="manifest")
        return self._raw_manifest

    def manifest(self) -> Manifest:
        """The parsed manifest."""
        return Manifest.from_bytes(self.raw_manifest(), f"manifest {self._descriptor.digest}")

    def media_type(self) -> str:
        """The manifest media type."""
        return self._descriptor.media_type

    def digest(self) -> Digest:
        """The manifest digest."""
        return self._descriptor.digest

    def descriptor(self) -> Descriptor:
        """The descriptor the image was opened by."""
        return self._descriptor

    def raw_config_file(self) -> bytes:
        """The verified config bytes."""
        if self._raw_config is None:
            config = self.manifest().config
            self._raw_config = read_verified(self._source, config, what="image config")
        return self._raw_config

    def config_file(self) -> ImageConfig:
        """The parsed config."""
        return ImageConfig.from_bytes(self.raw_config_file(), f"config of {self.digest()}")

    def layers(self) -> tuple[Layer, ...]:
        """The layers, paired with the config's diff_ids."""
        descriptors = self.manifest().layers
        diff_ids = self.config_file().diff_ids
        if len(descriptors) != len(diff_ids):
            raise FormatError(
                f"image {self.digest()} lists {len(descriptors)} layers "
                f"but its config {len(diff_ids)} diff_ids"
            )
        return tuple(
            SourcedLayer(self._source, d, diff_id)
            for d, diff_id in zip(descriptors, diff_ids, strict=True)
        )

    def layer_by_digest(self, digest: Digest) -> Layer:
        """The layer with that compressed digest."""
        return find_layer(self.layers(), digest)


_Child = TypeVar("_Child", "SourcedImage", "SourcedIndex")


class SourcedIndex:
    """An ImageIndex whose index and children are blobs of a source."""

    def __init__(self, source: BlobSource, descriptor: Descriptor) -> None:
        if not is_index(descriptor.media_type):
            raise FormatError(f"{descriptor.digest} is a {descriptor.media_type}, not an index")
        self._source = source
        self._descriptor = descriptor
        self._raw: bytes | None = None
        # Children opened once: walking an index (pull, then store) reads each child once.
        self._children: dict[Digest, SourcedImage | SourcedIndex] = {}

    def raw_manifest(self) -> bytes:
        """The verified index bytes."""
        if self._raw is None:
            self._raw = read_verified(self._source, self._descriptor, what="index")
        return self._raw

    def index_manifest(self) -> Index:
        """The parsed index."""
        return Index.from_bytes(self.raw_manifest(), f"index {self._descriptor.digest}")

    def media_type(self) -> str:
        """The index media type."""
        return self._descriptor.media_type

    def digest(self) -> Digest:
        """The index digest."""
        return self._descriptor.digest

    def _child(self, digest: Digest) -> Descriptor:
        for child in self.index_manifest().manifests:
            if child.digest == digest:
                return child
        raise NotFoundError(f"index {self.digest()} has no manifest {digest}")

    def image(self, digest: Digest) -> Image:
        """The child image with that digest."""
        return self._open(digest, SourcedImage)

    def image_index(self, digest: Digest) -> ImageIndex:
        """The child index with that digest."""
        return self._open(digest, SourcedIndex)

    def _open(self, digest: Digest, kind: type[_Child]) -> _Child:
        opened = self._children.get(digest)
        if not isinstance(opened, kind):
            opened = kind(self._source, self._child(digest))
            self._children[digest] = opened
        return opened
