"""Media types of OCI image-spec v1.1 (media-types.md) and the Docker v2.2 ones still in use."""

from __future__ import annotations

from enum import StrEnum

from shipml.errors import FormatError


class MediaType(StrEnum):
    """A media type shipml understands; other strings pass through descriptors untouched."""

    OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    OCI_INDEX = "application/vnd.oci.image.index.v1+json"
    OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
    OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
    OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
    OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
    OCI_EMPTY = "application/vnd.oci.empty.v1+json"
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
    DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
    DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


class Compression(StrEnum):
    """How a layer blob is compressed."""

    GZIP = "gzip"
    ZSTD = "zstd"
    NONE = "none"


MANIFESTS = frozenset({MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST})
INDEXES = frozenset({MediaType.OCI_INDEX, MediaType.DOCKER_MANIFEST_LIST})
CONFIGS = frozenset({MediaType.OCI_CONFIG, MediaType.DOCKER_CONFIG})
GZIP_LAYERS = frozenset(
    {MediaType.OCI_LAYER_GZIP, MediaType.DOCKER_LAYER_GZIP, MediaType.DOCKER_FOREIGN_LAYER}
)
LAYERS = GZIP_LAYERS | {MediaType.OCI_LAYER, MediaType.OCI_LAYER_ZSTD}


def is_manifest(media_type: str) -> bool:
    """Whether ``media_type`` names a single-platform image manifest."""
    return media_type in MANIFESTS


def is_index(media_type: str) -> bool:
    """Whether ``media_type`` names an image index (or Docker manifest list)."""
    return media_type in INDEXES


def is_layer(media_type: str) -> bool:
    """Whether ``media_type`` names a layer shipml can unpack."""
    return media_type in LAYERS


def layer_compression(media_type: str) -> Compression:
    """The compression of a layer media type; FormatError for anything else."""
    if media_type in GZIP_LAYERS:
        return Compression.GZIP
    if media_type == MediaType.OCI_LAYER_ZSTD:
        return Compression.ZSTD
    if media_type == MediaType.OCI_LAYER:
        return Compression.NONE
    raise FormatError(
        f"not a layer media type: {media_type!r}", hint=f"expected one of {sorted(LAYERS)}"
    )


def oci_layer_type(compression: Compression) -> MediaType:
    """The OCI layer media type for a compression."""
    return {
        Compression.GZIP: MediaType.OCI_LAYER_GZIP,
        Compression.ZSTD: MediaType.OCI_LAYER_ZSTD,
        Compression.NONE: MediaType.OCI_LAYER,
    }[compression]
