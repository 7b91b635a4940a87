"""A bounded thread pool for blob transfers that stops everything at the first failure."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

from shipml.errors import RegistryError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Stop:
    """Set when a transfer failed, so the others give up at their next read."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        """Ask every transfer to stop."""
        self._event.set()

    def is_set(self) -> bool:
        """Whether a transfer failed."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise if a transfer failed."""
        if self._event.is_set():
            raise RegistryError("stopped: another transfer failed")


def run_all(tasks: Mapping[K, Callable[[], V]], *, jobs: int, stop: Stop) -> dict[K, V]:
    """Run ``tasks`` ``jobs`` at a time; on the first failure stop the rest and raise it."""
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="blob") as pool:
        futures = {pool.submit(task): key for key, task in tasks.items()}
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in done if f.exception() is not None), None)
        if failed is not None:
            stop.set()
            for f in futures:
                f.cancel()
            error = failed.exception()
            assert error is not None
            raise error
    return {key: f.result() for f, key in futures.items()}
