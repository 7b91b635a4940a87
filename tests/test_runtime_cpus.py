"""CPU counting from cgroup files shaped like the kernel's (v2 cpu.max, v1 CFS quota)."""

from pathlib import Path

from shipml.runtime.cpus import available_cpus, default_threads


def test_cgroup_v2_quota_rounds_up(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert available_cpus(tmp_path) == min(2, available_cpus(tmp_path / "none"))


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path) == 1


def test_no_quota_means_the_affinity_mask(tmp_path: Path) -> None:
    import os

    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == len(os.sched_getaffinity(0))


def test_workers_share_the_cpus(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert default_threads(4, tmp_path) == 1
