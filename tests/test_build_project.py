"""`shipml build` end to end: real uv, real mmdebstrap; reproducible and cached (Podman runs the
image in test_image_production)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipml.build.cache import LayerCache
from shipml.build.lock import read_lock
from shipml.layout import Store
from shipml.oci.descriptor import Index
from shipml.oci.image import Image
from shipml.oci.mediatypes import MediaType
from shipml.oci.reference import Reference
from shipml.testing.cli import SHIPML, run_cli
from shipml.testing.examples import BuiltExample
from shipml.testing.images import random_index
from shipml.testing.validate import validate_image

pytestmark = pytest.mark.slow


def shipml(*args: str, home: Path, check: bool = True, env: dict[str, str] | None = None) -> (
    subprocess.CompletedProcess[str]
):
    """Run the real CLI with its own SHIPML_HOME (store and build cache)."""
    proc = run_cli(*args, env={**os.environ, "SHIPML_HOME": str(home), **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"shipml {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def build_json(project: Path, home: Path, *args: str, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(shipml("build", str(project), "--json", *args,
                                                home=home, **kw).stdout)
    return result


def layers(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["name"]: layer for layer in result["platforms"][0]["layers"]}


@pytest.fixture
def home(tmp_path: Path, debian_home: Path) -> Path:
    """A fresh SHIPML_HOME: empty store, build cache holding only the Debian base."""
    fresh = tmp_path / "home"
    shutil.copytree(debian_home, fresh)
    return fresh


@pytest.fixture
def project(tmp_path: Path, sklearn_project: Path) -> Path:
    """A private copy of the trained sklearn example, without a lock."""
    copy = tmp_path / "project" / "sklearn-classifier"
    shutil.copytree(sklearn_project, copy, ignore=shutil.ignore_patterns("shipml.lock"))
    return copy


@pytest.fixture
def built(built_example: BuiltExample) -> tuple[Path, Path, dict[str, Any]]:
    """The example built once for the session: (project, home, `build --json` output)."""
    return built_example.project, built_example.home, built_example.result


def test_build_writes_a_valid_layered_image(built: tuple[Path, Path, dict[str, Any]]) -> None:
    project, home, result = built
    assert [layer["name"] for layer in result["platforms"][0]["layers"]] == [
        "deps", "shipml", "model", "code"
    ]
    assert result["lock"] == "written" and (project / "shipml.lock").is_file()
    store = Store.open(home / "store")
    image = store.load(store.resolve("sklearn-classifier:1.0.0"))
    assert isinstance(image, Image) and str(image.digest()) == result["digest"]
    validate_image(image)
    config = image.config_file()
    assert len(config.diff_ids) == 5  # base + the four layers
    run = config.config
    assert run.user == "10001:10001" and run.stop_signal == "SIGTERM"
    assert run.entrypoint == ("python3", "-m", "shipml.runtime", "/srv/shipml")
    assert run.exposed_ports == frozenset({"8080/tcp"}) and run.working_dir == "/srv/shipml"
    assert "PYTHONPATH=/opt/shipml/site" in run.env
    labels = run.labels
    assert labels["org.opencontainers.image.title"] == "sklearn-classifier"
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert labels["io.shipml.flavor"] == "sklearn"
    assert labels["io.shipml.spec-digest"].startswith("sha256:")
    lock = read_lock(project / "shipml.lock")
    assert lock is not None
    assert labels["org.opencontainers.image.base.digest"] == str(
        lock.platform("linux/amd64").base_digest
    )
    assert config.created == labels["org.opencontainers.image.created"]
    names = {n for n, _ in lock.platform("linux/amd64").packages()}
    assert {"scikit-learn", "numpy", "uvicorn"} <= names
    assert not names & {"rich", "httpx", "kubernetes"}


def test_model_only_change_rebuilds_only_the_model_layer(
    tmp_path: Path, built: tuple[Path, Path, dict[str, Any]]
) -> None:
    source, built_home, first = built
    project, home = tmp_path / "p", tmp_path / "home"
    shutil.copytree(source, project)  # with its lock, so the same SOURCE_DATE_EPOCH
    shutil.copytree(built_home, home)
    again = build_json(project, home)
    assert again["digest"] == first["digest"] and again["lock"] == "reused"
    assert all(layer["cached"] for layer in layers(again).values())
    with (project / "model.joblib").open("ab") as f:
        f.write(b"\0")  # joblib ignores trailing bytes; the layer input changed
    changed = build_json(project, home)
    assert {n: layer["cached"] for n, layer in layers(changed).items()} == {
        "deps": True, "shipml": True, "model": False, "code": True
    }
    assert changed["digest"] != first["digest"]
    assert layers(changed)["deps"]["digest"] == layers(first)["deps"]["digest"]


def test_relock_keeps_the_layers_the_pins_decide(
    tmp_path: Path, built: tuple[Path, Path, dict[str, Any]]
) -> None:
    source, built_home, first = built
    project, home = tmp_path / "p", tmp_path / "home"
    shutil.copytree(source, project)
    shutil.copytree(built_home, home)
    shipml("lock", str(project), home=home, env={"SOURCE_DATE_EPOCH": "1800000000"})
    relocked = build_json(project, home)
    assert {n: layer["cached"] for n, layer in layers(relocked).items()} == {
        "deps": True, "shipml": True, "model": False, "code": False  # files dated anew
    }
    assert layers(relocked)["deps"]["digest"] == layers(first)["deps"]["digest"]


def test_clean_builds_in_two_directories_are_identical(
    tmp_path: Path, sklearn_project: Path, debian_home: Path
) -> None:
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    digests, locks = [], []
    for where in ("a", "b"):
        project = tmp_path / where / "deep" / "sklearn-classifier"
        shutil.copytree(sklearn_project, project, ignore=shutil.ignore_patterns("shipml.lock"))
        home = tmp_path / where / "home"
        shutil.copytree(debian_home, home)
        result = build_json(project, home, env=env)
        assert not any(layer["cached"] for layer in layers(result).values())
        digests.append(result["digest"])
        locks.append((project / "shipml.lock").read_text())
    assert locks[0] == locks[1]
    assert digests[0] == digests[1]


def test_killed_build_leaves_store_and_cache_consistent(project: Path, home: Path) -> None:
    proc = subprocess.Popen([SHIPML, "build", str(project)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={**os.environ, "SHIPML_HOME": str(home)})
    cache = home / "build-cache"
    deadline = time.monotonic() + 60
    while not list(cache.glob("scratch-*/site")) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until uv is installing the dependencies
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _assert_consistent(home)
    result = build_json(project, home)  # and the next build just works
    _assert_consistent(home)
    store = Store.open(home / "store")
    validate_image(store.image(result["digest"]))


def _assert_consistent(home: Path) -> None:
    """Every key of the build cache and every image of the store is whole and verified."""
    cache = LayerCache(home / "build-cache")
    for key_file in (home / "build-cache" / "keys").glob("*.json"):
        layer = cache.lookup(key_file.stem)
        assert layer is not None, f"cache key {key_file.name} points at no blob"
        with layer.compressed() as stream:
            while stream.read(1 << 20):
                pass
    if (home / "store" / "index.json").exists():
        index = Index.from_bytes((home / "store" / "index.json").read_bytes())
        store = Store.open(home / "store")
        for entry in index.manifests:
            validate_image(store.image(str(entry.digest)))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": {"path": "missing.joblib"}}, r"model file .*missing\.joblib does not exist"),
        ({"requirements": ["shipml-no-such-package-4711"]}, "shipml-no-such-package-4711"),
        ({"requirements": ["pywin32"]}, r"pywin32.*\n?.*manylinux|manylinux.*pywin32"),
        ({"base": "oci-archive:broken.tar"}, r"oci-archive:.*broken\.tar"),
    ],
    ids=["missing-model", "unknown-package", "no-wheel-for-platform", "broken-base"],
)
def test_build_errors_are_clear(project: Path, home: Path, change: dict[str, Any],
                                message: str) -> None:
    (project / "broken.tar").write_bytes(b"not a tarball")
    spec = yaml.safe_load((project / "shipml.yaml").read_text())
    spec.update(change)
    (project / "shipml.yaml").write_text(yaml.safe_dump(spec))
    proc = shipml("build", str(project), home=home, check=False)
    assert proc.returncode == 4, proc.stderr
    assert "error:" in proc.stderr
    assert re.search(message, proc.stderr, re.S), proc.stderr
    assert "Traceback" not in proc.stderr


def test_platforms_give_an_index(tmp_path: Path, sklearn_project: Path) -> None:
    base_store = Store.open(tmp_path / "base")
    base_store.write(random_index(tmp_path / "blobs"), ref=Reference.parse("base:v1"))
    project = tmp_path / "sklearn-classifier"
    shutil.copytree(sklearn_project, project, ignore=shutil.ignore_patterns("shipml.lock"))
    with (project / "shipml.yaml").open("a") as f:
        f.write(f"base: oci:{tmp_path / 'base'}:docker.io/library/base:v1\n")
    result = build_json(project, tmp_path / "home", "--platform", "linux/amd64,linux/arm64")
    assert result["mediaType"] == MediaType.OCI_INDEX
    assert [p["platform"] for p in result["platforms"]] == ["linux/amd64", "linux/arm64"]
    amd64, arm64 = ({x["name"]: x for x in p["layers"]} for p in result["platforms"])
    assert amd64["deps"]["digest"] != arm64["deps"]["digest"]  # wheels for each architecture
    assert amd64["model"]["digest"] == arm64["model"]["digest"]
    lock = read_lock(project / "shipml.lock")
    assert lock is not None and sorted(lock.platforms) == ["linux/amd64", "linux/arm64"]
    numpy = {name: dict(lock.platform(name).packages())["numpy"] for name in lock.platforms}
    assert numpy["linux/amd64"] == numpy["linux/arm64"]


def test_lock_and_dockerfile_verbs(project: Path, home: Path) -> None:
    proc = shipml("dockerfile", str(project), home=home, check=False)
    assert proc.returncode == 4 and "shipml lock" in proc.stderr
    lock_path = shipml("lock", str(project), home=home).stdout.strip()
    assert Path(lock_path) == project / "shipml.lock"
    first = read_lock(project / "shipml.lock")
    assert first is not None and "scikit-learn==1.9.1" in first.platform("linux/amd64").requirements
    dockerfile = Path(shipml("dockerfile", str(project), home=home).stdout.strip())
    text = dockerfile.read_text()
    assert "--require-hashes" in text and "USER 10001:10001" in text
    assert "COPY model.joblib /srv/shipml/model.joblib" in text
    assert 'ENTRYPOINT ["python3", "-m", "shipml.runtime", "/srv/shipml"]' in text
    assert (project / ".shipml" / "requirements-linux-amd64.txt").read_text() == (
        first.platform("linux/amd64").requirements
    )
    # Readable by all: COPY keeps modes, and the image runs as an unprivileged user.
    for path in (project / ".shipml" / "shipml" / "runtime" / "__main__.py", dockerfile,
                 project / "shipml.lock"):
        assert path.stat().st_mode & 0o777 == 0o644


@pytest.fixture(autouse=True)
def _no_stray_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds take SOURCE_DATE_EPOCH from the lock unless a test sets it."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
