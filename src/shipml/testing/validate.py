"""Check every digest, size, diff_id and media type of an image, as ggcr's pkg/v1/validate does."""

from __future__ import annotations

import tarfile
import zlib

from shipml.errors import DigestMismatchError
from shipml.oci.config import ImageConfig
from shipml.oci.descriptor import Manifest
from shipml.oci.digest import Digest, Hasher
from shipml.oci.image import BlobStream, Image, ImageIndex, Layer
from shipml.oci.mediatypes import CONFIGS, is_index, is_layer, is_manifest


class InvalidImageError(AssertionError):
    """An image breaks the specs; the message lists every problem found."""


def validate_image(image: Image) -> None:
    """Raise InvalidImageError listing every inconsistency of ``image`` (reads every blob)."""
    problems: list[str] = []
    raw = image.raw_manifest()
    if Digest.of(raw) != image.digest():
        problems.append(f"digest {image.digest()} is not the manifest's sha256 {Digest.of(raw)}")
    manifest = Manifest.from_bytes(raw)
    if image.manifest() != manifest:
        problems.append("manifest() differs from raw_manifest()")
    if not is_manifest(image.media_type()) or manifest.media_type != image.media_type():
        problems.append(f"media type {image.media_type()!r} is not the manifest's")
    descriptor = image.descriptor()
    if (descriptor.digest, descriptor.size) != (image.digest(), len(raw)):
        problems.append("descriptor() does not describe raw_manifest()")
    raw_config = image.raw_config_file()
    if Digest.of(raw_config) != manifest.config.digest or len(raw_config) != manifest.config.size:
        problems.append("config blob does not match the manifest's config descriptor")
    if manifest.config.media_type not in CONFIGS:
        problems.append(f"config media type {manifest.config.media_type!r}")
    config = ImageConfig.from_bytes(raw_config)
    if image.config_file() != config:
        problems.append("config_file() differs from raw_config_file()")
    layers = image.layers()
    if not len(layers) == len(manifest.layers) == len(config.diff_ids):
        problems.append(
            f"{len(layers)} layers, {len(manifest.layers)} in the manifest, "
            f"{len(config.diff_ids)} diff_ids in the config"
        )
    built = [h for h in config.history if not h.empty_layer]
    if config.history and len(built) != len(config.diff_ids):
        problems.append(f"{len(built)} non-empty history entries for {len(config.diff_ids)} layers")
    for i, (layer, d, diff_id) in enumerate(
        zip(layers, manifest.layers, config.diff_ids, strict=False)
    ):
        problems += [f"layer {i}: {p}" for p in _layer_problems(layer, d.digest, d.size, diff_id)]
        if layer.media_type() != d.media_type or not is_layer(d.media_type):
            problems.append(f"layer {i}: media type {layer.media_type()!r} vs {d.media_type!r}")
    if problems:
        raise InvalidImageError(f"image {image.digest()}:\n  " + "\n  ".join(problems))


def _layer_problems(layer: Layer, digest: Digest, size: int, diff_id: Digest) -> list[str]:
    problems = []
    if (layer.digest(), layer.size(), layer.diff_id()) != (digest, size, diff_id):
        problems.append("digest(), size() or diff_id() disagree with manifest and config")
    try:
        with layer.compressed() as stream:
            compressed = _hash(stream)
        if (compressed.digest(), compressed.size) != (digest, size):
            problems.append(f"blob hashes to {compressed.digest()} ({compressed.size} bytes)")
        with layer.uncompressed() as stream:
            tar = _TarHasher(stream)
            with tarfile.open(fileobj=tar, mode="r|") as archive:  # type: ignore[call-overload]
                for _ in archive:
                    pass
            while tar.read(1 << 20):
                pass
        if tar.hasher.digest() != diff_id:
            problems.append(f"tar hashes to {tar.hasher.digest()}, config says {diff_id}")
    # The layer's own verification, a broken compressed stream, or a tar that is not one.
    except (DigestMismatchError, tarfile.TarError, OSError, EOFError, zlib.error) as e:
        problems.append(f"unreadable: {e}")
    return problems


def _hash(stream: BlobStream) -> Hasher:
    hasher = Hasher()
    while chunk := stream.read(1 << 20):
        hasher.update(chunk)
    return hasher


class _TarHasher:
    """Hash what tarfile reads."""

    def __init__(self, stream: BlobStream) -> None:
        self._stream = stream
        self.hasher = Hasher()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.hasher.update(data)
        return data


def validate_index(index: ImageIndex) -> None:
    """Validate ``index`` and every image in it (recursively); each child needs a platform."""
    raw = index.raw_manifest()
    if Digest.of(raw) != index.digest() or not is_index(index.media_type()):
        raise InvalidImageError(f"index {index.digest()}: digest or media type is wrong")
    for child in index.index_manifest().manifests:
        if is_index(child.media_type):
            validate_index(index.image_index(child.digest))
            continue
        image = index.image(child.digest)
        if child.platform is None or child.platform != image.config_file().platform:
            raise InvalidImageError(f"index {index.digest()}: child {child.digest} platform")
        if (child.digest, child.size) != (image.digest(), len(image.raw_manifest())):
            raise InvalidImageError(f"index {index.digest()}: child {child.digest} size")
        validate_image(image)
