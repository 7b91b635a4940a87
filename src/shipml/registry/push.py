"""Push an image or index: blobs first (skipped, mounted or streamed in parallel), manifests last.

Order matters (distribution spec "Pushing Manifests"): a manifest is only put once every blob
it names is in the repository, so an interrupted push never leaves a tag pointing at missing
content, and the next push skips what already arrived. Large blobs go up in chunks; a dropped
connection resumes from the offset the registry reports for the upload ("Upload progress").
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from shipml.errors import RegistryError, StoreError
from shipml.oci.digest import Digest
from shipml.oci.image import BlobStream, Image, ImageIndex, open_child
from shipml.oci.mediatypes import is_index, is_manifest
from shipml.registry.client import RegistryClient, Upload
from shipml.registry.pool import Stop, run_all
from shipml.registry.progress import NoProgress, Outcome, Progress

MONOLITHIC_MAX = 32 << 20
CHUNK_SIZE = 128 << 20
_PIECE = 1 << 20
# How often one blob's upload may resume or restart after temporary failures.
_BLOB_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Blob:
    """Something to upload: its digest, size, a label for progress, and how to read it."""

    digest: Digest
    size: int
    label: str
    open: Callable[[], BlobStream]


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push did: the pushed manifest's digest and what happened to each blob."""

    digest: Digest
    media_type: str
    size: int
    outcomes: dict[Digest, Outcome] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> int:
        """How many blobs had ``outcome``."""
        return sum(1 for o in self.outcomes.values() if o is outcome)


def push(
    client: RegistryClient,
    repository: str,
    artifact: Image | ImageIndex,
    *,
    tag: str | None = None,
    jobs: int = 4,
    mount_from: Sequence[str] = (),
    chunk_size: int = CHUNK_SIZE,
    monolithic_max: int = MONOLITHIC_MAX,
    progress: Progress | None = None,
) -> PushResult:
    """Push ``artifact`` to ``repository`` (under ``tag``, else by digest only)."""
    images, children = _walk(artifact)
    blobs = {b.digest: b for image in images for b in image_blobs(image)}
    raw = artifact.raw_manifest()
    digest = artifact.digest()
    result = PushResult(digest, artifact.media_type(), len(raw))
    existing = client.manifest_descriptor(repository, tag or str(digest))
    if existing is not None and existing.digest == digest:
        result.outcomes.update(dict.fromkeys(blobs, Outcome.SKIPPED))
        return result
    uploader = _Uploader(
        client,
        repository,
        mount_from=mount_from,
        chunk_size=chunk_size,
        monolithic_max=monolithic_max,
        progress=progress or NoProgress(),
    )
    result.outcomes.update(uploader.run(list(blobs.values()), jobs=jobs))
    for child in children:
        child_digest = str(child.digest())
        client.put_manifest(repository, child_digest, child.raw_manifest(), child.media_type())
    client.put_manifest(repository, tag or str(digest), raw, artifact.media_type())
    return result


def image_blobs(image: Image) -> list[Blob]:
    """The config and layer blobs of an image, config first."""
    config = image.raw_config_file()
    descriptor = image.manifest().config
    blobs = [Blob(descriptor.digest, len(config), "config", lambda: io.BytesIO(config))]
    for layer in image.layers():
        label = f"layer {layer.digest().short}"
        blobs.append(Blob(layer.digest(), layer.size(), label, layer.compressed))
    return blobs


def _walk(artifact: Image | ImageIndex) -> tuple[list[Image], list[Image | ImageIndex]]:
    """The images whose blobs to push, and the child manifests to put before ``artifact``.

    Children come before the indexes that list them, for the same reason blobs come first.
    """
    if isinstance(artifact, Image):
        return [artifact], []
    images: list[Image] = []
    children: list[Image | ImageIndex] = []
    for descriptor in artifact.index_manifest().manifests:
        if not (is_index(descriptor.media_type) or is_manifest(descriptor.media_type)):
            continue  # artifacts of other kinds are not ours to copy
        child = open_child(artifact, descriptor)
        nested_images, nested_children = _walk(child)
        images += nested_images
        children += [*nested_children, child]
    return images, children


class _Uploader:
    """Uploads blobs with a bounded thread pool; the first failure stops the others."""

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        *,
        mount_from: Sequence[str],
        chunk_size: int,
        monolithic_max: int,
        progress: Progress,
    ) -> None:
        self._client = client
        self._repository = repository
        self._mount_from = [r for r in mount_from if r != repository]
        self._chunk = chunk_size
        self._monolithic_max = monolithic_max
        self._progress = progress
        self._stop = Stop()

    def run(self, blobs: list[Blob], *, jobs: int) -> dict[Digest, Outcome]:
        """Upload ``blobs``; raise the first error after stopping the rest."""
        tasks = {b.digest: functools.partial(self._one, b) for b in blobs}
        return run_all(tasks, jobs=jobs, stop=self._stop)

    def _one(self, blob: Blob) -> Outcome:
        progress = self._progress
        progress.start(str(blob.digest), label=blob.label, total=blob.size)
        outcome = self._upload(blob)
        progress.finish(str(blob.digest), outcome)
        return outcome

    def _upload(self, blob: Blob) -> Outcome:
        client = self._client
        if client.blob_size(self._repository, blob.digest) is not None:
            return Outcome.SKIPPED
        upload = None
        for source in self._mount_from:
            if upload is not None:
                client.cancel_upload(upload)
            upload = client.start_upload(self._repository, mount=blob.digest, mount_from=source)
            if upload is None:
                return Outcome.MOUNTED
        chunked = blob.size > self._monolithic_max
        attempt = 1
        while True:
            cursor = _Cursor(upload or self._start())
            try:
                if chunked:
                    self._chunked(blob, cursor)
                else:
                    self._monolithic(blob, cursor.upload)
                return Outcome.PUSHED
            except RegistryError as e:
                if not e.temporary or attempt == _BLOB_ATTEMPTS or self._stop.is_set():
                    raise
            attempt += 1
            # Chunked uploads resume where the registry's copy ends; others start over.
            upload = self._resumable(cursor.upload) if chunked else None

    def _start(self) -> Upload:
        upload = self._client.start_upload(self._repository)
        if upload is None:
            raise RegistryError("the registry mounted a blob it was not asked to mount")
        return upload

    def _monolithic(self, blob: Blob, upload: Upload) -> None:
        key = str(blob.digest)
        sent = _Counter()
        try:
            with blob.open() as stream:
                body = self._pieces(stream, blob.size, key, sent)
                self._client.finish_upload(upload, blob.digest, body, blob.size)
                _expect_end(stream, blob)
        except RegistryError:
            self._progress.advance(key, -sent.n)
            raise

    def _chunked(self, blob: Blob, cursor: _Cursor) -> None:
        key = str(blob.digest)
        upload = cursor.upload
        with blob.open() as stream:
            _skip(stream, upload.offset, blob)
            while upload.offset < blob.size:
                n = min(self._chunk, blob.size - upload.offset)
                sent = _Counter()
                try:
                    next_upload = self._client.upload_chunk(
                        upload, self._pieces(stream, n, key, sent), n
                    )
                except RegistryError:
                    self._progress.advance(key, -sent.n)
                    raise
                if next_upload.offset != upload.offset + n:
                    raise RegistryError(
                        f"the registry holds {next_upload.offset} bytes of {blob.label}, "
                        f"expected {upload.offset + n}",
                        temporary=True,
                    )
                upload = cursor.upload = next_upload
            _expect_end(stream, blob)
        self._client.finish_upload(upload, blob.digest)

    def _resumable(self, upload: Upload) -> Upload | None:
        """The upload at the offset the registry has, or None to start over."""
        try:
            return self._client.upload_status(upload)
        except RegistryError:
            return None

    def _pieces(self, stream: BlobStream, n: int, key: str, sent: _Counter) -> Iterator[bytes]:
        remaining = n
        while remaining > 0:
            self._stop.check()
            piece = stream.read(min(_PIECE, remaining))
            if not piece:
                raise StoreError(f"blob {key} ended {remaining} bytes before its declared size")
            remaining -= len(piece)
            sent.n += len(piece)
            self._progress.advance(key, len(piece))
            yield piece


@dataclass(slots=True)
class _Counter:
    n: int = 0


@dataclass(slots=True)
class _Cursor:
    """The latest state of an upload session (each PATCH answers with a new Location)."""

    upload: Upload


def _skip(stream: BlobStream, offset: int, blob: Blob) -> None:
    """Read past the ``offset`` bytes a resumed upload already holds (hashing them as we go)."""
    remaining = offset
    while remaining > 0:
        piece = stream.read(min(_PIECE, remaining))
        if not piece:
            raise StoreError(f"{blob.label} is shorter than the {offset} bytes already uploaded")
        remaining -= len(piece)


def _expect_end(stream: BlobStream, blob: Blob) -> None:
    """Read to the end so a verifying stream checks its digest; extra bytes are an error."""
    if stream.read(1):
        raise StoreError(f"{blob.label} {blob.digest} is longer than its {blob.size} bytes")
