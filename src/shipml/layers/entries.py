"""Layer entries from files, directory trees and bytes, placed at paths inside the image."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from shipml.errors import BuildError
from shipml.layers.tar import ROOT, Entry, EntryKind, Owner


def image_path(dest: str | PurePosixPath) -> PurePosixPath:
    """``/opt/model`` or ``opt/model`` as the relative path a tar entry carries."""
    return PurePosixPath(str(dest).lstrip("/"))


def _file_mode(st_mode: int) -> int:
    # Only the executable bit survives; group/other write and setuid never leak into images.
    return 0o755 if st_mode & 0o111 else 0o644


def file_entry(dest: str | PurePosixPath, source: Path, *, owner: Owner = ROOT) -> Entry:
    """A regular file at ``dest`` streamed from ``source`` (mode 0644, or 0755 if executable)."""
    try:
        st = source.stat()
    except OSError as e:
        raise BuildError(f"cannot read {source}: {e.strerror}") from e
    if not stat.S_ISREG(st.st_mode):
        raise BuildError(f"{source} is not a regular file")
    return Entry(image_path(dest), EntryKind.FILE, _file_mode(st.st_mode), owner, source=source)


def bytes_entry(
    dest: str | PurePosixPath, data: bytes, *, owner: Owner = ROOT, mode: int = 0o644
) -> Entry:
    """A regular file at ``dest`` holding ``data``."""
    return Entry(image_path(dest), EntryKind.FILE, mode, owner, data=data)


def tree_entries(
    source: Path,
    dest: str | PurePosixPath,
    *,
    owner: Owner = ROOT,
    exclude: Callable[[PurePosixPath], bool] | None = None,
) -> list[Entry]:
    """Everything under directory ``source`` placed at ``dest``, ``dest`` included.

    Symlinks are kept as links, never followed; ``exclude`` gets paths relative to ``source``
    and a directory it excludes is skipped whole. Sockets, fifos and devices are refused.
    """
    if not source.is_dir():
        raise BuildError(f"{source} is not a directory")
    root = image_path(dest)
    entries = [Entry(root, EntryKind.DIR, 0o755, owner)]
    for dirpath, dirnames, filenames in os.walk(source, onerror=_raise):
        here = Path(dirpath)
        rel_dir = PurePosixPath(here.relative_to(source).as_posix())
        for name in sorted(dirnames + filenames):
            rel = rel_dir / name
            if exclude is not None and exclude(rel):
                if name in dirnames:
                    dirnames.remove(name)
                continue
            entries.append(_entry(here / name, root / rel, owner))
    return entries


def _entry(path: Path, dest: PurePosixPath, owner: Owner) -> Entry:
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode):
        return Entry(dest, EntryKind.SYMLINK, 0o777, owner, target=os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return Entry(dest, EntryKind.DIR, 0o755, owner)
    if stat.S_ISREG(st.st_mode):
        return Entry(dest, EntryKind.FILE, _file_mode(st.st_mode), owner, source=path)
    raise BuildError(f"{path} is not a file, directory or symlink", hint="remove it or exclude it")


def _raise(error: OSError) -> None:
    raise BuildError(f"cannot read {error.filename}: {error.strerror}") from error
