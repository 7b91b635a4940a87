"""Content digests (``algorithm:encoded``) as typed values, per image-spec descriptor.md#digests."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from shipml.errors import FormatError

# descriptor.md#digests: algorithm-component and the registered sha256/sha512 encodings.
_ALGORITHM = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*$")
_ENCODED = {"sha256": re.compile(r"^[a-f0-9]{64}$"), "sha512": re.compile(r"^[a-f0-9]{128}$")}


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A validated content digest; ``str()`` gives the ``sha256:<hex>`` form."""

    algorithm: str
    encoded: str

    def __post_init__(self) -> None:
        pattern = _ENCODED.get(self.algorithm)
        if pattern is None or not _ALGORITHM.match(self.algorithm):
            raise FormatError(
                f"unsupported digest algorithm {self.algorithm!r}",
                hint="shipml reads sha256 and sha512 digests",
            )
        if not pattern.match(self.encoded):
            raise FormatError(
                f"invalid {self.algorithm} digest {self.encoded!r}",
                hint="expected lowercase hex of the algorithm's length",
            )

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``algorithm:encoded``; raise FormatError naming the text otherwise."""
        algorithm, sep, encoded = text.partition(":")
        if not sep:
            raise FormatError(f"invalid digest {text!r}", hint="expected e.g. sha256:<64 hex>")
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes) -> Digest:
        """The sha256 digest of ``data``."""
        return cls("sha256", hashlib.sha256(data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.encoded}"

    @property
    def short(self) -> str:
        """The first 12 hex characters, for tables."""
        return self.encoded[:12]

    def hasher(self) -> Hasher:
        """A fresh hasher of this digest's algorithm, to verify content as it streams."""
        return Hasher(self.algorithm)

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` hashes to this digest."""
        hasher = self.hasher()
        hasher.update(data)
        return hasher.digest() == self


class Hasher:
    """Incremental digest and byte count of a stream, e.g. of a layer as it is written."""

    def __init__(self, algorithm: str = "sha256") -> None:
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed the next chunk."""
        self._hash.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        """The digest of everything fed so far."""
        return Digest(self.algorithm, self._hash.hexdigest())
