"""``Image -> new Image`` transforms, after go-containerregistry's pkg/v1/mutate.

Every function returns a new image that shares the old one's layers; nothing is changed in place
and config and manifest bytes are computed only when first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from shipml.errors import FormatError, NotFoundError
from shipml.oci.config import ContainerConfig, History, ImageConfig
from shipml.oci.descriptor import Descriptor, Index, Manifest
from shipml.oci.digest import Digest
from shipml.oci.image import BlobStream, Image, ImageIndex, Layer, find_layer
from shipml.oci.mediatypes import MediaType
from shipml.oci.platform import Platform

# The Docker gzip layer type names the same bytes as the OCI one (image-spec media-types.md
# "Compatibility Matrix"), so an OCI manifest over a Docker base just relabels it.
_OCI_EQUIVALENT = {MediaType.DOCKER_LAYER_GZIP.value: MediaType.OCI_LAYER_GZIP.value}


@dataclass(frozen=True, slots=True)
class Addition:
    """A layer to append and the history entry that describes it."""

    layer: Layer
    history: History = field(default_factory=History)


class _Relabelled:
    """A layer under another media type (same bytes)."""

    def __init__(self, layer: Layer, media_type: str) -> None:
        self._layer = layer
        self._media_type = media_type

    def digest(self) -> Digest:
        return self._layer.digest()

    def diff_id(self) -> Digest:
        return self._layer.diff_id()

    def size(self) -> int:
        return self._layer.size()

    def media_type(self) -> str:
        return self._media_type

    def compressed(self) -> BlobStream:
        return self._layer.compressed()

    def uncompressed(self) -> BlobStream:
        return self._layer.uncompressed()


def _oci_layer(layer: Layer) -> Layer:
    media_type = layer.media_type()
    if media_type in _OCI_EQUIVALENT:
        return _Relabelled(layer, _OCI_EQUIVALENT[media_type])
    return layer


class ComposedImage:
    """An OCI image made of a config and layers; its bytes are derived on first use."""

    def __init__(
        self,
        config: ImageConfig,
        layers: tuple[Layer, ...],
        *,
        annotations: Mapping[str, str] | None = None,
    ) -> None:
        if len(config.diff_ids) != len(layers):
            raise FormatError(
                f"a config with {len(config.diff_ids)} diff_ids cannot go with {len(layers)} layers"
            )
        self._config = config
        self._layers = tuple(_oci_layer(layer) for layer in layers)
        self._annotations = dict(annotations or {})
        self._raw_config: bytes | None = None
        self._raw_manifest: bytes | None = None

    def layers(self) -> tuple[Layer, ...]:
        """The layers, bottom first."""
        return self._layers

    def media_type(self) -> str:
        """Always an OCI manifest."""
        return MediaType.OCI_MANIFEST

    def config_file(self) -> ImageConfig:
        """The config this image was composed with."""
        return self._config

    def raw_config_file(self) -> bytes:
        """The config serialised once."""
        if self._raw_config is None:
            self._raw_config = self._config.to_bytes()
        return self._raw_config

    def manifest(self) -> Manifest:
        """The manifest over the config and the layers' descriptors."""
        return Manifest(
            config=Descriptor.of(self.raw_config_file(), MediaType.OCI_CONFIG),
            layers=tuple(
                Descriptor(layer.media_type(), layer.digest(), layer.size())
                for layer in self._layers
            ),
            annotations=self._annotations,
        )

    def raw_manifest(self) -> bytes:
        """The manifest serialised once."""
        if self._raw_manifest is None:
            self._raw_manifest = self.manifest().to_bytes()
        return self._raw_manifest

    def digest(self) -> Digest:
        """The image digest."""
        return Digest.of(self.raw_manifest())

    def descriptor(self) -> Descriptor:
        """The manifest descriptor, with the config's platform."""
        return Descriptor.of(
            self.raw_manifest(), MediaType.OCI_MANIFEST, platform=self._config.platform
        )

    def layer_by_digest(self, digest: Digest) -> Layer:
        """The layer with that compressed digest."""
        return find_layer(self._layers, digest)


def _annotations(image: Image) -> Mapping[str, str]:
    return image.manifest().annotations


def rfc3339(epoch: int) -> str:
    """A Unix time as the RFC 3339 UTC string configs carry, e.g. ``1970-01-01T00:00:00Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scratch(platform: Platform) -> Image:
    """An empty image for ``platform``: no layers, an empty config."""
    return ComposedImage(ImageConfig(platform), ())


def append_layers(image: Image, *additions: Layer | Addition) -> Image:
    """``image`` with layers added on top, each with a history entry and its diff_id."""
    items = [a if isinstance(a, Addition) else Addition(a) for a in additions]
    config = image.config_file()
    config = replace(
        config,
        diff_ids=config.diff_ids + tuple(a.layer.diff_id() for a in items),
        history=config.history + tuple(a.history for a in items),
    )
    layers = image.layers() + tuple(a.layer for a in items)
    return ComposedImage(config, layers, annotations=_annotations(image))


def with_config_file(image: Image, config: ImageConfig) -> Image:
    """``image`` with a whole new config; its diff_ids must still match the layers."""
    if config.diff_ids != image.config_file().diff_ids:
        raise FormatError("a new config must keep the image's rootfs diff_ids")
    return ComposedImage(config, image.layers(), annotations=_annotations(image))


def with_config(image: Image, config: ContainerConfig) -> Image:
    """``image`` with a new runtime config (entrypoint, env, user, labels, ...)."""
    return with_config_file(image, replace(image.config_file(), config=config))


def with_annotations(image: Image, annotations: Mapping[str, str]) -> Image:
    """``image`` with these manifest annotations merged over its own."""
    merged = {**_annotations(image), **annotations}
    return ComposedImage(image.config_file(), image.layers(), annotations=merged)


def canonical(image: Image, *, epoch: int = 0) -> Image:
    """``image`` with every timestamp set to ``epoch``, so equal inputs give equal digests."""
    stamp = rfc3339(epoch)
    config = image.config_file()
    config = replace(
        config,
        created=stamp,
        history=tuple(replace(h, created=stamp) for h in config.history),
    )
    return ComposedImage(config, image.layers(), annotations=_annotations(image))


class ComposedIndex:
    """An OCI image index over images (one per platform), derived on first use."""

    def __init__(self, images: tuple[Image, ...]) -> None:
        descriptors = tuple(image.descriptor() for image in images)
        self._images = {d.digest: image for d, image in zip(descriptors, images, strict=True)}
        self._index = Index(descriptors)
        self._raw = self._index.to_bytes()

    def media_type(self) -> str:
        """Always an OCI index."""
        return MediaType.OCI_INDEX

    def index_manifest(self) -> Index:
        """The index over the images' descriptors."""
        return self._index

    def raw_manifest(self) -> bytes:
        """The index bytes."""
        return self._raw

    def digest(self) -> Digest:
        """The index digest."""
        return Digest.of(self.raw_manifest())

    def image(self, digest: Digest) -> Image:
        """The image with that manifest digest."""
        try:
            return self._images[digest]
        except KeyError:
            raise NotFoundError(f"index {self.digest()} has no image {digest}") from None

    def image_index(self, digest: Digest) -> ImageIndex:
        """Composed indexes hold images only."""
        raise NotFoundError(f"index {self.digest()} has no nested index {digest}")


def index_of(*images: Image) -> ImageIndex:
    """A multi-platform index over ``images``; two images for one platform are refused."""
    platforms = [str(image.config_file().platform) for image in images]
    duplicates = sorted({p for p in platforms if platforms.count(p) > 1})
    if duplicates:
        raise FormatError(f"an index needs one image per platform; repeated: {duplicates}")
    return ComposedIndex(images)
