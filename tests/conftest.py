"""Shared fixtures: trained example projects and real server processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from shipml.build.base import parse_base
from shipml.build.builder import Silent
from shipml.build.cache import LayerCache
from shipml.build.project import base_images
from shipml.oci.image import Image
from shipml.oci.platform import Platform
from shipml.spec import load_spec
from shipml.testing.cli import run_cli
from shipml.testing.examples import BuiltExample, train_example
from shipml.testing.registry import LocalRegistry, local_registry, registry_available
from shipml.testing.server import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def sklearn_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained sklearn-classifier example (shared by the session: do not modify it)."""
    return train_example(EXAMPLES, "sklearn-classifier", tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="session")
def example_project(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``example_project(name)``: examples/NAME trained once per session (do not modify it)."""
    trained: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in trained:
            trained[name] = train_example(EXAMPLES, name, tmp_path_factory.mktemp("examples"))
        return trained[name]

    return get


@pytest.fixture(scope="session")
def debian_home(tmp_path_factory: pytest.TempPathFactory, sklearn_project: Path) -> Path:
    """A SHIPML_HOME whose build cache holds the default Debian base (built once, ~40 s)."""
    if shutil.which("mmdebstrap") is None:
        pytest.skip("needs mmdebstrap")
    home = tmp_path_factory.mktemp("debian-home")
    spec = load_spec(sklearn_project)
    base_images(parse_base(spec, sklearn_project), [Platform("linux", "amd64")],
                cache=LayerCache(home / "build-cache"), open_base=_no_file_base, reporter=Silent())
    return home


def _no_file_base(*_: object) -> Image:
    raise AssertionError("the example uses the Debian base")


@pytest.fixture(scope="session")
def built_example(
    tmp_path_factory: pytest.TempPathFactory, debian_home: Path, sklearn_project: Path
) -> BuiltExample:
    """The example built once for the session (do not modify it: copy project or home first)."""
    root = tmp_path_factory.mktemp("built")
    home = root / "home"
    shutil.copytree(debian_home, home)
    project = root / "sklearn-classifier"
    shutil.copytree(sklearn_project, project, ignore=shutil.ignore_patterns("shipml.lock"))
    # As in the tests that rebuild copies of it: no stray SOURCE_DATE_EPOCH, the lock's epoch.
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    proc = run_cli("build", str(project), "--json", env={**env, "SHIPML_HOME": str(home)})
    if proc.returncode != 0:
        raise AssertionError(f"shipml build {project} failed:\n{proc.stderr}")
    return BuiltExample(project, home, json.loads(proc.stdout))


@pytest.fixture
def serve_project() -> Iterator[Callable[..., AbstractContextManager[ServerProcess]]]:
    """``with serve_project(dir, env={...}) as server:`` runs a real server; stopped afterwards."""
    started: list[ServerProcess] = []

    def start(project: Path, **kwargs: object) -> ServerProcess:
        server = ServerProcess(project, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def sklearn_server(sklearn_project: Path) -> Iterator[ServerProcess]:
    """One sklearn server for the read-only protocol tests of the session."""
    with ServerProcess(sklearn_project) as server:
        yield server


REGISTRY_USERS = {"alice": "wonderland"}


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A real docker-registry on 127.0.0.1 without auth, shared by the session."""
    if not registry_available():
        pytest.skip("needs Debian's docker-registry")
    with local_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A real docker-registry with htpasswd basic auth for ``REGISTRY_USERS``."""
    if not registry_available():
        pytest.skip("needs Debian's docker-registry")
    with local_registry(tmp_path_factory.mktemp("auth-registry"), users=REGISTRY_USERS) as running:
        yield running
