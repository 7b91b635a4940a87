"""Images and indexes in a registry repository, read lazily through ``layers.sourced``."""

from __future__ import annotations

import io

from shipml.errors import DigestMismatchError
from shipml.layers.sourced import SourcedImage, SourcedIndex
from shipml.oci.descriptor import Descriptor
from shipml.oci.digest import Digest
from shipml.oci.image import BlobStream, Image, ImageIndex
from shipml.oci.mediatypes import is_index, is_manifest
from shipml.oci.reference import Reference
from shipml.registry.client import RegistryClient


class RemoteBlobs:
    """A BlobSource over one repository: manifests from /manifests/, the rest from /blobs/."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self._documents: dict[Digest, bytes] = {}

    def remember(self, digest: Digest, raw: bytes) -> None:
        """Keep a manifest already fetched, so reading it again costs no request."""
        self._documents[digest] = raw

    def open_blob(self, descriptor: Descriptor) -> BlobStream:
        """An unverified stream of the blob or manifest ``descriptor`` names."""
        digest = descriptor.digest
        if digest in self._documents:
            return io.BytesIO(self._documents[digest])
        if is_manifest(descriptor.media_type) or is_index(descriptor.media_type):
            raw, _ = self.client.manifest(self.repository, str(digest))
            return io.BytesIO(raw)
        return self.client.open_blob(self.repository, digest)


def remote_artifact(client: RegistryClient, reference: Reference) -> Image | ImageIndex:
    """The image or index ``reference`` names, its manifest checked against a pinned digest."""
    raw, media_type = client.manifest(reference.repository, reference.identifier)
    digest = Digest.of(raw)
    if reference.digest is not None and digest != reference.digest:
        raise DigestMismatchError(
            f"the registry answered {reference} with a manifest hashing to {digest}",
            hint="the registry or a proxy altered the manifest; nothing was stored",
        )
    source = RemoteBlobs(client, reference.repository)
    source.remember(digest, raw)
    descriptor = Descriptor(media_type, digest, len(raw))
    if is_index(media_type):
        return SourcedIndex(source, descriptor)
    return SourcedImage(source, descriptor)
