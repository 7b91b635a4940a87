"""Atomic file writes: a temp file in the target's directory, fsync, then rename over the target."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(slots=True)
class PendingFile:
    """A file being written atomically; ``name`` is what it becomes in its directory."""

    file: BinaryIO
    name: str | None = None


@contextmanager
def atomic_file(target: Path, *, mode: int | None = None) -> Iterator[BinaryIO]:
    """Yield a file that becomes ``target`` only if the block completes; otherwise it vanishes.

    A crash at any point leaves either the old ``target`` or the new one, never a torn file:
    the data is fsynced before the rename and the directory after it (rename(2) is atomic
    within one filesystem, hence the temp file beside the target). ``mode``, when given,
    replaces the temp file's private 0600 before the rename, so ``target`` never has another.
    """
    with atomic_file_in(target.parent, prefix=target.name[:16], mode=mode) as pending:
        pending.name = target.name
        yield pending.file


@contextmanager
def atomic_file_in(
    directory: Path, *, prefix: str, mode: int | None = None
) -> Iterator[PendingFile]:
    """``atomic_file`` for content named only once written (a blob named by its digest).

    The block sets ``pending.name`` before it ends; the temp file is ``.tmp-<prefix>-*``.
    """
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".tmp-{prefix}-")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            pending = PendingFile(f)
            yield pending
            if pending.name is None:
                raise ValueError("atomic_file_in: the block named no file")
            f.flush()
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        tmp.replace(directory / pending.name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(directory)


# How much a large write may run ahead of the disk before its writeback is started.
WRITEBACK_STEP = 8 << 20


def start_writeback(f: BinaryIO, start: int, end: int) -> None:
    """Have the kernel begin writing bytes ``start:end`` of ``f`` to disk, without waiting.

    Called while a large file is written, it leaves the fsync that ends an atomic write only
    the last few MiB to wait for (an 84 MiB layer pulls ~10% faster). Linux starts writeback
    of the range's dirty pages on POSIX_FADV_DONTNEED and drops only its clean ones: just
    written, nearly all are still dirty, so the data stays cached. Elsewhere it does nothing.
    """
    f.flush()
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(f.fileno(), start, end - start, os.POSIX_FADV_DONTNEED)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
