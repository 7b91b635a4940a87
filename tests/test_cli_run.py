"""`shipml run`, `ps`, `logs`, `stop` as a user types them, against real Podman (tiny images)."""

import json
import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from shipml.layout import Store
from shipml.oci.reference import Reference
from shipml.testing.cli import SHIPML, run_cli
from shipml.testing.engines import (
    SERVE_AND_DRAIN,
    busybox_image,
    podman_usable,
    remove_engine_images,
)
from shipml.testing.registry import LocalRegistry
from shipml.testing.server import free_port

pytestmark = pytest.mark.podman


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private store; containers and images the test made are removed afterwards."""
    if not podman_usable():
        pytest.skip("needs podman and the sandbox CONTAINERS_CONF that scripts/test.sh writes")
    home = {**os.environ, "SHIPML_HOME": str(tmp_path / "home"), "SHIPML_ENGINE": "podman"}
    yield home
    store = Store.open(tmp_path / "home" / "store")
    images = [store.image(str(r.descriptor.digest)).manifest().config.digest.encoded
              for r in store.refs()]
    remove_engine_images(*images)  # with --force, their containers go too


shipml = partial(run_cli, timeout=120)


def stored(env: dict[str, str], tmp_path: Path, ref: str, script: str = SERVE_AND_DRAIN) -> str:
    store = Store.open(Path(env["SHIPML_HOME"]) / "store")
    store.write(busybox_image(tmp_path / "layers", script=script, title="cli-test"),
                ref=Reference.parse(ref))
    return ref


def ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/v2/health/ready", timeout=5) as r:
        return bool(r.status == 200)


def test_run_detached_from_the_store_then_ps_logs_stop(env: dict[str, str], tmp_path: Path) -> None:
    ref = stored(env, tmp_path, "localhost/cli-run:1")
    port, name = free_port(), f"shipml-cli-{free_port()}"
    proxied = {**env, "http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    result = shipml("run", ref, "-d", "--name", name, "-p", str(port), "-e", "A=1", env=proxied)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"http://127.0.0.1:{port}\n"
    assert "ready in" in result.stderr and "copied into podman" in result.stderr
    assert ready(f"http://127.0.0.1:{port}")

    rows = json.loads(shipml("ps", "--json", env=env).stdout)
    [row] = [r for r in rows if r["name"] == name]
    assert (row["image"], row["state"], row["urls"]) == (
        ref, "running", [f"http://127.0.0.1:{port}"]
    )
    assert name in shipml("ps", env=env).stdout

    logs = shipml("logs", name, env=env)
    assert logs.returncode == 0 and logs.stdout == '{"msg":"starting"}\n'

    again = shipml("run", ref, "-d", "--json", "-p", str(free_port()), env=env)
    assert again.returncode == 0, again.stderr
    assert "copied into" not in again.stderr  # the engine has it already
    second = json.loads(again.stdout)["name"]
    assert second.startswith("shipml-cli-test-")

    stopped = shipml("stop", name, second, "-t", "10", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.split() == [name, second] and "exited with code 0" in stopped.stderr
    assert shipml("ps", "--all", "--json", env=env).stdout.strip() == "[]"


def test_run_pulls_a_registry_ref_through_the_store(
    env: dict[str, str], tmp_path: Path, registry: LocalRegistry
) -> None:
    stored(env, tmp_path, "localhost/cli-push:1")
    remote = f"{registry.host}/team/cli-run:1"
    assert shipml("push", "localhost/cli-push:1", remote, env=env).returncode == 0
    assert shipml("rm", "localhost/cli-push:1", env=env).returncode == 0
    missing = shipml("run", remote, "--pull", "never", env=env)
    assert missing.returncode != 0 and "no image" in missing.stderr

    port = free_port()
    result = shipml("run", remote, "-d", "-p", f"127.0.0.1:{port}:8080", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"http://127.0.0.1:{port}" and ready(result.stdout.strip())
    assert any(r.method == "GET" and "/manifests/1" in r.path for r in registry.requests())
    [row] = json.loads(shipml("ps", "--json", env=env).stdout)
    assert row["image"] == remote
    assert shipml("stop", row["name"], env=env).returncode == 0


def test_a_crashing_image_is_reported_with_its_logs(env: dict[str, str], tmp_path: Path) -> None:
    script = "echo loading model.joblib; echo 'ModelError: model.joblib is no model' >&2; exit 3"
    ref = stored(env, tmp_path, "localhost/cli-crash:1", script)
    result = shipml("run", ref, "-p", str(free_port()), env=env)
    assert result.returncode == 7 and result.stdout == ""
    assert "exited with code 3 before it was ready" in result.stderr
    assert "ModelError: model.joblib is no model" in result.stderr
    assert shipml("ps", "--all", "--json", env=env).stdout.strip() == "[]"


def test_a_port_in_use_is_reported_clearly(env: dict[str, str], tmp_path: Path) -> None:
    ref = stored(env, tmp_path, "localhost/cli-port:1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = shipml("run", ref, "-p", str(port), env=env)
    assert result.returncode == 7
    assert f"port 127.0.0.1:{port} is already in use" in result.stderr
    assert f"-p 127.0.0.1:{port + 1}:8080" in result.stderr


def test_foreground_run_streams_logs_and_drains_on_ctrl_c(
    env: dict[str, str], tmp_path: Path
) -> None:
    ref = stored(env, tmp_path, "localhost/cli-fg:1")
    port = free_port()
    process = subprocess.Popen([SHIPML, "run", ref, "-p", str(port)], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    try:
        assert process.stdout.readline() == f"http://127.0.0.1:{port}\n"
        assert ready(f"http://127.0.0.1:{port}")
        streamed = ""
        while '{"msg":"starting"}' not in streamed:  # the container's logs, on stderr
            streamed += process.stderr.readline()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "stopped (exit code 0)" in err
    assert shipml("ps", "--all", "--json", env=env).stdout.strip() == "[]"


def test_foreground_run_ends_when_shipml_stop_removes_its_container(
    env: dict[str, str], tmp_path: Path
) -> None:
    ref = stored(env, tmp_path, "localhost/cli-fg-stop:1")
    name = f"shipml-cli-fg-{free_port()}"
    process = subprocess.Popen([SHIPML, "run", ref, "--name", name, "-p", str(free_port())],
                               env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    try:
        assert process.stdout.readline().startswith("http://127.0.0.1:")
        assert shipml("stop", name, env=env).returncode == 0
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"{name} was stopped and removed" in err


def test_unknown_names_and_missing_engines(env: dict[str, str], tmp_path: Path) -> None:
    result = shipml("stop", "not-ours", env=env)
    assert result.returncode == 7 and "not a container shipml started" in result.stderr
    assert shipml("logs", "shipml-no-such", env=env).returncode == 7
    bare = {**env, "PATH": str(tmp_path), "SHIPML_ENGINE": ""}
    result = shipml("run", "anything:1", env=bare)
    assert result.returncode == 7
    assert "no usable container engine" in result.stderr and "shipml serve" in result.stderr
