"""A content-addressed layer cache keyed by the inputs of each layer's recipe.

A layer whose inputs did not change is neither rebuilt nor recompressed: its key names the
blob it produced last time. Blobs and keys are written atomically (a killed build leaves at
most a ``.tmp-*`` file behind), so a key never points at a half-written blob.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipml.atomic import atomic_file
from shipml.build.recipes import sha256_file
from shipml.layers import Entry, FileLayer, write_layer
from shipml.oci.descriptor import Descriptor
from shipml.oci.digest import Digest
from shipml.oci.mediatypes import Compression
from shipml.paths import shipml_home

# Bumped when the layout of cache entries or what a recipe writes changes.
_CACHE_VERSION = "2"
# gzip -3 compresses about four times faster than the usual -6 for some 8% more bytes: builds
# are dominated by compressing the dependency layer, and images stay smaller than pip-built ones.
LEVELS = {Compression.GZIP: 3, Compression.ZSTD: 3, Compression.NONE: 0}


def default_cache_dir() -> Path:
    """``build-cache`` under shipml's home (``$SHIPML_HOME``, else ``~/.cache/shipml``)."""
    return shipml_home() / "build-cache"


class FileDigests:
    """A FileHasher that remembers sha256s by stat (size, mtime, ctime, inode), as git's index
    does: an unchanged multi-gigabyte model is not read again just to learn it did not change.
    """

    # Smaller files hash faster than a memo lookup pays for; fresher ones may still be written
    # within the same timestamp tick (git's "racily clean" case), so they are always read.
    MIN_SIZE = 1 << 20
    SETTLED_S = 2.0

    def __init__(self, path: Path) -> None:
        self._path = path
        self._memo: dict[str, list[Any]] | None = None
        self._changed = False

    def __call__(self, path: Path) -> bytes:
        """The sha256 of ``path``'s content."""
        st = path.stat()
        if st.st_size < self.MIN_SIZE or time.time() - st.st_mtime < self.SETTLED_S:
            return sha256_file(path)
        memo = self._load()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
        name = str(path.resolve())
        known = memo.get(name)
        if known is not None and known[:-1] == stamp:
            return bytes.fromhex(known[-1])
        digest = sha256_file(path)
        memo[name] = [*stamp, digest.hex()]
        self._changed = True
        return digest

    def _load(self) -> dict[str, list[Any]]:
        if self._memo is None:
            try:
                loaded = json.loads(self._path.read_text(encoding="utf-8"))
                self._memo = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._memo = {}
        return self._memo

    def save(self) -> None:
        """Write what was learnt (atomically; a concurrent build's memo may win, harmlessly)."""
        if self._changed and self._memo is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(self._path) as f:
                f.write(json.dumps(self._memo).encode())
            self._changed = False


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What ``LayerCache.prune`` removed: layer blobs (temp leftovers uncounted) and bytes."""

    layers: int
    bytes: int


class LayerCache:
    """Layers by recipe key, under ``root/layers`` (blobs) and ``root/keys`` (key -> blob)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "layers"
        self._keys = root / "keys"

    def key(self, inputs: str, *, compression: Compression, mtime: int) -> str:
        """The cache key of a recipe's ``inputs`` written with this compression and mtime."""
        doc = f"{_CACHE_VERSION}\n{inputs}\n{compression.value}:{LEVELS[compression]}\n{mtime}"
        return hashlib.sha256(doc.encode()).hexdigest()

    def lookup(self, key: str) -> FileLayer | None:
        """The layer built earlier for ``key``, or None when absent or its blob is gone."""
        try:
            record = json.loads((self._keys / f"{key}.json").read_text(encoding="utf-8"))
            descriptor = Descriptor(
                record["mediaType"], Digest.parse(record["digest"]), int(record["size"])
            )
            diff_id = Digest.parse(record["diffId"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        path = self._blobs / f"{descriptor.digest.algorithm}-{descriptor.digest.encoded}"
        try:
            if path.stat().st_size != descriptor.size:
                return None
        except FileNotFoundError:
            return None
        return FileLayer(path, descriptor, diff_id)

    def build(
        self,
        key: str,
        entries: Callable[[Path], Iterable[Entry]],
        *,
        compression: Compression,
        mtime: int,
        name: str = "layer",
    ) -> FileLayer:
        """Write the layer of ``entries(scratch)`` and remember it under ``key``."""
        self._keys.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="scratch-", dir=self.root) as scratch:
            layer = write_layer(
                entries(Path(scratch)),
                self._blobs,
                compression=compression,
                level=LEVELS[compression],
                mtime=mtime,
            )
        record = {
            "mediaType": layer.media_type(),
            "digest": str(layer.digest()),
            "size": layer.size(),
            "diffId": str(layer.diff_id()),
            "name": name,
        }
        with atomic_file(self._keys / f"{key}.json") as f:
            f.write(json.dumps(record).encode())
        return layer

    def file_digests(self) -> FileDigests:
        """The memo of file sha256s kept beside the layers."""
        return FileDigests(self.root / "file-digests.json")

    def prune(self, keep: Callable[[Digest], bool], *, grace_s: float = 3600) -> PruneReport:
        """Forget the layers ``keep`` rejects (e.g. those no stored image uses any more) and the
        leftovers of killed builds; base layers stay (rebuilding one takes a minute), and so
        does anything younger than ``grace_s`` (a build in flight may be about to store it)."""
        young = time.time() - grace_s
        layers = freed = 0
        wanted: set[str] = set()
        for key_file in sorted(self._keys.glob("*.json")) if self._keys.is_dir() else []:
            try:
                record = json.loads(key_file.read_text(encoding="utf-8"))
                digest = Digest.parse(record["digest"])
            except (OSError, ValueError, KeyError, TypeError):
                digest = None
            recent = key_file.stat().st_mtime > young
            if digest is not None and (recent or record.get("name") == "base" or keep(digest)):
                wanted.add(f"{digest.algorithm}-{digest.encoded}")
            else:
                key_file.unlink(missing_ok=True)
        for path in sorted(self._blobs.iterdir()) if self._blobs.is_dir() else []:
            if path.name not in wanted and path.stat().st_mtime <= young:
                freed += path.stat().st_size
                path.unlink(missing_ok=True)
                layers += not path.name.startswith(".")
        for scratch in self.root.glob("scratch-*"):
            if scratch.stat().st_mtime <= young:
                shutil.rmtree(scratch, ignore_errors=True)
        return PruneReport(layers, freed)
