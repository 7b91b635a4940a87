"""Descriptors, image manifests and image indexes (descriptor.md, manifest.md, image-index.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shipml.errors import FormatError
from shipml.oci import _json
from shipml.oci.digest import Digest
from shipml.oci.mediatypes import MediaType, is_index, is_manifest
from shipml.oci.platform import Platform

# annotations.md: the key image-layout uses to name the manifests in index.json.
REF_NAME = "org.opencontainers.image.ref.name"
# image-layout.md: the oci-layout file at the root of every image layout (and oci-archive).
OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A typed pointer to content: its media type, digest and size, plus optional metadata."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None

    @classmethod
    def of(cls, data: bytes, media_type: str, **extra: Any) -> Descriptor:
        """The sha256 descriptor of ``data``."""
        return cls(media_type=media_type, digest=Digest.of(data), size=len(data), **extra)

    def with_annotations(self, **changes: str | None) -> Descriptor:
        """A copy with annotations set (a value of None removes the key)."""
        merged = {**self.annotations, **changes}
        return replace(self, annotations={k: v for k, v in merged.items() if v is not None})

    def to_json(self) -> dict[str, Any]:
        """The JSON object of descriptor.md, in go-containerregistry's field order."""
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "size": self.size,
            "digest": str(self.digest),
        }
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str = "descriptor") -> Descriptor:
        """Read a descriptor object; FormatError names ``where`` and the field."""
        if not isinstance(obj, dict):
            raise FormatError(f"{where} must be a JSON object")
        size: int = _json.field(obj, "size", int, where)
        if size < 0:
            raise FormatError(f"{where}: size must not be negative")
        platform = _json.field(obj, "platform", dict, where, default=None)
        return cls(
            media_type=_json.field(obj, "mediaType", str, where),
            digest=Digest.parse(_json.field(obj, "digest", str, where)),
            size=size,
            annotations=_json.str_map(obj, "annotations", where),
            platform=Platform.from_json(platform, f"{where}.platform") if platform else None,
            urls=_json.str_list(obj, "urls", where),
            artifact_type=_json.field(obj, "artifactType", str, where, default=None),
        )


def _descriptors(obj: dict[str, Any], key: str, where: str) -> tuple[Descriptor, ...]:
    items: list[Any] = _json.field(obj, key, list, where, default=[])
    return tuple(Descriptor.from_json(d, f"{where}.{key}[{i}]") for i, d in enumerate(items))


def _document(
    data: bytes, where: str, *, default: str, accepts: Callable[[str], bool], kind: str
) -> tuple[dict[str, Any], str]:
    """The JSON object of a manifest or index and its media type, both checked."""
    obj = _json.loads(data, where)
    if _json.field(obj, "schemaVersion", int, where) != 2:
        raise FormatError(f"{where}: schemaVersion must be 2")
    media_type: str = _json.field(obj, "mediaType", str, where, default=default)
    if not accepts(media_type):
        raise FormatError(f"{where}: mediaType {media_type!r} is not an {kind}")
    return obj, media_type


@dataclass(frozen=True, slots=True)
class Manifest:
    """A single-platform image: one config blob and the ordered layers, bottom first."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = MediaType.OCI_MANIFEST
    annotations: Mapping[str, str] = field(default_factory=dict)
    subject: Descriptor | None = None
    artifact_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of manifest.md."""
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        out["config"] = self.config.to_json()
        out["layers"] = [d.to_json() for d in self.layers]
        if self.subject is not None:
            out["subject"] = self.subject.to_json()
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        """The canonical bytes whose sha256 is the image digest."""
        return _json.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "manifest") -> Manifest:
        """Parse manifest bytes; FormatError for anything but an OCI or Docker v2 manifest."""
        obj, media_type = _document(
            data, where, default=MediaType.OCI_MANIFEST, accepts=is_manifest, kind="image manifest"
        )
        subject = _json.field(obj, "subject", dict, where, default=None)
        return cls(
            config=Descriptor.from_json(_json.field(obj, "config", dict, where), f"{where}.config"),
            layers=_descriptors(obj, "layers", where),
            media_type=media_type,
            annotations=_json.str_map(obj, "annotations", where),
            subject=Descriptor.from_json(subject, f"{where}.subject") if subject else None,
            artifact_type=_json.field(obj, "artifactType", str, where, default=None),
        )


@dataclass(frozen=True, slots=True)
class Index:
    """An image index: descriptors of manifests (one per platform) or of other indexes."""

    manifests: tuple[Descriptor, ...]
    media_type: str = MediaType.OCI_INDEX
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of image-index.md."""
        out: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": self.media_type,
            "manifests": [d.to_json() for d in self.manifests],
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    def to_bytes(self) -> bytes:
        """The canonical bytes whose sha256 is the index digest."""
        return _json.dumps(self.to_json())

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "index") -> Index:
        """Parse index bytes; FormatError for anything but an OCI index or Docker manifest list."""
        obj, media_type = _document(
            data, where, default=MediaType.OCI_INDEX, accepts=is_index, kind="image index"
        )
        return cls(
            manifests=_descriptors(obj, "manifests", where),
            media_type=media_type,
            annotations=_json.str_map(obj, "annotations", where),
        )
