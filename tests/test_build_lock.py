"""shipml.lock: its text round-trips, its inputs decide reuse, uv errors name the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipml.build.lock import (
    Lock,
    PlatformLock,
    compile_requirements,
    lock_inputs,
    read_lock,
    runtime_requirements,
    write_lock,
)
from shipml.build.uv import Target
from shipml.errors import BuildError
from shipml.oci.digest import Digest
from shipml.oci.platform import Platform
from shipml.spec import Spec, parse_spec

AMD64 = Target(Platform("linux", "amd64"), "3.11")
REQS = """annotated-types==0.8.0 \\
    --hash=sha256:13b2beaad985e05e2d6407ee4c4f35590b11f8d693a258a561055cac8f64cab7
    # via pydantic
numpy==2.3.0 \\
    --hash=sha256:f072f4d804ea359e4eaf198b1af7a8b0943881a87f31bb764f8bf219bb9419e0
"""


def _spec(**extra: object) -> Spec:
    return parse_spec({"name": "m", "model": {"path": "model.joblib"}, **extra})


def _lock() -> Lock:
    pins = PlatformLock(Digest.of(b"base"), REQS)
    return Lock("sha256:" + "a" * 64, "3.11", 1700000000, "debian:bookworm", {"linux/amd64": pins})


def test_lock_text_round_trips(tmp_path: Path) -> None:
    lock = _lock()
    write_lock(tmp_path / "shipml.lock", lock)
    text = (tmp_path / "shipml.lock").read_text()
    assert text.startswith("# shipml.lock")
    assert (tmp_path / "shipml.lock").stat().st_mode & 0o777 == 0o644  # a file to commit
    assert "source_date_epoch: 1700000000" in text
    assert read_lock(tmp_path / "shipml.lock") == lock
    assert lock.platform("linux/amd64").packages() == [
        ("annotated-types", "0.8.0"), ("numpy", "2.3.0")
    ]


def test_missing_and_broken_locks(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "shipml.lock") is None
    (tmp_path / "shipml.lock").write_text("version: 99\n")
    with pytest.raises(BuildError, match="not a valid shipml lock"):
        read_lock(tmp_path / "shipml.lock")
    with pytest.raises(BuildError, match="no pins for linux/arm64"):
        _lock().platform("linux/arm64")


def test_inputs_signature_follows_every_input(tmp_path: Path) -> None:
    def sig(spec: Spec, platforms: tuple[str, ...] = ("linux/amd64",), base: str = "b") -> str:
        return lock_inputs(tmp_path, spec, platforms=platforms, base=base).signature()

    plain = sig(_spec(requirements=["scikit-learn==1.9.1"]))
    assert plain == sig(_spec(requirements=["scikit-learn==1.9.1"]))
    assert plain != sig(_spec(requirements=["scikit-learn==1.9.0"]))
    assert plain != sig(_spec(requirements=["scikit-learn==1.9.1"], python="3.13"))
    assert plain != sig(_spec(requirements=["scikit-learn==1.9.1"]), ("linux/arm64",))
    assert plain != sig(_spec(requirements=["scikit-learn==1.9.1"]), base="other")
    (tmp_path / "requirements.txt").write_text("joblib\n")
    from_file = sig(_spec(requirements="requirements.txt"))
    (tmp_path / "requirements.txt").write_text("joblib==1.6.0\n")
    assert from_file != sig(_spec(requirements="requirements.txt"))


def test_missing_requirements_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"cannot read .*reqs\.txt"):
        lock_inputs(tmp_path, _spec(requirements="reqs.txt"), platforms=["linux/amd64"], base="b")


def test_runtime_requirements_are_the_servers_only() -> None:
    names = {line.split(">")[0] for line in runtime_requirements().splitlines()
             if line and not line.startswith("#")}
    assert {"numpy", "uvicorn", "pydantic", "prometheus-client"} <= names
    assert not names & {"rich", "httpx", "kubernetes", "uv"}


def test_uv_pins_with_hashes_for_the_target(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("joblib==1.6.0\n")
    spec = _spec(requirements="requirements.txt")
    inputs = lock_inputs(tmp_path, spec, platforms=["linux/amd64"], base="b")
    text = compile_requirements(tmp_path, inputs, AMD64)
    assert "joblib==1.6.0" in text and "--hash=sha256:" in text
    assert "uvloop==" in text  # the server's own requirements come along
    assert str(tmp_path) not in text  # no machine-specific paths in the lock
    assert "rich==" not in text and "httpx==" not in text


@pytest.mark.parametrize(
    ("requirement", "also"),
    [("shipml-no-such-package-4711", "linux/amd64"), ("pywin32", "manylinux")],
    ids=["unknown-package", "no-wheel-for-the-platform"],
)
def test_unresolvable_requirement_is_named(tmp_path: Path, requirement: str, also: str) -> None:
    inputs = lock_inputs(tmp_path, _spec(requirements=[requirement]),
                         platforms=["linux/amd64"], base="b")
    with pytest.raises(BuildError, match=requirement) as e:
        compile_requirements(tmp_path, inputs, AMD64)
    assert also in str(e.value)
