"""How many CPUs this process may really use: the affinity mask and the cgroup CPU quota."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def _quota(root: Path) -> float | None:
    """CPUs allowed by the cgroup quota (v2 cpu.max, or v1 cfs_quota_us / cfs_period_us)."""
    try:
        quota, period = (root / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 else quota_us / period_us


def available_cpus(root: Path = CGROUP) -> int:
    """Whole CPUs for this process: a container limited to 1.5 CPUs gets 2, at least 1."""
    count = len(os.sched_getaffinity(0))
    quota = _quota(root)
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(1, count)


def default_threads(workers: int, root: Path = CGROUP) -> int:
    """Threads each worker's math libraries should use, so workers do not oversubscribe CPUs."""
    return max(1, available_cpus(root) // workers)
