"""How push and pull report progress, so the CLI can draw bars without registry importing rich."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    """What happened to one blob."""

    PUSHED = "pushed"
    SKIPPED = "skipped"
    MOUNTED = "mounted"
    PULLED = "pulled"
    CACHED = "cached"


class Progress(Protocol):
    """Receives per-blob events; called from worker threads, so implementations must be safe."""

    def start(self, key: str, *, label: str, total: int) -> None:
        """A blob of ``total`` bytes begins; ``key`` is its digest."""

    def advance(self, key: str, n: int) -> None:
        """``n`` more bytes moved (negative when a resumed upload resends bytes)."""

    def finish(self, key: str, outcome: Outcome) -> None:
        """The blob is done."""


class NoProgress:
    """Progress that reports nothing."""

    def start(self, key: str, *, label: str, total: int) -> None:
        """Ignore."""

    def advance(self, key: str, n: int) -> None:
        """Ignore."""

    def finish(self, key: str, outcome: Outcome) -> None:
        """Ignore."""
