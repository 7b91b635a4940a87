"""`shipml push / pull / tag / login / logout` as a user runs them, against real registries."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import urllib.request
from functools import partial
from pathlib import Path

import pytest

from shipml.cli.registry_options import registry_base
from shipml.layout import Store
from shipml.oci.descriptor import Manifest
from shipml.oci.platform import Platform
from shipml.oci.reference import Reference
from shipml.registry.client import RegistryClient
from shipml.registry.push import push
from shipml.testing.cli import run_cli
from shipml.testing.engines import busybox_image, podman_usable, remove_engine_images
from shipml.testing.examples import BuiltExample
from shipml.testing.images import random_image, random_index
from shipml.testing.registry import LocalRegistry
from shipml.testing.server import free_port, wait_ok

pytestmark = pytest.mark.registry


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user with an empty home, store and Docker config (uv's download cache is shared)."""
    home = tmp_path / "home"
    home.mkdir()
    hidden = ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
              "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    keep = {k: v for k, v in os.environ.items() if k not in hidden}
    return {
        **keep,
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(Path.home() / ".cache" / "uv")),
        "HOME": str(home),
        "SHIPML_HOME": str(tmp_path / "shipml"),
        "DOCKER_CONFIG": str(home / ".docker"),
        "COLUMNS": "120",
    }


shipml = partial(run_cli, timeout=120)


def stored(env: dict[str, str], tmp_path: Path, ref: str, seed: int) -> str:
    """Put a random image in the user's store under ``ref``; returns its digest."""
    image = random_image(tmp_path / "blobs", seed=seed)
    Store.open(Path(env["SHIPML_HOME"]) / "store").write(image, ref=Reference.parse(ref))
    return str(image.digest())


def test_push_pull_and_tag_round_trip(
    registry: LocalRegistry, env: dict[str, str], tmp_path: Path
) -> None:
    ref = f"{registry.host}/cli/app:v1"
    digest = stored(env, tmp_path, ref, seed=60)
    pushed = shipml("push", ref, env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == digest
    assert "pushed 3" in pushed.stderr
    again = shipml("push", ref, "--json", env=env)
    assert json.loads(again.stdout) == {
        "reference": f"{ref}@{digest}",
        "digest": digest,
        "skipped": 3,
    }

    fresh = {**env, "SHIPML_HOME": str(tmp_path / "fresh")}
    pulled = shipml("pull", ref, env=fresh)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == digest
    assert "pulled 2" in pulled.stderr

    tagged = shipml("tag", ref, f"{registry.host}/cli/app:stable", env=fresh)
    assert tagged.stdout.strip() == f"{registry.host}/cli/app:stable@{digest}"
    moved = shipml("push", f"{registry.host}/cli/app:stable", env=fresh)
    assert moved.returncode == 0 and moved.stdout.strip() == digest


def test_a_terminal_gets_per_layer_bars_and_a_pipe_only_the_summary(
    registry: LocalRegistry, env: dict[str, str], tmp_path: Path
) -> None:
    ref = f"{registry.host}/cli/bars:v1"
    stored(env, tmp_path, ref, seed=64)
    terminal = {**env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}  # rich's "a terminal"
    pushed = shipml("push", ref, env=terminal)
    assert pushed.returncode == 0, pushed.stderr
    bars = [line for line in pushed.stderr.splitlines() if "━" in line]
    done = re.compile(r"(layer [0-9a-f]{12}|config)\s.*?([\d.]+)/\2 (bytes|kB|MB).* pushed")
    assert sum(1 for line in bars if done.search(line)) >= 3, pushed.stderr

    fresh = {**env, "SHIPML_HOME": str(tmp_path / "fresh")}
    pulled = shipml("pull", ref, env=fresh)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stderr == f"{ref}: pulled 2\n"


def test_push_to_another_name_and_copy_between_repositories(
    registry: LocalRegistry, env: dict[str, str], tmp_path: Path
) -> None:
    digest = stored(env, tmp_path, "local/model:1", seed=61)
    first = shipml("push", "local/model:1", f"{registry.host}/cli/copy-src:1", env=env)
    assert first.stdout.strip() == digest, first.stderr
    copied = shipml(
        "push", f"{registry.host}/cli/copy-src:1", f"{registry.host}/cli/copy-dst:1", env=env
    )
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout.strip() == digest
    assert "mounted 3" in copied.stderr


def test_login_push_logout_on_a_private_registry(
    auth_registry: LocalRegistry, env: dict[str, str], tmp_path: Path
) -> None:
    ref = f"{auth_registry.host}/cli/private:v1"
    digest = stored(env, tmp_path, ref, seed=62)
    anonymous = shipml("push", ref, env=env)
    assert anonymous.returncode == 6
    assert f"shipml login {auth_registry.host}" in anonymous.stderr

    wrong = shipml(
        "login", auth_registry.host, "-u", "alice", "--password-stdin", env=env, stdin="nope\n"
    )
    assert wrong.returncode == 6
    assert "refused user 'alice'" in wrong.stderr and "nope" not in wrong.stderr
    config = Path(env["DOCKER_CONFIG"]) / "config.json"
    assert not config.exists()

    login = shipml(
        "login", auth_registry.host, "-u", "alice", "--password-stdin", env=env,
        stdin="wonderland\n",
    )
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == str(config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "wonderland" not in login.stdout + login.stderr

    pushed = shipml("push", ref, env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == digest

    assert shipml("logout", auth_registry.host, env=env).returncode == 0
    assert auth_registry.host not in json.loads(config.read_text())["auths"]
    again = shipml("logout", auth_registry.host, env=env)
    assert again.returncode == 6 and "not logged in" in again.stderr


def test_explicit_credentials_and_clear_usage_errors(
    auth_registry: LocalRegistry, env: dict[str, str], tmp_path: Path
) -> None:
    ref = f"{auth_registry.host}/cli/explicit:v1"
    digest = stored(env, tmp_path, ref, seed=63)
    pushed = shipml(
        "push", ref, "-u", "alice", "--password-stdin", env=env, stdin="wonderland\n"
    )
    assert pushed.stdout.strip() == digest, pushed.stderr
    missing = shipml("push", "nothing/here:1", env=env)
    assert missing.returncode == 5 and "no image nothing/here:1" in missing.stderr
    bad = shipml("pull", "Bad//Ref", env=env)
    assert bad.returncode != 0 and "invalid" in bad.stderr
    # build --push checks where it will push before it builds anything.
    untagged = shipml("build", str(tmp_path), "--push", env=env)
    assert untagged.returncode == 2 and "--push needs --tag" in untagged.stderr
    hub = shipml("build", str(tmp_path), "--push", "-t", "team/model:1", env=env)
    assert hub.returncode == 2 and "team/model:1 names no registry" in hub.stderr


def test_a_registry_base_is_pulled_once_then_found_by_tag_or_digest(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    index = random_index(tmp_path / "blobs", seed=64)
    with RegistryClient(registry.host) as client:
        push(client, "cli/base", index, tag="3.11")
    store = Store.open(tmp_path / "store")
    arm = Platform.parse("linux/arm64")
    base = registry_base(f"{registry.host}/cli/base:3.11", store, platform=arm)
    children = {str(d.platform): d.digest for d in index.index_manifest().manifests}
    assert base.digest() == children["linux/arm64"]
    before = len(registry.requests())
    again = registry_base(f"{registry.host}/cli/base:3.11", store, platform=arm)
    pinned = registry_base(f"{registry.host}/cli/base@{base.digest()}", store, platform=arm)
    assert again.digest() == pinned.digest() == base.digest()
    assert registry.requests()[before:] == []


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=180)


@pytest.mark.podman
def test_podman_pulls_and_runs_what_shipml_pushed(
    registry: LocalRegistry, env: dict[str, str], tmp_path: Path
) -> None:
    if not podman_usable():
        pytest.skip("needs podman and the sandbox CONTAINERS_CONF that scripts/test.sh writes")
    ref = f"{registry.host}/cli/podman:v1"
    image = busybox_image(tmp_path / "layers", title="registry-podman")
    Store.open(Path(env["SHIPML_HOME"]) / "store").write(image, ref=Reference.parse(ref))
    pushed = shipml("push", ref, env=env)
    assert pushed.returncode == 0, pushed.stderr
    port = free_port()
    try:
        pulled = podman("pull", "--tls-verify=false", ref)
        assert pulled.returncode == 0, pulled.stderr
        started = podman("run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8080", ref)
        assert started.returncode == 0, started.stderr
        assert wait_ok(f"http://127.0.0.1:{port}/v2/health/ready", 30)
    finally:
        remove_engine_images(image.manifest().config.digest.encoded)


@pytest.mark.slow
@pytest.mark.podman
def test_build_push_pull_run_then_a_model_only_change_uploads_one_layer(
    registry: LocalRegistry, built_example: BuiltExample, env: dict[str, str], tmp_path: Path
) -> None:
    if not podman_usable():
        pytest.skip("needs podman and the sandbox CONTAINERS_CONF that scripts/test.sh writes")
    project = tmp_path / "project"
    shutil.copytree(built_example.project, project)  # with its lock: the session's build
    shutil.copytree(built_example.home, env["SHIPML_HOME"])  # its layers cached, base included
    name = f"{registry.host}/e2e/sklearn"
    built = shipml("build", str(project), "-t", f"{name}:1", "--push", env=env)
    assert built.returncode == 0, built.stderr
    digest = built.stdout.strip()
    assert f"{name}:1: pushed" in built.stderr

    fresh = {**env, "SHIPML_HOME": str(tmp_path / "fresh")}
    pulled = shipml("pull", f"{name}:1", env=fresh)
    assert pulled.stdout.strip() == digest, pulled.stderr

    config = Store.open(Path(fresh["SHIPML_HOME"]) / "store").image(digest).manifest().config
    port = free_port()
    try:
        assert podman("pull", "--tls-verify=false", f"{name}:1").returncode == 0
        run = podman("run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8080", f"{name}:1")
        assert run.returncode == 0, run.stderr
        url = f"http://127.0.0.1:{port}"
        assert wait_ok(f"{url}/v2/health/ready", 60)
        request = urllib.request.Request(
            f"{url}/v2/models/sklearn-classifier/infer",
            data=(project / "request.json").read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        assert answer["outputs"][0]["shape"] == [2, 2]
    finally:
        remove_engine_images(config.digest.encoded)

    retrain = (
        "import joblib, sys\n"
        "from sklearn.datasets import make_classification\n"
        "from sklearn.ensemble import HistGradientBoostingClassifier\n"
        "X, y = make_classification(n_samples=2000, n_features=20, random_state=1)\n"
        "joblib.dump(HistGradientBoostingClassifier(max_iter=20).fit(X, y), sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", retrain, str(project / "model.joblib")], check=True)
    before = len(registry.requests())
    rebuilt = shipml("build", str(project), "-t", f"{name}:2", "--push", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.strip() != digest
    started = [r for r in registry.requests()[before:] if r.method == "POST"]
    with RegistryClient(registry.host) as client:
        layers = [
            [d.digest for d in Manifest.from_bytes(client.manifest("e2e/sklearn", tag)[0]).layers]
            for tag in ("1", "2")
        ]
    changed = [d for d in layers[1] if d not in layers[0]]
    # The model layer (4th: base, deps, runtime, model, code) is new; only what changed, plus
    # the config, travels. (With the tree unchanged between builds, that is the model alone.)
    assert layers[1][3] in changed and layers[1][0] == layers[0][0]
    assert len(started) == len(changed) + 1
    assert f"{name}:2: pushed {len(changed) + 1}, skipped {6 - len(changed) - 1}" in rebuilt.stderr


@pytest.mark.slow
def test_a_registry_base_in_the_spec_is_pulled_once_and_built_upon(
    registry: LocalRegistry, sklearn_project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    base = random_image(tmp_path / "blobs", seed=65)
    with RegistryClient(registry.host) as client:
        push(client, "bases/tiny", base, tag="1")
    project = tmp_path / "project"
    shutil.copytree(sklearn_project, project)
    spec = project / "shipml.yaml"
    spec.write_text(spec.read_text() + f"base: {registry.host}/bases/tiny:1\n")

    built = shipml("build", str(project), "-t", "local/on-tiny:1", env=env)
    assert built.returncode == 0, built.stderr
    assert f"base {registry.host}/bases/tiny:1: pulled 2" in built.stderr
    store = Store.open(Path(env["SHIPML_HOME"]) / "store")
    image = store.image(built.stdout.strip())
    assert [layer.digest() for layer in image.layers()[:2]] == [
        layer.digest() for layer in base.layers()
    ]
    assert str(base.digest()) in (project / "shipml.lock").read_text()

    before = len(registry.requests())
    again = shipml("build", str(project), "-t", "local/on-tiny:2", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == built.stdout
    assert registry.requests()[before:] == []  # the base came from the store
