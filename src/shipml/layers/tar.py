"""A deterministic tar writer: sorted entries, fixed mtime, numeric owners, normal modes, PAX."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import IO

from shipml.errors import BuildError

# tarfile copies file bodies in 16 KiB pieces by default; 1 MiB keeps multi-GB weights fast.
_COPY_BUFSIZE = 1 << 20


class EntryKind(Enum):
    """What an entry creates in the image filesystem."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"


@dataclass(frozen=True, slots=True)
class Owner:
    """Numeric owner of entries; names are never written, so images do not depend on /etc/passwd."""

    uid: int = 0
    gid: int = 0


ROOT = Owner()


@dataclass(frozen=True, slots=True)
class Entry:
    """One path in a layer; a FILE takes its body from ``source`` (streamed) or ``data``."""

    path: PurePosixPath
    kind: EntryKind
    mode: int
    owner: Owner = ROOT
    source: Path | None = None
    data: bytes | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.path.is_absolute() or ".." in self.path.parts or not self.path.parts:
            raise BuildError(
                f"layer path {str(self.path)!r} must be relative, non-empty and without '..'"
            )
        if self.kind is EntryKind.FILE and (self.source is None) == (self.data is None):
            raise BuildError(f"layer file {self.path} needs exactly one of source or data")
        if self.kind is EntryKind.SYMLINK and not self.target:
            raise BuildError(f"layer symlink {self.path} needs a target")


def source_date_epoch(default: int = 0) -> int:
    """The SOURCE_DATE_EPOCH environment variable (reproducible-builds.org), else ``default``."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise BuildError(f"SOURCE_DATE_EPOCH must be a non-negative integer, got {raw!r}")
    return int(raw)


def normalised(entries: Iterable[Entry]) -> list[Entry]:
    """Entries sorted by path with missing parent directories added (root-owned, 0755).

    Duplicate paths are refused: which one wins would depend on the caller's order.
    """
    by_path: dict[PurePosixPath, Entry] = {}
    for entry in entries:
        if entry.path in by_path:
            raise BuildError(f"layer path {entry.path} is given twice")
        by_path[entry.path] = entry
    for path in list(by_path):
        for parent in path.parents:
            if parent.parts and parent not in by_path:
                by_path[parent] = Entry(parent, EntryKind.DIR, 0o755)
    # Sorting the encoded path puts every directory before its contents.
    return [by_path[p] for p in sorted(by_path, key=lambda p: str(p).encode())]


def _tarinfo(entry: Entry, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(str(entry.path))
    info.mtime = mtime
    info.mode = entry.mode
    info.uid, info.gid = entry.owner.uid, entry.owner.gid
    info.uname = info.gname = ""
    if entry.kind is EntryKind.DIR:
        info.type = tarfile.DIRTYPE
    elif entry.kind is EntryKind.SYMLINK:
        info.type = tarfile.SYMTYPE
        info.linkname = entry.target or ""
    return info


def write_tar(entries: Iterable[Entry], out: IO[bytes], *, mtime: int) -> None:
    """Write ``entries`` as a reproducible PAX tar to ``out`` (which needs write and tell)."""
    with tarfile.TarFile(
        fileobj=out,
        mode="w",
        format=tarfile.PAX_FORMAT,
        encoding="utf-8",
        copybufsize=_COPY_BUFSIZE,
    ) as tar:
        for entry in normalised(entries):
            info = _tarinfo(entry, mtime)
            if entry.kind is not EntryKind.FILE:
                tar.addfile(info)
            elif entry.data is not None:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                assert entry.source is not None
                try:
                    with entry.source.open("rb") as body:
                        info.size = os.fstat(body.fileno()).st_size
                        tar.addfile(info, body)
                except OSError as e:
                    # tarfile raises OSError too when a file shrinks while it is copied.
                    raise BuildError(f"cannot read {entry.source}: {e.strerror or e}") from e
