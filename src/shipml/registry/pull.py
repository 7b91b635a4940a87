"""Pull an image into a local blob sink: pick a platform, stream layers in parallel, verify each.

Every blob is hashed while it streams and refused at its end unless digest and size match
(``layers.blob.VerifyingStream``); the sink writes to a temp file and renames only verified
content, so a corrupted download leaves nothing behind. The manifest and the ref are written
last, after every blob is in.
"""

from __future__ import annotations

import functools
import platform as host
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from shipml.layers.blob import Closing
from shipml.oci.descriptor import Descriptor
from shipml.oci.digest import Digest
from shipml.oci.image import (
    BlobStream,
    Image,
    ImageIndex,
    Layer,
    image_for_platform,
    open_child,
)
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.registry.client import RegistryClient
from shipml.registry.pool import Stop, run_all
from shipml.registry.progress import NoProgress, Outcome, Progress
from shipml.registry.remote import remote_artifact

# Go's GOARCH names for what platform.machine() says.
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class BlobSink(Protocol):
    """Where pulled images go (``layout.Store`` is one): verified blob writes, then the image."""

    def has_blob(self, digest: Digest) -> bool:
        """Whether the blob is already there."""
        ...

    def write_blob(self, stream: BlobStream, descriptor: Descriptor) -> None:
        """Copy in a blob, refusing content that does not match ``descriptor``."""
        ...

    def write(self, image: Image | ImageIndex, *, ref: Reference | None = None) -> Descriptor:
        """Write the image's remaining blobs and manifest, and record it under ``ref``."""
        ...


@dataclass(frozen=True, slots=True)
class PullResult:
    """The stored descriptor and what happened to each layer."""

    descriptor: Descriptor
    outcomes: dict[Digest, Outcome] = field(default_factory=dict)


def host_platform() -> Platform:
    """``linux/<this machine's architecture>``: what a container here would run."""
    machine = host.machine().lower()
    return Platform("linux", _ARCHES.get(machine, machine))


def pull(
    client: RegistryClient,
    reference: Reference,
    sink: BlobSink,
    *,
    platform: Platform | None = None,
    all_platforms: bool = False,
    jobs: int = 4,
    progress: Progress | None = None,
) -> PullResult:
    """Pull ``reference`` into ``sink`` (one platform of an index unless ``all_platforms``)."""
    artifact = remote_artifact(client, reference)
    if isinstance(artifact, ImageIndex) and not all_platforms:
        artifact = image_for_platform(artifact, platform or host_platform())
    layers = _layers(artifact)
    opener = functools.partial(client.open_blob, reference.repository)
    outcomes = _fetch(layers, opener, sink, jobs=jobs, progress=progress or NoProgress())
    ref = reference if reference.tag is not None else None
    descriptor = sink.write(artifact, ref=ref)
    return PullResult(descriptor, outcomes)


def _layers(artifact: Image | ImageIndex) -> dict[Digest, Layer]:
    if isinstance(artifact, Image):
        return {layer.digest(): layer for layer in artifact.layers()}
    found: dict[Digest, Layer] = {}
    for child in artifact.index_manifest().manifests:
        found |= _layers(open_child(artifact, child))
    return found


def _fetch(
    layers: dict[Digest, Layer],
    open_blob: Callable[[Digest], BlobStream],
    sink: BlobSink,
    *,
    jobs: int,
    progress: Progress,
) -> dict[Digest, Outcome]:
    """Download the layers the sink lacks, ``jobs`` at a time; the first failure stops the rest.

    The raw stream goes straight to the sink, whose ``write_blob`` hashes it on the way in:
    hashing it here as well would double the CPU cost of every pull.
    """
    stop = Stop()

    def one(layer: Layer) -> Outcome:
        key = str(layer.digest())
        progress.start(key, label=f"layer {layer.digest().short}", total=layer.size())
        outcome = Outcome.CACHED
        if not sink.has_blob(layer.digest()):
            descriptor = Descriptor(layer.media_type(), layer.digest(), layer.size())
            with _Reporting(open_blob(layer.digest()), key, progress, stop) as stream:
                sink.write_blob(stream, descriptor)
            outcome = Outcome.PULLED
        progress.finish(key, outcome)
        return outcome

    tasks = {digest: functools.partial(one, layer) for digest, layer in layers.items()}
    return run_all(tasks, jobs=jobs, stop=stop)


class _Reporting(Closing):
    """A stream that tells ``progress`` how many bytes went through."""

    def __init__(self, inner: BlobStream, key: str, progress: Progress, stop: Stop) -> None:
        self._inner = inner
        self._key = key
        self._progress = progress
        self._stop = stop

    def read(self, size: int = -1, /) -> bytes:
        self._stop.check()
        data = self._inner.read(size)
        self._progress.advance(self._key, len(data))
        return data

    def close(self) -> None:
        self._inner.close()
